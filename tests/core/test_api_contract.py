"""The published schema is one a generated client can build on (issue 16, items 1–3): JSON-only request bodies,
the error body on every 4xx, CSV and PDF answers declared as such, no untyped object, always-present fields
required, decimal strings with a pattern; and the API refuses a form body with a JSON 415."""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.api import DECIMAL_PATTERN
from core.openapi import HTTP_METHODS

pytestmark = pytest.mark.django_db
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict[str, Any]:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in schema["paths"].items()
            for method, op in item.items() if method in HTTP_METHODS]


def test_every_request_body_is_json_only(schema):
    bodies = [(path, method, set(op["requestBody"]["content"])) for path, method, op in operations(schema)
              if "requestBody" in op]
    assert len(bodies) > 20
    assert [b for b in bodies if b[2] != {"application/json"}] == []


def test_every_4xx_of_every_operation_carries_the_error_body(schema):
    explicit = 0
    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            if str(code).startswith("4"):
                explicit += code != "4XX"
                assert response.get("content") == {"application/json": {"schema": ERROR_REF}}, (method, path, code)
    assert explicit >= 6  # the staff deposit 403/409s at least
    deposit = schema["paths"]["/api/v1/staff/deposits"]["post"]["responses"]["409"]
    assert "IDEMPOTENCY_KEY_REUSED" in deposit["description"]


@pytest.mark.parametrize(("path", "method", "codes"), [
    ("/api/v1/liabilities/roots", "get", {"400": "INVALID", "404": "NOT_FOUND"}),
    ("/api/v1/liabilities/proof", "get", {"400": "INVALID", "401": "NOT_AUTHENTICATED", "404": "NOT_FOUND"}),
    ("/api/v1/products/{product_id}/simulation", "get", {"400": "INVALID_AMOUNT", "404": "NOT_FOUND",
                                                         "409": "NO_PRICE_HISTORY", "429": "THROTTLED"}),
    ("/api/v1/products/{product_id}/launch", "get", {"404": "NOT_FOUND"}),
    ("/api/v1/commitments", "get", {"400": "product"}),
    ("/api/v1/commitments", "post", {"400": "BELOW_MIN", "403": "PRODUCT_NOT_PERMITTED", "404": "NOT_FOUND",
                                     "409": "NOT_A_LAUNCH", "429": "THROTTLED"}),
])
def test_the_newer_endpoints_name_their_refusals(schema, path, method, codes):
    """Proof of liabilities, the outcome simulator and launch commitments: each 4xx they answer is listed with the
    codes a client meets there (a bare 4XX told a generated client nothing)."""
    responses = schema["paths"][path][method]["responses"]
    for status, code in codes.items():
        assert status in responses and code in responses[status]["description"], (path, method, status)
        assert responses[status]["content"] == {"application/json": {"schema": ERROR_REF}}


def test_csv_and_pdf_answers_are_declared_as_such(schema):
    entries = schema["paths"]["/api/v1/ledger/entries"]["get"]["responses"]["200"]["content"]
    assert entries["text/csv"]["schema"] == {"type": "string"}
    assert entries["application/json"]["schema"]["$ref"].endswith("PaginatedLedgerEntryListOutputList")
    reports = schema["paths"]["/api/v1/staff/reports/{kind}"]["get"]["responses"]["200"]["content"]
    assert set(reports) == {"text/csv", "application/pdf"}
    assert reports["application/pdf"]["schema"] == {"type": "string", "format": "binary"}


def _untyped(node: Any, where: str, found: list[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" not in node and node.get("additionalProperties") in (
                None, {}, True):
            found.append(where)
        for key, value in node.items():
            _untyped(value, f"{where}/{key}", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _untyped(value, f"{where}/{index}", found)


def test_no_answer_is_an_untyped_object(schema):
    found: list[str] = []
    for path, method, operation in operations(schema):
        _untyped(operation["responses"], f"{method} {path}", found)
    for name, component in schema["components"]["schemas"].items():
        _untyped(component, name, found)
    assert found == []
    pools = schema["paths"]["/api/v1/pools"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert pools == {"$ref": "#/components/schemas/PoolListOutput"}


def test_always_present_fields_are_required_and_nullable_where_null(schema):
    components = schema["components"]["schemas"]

    def required(name: str) -> set[str]:
        return set(components[name].get("required", []))

    assert {"status", "auto_renew", "auto_compound", "maturity_date"} <= required("PositionOutput")
    assert "maturity_date" in required("SubscriptionCreateOutput")
    for name in ("StaffProductOutput", "StaffDisclosureOutput", "TermsOutput"):
        assert "approved_by" in required(name), name
        assert components[name]["properties"]["approved_by"].get("nullable") is True, name
    for name in ("PaginatedPositionOutputList", "PaginatedLedgerEntryListOutputList", "PaginatedAccrualOutputList",
                 "PaginatedPayoutOutputList", "PaginatedPoolPositionOutputList", "PaginatedPendingDepositOutputList"):
        assert {"next", "previous", "results"} <= required(name), name
        assert components[name]["properties"]["next"]["nullable"] is True
    assert required("Error") == {"code", "detail", "field"}
    # Every response component: each property is required (an answer always carries every key).
    for name, component in components.items():
        if name.endswith("Request") or name == "Error" or "properties" not in component:
            continue
        assert set(component["properties"]) == required(name), name


def test_error_extras_are_documented(schema):
    error = schema["components"]["schemas"]["Error"]["properties"]
    for key in ("codes", "current_version", "status", "action", "missing", "retake_after"):
        assert error[key].get("description"), key


def test_amounts_are_decimal_strings_with_a_pattern(schema):
    components = schema["components"]["schemas"]
    for name, field in (("RedemptionOutput", "payout"), ("AccrualOutput", "posted"), ("AccrualOutput", "exact"),
                        ("PayoutOutput", "reward"), ("TermsOutput", "min_amount"), ("ProductOutput", "min_amount"),
                        ("BalanceListOutput", "available"), ("PoolPositionOutput", "value_usd")):
        prop = components[name]["properties"][field]
        assert (prop["type"], prop["pattern"]) == ("string", DECIMAL_PATTERN), (name, field)
    for text in ("0", "-1.5", "1000.00000000"):
        assert re.fullmatch(DECIMAL_PATTERN.strip("^$"), text)
    assert not re.fullmatch(DECIMAL_PATTERN.strip("^$"), "1e5")


@pytest.mark.django_db(transaction=True)
def test_a_form_body_to_the_api_is_415_json(customer):
    client = APIClient()
    client.force_authenticate(customer)
    for url in ("/api/v1/subscriptions/preview", "/api/v1/compliance/complaints", "/api/v1/auth/token"):
        for fmt in ("multipart", None):
            response = (client.post(url, {"product": "1", "amount": "10"}, format=fmt) if fmt else
                        client.post(url, "product=1&amount=10", content_type="application/x-www-form-urlencoded"))
            assert response.status_code == 415, (url, fmt, response.content)
            assert response["Content-Type"].startswith("application/json")
            assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
            assert set(response.json()) == {"code", "detail", "field"}
    ok = client.post("/api/v1/subscriptions/preview", {"product": 999999, "amount": "10"}, format="json")
    assert ok.status_code == 404 and ok.json()["field"] == "product"
