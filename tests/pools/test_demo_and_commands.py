"""The demo pool (seed_demo), `price_feed` (seeded walk, re-balancing) and `distribute_pool_yield`."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from compliance.models import Disclosure
from earn.models import Product
from pools.feeds import RandomWalkSource
from pools.models import Pool, PoolDay, PoolRebalance
from pools.services.deposits import pool_deposit_create
from pricing.selectors import latest_prices
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_creates_a_live_pool_product_with_the_il_table_in_its_disclosure():
    run("seed_demo")
    product = Product.objects.get(name_en="BTC/USDT Liquidity Mining")
    pool = Pool.objects.get(product=product)
    assert (product.status, product.strategy, product.risk_rating) == ("live", "liquidity_mining", 4)
    assert (pool.asset_a_id, pool.asset_b_id, pool.reward_asset_id) == ("BTC", "USDT", "HSK")
    assert latest_prices(["HSK"]) == {"HSK": Decimal("0.5")}
    disclosure = Disclosure.objects.get(product=product, status="current")
    assert "×2: -5.7191 %, −85.78 USD" in disclosure.body_en and "×4: -20.0000 %" in disclosure.body_en
    assert "×2: -5.7191 %" in disclosure.body_zh_hant
    assert {"impermanent_loss", "reward_token_price"} <= {s["key"] for s in disclosure.risk_statements}
    assert "exists" in run("seed_demo").split("pool BTC/USDT Liquidity Mining:")[1].splitlines()[0]
    assert Pool.objects.count() == 1


def test_random_walk_is_deterministic_for_a_seed():
    start = {"BTC": Decimal("60000"), "USDT": Decimal("1")}
    one = RandomWalkSource(seed=7, steps=5).fetch(["BTC", "USDT"], start)
    two = RandomWalkSource(seed=7, steps=5).fetch(["BTC", "USDT"], start)
    other = RandomWalkSource(seed=8, steps=5).fetch(["BTC", "USDT"], start)
    assert one == two != other
    assert set(one) == {"BTC"}  # stablecoins stay pegged
    assert abs(one["BTC"] / start["BTC"] - 1) <= Decimal("0.0760")  # five steps of at most 1.5 %


def test_price_feed_records_prices_and_rebalances_pools(user_factory, fund):
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    output = run("price_feed", "--ticks", "3", "--seed", "42")
    assert output.count("tick") == 3 and "pools re-balanced: 1" in output
    price = latest_prices(["BTC"])["BTC"]
    pool.refresh_from_db()
    assert abs(pool.reserve_b / pool.reserve_a - price) < Decimal("0.01")
    assert pool.reserve_a * pool.reserve_b >= Decimal("60000")
    assert PoolRebalance.objects.filter(pool=pool).count() == 3


@pytest.mark.parametrize(("argv", "message"), [
    (["--source", "os.getpid"], "not a price source class"), (["--source", "pools.nothing.Here"], "no such class"),
    (["--source", "os"], "no such class"), (["--ticks", "-1"], "--ticks"), (["--max-bps", "-5"], "--max-bps")])
def test_price_feed_refuses_what_it_cannot_use(db, argv, message):
    from pricing.models import PriceSnapshot

    before = PriceSnapshot.objects.count()
    with pytest.raises(CommandError, match=message):
        run("price_feed", *argv)
    assert PriceSnapshot.objects.count() == before


def test_distribute_pool_yield_command(user_factory, fund):
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    assert "1 positions" in run("distribute_pool_yield", "--date", "2026-03-02")
    assert "already distributed" in run("distribute_pool_yield", "--date", "2026-03-02")
    with time_machine.travel(dt.datetime(2026, 3, 5, 0, 10, tzinfo=dt.UTC)):
        out = run("distribute_pool_yield")
    assert "2026-03-03" in out and "2026-03-04" in out
    assert PoolDay.objects.filter(pool=pool).count() == 3


@pytest.mark.parametrize(("day", "message"), [("2026-03-05", "has not ended"), ("2026-03-06", "has not ended"),
                                              ("9999-12-31", "has not ended"), ("2026-W10-1", "YYYY-MM-DD"),
                                              ("20260302", "YYYY-MM-DD"), ("0000-00-00", "YYYY-MM-DD")])
def test_distribute_pool_yield_refuses_a_day_not_over_or_malformed(user_factory, fund, day, message):
    """A future day was paid at today's shares, and the catch-up, resuming after the latest day paid, then skipped
    every day before it (after 9999-12-31 it failed every night); a week date was read as a day."""
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    with time_machine.travel(dt.datetime(2026, 3, 5, 0, 10, tzinfo=dt.UTC)):
        with pytest.raises(CommandError, match=message):
            run("distribute_pool_yield", "--date", day)
        assert not PoolDay.objects.exists()
        run("distribute_pool_yield")
    assert sorted(PoolDay.objects.values_list("date", flat=True)) == [dt.date(2026, 3, d) for d in (2, 3, 4)]


def test_beat_runs_the_pool_jobs_after_the_accrual_job(user_factory, fund, settings):
    from pools import tasks

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["pools-distribute-daily"]["task"] == "pools.tasks.pools_distribute_task"
    distribute, accrue = schedule["pools-distribute-daily"]["schedule"], schedule["accrual-daily"]["schedule"]
    assert (distribute.hour, distribute.minute) == ({0}, {10}) and min(accrue.minute) < min(distribute.minute)
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 10, tzinfo=dt.UTC)):
        assert tasks.pools_distribute_task() == {"days": [{"pool": pool.pk, "date": "2026-03-02", "positions": 1}]}
        assert tasks.pools_distribute_task() == {"days": []}
        assert tasks.pools_mature_task() == {"matured": 0}
        assert tasks.price_feed_task()["rebalanced"] == 1
