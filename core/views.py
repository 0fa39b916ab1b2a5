"""Portal pages that belong to no app: the landing page and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
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
