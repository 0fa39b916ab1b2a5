"""DRF throttles keyed on core.net.client_ip; every API view throttles with these, not DRF's own."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.request import Request

from core.net import client_ip


class ClientAddressMixin:
    """Replaces DRF's get_ident (X-Forwarded-For per NUM_PROXIES, left-most when short) with client_ip."""

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or ""


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    """Per user when authenticated, else per client address, at the view's `throttle_scope` rate."""


class SimpleRateThrottle(ClientAddressMixin, throttling.SimpleRateThrottle):
    """Base for throttles with their own cache key."""
