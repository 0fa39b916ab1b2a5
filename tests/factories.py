"""Factories shared by the test suite (one per model family)."""

from __future__ import annotations

import time

import factory
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.models import KycStatus, User
from ledger.models import Asset


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    country = "HK"
    language = "en"
    # Verified by default (as customers onboarded before KYC records were); tests of the KYC flow pass
    # kyc_status=KycStatus.UNVERIFIED (and kyc_verified_at=None) explicitly.
    declared_country = factory.SelfAttribute("country")
    kyc_status = KycStatus.VERIFIED
    kyc_verified_at = factory.LazyAttribute(lambda o: timezone.now() if o.kyc_status != KycStatus.UNVERIFIED
                                            else None)
    kyc_source = "onboarding"
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()

    @factory.post_generation
    def professional_investor(obj, create, extracted, **kwargs):  # noqa: N805
        """HK users are onboarded as professional investors (no exposure limit, compliance/gate.py) unless a
        test passes professional_investor=False to meet the HK exposure rule with its own profile."""
        if create and obj.country == "HK" and extracted is not False:
            from compliance.models import CustomerProfile

            CustomerProfile.objects.create(user=obj, risk_profile="high", professional_investor=True)


    @factory.post_generation
    def otp_device(obj, create, extracted, **kwargs):  # noqa: N805
        """Staff (is_staff or superuser) get a confirmed authenticator, as two-factor authentication is
        mandatory for them; pass otp_device=False for a staff account that has not enrolled yet."""
        if create and (obj.is_staff or obj.is_superuser) and extracted is not False:
            TOTPDevice.objects.create(user=obj, name="authenticator", confirmed=True)


def totp_code(user) -> str:
    """A code the user's authenticator would show that the server has not seen yet.

    Codes are single-use (django-otp refuses a time step at or before the last accepted one), and the
    device accepts one step ahead, following the drift: so this gives the next unused step and a test
    may make several money moves in a row without moving the clock.
    """
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    now_step = int((time.time() - device.t0) // device.step)
    step = max(now_step + device.drift, device.last_t + 1)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, step - now_step):0{device.digits}d}"


def admin_login(client, user):
    """Sign `user` in to the admin console as the portal's two-step sign-in does: a session verified with
    the user's authenticator (django-otp's session key), which the admin console requires of staff. A user
    without a confirmed authenticator gets one first."""
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


class OtpClient(APIClient):
    """An API client signed in as a staff user whose every POST carries their next unused one-time code
    (X-OTP), as staff money moves require."""

    def __init__(self, user, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.force_authenticate(user)

    def post(self, path, data=None, format=None, **extra):
        extra.setdefault("HTTP_X_OTP", totp_code(self.user))
        return super().post(path, data, format, **extra)


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ("code",)

    code = "USDT"
    name = factory.LazyAttribute(lambda o: o.code)
    scale = 8
