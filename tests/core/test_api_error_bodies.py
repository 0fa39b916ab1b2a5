"""The API answers 404 and 500 in its JSON error body {code, detail, field}, DEBUG on or off (issue 16, item 4).

With DEBUG on, Django renders its technical 404 and 500 pages and never calls handler404/handler500: a
non-numeric id in the demo answered an HTML page, and an unhandled exception answered HTML in any mode.
"""

from __future__ import annotations

import logging

import pytest
from django.test import Client, override_settings

from core import middleware as core_middleware
from ledger import api as ledger_api

SECRET = "internal-detail-that-must-not-leak"


def _client() -> Client:
    # The test client re-raises a view's exception by default; a real server answers it.
    return Client(raise_request_exception=False)


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "detail", "field"}
    assert body["field"] is None
    assert body["detail"]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", ["/api/v1/products/abc", "/api/v1/positions/-1", "/api/v1/products/1.5/pool",
                                  "/api/v1/no-such-endpoint", "/api/v2/products", "/api/"])
@pytest.mark.django_db
def test_an_unmatched_api_path_answers_json_404(path, debug):
    with override_settings(DEBUG=debug):
        assert_json_error(_client().get(path), 404, "NOT_FOUND")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.django_db
def test_a_portal_path_still_answers_the_html_404_page(debug):
    with override_settings(DEBUG=debug):
        response = _client().get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.django_db
def test_an_exception_in_an_api_view_answers_json_500_without_internals_and_is_logged(
        debug, monkeypatch, caplog, customer):
    def boom():
        raise RuntimeError(SECRET)

    monkeypatch.setattr(ledger_api.selectors, "asset_list", boom)
    client = _client()
    client.force_login(customer)
    with override_settings(DEBUG=debug), caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/v1/assets", HTTP_ACCEPT="text/html")
    assert_json_error(response, 500, "SERVER_ERROR")
    assert SECRET.encode() not in response.content
    assert b"Traceback" not in response.content and b"RuntimeError" not in response.content
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert logged and SECRET in str(logged[0].exc_info[1])


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.django_db
def test_an_exception_in_a_middleware_answers_json_500_on_api_paths(debug, monkeypatch, caplog):
    def boom(self, request):
        raise RuntimeError(SECRET)

    # NulCharacterMiddleware runs inside ApiErrorBodyMiddleware, before any view.
    monkeypatch.setattr(core_middleware.NulCharacterMiddleware, "_nul_in", boom)
    with override_settings(DEBUG=debug), caplog.at_level(logging.ERROR, logger="django.request"):
        response = _client().get("/api/v1/products")
        page = _client().get("/")
    assert_json_error(response, 500, "SERVER_ERROR")
    assert SECRET.encode() not in response.content
    assert any(r.name == "django.request" and r.exc_info for r in caplog.records)
    # A portal page keeps Django's own 500 page.
    assert page.status_code == 500 and "json" not in page["Content-Type"]


@pytest.mark.django_db
def test_the_replaced_answer_keeps_the_security_headers():
    with override_settings(DEBUG=True):
        response = _client().get("/api/v1/products/abc")
    assert_json_error(response, 404, "NOT_FOUND")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response
