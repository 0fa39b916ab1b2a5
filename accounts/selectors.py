"""Reads of users."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User
from accounts.roles import ROLES


def user_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_get_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower()).first()


def customer_get_by_email(*, email: str) -> User | None:
    """The customer (never a staff account: staff flag, superuser or a role group) with exactly this email."""
    return (User.objects.filter(email=email.strip().lower(), is_staff=False, is_superuser=False)
            .exclude(groups__name__in=ROLES).first())


def user_ids_by_email(*, emails: Iterable[str]) -> dict[str, int]:
    return dict(User.objects.filter(email__in=[email.lower() for email in emails]).values_list("email", "pk"))


def staff_in_roles(roles: Iterable[str]) -> list[User]:
    """Active staff users in any of these role groups (who staff alerts go to), in id order."""
    return list(User.objects.filter(is_active=True, is_staff=True, groups__name__in=list(roles))
                .distinct().order_by("id"))
