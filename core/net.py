"""The client's address, derived once from the trusted-proxy count (never from X-Forwarded-For as sent)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    """The address the request came from, as far as the trusted proxies vouch for it.

    With TRUSTED_PROXY_COUNT = 0 the header is ignored: REMOTE_ADDR only. With N proxies each
    appending the address it saw, the N-th entry from the right of X-Forwarded-For is the client
    (anything left of it was written by the client and is ignored). A header with fewer entries, or
    an entry that is not an IP address, did not come through the proxies as configured: REMOTE_ADDR.
    Accepts a Django HttpRequest or a DRF Request (django-axes and the throttles pass either).
    """
    meta = getattr(request, "META", None) or {}
    remote = meta.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")]
    if len(forwarded) < count or forwarded == [""]:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
