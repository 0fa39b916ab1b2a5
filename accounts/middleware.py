"""Remembers the request being served, so role-change audit events can name who made the change."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


def current_actor() -> Any | None:
    """The signed-in user of the request in progress (admin console or API), or None (shell, tasks, migrate)."""
    request = _current_request.get()
    if request is None:
        return None
    user = getattr(request, "user", None)  # DRF writes the token-authenticated user back onto the HttpRequest
    return user if getattr(user, "is_authenticated", False) else None


class AuditActorMiddleware:
    """Holds the request in a context variable for accounts.signals (writes that bypass services)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
