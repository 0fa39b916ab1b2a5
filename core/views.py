"""Portal pages that belong to no app: the landing page and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.audit import audit_chain_lag
from core.middleware import API_PREFIX, api_error_body


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """The front page: what this is and where to go (admin console, API docs)."""
    return render(request, "landing.html")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Database check and audit chain lag, for load balancers and the compose healthcheck.

    503 when audit events have stayed unchained longer than AUDIT_CHAIN_MAX_LAG_SECONDS: the chainer
    (worker + beat) is down or behind, and the trail is not being sealed (docs/OPERATIONS.md).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    stale, oldest = audit_chain_lag()
    if stale:
        return JsonResponse({"status": "fail", "audit_chain": {
            "unchained_over_limit": stale, "oldest_sequence": oldest.sequence if oldest else None,
            "oldest_recorded_at": oldest.created_at.isoformat() if oldest else None,
            "max_lag_seconds": settings.AUDIT_CHAIN_MAX_LAG_SECONDS}}, status=503)
    return JsonResponse({"status": "ok"})


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None,
               credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the API (token requests) answers 429 in the API's error body, the portal
    with its page; django-axes would send the page to API clients too."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "LOCKED_OUT", "field": None,
                                 "detail": _("Too many failed sign-in attempts; try again later.")}, status=429)
        response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        return response
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: API paths answer with the API's error body (a path id that is not a number, a typo in
    the path), portal paths with the page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(api_error_body(404), status=404)
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unhandled exception on an API path answers 500 SERVER_ERROR in the API's error body
    (no internals; Django logs the exception on the django.request logger), elsewhere the page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(api_error_body(500), status=500)
    return defaults.server_error(request)
