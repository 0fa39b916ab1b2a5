"""Times every request and counts money outcomes by reason code."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from monitoring.metrics import MONEY_OPERATIONS, MONEY_OUTCOMES, REQUEST_LATENCY


def _outcome(response: HttpResponse) -> str:
    if response.status_code < 400:
        return "ok"
    data = getattr(response, "data", None)  # a DRF Response keeps what it rendered
    code = data.get("code") if isinstance(data, dict) else None
    return str(code) if code else f"http_{response.status_code}"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)  # the URL pattern, not the path: bounded label values
        route = match.route if match is not None and match.route else "unmatched"
        REQUEST_LATENCY.labels(route=route, method=request.method or "-",
                               status=str(response.status_code)).observe(time.perf_counter() - started)
        operation = MONEY_OPERATIONS.get(match.url_name or "") if match is not None else None
        if operation is not None and request.method == "POST":
            MONEY_OUTCOMES.labels(operation=operation, outcome=_outcome(response)).inc()
        return response
