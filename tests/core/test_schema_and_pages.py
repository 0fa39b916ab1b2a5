"""The OpenAPI schema, Swagger UI, landing page and health check."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


@pytest.mark.django_db
def test_schema_and_docs_answer(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/ledger/entries" in schema.content
    assert client.get("/api/docs/").status_code == 200


# Enum component naming is cosmetic (the schema stays correct); everything else is a defect.
COSMETIC_WARNINGS = ("enum naming encountered", "encountered multiple names for the same choice set")


@pytest.mark.django_db
def test_schema_is_valid_and_generates_without_warnings_that_matter():
    """A valid OpenAPI 3 document, and no drf-spectacular warning such as a missing serializer or
    an unresolvable type (which would leave an endpoint undocumented or wrongly typed)."""
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    warnings = [w for w in GENERATOR_STATS._warn_cache if not any(c in w for c in COSMETIC_WARNINGS)]
    errors = list(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert errors == []
    assert warnings == []
    for path in ("/api/v1/auth/token", "/api/v1/assets", "/api/v1/balances", "/api/v1/ledger/entries",
                 "/api/v1/staff/deposits"):
        assert path in schema["paths"]


@pytest.mark.django_db
def test_nested_serializers_are_named_after_their_view():
    """Every view's InputSerializer/OutputSerializer becomes its own component, not one shared "Output"."""
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    assert {"AssetListOutput", "BalanceListOutput", "StaffDepositCreateInputRequest"} <= set(components)
    assert "Output" not in components
    entries = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/ledger/entries"]["get"]
    assert {p["name"] for p in entries["parameters"]} >= {"from", "to", "asset", "kind", "cursor", "page_size"}
    page = entries["responses"]["200"]["content"]["application/json"]["schema"]
    assert page["$ref"].endswith("PaginatedLedgerEntryListOutputList")


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
