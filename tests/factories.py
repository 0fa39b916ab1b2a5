"""Factories shared by the test suite (one per model family)."""

from __future__ import annotations

import factory
from django.utils import timezone

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


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ("code",)

    code = "USDT"
    name = factory.LazyAttribute(lambda o: o.code)
    scale = 8
