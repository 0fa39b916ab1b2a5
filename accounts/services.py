"""Writes for users and roles."""

from __future__ import annotations

from collections.abc import Sequence

from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.errors import InvalidCredentials
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS
from accounts.twofactor import otp_require
from compliance.audit import audit_record


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


def auth_token_obtain(*, request: HttpRequest | None, email: str, password: str, otp: str = "") -> Token:
    """Check email + password and return the user's API token (created on first use).

    Where two-factor authentication is on, `otp` (a current code or a recovery code) is required
    (OTP_REQUIRED / OTP_INVALID). The same error for an unknown email, a wrong password and an
    inactive user, so the answer does not reveal which accounts exist.
    """
    user = authenticate(request, email=email.strip().lower(), password=password)
    if user is None:
        raise InvalidCredentials(_("Unable to log in with the provided email and password."))
    otp_require(user=user, code=otp)
    token, _created = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def user_ensure(*, email: str, password: str, country: str, display_name: str = "", language: str = "en",
                is_staff: bool = False, is_superuser: bool = False, roles: Sequence[str] = ()) -> tuple[User, bool]:
    """Get or create a user by email (existing users keep their password) and add them to `roles`.

    Returns (user, created). Used by `seed_demo`; role groups must exist (see `roles_sync`).
    """
    user = User.objects.filter(email=email.lower()).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(email, password, country=country, display_name=display_name,
                                        language=language, is_staff=is_staff, is_superuser=is_superuser)
    if roles:
        user.groups.add(*Group.objects.filter(name__in=roles))
    return user, created


@transaction.atomic
def api_token_rotate(*, user: User) -> Token:
    """Replace the user's API token (the old one stops working at once)."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def api_token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()


@transaction.atomic
def profile_update(*, user: User, display_name: str, country: str, language: str) -> User:
    """Change the customer's name, country of residence and interface language (audited)."""
    before = {"display_name": user.display_name, "country": user.country, "language": user.language}
    user.display_name, user.country, user.language = display_name.strip(), country.strip().upper(), language
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=["display_name", "country", "language"])
    audit_record(actor=user, action="account.profile", obj=user, before=before,
                 after={"display_name": user.display_name, "country": user.country, "language": user.language})
    return user


@transaction.atomic
def user_sign_up(*, email: str, password: str, country: str, display_name: str = "", language: str = "en") -> User:
    """A new customer account (the portal's sign-up form validates the password first)."""
    user = User.objects.create_user(email, password, country=country.strip().upper(), display_name=display_name,
                                    language=language)
    audit_record(actor=user, action="account.sign_up", obj=user, after={"country": user.country})
    return user
