"""Values every portal page shows in its header."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from notifications.selectors import unread_count


def portal(request: HttpRequest) -> dict:
    """The unread count for the header's Inbox badge, counted only when a page shows it (one query)."""
    user = getattr(request, "user", None)
    return {"unread_count": SimpleLazyObject(lambda: unread_count(user) if user is not None else 0)}
