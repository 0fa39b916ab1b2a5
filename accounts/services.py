"""Writes for users and roles."""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.errors import InvalidCredentials
from accounts.models import ApiToken, KycStatus, User
from accounts.roles import ROLE_PERMISSIONS
from accounts.selectors import customer_get_by_email
from accounts.tokens import api_token_create
from accounts.twofactor import otp_require
from core.audit import audit_record
from core.errors import NotFound

CUSTOMER_LOOKUP = "customer.lookup"


@transaction.atomic
def roles_sync(*, verbosity: int = 0) -> dict[str, int]:
    """Create every role group and grant exactly its permissions; safe to run repeatedly (after each migrate).

    Changing an existing role's permissions is a role change: one audit event per role changed (actor
    None: the deploy). Creating the groups on an empty database defines them and is not an event.
    """
    from accounts.signals import PERMISSION_CHANGE, per_change_audit_suppressed

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=verbosity)
    counts = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, created = Group.objects.get_or_create(name=role)
        objs = [Permission.objects.get(content_type__app_label=app, codename=code) for app, code in perms]
        before = set() if created else set(group.permissions.values_list("content_type__app_label", "codename"))
        with per_change_audit_suppressed():
            group.permissions.set(objs)
        after = {(app, code) for app, code in perms}
        if not created and before != after:
            audit_record(actor=None, action=PERMISSION_CHANGE, obj=group,
                         after={"field": "permissions", "op": "sync",
                                "added": sorted(f"{a}.{c}" for a, c in after - before),
                                "removed": sorted(f"{a}.{c}" for a, c in before - after)})
        counts[role] = len(objs)
    return counts


def auth_token_obtain(*, request: HttpRequest | None, email: str, password: str, otp: str = "",
                      name: str = "") -> tuple[ApiToken, str]:
    """Check email + password and make a new API token: (token, key), the key shown only this once.

    Where two-factor authentication is on, `otp` (a current code or a recovery code) is required
    (OTP_REQUIRED / OTP_INVALID). The same error for an unknown email, a wrong password and an
    inactive user, so the answer does not reveal which accounts exist.
    """
    user = authenticate(request, email=email.strip().lower(), password=password)
    if user is None:
        raise InvalidCredentials(_("Unable to log in with the provided email and password."))
    otp_require(user=user, code=otp)
    return api_token_create(user=user, name=name)


@transaction.atomic
def staff_customer_lookup(*, actor: User, email: str) -> User:
    """The customer with exactly this email, for staff who must name them (a deposit, a complaint call).

    Staff see a customer's record only by their exact email, never a list; each lookup that finds one
    is an audit event (who looked up whom). A staff account is not a customer (404 like an unknown email).
    """
    customer = customer_get_by_email(email=email)
    if customer is None:
        raise NotFound(_("No customer has this email address."), field="email")
    audit_record(actor=actor, action=CUSTOMER_LOOKUP, obj=customer)
    return customer


@transaction.atomic
def user_ensure(*, email: str, password: str, country: str, display_name: str = "", language: str = "en",
                is_staff: bool = False, is_superuser: bool = False, roles: Sequence[str] = (),
                kyc_verified: bool = False) -> tuple[User, bool]:
    """Get or create a user by email (existing users keep their password) and add them to `roles`.

    Returns (user, created). Used by `seed_demo` (demo users are created KYC-verified, `kyc_source` "demo");
    role groups must exist (see `roles_sync`).
    """
    user = User.objects.filter(email=email.lower()).first()
    created = user is None
    if user is None:
        kyc = ({"kyc_status": KycStatus.VERIFIED, "kyc_verified_at": timezone.now(), "kyc_source": "demo"}
               if kyc_verified else {})
        user = User.objects.create_user(email, password, country=country, declared_country=country,
                                        display_name=display_name, language=language, is_staff=is_staff,
                                        is_superuser=is_superuser, **kyc)
    if roles:
        user.groups.add(*Group.objects.filter(name__in=roles))
    return user, created


@transaction.atomic
def profile_update(*, user: User, display_name: str, language: str) -> User:
    """Change the customer's name and interface language (audited).

    The country of residence is a KYC fact, not a profile field: customers request a change
    (`accounts.kyc.residence_request_create`) and compliance decides.
    """
    before = {"display_name": user.display_name, "language": user.language}
    user.display_name, user.language = display_name.strip(), language
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=["display_name", "language"])
    audit_record(actor=user, action="account.profile", obj=user, before=before,
                 after={"display_name": user.display_name, "language": user.language})
    return user


@transaction.atomic
def user_sign_up(*, email: str, password: str, country: str, display_name: str = "", language: str = "en") -> User:
    """A new customer account (the portal's sign-up form validates the password first).

    The declared country is recorded as unverified: the gate refuses subscriptions (KYC_REQUIRED) until a
    compliance officer or the KYC provider verifies the customer's identity and residence.
    """
    declared = country.strip().upper()
    user = User.objects.create_user(email, password, country=declared, declared_country=declared,
                                    kyc_status=KycStatus.UNVERIFIED, display_name=display_name, language=language)
    audit_record(actor=user, action="account.sign_up", obj=user,
                 after={"declared_country": declared, "kyc_status": user.kyc_status})
    return user
