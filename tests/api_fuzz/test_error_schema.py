"""The schema documents the API's one error body on every operation (what schemathesis validates 4xx against)."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from core.openapi import HTTP_METHODS


@pytest.mark.django_db
def test_every_operation_documents_client_errors_with_the_error_body():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "detail", "field"]
    operations = [(path, method, op) for path, item in schema["paths"].items()
                  for method, op in item.items() if method in HTTP_METHODS]
    assert len(operations) > 20
    for path, method, operation in operations:
        assert "4XX" in operation["responses"], (method, path)


@pytest.mark.django_db
def test_explicit_error_responses_are_kept():
    deposits = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/staff/deposits"]["post"]
    assert "IDEMPOTENCY_KEY_REUSED" in deposits["responses"]["409"]["description"]
