"""Concurrent pool operations against PostgreSQL: deposits, redemptions, re-balancing and the daily
distribution of the same pool run at once without deadlocks, and the books still reconcile."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.reconcile import ledger_reconcile
from pools.amm import floor_to
from pools.models import Pool, PoolDay, PoolPosition
from pools.services.deposits import pool_deposit_create
from pools.services.distribution import pool_distribute_day
from pools.services.pools import pool_rebalance
from pools.services.redemptions import pool_redeem
from pricing.services import price_record
from tests.earn.test_concurrency import run_threads
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db(transaction=True)


def test_deposits_redemptions_rebalance_and_distribution_at_once(user_factory, fund):
    pool = pool_product()
    users = [ready_customer(user_factory, fund, pool, BTC="2", USDT="200000") for _ in range(8)]
    opened = [pool_deposit_create(user=users[i], product_id=pool.product_id, amount="1").position_id
              for i in range(4)]
    price_record(asset_code="BTC", price_usd="66000", source="test")

    def act(i: int):
        if i < 4:  # four new deposits
            return pool_deposit_create(user=users[4 + i], product_id=pool.product_id, amount="0.5")
        if i < 7:  # three redemptions of half a position
            half = floor_to(PoolPosition.objects.get(pk=opened[i - 4]).shares / 2, 12)
            return pool_redeem(user=users[i - 4], position_id=opened[i - 4], shares=str(half))
        if i == 7:
            return pool_rebalance(product_id=pool.product_id)
        return pool_distribute_day(pool_id=pool.pk, day=dt.date.today() + dt.timedelta(days=1))

    results = run_threads(act, 9)
    assert not [r for r in results if isinstance(r, Exception)], results
    pool.refresh_from_db()
    active = PoolPosition.objects.filter(pool=pool, status="active")
    assert sum(active.values_list("shares", flat=True)) == pool.total_shares
    assert PoolDay.objects.filter(pool=pool).count() == 1
    assert pool.reserve_b / pool.reserve_a == pytest.approx(Decimal("66000"), rel=Decimal("0.01"))
    report = ledger_reconcile()
    assert report.ok, report.mismatches


def test_the_same_day_distributed_by_two_workers_pays_once(user_factory, fund):
    pool = pool_product(emission="10")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    day = dt.date.today() + dt.timedelta(days=1)
    results = run_threads(lambda i: pool_distribute_day(pool_id=pool.pk, day=day), 4)
    assert sorted(r.skipped for r in results) == [False, True, True, True]
    assert Pool.objects.get(pk=pool.pk).days.count() == 1
    assert ledger_reconcile().ok
