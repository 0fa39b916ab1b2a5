"""Bad input on the liquidity-mining money endpoints (pool deposits and redemptions)."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from ledger.models import JournalEntry
from pools.models import PoolPosition
from tests.api_bad_input.conftest import assert_refused
from tests.api_bad_input.test_amounts import BAD_AMOUNTS
from tests.pools.factories import pool_product, ready_customer


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def pool_market(db, user_factory, fund):
    pool = pool_product()
    alice = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    mallory = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    positions = {}
    for name, user in (("alice", alice), ("mallory", mallory)):
        answer = _client(user).post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "0.1"},
                                    format="json", HTTP_IDEMPOTENCY_KEY=f"setup-{name}")
        assert answer.status_code == 201, answer.content
        positions[name] = PoolPosition.objects.get(user=user).pk
    return pool, _client(alice), positions


@pytest.mark.parametrize("amount", [a for a in BAD_AMOUNTS if a.id not in {"empty", "blank"}])
@pytest.mark.parametrize("path", ["/api/v1/pool-deposits", "/api/v1/pool-deposits/preview"])
def test_pool_deposit_refuses_bad_amount(pool_market, path, amount):
    pool, client, _positions = pool_market
    before = JournalEntry.objects.count()
    response = client.post(path, {"product": pool.product_id, "amount": amount}, format="json",
                           HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert_refused(response, 400, field="amount")
    assert JournalEntry.objects.count() == before


@pytest.mark.parametrize("asset", ["DOGE", "ETH", "U" * 17])
def test_pool_deposit_refuses_an_asset_outside_the_pair(pool_market, asset):
    pool, client, _positions = pool_market
    response = client.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "1", "asset": asset},
                           format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert response.status_code == 400, response.content
    assert response.json()["code"]


# Shares have 18 decimals, so "too many decimals for USDT" is a valid share count.
BAD_SHARES = [a for a in BAD_AMOUNTS if a.id not in {"empty", "blank", "too-many-decimals-for-usdt"}]


@pytest.mark.parametrize("shares", BAD_SHARES)
@pytest.mark.parametrize("suffix", ["redemptions", "redemptions/preview"])
def test_pool_redemption_refuses_bad_shares(pool_market, suffix, shares):
    _pool, client, positions = pool_market
    before = JournalEntry.objects.count()
    response = client.post(f"/api/v1/pool-positions/{positions['alice']}/{suffix}", {"shares": shares},
                           format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert_refused(response, 400, field="shares")
    assert JournalEntry.objects.count() == before


def test_other_customers_pool_position_is_404(pool_market):
    _pool, client, positions = pool_market
    other = positions["mallory"]
    assert_refused(client.get(f"/api/v1/pool-positions/{other}"), 404)
    assert_refused(client.post(f"/api/v1/pool-positions/{other}/redemptions", {}, format="json",
                               HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex), 404)


def test_pool_deposit_needs_an_idempotency_key_and_refuses_a_reused_one(pool_market):
    pool, client, _positions = pool_market
    missing = client.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "0.1"}, format="json")
    assert_refused(missing, 400, code="IDEMPOTENCY_KEY_REQUIRED")
    reused = client.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "0.2"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="setup-alice")
    assert_refused(reused, 409, code="IDEMPOTENCY_KEY_REUSED")
