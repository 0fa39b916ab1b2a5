"""Accrual, redemption and settlement end to end (SCENARIOS.md 1, 2, 5; DESIGN.md §4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from earn.models import Accrual, Position, PositionStatus, Redemption
from earn.services import accrual
from earn.services.redemptions import redemption_create, redemption_plan
from earn.services.settlement import settle
from earn.services.subscriptions import subscription_create
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, at, balance
from tests.factories import UserFactory

D = Decimal
UTC = dt.UTC
pytestmark = pytest.mark.django_db


def customer_in(product, fund, amount="100000"):
    user = UserFactory(country="HK")
    fund(user, product.asset_id, amount)
    acknowledge(user, product)
    return user


def assert_reconciled():
    report = ledger_reconcile()
    assert report.ok, [str(m) for m in report.mismatches]


def test_scenario_1_fixed_30_days_daily_payout(assets, fund):
    product = live_product("USDT", "fixed", term_days=30, tiers=[(0, None, "0.05")])
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 10):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    assert (sub.value_date, sub.maturity_date) == (dt.date(2026, 3, 2), dt.date(2026, 4, 1))
    with at(2026, 4, 1, 0, 10):
        days = accrual.accrue_pending()
        result = settle()
    accruals = list(Accrual.objects.filter(position=sub.position).order_by("date"))
    assert len(accruals) == 30
    assert accruals[0].date == dt.date(2026, 3, 2) and accruals[-1].date == dt.date(2026, 3, 31)
    assert accruals[0].exact == D("0.136986301369863013")
    assert accruals[0].posted == D("0.13698630")
    assert [i + 1 for i, a in enumerate(accruals) if a.posted == D("0.13698631")] == [8, 15, 22, 30]
    assert sum(a.posted for a in accruals) == D("4.10958904")
    assert sum(a.posted for a in accruals) + accruals[-1].carry == sum(a.exact for a in accruals)
    assert [d.positions for d in days if d.positions] == [1] * 30
    assert result.positions_matured == 1
    assert balance(user, "USDT") == D("1004.10958904")
    assert balance(user, "USDT", AccountKind.EARN) == 0
    assert Position.objects.get(pk=sub.position_id).status == PositionStatus.MATURED
    assert_reconciled()


def test_scenario_2_marginal_tiers_in_a_demand_product(assets, fund):
    product = live_product("BTC", tiers=[(0, 5, "0.05"), (5, 10, "0.03")])
    user = customer_in(product, fund, "10")
    with at(2026, 3, 1, 9):
        subscription_create(user=user, product_id=product.pk, amount="7")
    with at(2026, 3, 3, 1):
        accrual.accrue_pending()
    assert Accrual.objects.get(date=dt.date(2026, 3, 2)).posted == D("0.00084931")


def test_scenario_5_catch_up_after_downtime(assets, fund):
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    with at(2026, 3, 3, 0, 5):
        accrual.accrue_pending()  # accrues 2 March
    with at(2026, 3, 6, 0, 5):  # beat was down on 4, 5 and 6 March
        days = accrual.accrue_pending()
        assert [d.date for d in days] == [dt.date(2026, 3, 3), dt.date(2026, 3, 4), dt.date(2026, 3, 5)]
        assert accrual.accrue_pending() == []
    dates = list(Accrual.objects.filter(position=sub.position).order_by("date").values_list("date", flat=True))
    assert dates == [dt.date(2026, 3, d) for d in (2, 3, 4, 5)]
    assert_reconciled()


def test_days_not_yet_ended_are_refused(assets):
    with at(2026, 3, 6, 12), pytest.raises(ValueError, match="has not ended"):
        accrual.accrue_day(dt.date(2026, 3, 6))


def test_redemption_after_midnight_before_the_run_keeps_the_previous_day(assets, fund):
    """A fast redemption at 00:01 on 4 March does not change what 3 March earns."""
    product = live_product("USDT", tiers=[(0, None, "0.0365")])
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    with at(2026, 3, 3, 0, 1):
        accrual.accrue_pending()
    with at(2026, 3, 4, 0, 1):
        redemption_create(user=user, position_id=sub.position_id, amount="400", mode="fast")
        accrual.accrue_pending()
    with at(2026, 3, 5, 0, 1):
        accrual.accrue_pending()
    by_day = dict(Accrual.objects.filter(position=sub.position).values_list("date", "base"))
    assert by_day == {dt.date(2026, 3, 2): D("1000"), dt.date(2026, 3, 3): D("1000"), dt.date(2026, 3, 4): D("600")}
    assert_reconciled()


def test_withdrawal_takes_first_from_money_not_yet_earning(assets, fund):
    product = live_product("USDT", tiers=[(0, None, "0.0365")])
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="500")
    with at(2026, 3, 2, 9):
        subscription_create(user=user, product_id=product.pk, amount="300")  # earns from 3 March
        redemption_create(user=user, position_id=sub.position_id, amount="400", mode="fast")
    with at(2026, 3, 4, 1):
        accrual.accrue_pending()
    by_day = dict(Accrual.objects.filter(position=sub.position).values_list("date", "base"))
    # 2 March: 500 earned until 400 left, 300 of it from the new money: 500 - 100 taken that day = 400.
    assert by_day == {dt.date(2026, 3, 2): D("400"), dt.date(2026, 3, 3): D("400")}


def test_standard_redemption_waits_in_pending_until_settle(assets, fund):
    product = live_product("USDT")
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    with at(2026, 3, 5, 9):
        red = redemption_create(user=user, position_id=sub.position_id, amount="250", mode="standard")
        assert red.settles_at == dt.datetime(2026, 3, 6, tzinfo=UTC)
        assert balance(user, "USDT", AccountKind.PENDING) == D("250")
        assert settle().redemptions_settled == 0
    with at(2026, 3, 6, 0, 30):
        assert settle().redemptions_settled == 1
        assert settle().redemptions_settled == 0
    assert balance(user, "USDT", AccountKind.PENDING) == 0
    assert balance(user, "USDT") == D("250")
    assert Redemption.objects.get().status == "settled"
    assert_reconciled()


def _fixed_with_rule(fund, **rule):
    product = live_product("USDT", "fixed", term_days=30, tiers=[(0, None, "0.0365")], **rule)
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    with at(2026, 3, 12, 0, 5):
        accrual.accrue_pending()  # 2..11 March: 10 days × 0.1 = 1.0 paid
    return product, user, sub


def test_early_redemption_not_allowed(assets, fund):
    _, user, sub = _fixed_with_rule(fund)
    with at(2026, 3, 12, 9), pytest.raises(Exception, match="not allowed") as exc:
        redemption_create(user=user, position_id=sub.position_id, amount=None, mode="fast")
    assert exc.value.code == "EARLY_REDEMPTION_NOT_ALLOWED"


def test_early_redemption_forfeits_interest_paid(assets, fund):
    _, user, sub = _fixed_with_rule(fund, early_redemption="forfeit_interest")
    assert balance(user, "USDT") == D("1.0")
    with at(2026, 3, 12, 9):
        red = redemption_create(user=user, position_id=sub.position_id, amount=None, mode="fast")
    assert (red.payout, red.forfeited) == (D("999.0"), D("1.0"))
    assert balance(user, "USDT") == D("1000.0")
    assert Position.objects.get(pk=sub.position_id).status == PositionStatus.REDEEMED
    with at(2026, 3, 14, 0, 5):
        accrual.accrue_pending()
    assert Accrual.objects.filter(position=sub.position).count() == 10  # nothing after redemption
    assert_reconciled()


def test_early_redemption_reprices_at_the_penalty_rate(assets, fund):
    _, user, sub = _fixed_with_rule(fund, early_redemption="penalty_rate", penalty_apr="0.01")
    with at(2026, 3, 12, 9):
        plan = redemption_plan(position=sub.position, amount=None, mode="fast")
        red = redemption_create(user=user, position_id=sub.position_id, amount=None, mode="fast")
    # 10 elapsed days at 1 %: 1000 × 0.01 × 10 / 365 = 0.27397260; paid 1.0 → claw back 0.72602740.
    assert red.forfeited == plan.forfeited == D("0.72602740")
    assert red.payout == D("999.27397260")
    assert_reconciled()


def test_at_maturity_payout_and_auto_renew(assets, fund):
    product = live_product("ETH", "fixed", term_days=2, tiers=[(0, None, "0.365")], payout="at_maturity",
                           auto_renew_allowed=True)
    user = customer_in(product, fund, "10")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="10", auto_renew=True)
    with at(2026, 3, 4, 0, 5):
        accrual.accrue_pending()
        assert balance(user, "ETH", AccountKind.ACCRUED) == D("0.02")
        result = settle()
    assert (result.positions_matured, result.positions_renewed) == (1, 1)
    old = Position.objects.get(pk=sub.position_id)
    new = old.renewed_to
    assert old.status == PositionStatus.RENEWED
    assert (new.value_date, new.maturity_date, new.principal) == (dt.date(2026, 3, 4), dt.date(2026, 3, 6), D("10"))
    assert balance(user, "ETH") == D("0.02")  # interest paid out, principal renewed
    assert balance(user, "ETH", AccountKind.EARN) == D("10")
    with at(2026, 3, 5, 0, 5):
        accrual.accrue_pending()
    assert list(Accrual.objects.filter(position=new).values_list("date", flat=True)) == [dt.date(2026, 3, 4)]
    assert_reconciled()


def test_settle_waits_for_the_last_days_accrual(assets, fund):
    product = live_product("USDT", "fixed", term_days=2)
    user = customer_in(product, fund, "100")
    with at(2026, 3, 1, 9):
        subscription_create(user=user, product_id=product.pk, amount="100")
    with at(2026, 3, 4, 9):
        assert settle().waiting_for_accrual == 1
        accrual.accrue_pending()
        assert settle().positions_matured == 1


def test_run_accrual_and_settle_commands(assets, fund, capsys):
    product = live_product("USDT")
    user = customer_in(product, fund, "100")
    with at(2026, 3, 1, 9):
        subscription_create(user=user, product_id=product.pk, amount="100")
    with at(2026, 3, 4, 1):
        call_command("run_accrual")
        call_command("run_accrual")
        call_command("settle")
    out = capsys.readouterr().out
    assert "2026-03-02: 1 positions" in out and "Nothing to accrue" in out and "Settled 0 redemption(s)" in out
