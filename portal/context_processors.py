"""Values every portal page shows in its header."""

from __future__ import annotations

from django.http import HttpRequest

from notifications.selectors import unread_count


def portal(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {"unread_count": unread_count(user) if user is not None else 0}
