"""SCENARIOS.md 1–3 on the pure interest module, plus properties of the carry."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from earn.interest import Tier, daily_exact, post_with_carry, simple_interest

D = Decimal


def test_scenario_1_fixed_30_days_daily_payout_with_carry():
    """1000 USDT at 5 % / 365: exact 0.136986301369863013; days 8, 15, 22, 30 post one unit more."""
    tiers = [Tier(D(0), None, D("0.05"))]
    exact = daily_exact(D(1000), tiers, 365)
    assert exact == D("0.136986301369863013")
    carry, posted_days = D(0), []
    for _ in range(30):
        posted, carry = post_with_carry(exact, carry, 8)
        posted_days.append(posted)
    assert posted_days[0] == D("0.13698630")
    assert [i + 1 for i, p in enumerate(posted_days) if p == D("0.13698631")] == [8, 15, 22, 30]
    assert sum(posted_days) == D("4.10958904")
    assert sum(posted_days) + carry == exact * 30


def test_scenario_2_marginal_tiers():
    tiers = [Tier(D(0), D(5), D("0.05")), Tier(D(5), D(10), D("0.03"))]
    posted, _ = post_with_carry(daily_exact(D(7), tiers, 365), D(0), 8)
    assert posted == D("0.00084931")
    whole_at_3 = daily_exact(D(7), [Tier(D(0), None, D("0.03"))], 365)
    assert post_with_carry(whole_at_3, D(0), 8)[0] == D("0.00057534")


def test_scenario_3_day_count_basis():
    assert simple_interest(D(1000), D("0.10"), 30, 360).quantize(D("1e-8"), rounding="ROUND_DOWN") == D("8.33333333")
    assert simple_interest(D(1000), D("0.10"), 30, 365).quantize(D("1e-8"), rounding="ROUND_DOWN") == D("8.21917808")


@given(
    base=st.decimals(min_value=0, max_value=10**9, places=8),
    apr=st.decimals(min_value=0, max_value=2, places=6),
    days=st.integers(min_value=1, max_value=400),
    scale=st.sampled_from([2, 8]),
)
def test_carry_never_loses_or_invents_money(base, apr, days, scale):
    """sum(posted) + carry == sum(exact) exactly, and the carry stays below one unit."""
    exact = daily_exact(base, [Tier(D(0), None, apr)], 365)
    carry, total = D(0), D(0)
    for _ in range(days):
        posted, carry = post_with_carry(exact, carry, scale)
        assert posted >= 0
        total += posted
    assert total + carry == exact * days
    assert D(0) <= carry < D(1).scaleb(-scale)
