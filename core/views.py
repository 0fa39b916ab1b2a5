"""Portal pages that belong to no app: the landing page and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """The front page: what this is and where to go (admin console, API docs)."""
    return render(request, "landing.html")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers and the compose healthcheck."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: API paths answer with the API's error body (a path id that is not a number, a typo in
    the path), portal paths with the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "NOT_FOUND", "detail": _("Not found."), "field": None}, status=404)
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]
