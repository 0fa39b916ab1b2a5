"""APR → APY (SCENARIOS.md 4) and tier-schedule checks: pure Decimal, no database."""

from decimal import Decimal
from fractions import Fraction

import pytest

from earn.apy import apy_compounded, apy_for, as_percent, tier_schedule_errors


@pytest.mark.parametrize(("apr", "apy_percent"), [("0.10", "10.5156"), ("0.50", "64.8157"),
                                                   ("0", "0.0000"), ("0.06", "6.1831")])
def test_apy_daily_compounding(apr, apy_percent):
    """SCENARIOS 4: APR 10 % compounded daily shows APY 10.5156 %; 50 % shows 64.8157 %."""
    assert as_percent(apy_compounded(Decimal(apr))) == Decimal(apy_percent)


def test_apy_is_exact_beyond_stored_precision():
    """The compounded APY agrees with exact rational arithmetic to 30 decimal places."""
    exact = (1 + Fraction(1, 3650)) ** 365 - 1
    assert abs(Fraction(apy_compounded(Decimal("0.10"))) - exact) < Fraction(1, 10**30)


def test_simple_products_show_apy_equal_to_apr():
    """Fixed products do not compound: APY = APR."""
    assert apy_for(Decimal("0.05"), compounding=False) == Decimal("0.05")
    assert apy_for(Decimal("0.05"), compounding=True) > Decimal("0.05")


def test_apy_refuses_floats_and_negative_rates():
    with pytest.raises(TypeError):
        apy_compounded(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        apy_compounded(Decimal("-0.01"))


def d(*values):
    return tuple(None if v is None else Decimal(str(v)) for v in values)


def test_tier_schedule_valid():
    assert tier_schedule_errors([d(0, 10000, "0.06"), d(10000, 100000, "0.03")]) == []
    assert tier_schedule_errors([d(0, None, "0.05")]) == []


@pytest.mark.parametrize("tiers", [
    [],
    [d(1, None, "0.05")],
    [d(0, 10, "0.05"), d(20, None, "0.03")],
    [d(0, None, "0.05"), d(10, None, "0.03")],
    [d(0, 10, "10")],
    [d(0, 0, "0.05")],
])
def test_tier_schedule_refused(tiers):
    """Gaps, overlaps, a non-zero start, an unbounded middle tier or an absurd APR are refused."""
    assert tier_schedule_errors(tiers)
