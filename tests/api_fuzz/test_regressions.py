"""Schema mismatches the long schemathesis run found, each pinned by a direct test."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.pools.factories import pool_product, ready_customer


@pytest.mark.django_db
def test_demand_pool_deposit_answers_a_null_maturity_date_the_schema_allows(user_factory, fund):
    pool = pool_product()  # a demand product: no maturity
    customer = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    client = APIClient()
    client.force_authenticate(customer)
    response = client.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "0.1"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201, response.content
    assert response.json()["maturity_date"] is None
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ref = schema["paths"]["/api/v1/pool-deposits"]["post"]["responses"]["201"]["content"]["application/json"]
    component = ref["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][component]["properties"]["maturity_date"].get("nullable") is True
