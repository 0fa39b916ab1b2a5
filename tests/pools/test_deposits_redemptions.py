"""Depositing into and redeeming from a pool product: amounts, shares, ledger movements, refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from earn.errors import RedemptionRefused, SubscriptionRefused
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from pools.amm import floor_to
from pools.models import PoolPosition, PoolShareChange
from pools.services.deposits import deposit_quote, pool_deposit_create
from pools.services.pools import pool_rebalance
from pools.services.redemptions import pool_redeem, pools_mature
from pricing.services import price_record
from tests.earn.helpers import balance
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db


def reserve(asset: str) -> Decimal:
    from ledger.models import LedgerAccount

    acc = LedgerAccount.objects.filter(owner__isnull=True, asset_id=asset, kind=AccountKind.POOL_RESERVE).first()
    return acc.balance if acc else Decimal(0)


def test_pair_deposit_takes_both_assets_in_the_pool_ratio(user_factory, fund):
    pool = pool_product()
    first = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    opening = pool_deposit_create(user=first, product_id=pool.product_id, amount="1")  # the price sets the ratio
    second = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    quote = deposit_quote(user=second, product=pool.product, amount="0.5")
    assert quote["plan"].amount_b == Decimal("30000")  # the preview computes the second amount
    assert quote["blocking"] == []
    deposit = pool_deposit_create(user=second, product_id=pool.product_id, amount="0.5")
    assert (deposit.amount_a, deposit.amount_b) == (Decimal("0.5"), Decimal("30000"))
    pool.refresh_from_db()
    assert opening.shares / 2 - deposit.shares < Decimal("1e-12")  # half the first's, rounded down
    assert pool.total_shares == opening.shares + deposit.shares
    assert balance(second, "BTC") == Decimal("0.5") and balance(second, "USDT") == Decimal("70000")
    assert balance(second, pool.share_asset_id, AccountKind.POOL_SHARE) == deposit.shares
    assert reserve("BTC") == pool.reserve_a == Decimal("1.5")
    assert reserve("USDT") == pool.reserve_b == Decimal("90000")
    assert ledger_reconcile().ok


def test_deposit_by_the_second_asset(user_factory, fund):
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="100000")
    deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="6000", asset="USDT")
    assert (deposit.amount_a, deposit.amount_b) == (Decimal("0.1"), Decimal("6000"))


def test_one_asset_deposit_swaps_half_and_states_the_fee(user_factory, fund):
    pool = pool_product(fee_rate="0.003")
    seed = ready_customer(user_factory, fund, pool, BTC="10", USDT="600000")
    pool_deposit_create(user=seed, product_id=pool.product_id, amount="10")
    user = ready_customer(user_factory, fund, pool, BTC="1")
    quote = deposit_quote(user=user, product=pool.product, amount="1", mode="single")
    plan = quote["plan"]
    assert plan.swap_in == Decimal("0.5") and plan.swap_fee == Decimal("0.0015")
    # 0.4985 BTC effective into 10 BTC / 600 000 USDT: 600000·0.4985/10.4985
    assert plan.swap_out == Decimal("28489.78425489")
    deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="1", mode="single")
    assert deposit.amount_b == 0 and deposit.swap_fee == Decimal("0.0015")
    assert balance(user, "BTC") == plan.leftover  # the part the ratio does not take stays with the customer
    assert balance(user, "USDT") == 0
    pool.refresh_from_db()
    assert pool.reserve_b == Decimal("600000")  # the bought USDT went straight back in
    assert ledger_reconcile().ok


def test_refusals_move_nothing(user_factory, fund):
    pool = pool_product()
    stranger = user_factory(country="HK")
    fund(stranger, "BTC", "1")
    with pytest.raises(SubscriptionRefused) as refused:
        pool_deposit_create(user=stranger, product_id=pool.product_id, amount="1")
    assert refused.value.codes == ["NO_ACK"]
    poor = ready_customer(user_factory, fund, pool, BTC="1", USDT="10")
    with pytest.raises(SubscriptionRefused) as refused:
        pool_deposit_create(user=poor, product_id=pool.product_id, amount="1")
    assert refused.value.codes == ["INSUFFICIENT_BALANCE"]
    assert balance(poor, "BTC") == 1 and PoolPosition.objects.count() == 0


def test_redeem_returns_both_assets_and_the_result_against_holding(user_factory, fund):
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    price_record(asset_code="BTC", price_usd="240000", source="test")  # ×4
    pool_rebalance(product_id=pool.product_id)
    withdrawal = pool_redeem(user=user, position_id=deposit.position_id)
    # k = 60 000 kept: 0.5 BTC and 120 000 USDT come back.
    assert (withdrawal.amount_a, withdrawal.amount_b) == (Decimal("0.5"), Decimal("120000"))
    assert withdrawal.value_usd == Decimal("240000.00") and withdrawal.hold_value_usd == Decimal("300000.00")
    assert withdrawal.value_usd / withdrawal.hold_value_usd - 1 == Decimal("-0.2")  # IL(4) = −20 %
    assert balance(user, "BTC") == Decimal("0.5") and balance(user, "USDT") == Decimal("120000")
    position = PoolPosition.objects.get(pk=deposit.position_id)
    assert position.status == "redeemed" and position.shares == 0
    assert ledger_reconcile().ok


def test_partial_redemption_stops_earning_today(user_factory, fund):
    pool = pool_product()
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    quarter = floor_to(deposit.shares / 4, 12)
    with time_machine.travel(dt.datetime(2026, 3, 5, 10, tzinfo=dt.UTC)):
        pool_redeem(user=user, position_id=deposit.position_id, shares=str(quarter))
    changes = list(PoolShareChange.objects.filter(position_id=deposit.position_id)
                   .values_list("effective_date", "shares"))
    assert changes == [(dt.date(2026, 3, 2), deposit.shares), (dt.date(2026, 3, 5), -quarter)]
    assert ledger_reconcile().ok


def test_fixed_term_pool_position(user_factory, fund):
    pool = pool_product(term_type="fixed", term_days=30, early_redemption="not_allowed")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    position = PoolPosition.objects.get(pk=deposit.position_id)
    assert position.maturity_date == dt.date(2026, 4, 1)  # value date 2 March + 30 days
    with time_machine.travel(dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC)), pytest.raises(RedemptionRefused) as no:
        pool_redeem(user=user, position_id=position.pk)
    assert no.value.code == "EARLY_REDEMPTION_NOT_ALLOWED"
    with time_machine.travel(dt.datetime(2026, 4, 1, 0, 40, tzinfo=dt.UTC)):
        assert pools_mature() == 1
        assert pools_mature() == 0
    position.refresh_from_db()
    assert position.status == "matured"
    assert balance(user, "BTC") == 1 and balance(user, "USDT") == 60000
    assert ledger_reconcile().ok


def test_early_redemption_under_forfeit_interest_withholds_the_fees_paid(user_factory, fund):
    from pools.services.distribution import pool_distribute_day

    pool = pool_product(term_type="fixed", term_days=30, early_redemption="forfeit_interest")
    user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)):
        deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    for day in (2, 3):  # 1 500 USD of fees a day: 0.025 BTC + 1 500 USDT
        pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, day))
    assert (balance(user, "BTC"), balance(user, "USDT")) == (Decimal("0.05"), Decimal("3000"))
    with time_machine.travel(dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC)):
        withdrawal = pool_redeem(user=user, position_id=deposit.position_id)
    assert withdrawal.early and (withdrawal.withheld_a, withdrawal.withheld_b) == (Decimal("0.05"), Decimal("3000"))
    assert (balance(user, "BTC"), balance(user, "USDT")) == (Decimal("1"), Decimal("60000"))  # the fees went back
    from ledger.models import LedgerAccount

    penalty = LedgerAccount.objects.get(owner__isnull=True, asset_id="USDT", kind=AccountKind.PENALTY_INCOME)
    assert penalty.balance == Decimal("3000")
    assert ledger_reconcile().ok
