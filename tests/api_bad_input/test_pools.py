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


# Shares have 18 decimals, so "too many decimals for USDT" is a valid share count.
NOT_SHARES = {"empty", "blank", "too-many-decimals-for-usdt"}


@pytest.mark.parametrize("amount", [a for a in BAD_AMOUNTS if a.id not in {"empty", "blank"}])
def test_pool_money_endpoints_refuse_the_amount(pool_market, amount):
    """Deposit and its preview: 400 on `amount`, nothing written."""
    pool, client, _positions = pool_market
    calls = [("/api/v1/pool-deposits", {"product": pool.product_id, "amount": amount}, "amount"),
             ("/api/v1/pool-deposits/preview", {"product": pool.product_id, "amount": amount}, "amount")]
    before = JournalEntry.objects.count()
    for path, body, field in calls:
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert_refused(response, 400, field=field)
    assert JournalEntry.objects.count() == before


@pytest.mark.parametrize("shares", [a for a in BAD_AMOUNTS if a.id not in NOT_SHARES])
def test_pool_redemptions_refuse_the_shares(pool_market, shares):
    _pool, client, positions = pool_market
    before = JournalEntry.objects.count()
    for suffix in ("redemptions", "redemptions/preview"):
        response = client.post(f"/api/v1/pool-positions/{positions['alice']}/{suffix}", {"shares": shares},
                               format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert_refused(response, 400, field="shares")
    assert JournalEntry.objects.count() == before


@pytest.mark.parametrize("asset", ["DOGE", "ETH", "U" * 17])
def test_pool_deposit_refuses_an_asset_outside_the_pair(pool_market, asset):
    pool, client, _positions = pool_market
    response = client.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "1", "asset": asset},
                           format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert response.status_code == 400, response.content
    assert response.json()["code"]


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
