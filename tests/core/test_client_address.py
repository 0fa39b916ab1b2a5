"""The client address comes from TRUSTED_PROXY_COUNT, never from X-Forwarded-For as sent (issue 14, item 7).

Throttles, the sign-in lockout and the addresses written to audit events and acknowledgements all
use core.net.client_ip: with 0 proxies the header is ignored; with N, only the N-th entry from the
right counts, so a client cannot pick its own bucket by writing to the header.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle as DrfScopedRateThrottle

from compliance.services.logins import staff_login_record
from core.models import AuditEvent
from core.net import client_ip
from core.throttling import ClientAddressMixin
from tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token"
PROXY = "10.0.0.1"


@pytest.mark.parametrize(("count", "forwarded", "expected"), [
    (0, None, "192.0.2.9"),
    (0, "203.0.113.5", "192.0.2.9"),                    # header ignored
    (1, None, "192.0.2.9"),                             # no header: not through the proxy
    (1, "203.0.113.5", "203.0.113.5"),
    (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),         # spoofed left-most entry ignored
    (1, "1.2.3.4,203.0.113.5 ", "203.0.113.5"),
    (2, "1.2.3.4, 203.0.113.5, 10.1.1.1", "203.0.113.5"),
    (2, "203.0.113.5", "192.0.2.9"),                    # fewer entries than proxies: fail safe
    (1, "not-an-address", "192.0.2.9"),
    (1, "", "192.0.2.9"),
    (1, "2001:db8::1", "2001:db8::1"),
])
def test_client_ip(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": "192.0.2.9"} if forwarded is None else \
        {"REMOTE_ADDR": "192.0.2.9", "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_ip(RequestFactory().get("/", **meta)) == expected


def test_local_default_ignores_the_header():
    assert django_settings.TRUSTED_PROXY_COUNT == 0


@pytest.fixture
def tight_auth_rate(monkeypatch):
    cache.clear()
    monkeypatch.setitem(DrfScopedRateThrottle.THROTTLE_RATES, "auth", "3/min")
    yield
    cache.clear()


def _token_attempt(client: APIClient, n: int, forwarded: str) -> int:
    """A failed token request for a fresh email (so only the per-address limit can apply)."""
    return client.post(TOKEN_URL, {"email": f"guess{n}@hk.example", "password": "nope"}, format="json",
                       HTTP_X_FORWARDED_FOR=forwarded).status_code


@pytest.mark.django_db
def test_rotating_the_header_does_not_dodge_the_token_throttle(settings, tight_auth_rate):
    """Locally (no proxy), a new X-Forwarded-For per request is still one address."""
    settings.TRUSTED_PROXY_COUNT = 0
    client = APIClient(REMOTE_ADDR="192.0.2.9")
    statuses = [_token_attempt(client, n, f"198.51.100.{n}") for n in range(4)]
    assert statuses == [400, 400, 400, 429]


@pytest.mark.django_db
def test_behind_one_proxy_clients_get_their_own_buckets(settings, tight_auth_rate):
    """Behind the proxy every request comes from its address: the proxy's entry tells clients apart,
    and a left-most entry the client wrote itself changes nothing."""
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient(REMOTE_ADDR=PROXY)
    assert [_token_attempt(client, n, "203.0.113.5") for n in range(3)] == [400, 400, 400]
    assert _token_attempt(client, 3, "198.51.100.77, 203.0.113.5") == 429
    assert _token_attempt(client, 4, "203.0.113.5") == 429
    assert _token_attempt(client, 5, "203.0.113.6") == 400  # another client, not throttled


@pytest.mark.django_db
def test_lockout_follows_the_client_behind_the_proxy(settings, assets):
    settings.TRUSTED_PROXY_COUNT = 1
    user = UserFactory(email="lock@sg.example", country="SG")
    attacker = Client(REMOTE_ADDR=PROXY)
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        attacker.post("/account/sign-in", {"email": user.email, "password": "wrong-password"},
                      HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.5")
    for forwarded in ("203.0.113.5", "198.51.100.200, 203.0.113.5"):
        locked = attacker.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"},
                               HTTP_X_FORWARDED_FOR=forwarded)
        assert locked.status_code == 429, forwarded
    # The customer signing in from elsewhere, through the same proxy, is not locked out.
    owner = Client(REMOTE_ADDR=PROXY)
    signed_in = owner.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"},
                           HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert signed_in.status_code == 302


@pytest.mark.django_db
def test_rotating_the_header_does_not_dodge_the_lockout(settings, assets):
    settings.TRUSTED_PROXY_COUNT = 0
    user = UserFactory(email="lock@sg.example", country="SG")
    client = Client(REMOTE_ADDR="192.0.2.9")
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        client.post("/account/sign-in", {"email": user.email, "password": "wrong-password"},
                    HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    locked = client.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"},
                         HTTP_X_FORWARDED_FOR="198.51.100.250")
    assert locked.status_code == 429


@pytest.mark.django_db
def test_staff_login_audit_records_the_client_behind_the_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    staff = UserFactory(email="ops@earn.example", is_staff=True)
    request = RequestFactory().post("/account/sign-in", REMOTE_ADDR=PROXY,
                                    HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.5")
    staff_login_record(request=request, user=staff)
    assert AuditEvent.objects.get(action="staff.login").after["ip"] == "203.0.113.5"


def _views(patterns, prefix=""):  # type: ignore[no-untyped-def]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            if view is not None:
                yield prefix + str(pattern.pattern), view


def test_every_throttled_view_keys_on_the_client_address():
    """DRF's stock throttles read X-Forwarded-For their own way: every API throttle must be core's."""
    throttled = [(route, throttle) for route, view in _views(get_resolver().url_patterns)
                 for throttle in getattr(view, "throttle_classes", [])]
    assert len(throttled) >= 5
    stock = [(route, throttle.__name__) for route, throttle in throttled
             if not issubclass(throttle, ClientAddressMixin)]
    assert stock == []
