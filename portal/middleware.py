"""Security headers the portal adds to every response."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    """Sends CONTENT_SECURITY_POLICY (a path prefix in CONTENT_SECURITY_POLICY_EXEMPT gets its own policy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        for prefix, other in getattr(settings, "CONTENT_SECURITY_POLICY_EXEMPT", {}).items():
            if request.path.startswith(prefix):
                policy = other
                break
        if policy and HEADER not in response:
            response[HEADER] = policy
        return response
