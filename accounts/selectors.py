"""Reads of users."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import User


def user_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_get_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower()).first()


def user_ids_by_email(*, emails: Iterable[str]) -> dict[str, int]:
    return dict(User.objects.filter(email__in=[email.lower() for email in emails]).values_list("email", "pk"))
