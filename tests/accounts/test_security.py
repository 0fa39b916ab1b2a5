"""Sign-in lockout, CSRF, the content security policy and session settings."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_repeated_failed_sign_ins_lock_the_account_for_that_address(assets):
    user = UserFactory(email="lock@sg.example", country="SG")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/account/sign-in", {"email": user.email, "password": "wrong-password"})
        assert response.status_code in (200, 429)
    locked = client.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"})
    assert locked.status_code == 429
    assert "locked" in locked.content.decode().lower()
    assert client.get("/dashboard").status_code == 302
    # The token API shares the same counter.
    api = APIClient()
    token = api.post("/api/v1/auth/token", {"email": user.email, "password": "pass-word-123"}, format="json")
    assert token.status_code in (403, 429)
    # Another address is not locked out.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert other.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"}).status_code == 302


def test_forms_need_the_csrf_token(assets):
    user = UserFactory(country="SG")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/account/profile", {"display_name": "X", "country": "SG", "language": "en"}).status_code == 403
    assert client.post("/account/sign-out").status_code == 403


def test_every_page_carries_the_content_security_policy(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert client.get("/account/sign-in").headers["X-Frame-Options"] == "DENY"
    docs = client.get("/api/docs/").headers["Content-Security-Policy"]
    assert "cdn.jsdelivr.net" not in docs and "script-src 'self' 'unsafe-inline'" in docs  # Swagger UI served here
    admin = client.get("/admin/").headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in admin and "script-src 'self';" in admin


def test_sessions_expire():
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY
    assert 0 < settings.SESSION_COOKIE_AGE <= 60 * 60 * 8


def test_production_cookies_are_secure(monkeypatch):
    import importlib

    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", "earn.example")
    production = importlib.import_module("config.settings.production")
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE and production.SESSION_COOKIE_HTTPONLY
    assert production.SESSION_COOKIE_AGE == 1800
    assert "portal.middleware.ContentSecurityPolicyMiddleware" in production.MIDDLEWARE
    assert production.CONTENT_SECURITY_POLICY.startswith("default-src 'self'")
