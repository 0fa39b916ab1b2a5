"""Pool API: pool facts, IL table and chart, deposit preview and create (idempotent), positions (own only, query
counts), history, redemption with the result against holding; the catalogue's `pool` and the disclosure's IL table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from pools.services.distribution import pool_distribute_day
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def pool(db):
    return pool_product()


@pytest.fixture
def alice(user_factory, fund, pool):
    return ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")


def deposit(client, pool, amount="1", key="k1", **extra):
    return client.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": amount, **extra},
                       format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_preview_computes_the_second_amount_and_carries_the_il_table(pool, alice, user_factory, fund):
    client = client_for(alice)
    assert deposit(client, pool).status_code == 201
    response = client.post("/api/v1/pool-deposits/preview", {"product": pool.product_id, "amount": "0.5"},
                           format="json")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["amount_a"], body["amount_b"], body["value_usd"]) == ("0.50000000", "30000.00000000", "60000.00")
    assert body["blocking"] == [] and body["swap"] is None
    rows = body["il_table"]["rows"]
    assert [r["ratio"] for r in rows] == ["0.25", "0.5", "0.8", "1.25", "1.5", "2", "3", "4", "5"]
    two = next(r for r in rows if r["ratio"] == "2")
    # 5.71909… % of what holding would be worth at twice the price (1.5 × 60 000 USD), rounded down
    assert two["il_percent"] == "-5.7191" and two["loss_usd"] == "5147.18"
    assert Decimal(two["break_even_days"]) > 0
    single = client.post("/api/v1/pool-deposits/preview",
                         {"product": pool.product_id, "amount": "0.2", "mode": "single"}, format="json").json()
    assert single["swap"]["fee"] == "0.00030000" and single["swap"]["fee_rate"] == "0.003"
    assert single["amount_b"] == "0.00000000"


def test_deposit_is_idempotent_and_refusals_carry_codes(pool, alice, user_factory):
    client = client_for(alice)
    first = deposit(client, pool)
    again = deposit(client, pool)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert deposit(client, pool, amount="0.5").json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    stranger = client_for(user_factory(country="HK"))
    refused = deposit(stranger, pool, key="s1")
    assert refused.status_code == 403 and refused.json()["code"] == "NO_ACK"


def test_subscriptions_endpoint_routes_pool_products_to_the_pool(pool, alice):
    response = client_for(alice).post("/api/v1/subscriptions", {"product": pool.product_id, "amount": "1"},
                                      format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount_a"], body["amount_b"]) == ("1.00000000", "60000.00000000") and body["pool_position"]


def test_positions_are_private_and_listed_in_constant_queries(pool, alice, user_factory, fund):
    client = client_for(alice)
    position_id = deposit(client, pool).json()["position"]
    other = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    other_client = client_for(other)
    assert other_client.get(f"/api/v1/pool-positions/{position_id}").status_code == 404
    assert other_client.post(f"/api/v1/pool-positions/{position_id}/redemptions", {}, format="json",
                             HTTP_IDEMPOTENCY_KEY="x").status_code == 404
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/pool-positions").status_code == 200
    for n in range(3):  # more positions (fixed lots in other pools) cost no more queries
        extra = pool_product(a="ETH", b="USDT")
        buyer = ready_customer(user_factory, fund, extra, ETH="1", USDT="3000")
        deposit(client_for(buyer), extra, key=f"e{n}")
    deposit(client, pool, amount="0.5", key="k2")
    with CaptureQueriesContext(connection) as many:
        body = client.get("/api/v1/pool-positions").json()
    assert len(many) == len(one)
    (row,) = body["results"]
    assert row["shares"] and row["value_usd"] == "180000.00" and row["vs_hold_usd"] == "0.00"


def test_history_and_redemption_show_fees_rewards_and_the_result_against_holding(pool, alice):
    client = client_for(alice)
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        position_id = deposit(client, pool).json()["position"]
    pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, 2))
    history = client.get(f"/api/v1/pool-positions/{position_id}/history").json()["results"]
    # Every amount at its asset's scale (HSK, BTC, USDT: 8 places; shares: theirs; USD: 2), not 18 decimals.
    assert [(h["date"], h["reward"]) for h in history] == [("2026-03-02", "100.00000000")]
    assert history[0]["income_usd"] == "3050.00"  # 1 500 + 1 500 USD of fees, 100 HSK at 0.5
    share_scale = pool.share_asset.scale
    assert ([len(history[0][k].partition(".")[2]) for k in ("shares", "fee_a", "fee_b", "reward_shares")]
            == [share_scale, 8, 8, share_scale])
    detail = client.get(f"/api/v1/pool-positions/{position_id}").json()
    assert detail["rewards"] == "100.00000000" and detail["fees_b"] == "1500.00000000"
    preview = client.post(f"/api/v1/pool-positions/{position_id}/redemptions/preview", {}, format="json").json()
    assert preview["amount_a"] == "1.00000000" and preview["vs_hold_usd"] == "0.00"
    done = client.post(f"/api/v1/pool-positions/{position_id}/redemptions", {}, format="json",
                       HTTP_IDEMPOTENCY_KEY="r1")
    assert done.status_code == 201 and done.json()["vs_hold_usd"] == "0.00"
    redeemed = done.json()
    assert (redeemed["amount_a"], redeemed["withheld_a"]) == ("1.00000000", "0.00000000")
    assert len(redeemed["value_usd"].partition(".")[2]) == 2
    assert len(redeemed["shares"].partition(".")[2]) == pool.share_asset.scale
    patch = client.patch(f"/api/v1/pool-positions/{position_id}", {"compound_rewards": True}, format="json")
    assert patch.status_code == 200 and patch.json()["compound_rewards"] is True


def test_pool_facts_il_table_and_chart(pool, alice):
    client = client_for(alice)
    deposit(client, pool)
    facts = client.get(f"/api/v1/products/{pool.product_id}/pool").json()
    assert facts["pair"] == ["BTC", "USDT"] and facts["tvl_usd"] == "120000.00"
    # 0.3 % of 1 000 000 USD a day on 120 000 USD: 912.5 % a year; 100 HSK at 0.5 USD: 15.2083 %.
    assert facts["fee_apr"] == "9.125" and facts["reward_apr"] == "0.1520833333"
    il = client.get(f"/api/v1/products/{pool.product_id}/pool/il?amount_usd=2500").json()
    assert il["amount_usd"] == "2500.00" and il["rows"][-1]["il_percent"] == "-25.4644"
    assert client.get(f"/api/v1/products/{pool.product_id}/pool/il?amount_usd=-1").json()["code"] == "INVALID"
    chart = client.get(f"/api/v1/products/{pool.product_id}/pool/il.svg?amount_usd=2500")
    assert chart.status_code == 200 and chart["Content-Type"].startswith("image/svg+xml")
    svg = chart.content.decode()
    assert svg.startswith("<svg") and svg.count("<circle") == 9 and "−5.72 %" not in svg and "-5.72 %" in svg
    listing = client.get("/api/v1/pools").json()["results"]
    assert [p["product"] for p in listing] == [pool.product_id]


def test_catalogue_and_disclosure_carry_the_pool(pool, alice):
    client = client_for(alice)
    product = client.get(f"/api/v1/products/{pool.product_id}").json()
    assert product["pool"]["pair"] == ["BTC", "USDT"] and product["pool"]["fee_rate"] == "0.003"
    disclosure = client.get(f"/api/v1/products/{pool.product_id}/disclosure?amount_usd=1000").json()
    assert disclosure["il_table"]["rows"][5]["il_percent"] == "-5.7191"
    assert disclosure["il_table"]["rows"][5]["loss_usd"] == "85.78"  # against holding: 5.7191 % of 1 500 USD


def test_catalogue_pools_cost_constant_queries(pool, alice):
    client = client_for(alice)
    client.get("/api/v1/products")  # the first view of Earn is recorded once
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/products").status_code == 200
    pool_product(a="ETH", b="USDT")
    pool_product(a="ETH", b="BTC")
    with CaptureQueriesContext(connection) as three:
        body = client.get("/api/v1/products").json()
    assert len(three) == len(one)
    assert sorted(tuple(p["pool"]["pair"]) for p in body["results"]) == [("BTC", "USDT"), ("ETH", "BTC"),
                                                                         ("ETH", "USDT")]
