"""Reads of a customer's inbox."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from notifications.models import Notification


def inbox(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-id")


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
