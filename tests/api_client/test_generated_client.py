"""A typed client generated from the published schema: every module imports, and the journey runs with it.

The journey makes no hand-written HTTP call: every request is a generated operation module's
`sync_detailed`, and every answer is parsed into the generated models (a field the schema promises
and the answer lacks fails the parse).
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from core.openapi import HTTP_METHODS
from tests.api_client.conftest import FIGURES, JOURNEY_PASSWORD, GeneratedClient, LiveWorld, non_json_request_bodies

pytestmark = pytest.mark.django_db  # see conftest: the test database, not a transaction around the API

# Operation ids, from the schema as the server builds it (the served document is the same; checked below).
DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)
OPERATION_IDS = sorted(op["operationId"] for item in DOCUMENT["paths"].values()
                       for method, op in item.items() if method in HTTP_METHODS)

class GeneratedModuleDoesNotImport(Exception):
    """A module of the generated client that does not import (bodies offered as multipart once did that)."""


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_generated_module_imports(operation_id, generated_client: GeneratedClient):
    FIGURES["imports"]["total"] += 1
    name = generated_client.module_name(operation_id)
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        raise GeneratedModuleDoesNotImport(f"generated module {name} does not import: {exc!r}") from exc
    assert callable(module.sync_detailed)
    FIGURES["imports"]["imported"] += 1


def test_the_generated_client_has_one_module_per_operation_of_the_served_schema(generated_client, served_document):
    served = sorted(op["operationId"] for item in served_document["paths"].values()
                    for method, op in item.items() if method in HTTP_METHODS)
    assert served == OPERATION_IDS
    assert sorted(generated_client.operation_modules()) == OPERATION_IDS
    for name in ("client", "errors", "types", "models"):
        generated_client.package_module(name)


def test_the_served_schema_offers_json_request_bodies_only(served_document):
    assert non_json_request_bodies(served_document) == []


class Journey:
    """Steps of the journey, each counted in the closing summary."""

    def __init__(self, client: GeneratedClient, live: LiveWorld) -> None:
        self.client, self.live = client, live
        self.types = client.package_module("client")
        self.models = client.package_module("models")

    def step(self, name: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except BaseException:
            FIGURES["journey"].append((name, False))
            raise
        FIGURES["journey"].append((name, True))
        return result

    def anonymous(self) -> Any:
        return self.types.Client(base_url=self.live.url, raise_on_unexpected_status=True)

    def signed_in(self, token: str) -> Any:
        return self.types.AuthenticatedClient(base_url=self.live.url, token=token, prefix="Token",
                                              raise_on_unexpected_status=True)

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.operation(method, path).sync_detailed(**kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.content[:500])
        assert response.parsed is not None and not isinstance(response.parsed, self.models.Error), response.content
        return response.parsed


def test_customer_and_operations_journey_with_the_generated_client(journey_client: GeneratedClient, live):
    j = Journey(journey_client, live)
    m = j.models

    token = j.step("token", lambda: j.call(
        "POST", "/api/v1/auth/token", 200, client=j.anonymous(),
        body=m.AuthTokenObtainInputRequest(email=live.customer_email, password=JOURNEY_PASSWORD, name="journey")))
    customer = j.signed_in(token.token)

    page = j.step("products", lambda: j.call("GET", "/api/v1/products", 200, client=customer))
    product = next(p for p in page.results if p.id == live.demand_product)
    assert product.asset == "USDT"

    disclosure = j.step("disclosure", lambda: j.call("GET", "/api/v1/products/{product_id}/disclosure", 200,
                                                     client=customer, product_id=product.id))
    statements = [s.key for s in disclosure.risk_statements]
    assert statements

    j.step("acknowledge", lambda: j.call(
        "POST", "/api/v1/products/{product_id}/acknowledgements", 201, client=customer, product_id=product.id,
        body=m.AcknowledgementCreateInputRequest(disclosure_version=disclosure.version, statements=statements)))

    preview = j.step("preview", lambda: j.call(
        "POST", "/api/v1/subscriptions/preview", 200, client=customer,
        body=m.SubscriptionPreviewInputRequest(product=product.id, amount="1000")))
    assert Decimal(preview.amount) == Decimal("1000")

    subscription = j.step("subscribe", lambda: j.call(
        "POST", "/api/v1/subscriptions", 201, client=customer, idempotency_key=str(uuid.uuid4()),
        body=m.SubscriptionCreateInputRequest(product=product.id, amount="1000")))

    positions = j.step("positions", lambda: j.call("GET", "/api/v1/positions", 200, client=customer))
    position = next(p for p in positions.results if p.id == subscription.position)
    assert Decimal(position.principal) == Decimal("1000")

    redemption = j.step("redeem", lambda: j.call(
        "POST", "/api/v1/positions/{position_id}/redemptions", 201, client=customer, position_id=position.id,
        idempotency_key=str(uuid.uuid4()), body=m.RedemptionInputRequest(amount="400")))
    assert Decimal(redemption.amount) == Decimal("400")

    entries = j.step("ledger", lambda: j.call("GET", "/api/v1/ledger/entries", 200, client=customer, asset="USDT"))
    kinds = {e.kind for e in entries.results}
    assert {"deposit", "subscription"} <= {str(k) for k in kinds}, kinds

    operator_token = j.step("operations token", lambda: j.call(
        "POST", "/api/v1/auth/token", 200, client=j.anonymous(),
        body=m.AuthTokenObtainInputRequest(email=live.operator_email, password=JOURNEY_PASSWORD,
                                           otp=live.operator_code())))
    operator = j.signed_in(operator_token.token)

    found = j.step("customer lookup", lambda: j.call("GET", "/api/v1/staff/customers", 200, client=operator,
                                                     email=live.customer_email))
    assert found.email == live.customer_email

    deposit = j.step("deposit as operations", lambda: j.call(
        "POST", "/api/v1/staff/deposits", 201, client=operator,
        body=m.StaffDepositCreateInputRequest(user=live.customer_email, asset="USDT", amount="250",
                                              reference=f"journey-{uuid.uuid4()}", otp=live.operator_code())))
    assert deposit.user == found.id
    assert str(deposit.status) == "posted"

    balances = j.step("balances", lambda: j.call("GET", "/api/v1/balances", 200, client=customer))
    usdt = next(b for b in balances if b.asset == "USDT")
    # 5000 funded − 1000 subscribed + 250 deposited (the fast redemption of 400 may still be pending).
    assert Decimal(usdt.available) + Decimal(usdt.pending) in (Decimal("4250"), Decimal("4650"))
