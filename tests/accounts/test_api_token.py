"""POST /api/v1/auth/token: email + password → API token."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

URL = "/api/v1/auth/token"


@pytest.fixture
def alice(user_factory):
    user = user_factory(email="alice@hk.example")
    user.set_password("right-password-1")
    user.save()
    return user


def test_token_for_valid_credentials_authenticates_later_calls(api_client, alice, assets):
    """The token returned for email + password works as `Authorization: Token …`."""
    response = api_client.post(URL, {"email": "alice@hk.example", "password": "right-password-1"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/balances").status_code == 200


def test_each_sign_in_makes_a_new_token_and_email_is_case_insensitive(api_client, alice):
    """Only a digest is stored, so a token cannot be shown twice: each call makes a new one (both work)."""
    first = api_client.post(URL, {"email": "alice@hk.example", "password": "right-password-1"}, format="json")
    second = api_client.post(URL, {"email": " Alice@HK.example ", "password": "right-password-1"}, format="json")
    assert second.status_code == 200
    assert first.json()["token"] != second.json()["token"]
    assert alice.api_tokens.count() == 2


def test_otp_is_accepted_and_ignored_until_2fa_exists(api_client, alice):
    response = api_client.post(URL, {"email": "alice@hk.example", "password": "right-password-1", "otp": "123456"},
                               format="json")
    assert response.status_code == 200


@pytest.mark.parametrize(("email", "password"), [
    ("alice@hk.example", "wrong-password"),
    ("nobody@hk.example", "right-password-1"),
])
def test_wrong_credentials_are_one_error(api_client, alice, email, password):
    """Wrong password and unknown email answer alike, so the API does not reveal who has an account."""
    response = api_client.post(URL, {"email": email, "password": password}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_CREDENTIALS"
    assert body["field"] is None
    assert body["detail"]


def test_inactive_user_gets_no_token(api_client, alice):
    alice.is_active = False
    alice.save()
    response = api_client.post(URL, {"email": "alice@hk.example", "password": "right-password-1"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CREDENTIALS"


def test_missing_password_names_the_field(api_client, alice):
    response = api_client.post(URL, {"email": "alice@hk.example"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "REQUIRED", "detail": "This field is required.", "field": "password"}


def test_session_cookie_does_not_need_csrf_for_the_token_endpoint(alice):
    """The endpoint authenticates by credentials only, so a browser session cannot trigger CSRF failures."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(URL, {"email": "alice@hk.example", "password": "right-password-1"}, format="json")
    assert response.status_code == 200


@pytest.fixture
def tight_auth_rate(monkeypatch):
    cache.clear()
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "3/min")
    yield
    cache.clear()


def test_throttled_per_client_address(api_client, alice, tight_auth_rate):
    """The "auth" scope limits attempts from one address, whatever the email."""
    statuses = [api_client.post(URL, {"email": f"x{i}@hk.example", "password": "nope"}, format="json").status_code
                for i in range(4)]
    assert statuses == [400, 400, 400, 429]
    blocked = api_client.post(URL, {"email": "y@hk.example", "password": "nope"}, format="json")
    assert blocked.json()["code"] == "THROTTLED"


def test_throttled_per_email_across_addresses(alice, tight_auth_rate):
    """Guessing one account's password from many addresses hits the per-email limit."""
    statuses = []
    for i in range(4):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{i + 1}")
        response = client.post(URL, {"email": "alice@hk.example", "password": "guess"}, format="json")
        statuses.append(response.status_code)
    assert statuses == [400, 400, 400, 429]
