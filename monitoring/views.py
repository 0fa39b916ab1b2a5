"""`GET /metrics`: Prometheus' text format, for operations only."""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from accounts.roles import OPERATIONS, user_has_role
from core.net import client_ip
from monitoring.collectors import DatabaseCollector


def _allowed(request: HttpRequest) -> bool:
    """A scraper with METRICS_TOKEN, an address in METRICS_ALLOWED_NETWORKS, or operations staff signed in."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        address = None
    if address is not None and any(address in ipaddress.ip_network(net, strict=False)
                                   for net in settings.METRICS_ALLOWED_NETWORKS):
        return True
    user = request.user
    return user_has_role(user, OPERATIONS) and bool(getattr(user, "is_verified", lambda: False)())


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return JsonResponse({"code": "PERMISSION_DENIED", "field": None,
                             "detail": "Metrics are for operations."}, status=403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        process = generate_latest(registry)
    else:
        process = generate_latest(REGISTRY)
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    return HttpResponse(process + generate_latest(database), content_type=CONTENT_TYPE_LATEST)
