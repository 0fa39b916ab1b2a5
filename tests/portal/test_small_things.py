"""Issue 19 item 13: API docs offline, a favicon, staff land in the console, the filesystem broker without warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from tests.factories import UserFactory, totp_code

pytestmark = pytest.mark.django_db


def test_api_docs_load_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "cdn.jsdelivr.net" not in html and "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in response["Content-Security-Policy"]
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/portal/favicon.svg")
    assert finders.find("portal/favicon.svg")
    assert 'rel="icon"' in client.get("/").content.decode()


def test_staff_land_in_the_console_after_signing_in(assets):
    from tests.earn.factories import staff_user

    officer = staff_user("compliance_officer", email="olivia@earn.example")
    client = Client()
    first = client.post("/account/sign-in", {"email": officer.email, "password": "pass-word-123"})
    assert first["Location"] == "/account/sign-in/code"
    done = client.post("/account/sign-in/code", {"otp": totp_code(officer)})
    assert done.status_code == 302 and done["Location"] == "/admin/"


def test_customers_still_land_on_their_dashboard(assets):
    user = UserFactory()
    client = Client()
    response = client.post("/account/sign-in", {"email": user.email, "password": "pass-word-123"})
    assert response.status_code == 302 and response["Location"] == "/dashboard"


def test_the_default_broker_names_its_host():
    """kombu's filesystem transport warns "No hostname was supplied" on every start without one."""
    from config.settings import base

    assert "REDIS_URL" in dir(base)
    if not base.REDIS_URL and not settings.CELERY_BROKER_URL.startswith("redis"):
        assert settings.CELERY_BROKER_URL == "filesystem://localhost//"
    source = Path(base.__file__).read_text()
    assert '"filesystem://localhost//"' in source and '"filesystem://")' not in source


def test_make_run_stops_cleanly_and_gives_mail_links_its_port():


    source = (Path(settings.BASE_DIR) / "bin" / "run_all.py").read_text()
    assert 'env.setdefault("PORTAL_BASE_URL", f"http://{host}:{port}")' in source
    assert "return 0 if manager.returncode in (130, 143)" in source
