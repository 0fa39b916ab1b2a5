"""The OpenAPI schema, Swagger UI, landing page and health check."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_and_docs_answer(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/ledger/entries" in schema.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path):
    """drf-spectacular validates the schema and fails on any warning (missing serializer, bad type …)."""
    call_command("spectacular", "--file", str(tmp_path / "schema.yml"), "--validate", "--fail-on-warn")
    text = (tmp_path / "schema.yml").read_text()
    for path in ("/api/v1/auth/token", "/api/v1/assets", "/api/v1/balances", "/api/v1/staff/deposits"):
        assert path in text


@pytest.mark.django_db
def test_landing_page_links_admin_and_docs(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/admin/"' in html
    assert 'href="/api/docs/"' in html


@pytest.mark.django_db
def test_landing_page_in_traditional_chinese(client):
    """The page is rendered in the language chosen (strings are translatable; English is the fallback)."""
    response = client.get("/", headers={"accept-language": "zh-hant"})
    assert response.status_code == 200
    assert '<html lang="zh-hant">' in response.content.decode()


@pytest.mark.django_db
def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
