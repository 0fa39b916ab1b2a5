"""Daily pool income: largest remainder in SQL, exactly once per (pool, day), catch-up, compounding, and the
full cycle of the issue (two customers, a ×2 price move, ten days of fees, both redeem)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum

from ledger.models import AccountKind, JournalEntry, LedgerAccount
from ledger.reconcile import ledger_reconcile
from pools.models import Pool, PoolDay, PoolPayout, PoolPosition, PoolRebalance
from pools.services.deposits import pool_deposit_create
from pools.services.distribution import pool_distribute_day, pools_distribute_day, pools_distribute_pending
from pools.services.pools import pool_rebalance
from pools.services.redemptions import pool_redeem
from pricing.services import price_record
from tests.earn.helpers import balance
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db

MARCH_1 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


def deposit_on(moment: dt.datetime, user, pool: Pool, amount: str = "1", **kw):
    with time_machine.travel(moment):
        return pool_deposit_create(user=user, product_id=pool.product_id, amount=amount, **kw)


def three_equal_positions(user_factory, fund, pool: Pool) -> list:
    users = [ready_customer(user_factory, fund, pool, BTC="1", USDT="60000") for _ in range(3)]
    return [deposit_on(MARCH_1, user, pool).position_id for user in users]


def test_scenario_17_largest_remainder_in_the_ledger(user_factory, fund):
    """A reward of 1.00000000 split by shares 1:1:1 posts 0.33333334, 0.33333333, 0.33333333; the total is exact."""
    pool = pool_product(emission="1", volume_usd="0")
    ids = three_equal_positions(user_factory, fund, pool)
    assert len(set(PoolPosition.objects.filter(pk__in=ids).values_list("shares", flat=True))) == 1
    result = pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, 2))
    assert result.positions == 3 and result.reward == Decimal("1")
    rewards = list(PoolPayout.objects.filter(position_id__in=ids).order_by("position_id").values_list("reward",
                                                                                                   flat=True))
    assert rewards == [Decimal("0.33333334"), Decimal("0.33333333"), Decimal("0.33333333")]
    users = PoolPosition.objects.filter(pk__in=ids).order_by("id").values_list("user_id", flat=True)
    assert [balance(u, "HSK") for u in users] == rewards
    rewards_account = LedgerAccount.objects.get(owner__isnull=True, asset_id="HSK", kind=AccountKind.REWARDS)
    assert rewards_account.balance == Decimal("-1")
    assert ledger_reconcile().ok


def test_exactly_once_per_pool_and_day(user_factory, fund):
    pool = pool_product()
    three_equal_positions(user_factory, fund, pool)
    first = pools_distribute_day(dt.date(2026, 3, 2))
    entries = JournalEntry.objects.count()
    again = pools_distribute_day(dt.date(2026, 3, 2))
    assert not first[0].skipped and again[0].skipped
    assert JournalEntry.objects.count() == entries
    assert PoolDay.objects.filter(pool=pool).count() == 1
    assert PoolPayout.objects.count() == 3
    keys = set(JournalEntry.objects.filter(kind__in=["fee", "reward"]).values_list("idempotency_key", flat=True))
    assert keys == {f"pool-fee:{pool.pk}:2026-03-02", f"pool-reward:{pool.pk}:2026-03-02"}


def test_deposits_earn_from_the_next_day_and_catch_up_matches(user_factory, fund):
    pool = pool_product(emission="10")
    early = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    late = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    deposit_on(MARCH_1, early, pool)
    deposit_on(MARCH_1 + dt.timedelta(days=2), late, pool)  # 3 March: earns from 4 March
    with time_machine.travel(dt.datetime(2026, 3, 6, 0, 10, tzinfo=dt.UTC)):
        results = pools_distribute_pending()
    assert [(r.date, r.positions) for r in results if r.positions] == [
        (dt.date(2026, 3, 2), 1), (dt.date(2026, 3, 3), 1), (dt.date(2026, 3, 4), 2), (dt.date(2026, 3, 5), 2)]
    assert balance(early, "HSK") == Decimal("30")  # 10 + 10 + 5 + 5
    assert balance(late, "HSK") == Decimal("10")
    with time_machine.travel(dt.datetime(2026, 3, 6, 1, tzinfo=dt.UTC)):
        assert all(r.skipped for r in pools_distribute_pending())
    assert ledger_reconcile().ok


def test_fees_compound_into_the_reserves(user_factory, fund):
    pool = pool_product(fee_mode="compound", reward=None, volume_usd="1000000")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    deposit_on(MARCH_1, user, pool)
    result = pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, 2))
    # 0.3 % of 1 000 000 USD: 1 500 USD in each asset.
    assert (result.fee_a, result.fee_b) == (Decimal("0.025"), Decimal("1500"))
    pool.refresh_from_db()
    assert (pool.reserve_a, pool.reserve_b) == (Decimal("1.025"), Decimal("61500"))
    assert balance(user, "BTC") == 0 and balance(user, "USDT") == 0  # nothing paid out: the shares grew
    payout = PoolPayout.objects.get()
    assert payout.fee_compounded and payout.fee_b == Decimal("1500")
    assert ledger_reconcile().ok


def test_rewards_reinvested_for_compounding_positions(user_factory, fund):
    pool = pool_product(emission="1000", volume_usd="0")  # HSK at 0.5 USD: 500 USD a day
    keeper = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    compounder = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    deposit_on(MARCH_1, keeper, pool)
    position = deposit_on(MARCH_1, compounder, pool, compound_rewards=True).position
    shares_before = position.shares if position.shares else PoolPosition.objects.get(pk=position.pk).shares
    result = pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, 2))
    assert result.reward == Decimal("1000") and result.reward_compounded == Decimal("500")
    assert balance(keeper, "HSK") == Decimal("500") and balance(compounder, "HSK") == 0
    position.refresh_from_db()
    pool.refresh_from_db()
    # 500 HSK = 250 USD: 125 USD bought each side, 0.00208333 BTC and 125 USDT; shares minted pro rata.
    assert position.shares > shares_before
    assert balance(compounder, pool.share_asset_id, AccountKind.POOL_SHARE) == position.shares
    assert pool.reserve_a == Decimal("2.00208333") and pool.reserve_b == Decimal("120125")
    assert ledger_reconcile().ok


def _totals(users, codes) -> dict[str, Decimal]:
    """Every asset held by the customers (available) and the pool (reserves)."""
    out = {}
    for code in codes:
        held = sum((balance(u, code) for u in users), Decimal(0))
        reserve = LedgerAccount.objects.filter(owner__isnull=True, asset_id=code,
                                               kind=AccountKind.POOL_RESERVE).first()
        out[code] = held + (reserve.balance if reserve else 0)
    return out


def test_full_cycle_two_customers_price_x2_ten_days_of_fees(user_factory, fund):
    """Two deposit, BTC doubles, fees and rewards accrue for 10 days, both redeem: every asset's total across the
    pool and the customers moves only by the arbitrage trades and the posted fees and rewards; reconcile is clean."""
    pool = pool_product(fee_rate="0.003", volume_usd="2000000", emission="100")
    alice = ready_customer(user_factory, fund, pool, BTC="3", USDT="180000")
    bob = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    codes = ["BTC", "USDT", "HSK"]
    before = _totals([alice, bob], codes)
    a_pos = deposit_on(MARCH_1, alice, pool, "3").position_id
    b_pos = deposit_on(MARCH_1, bob, pool, "1").position_id
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)):
        price_record(asset_code="BTC", price_usd="120000", source="test")
        pool_rebalance(product_id=pool.product_id)
    with time_machine.travel(dt.datetime(2026, 3, 12, 0, 10, tzinfo=dt.UTC)):
        days = [d for d in pools_distribute_pending() if d.positions]
        assert [d.date for d in days] == [dt.date(2026, 3, 2) + dt.timedelta(days=i) for i in range(10)]
        redemptions = [pool_redeem(user=alice, position_id=a_pos), pool_redeem(user=bob, position_id=b_pos)]
    after = _totals([alice, bob], codes)
    arbitrage = PoolRebalance.objects.filter(pool=pool).aggregate(
        a=Sum("reserve_a_after") - Sum("reserve_a_before"), b=Sum("reserve_b_after") - Sum("reserve_b_before"))
    income = PoolDay.objects.filter(pool=pool).aggregate(a=Sum("fee_a"), b=Sum("fee_b"), r=Sum("reward"))
    assert after["BTC"] - before["BTC"] == arbitrage["a"] + income["a"]
    assert after["USDT"] - before["USDT"] == arbitrage["b"] + income["b"]
    assert after["HSK"] - before["HSK"] == income["r"] == Decimal("1000")
    # Fees: 0.3 % of 2 000 000 USD a day, half each side at the doubled price, for 10 days.
    assert (income["a"], income["b"]) == (Decimal("0.25"), Decimal("30000"))
    # Shares 3:1, so income splits 3:1 (exactly, the units divide evenly).
    assert balance(alice, "HSK") == Decimal("750") and balance(bob, "HSK") == Decimal("250")
    pool.refresh_from_db()
    assert pool.total_shares == 0 and pool.reserve_a >= 0 and pool.reserve_b >= 0
    assert pool.reserve_a < Decimal("0.00000003") and pool.reserve_b < Decimal("0.00000003")  # rounding dust
    # Each redemption shows the result against holding: IL(2) = −5.72 % before the income.
    for withdrawal in redemptions:
        assert withdrawal.value_usd < withdrawal.hold_value_usd
        assert abs(withdrawal.value_usd / withdrawal.hold_value_usd - 1 - Decimal("-0.057191")) < Decimal("0.0001")
    report = ledger_reconcile()
    assert report.ok, report.mismatches
    assert {"pools_reserves", "pools_shares_issued", "pools_share_accounts"} <= set(report.checks_run)
