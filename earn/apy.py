"""APR → APY and tier-schedule checks, with no Django import (fast to test, Decimals only).

APY = (1 + APR/n)^n − 1 with n = 365 daily compounding periods, for products whose interest is
paid daily into the earning balance (demand products). Fixed-term products pay simple interest on
the locked principal, so their APY equals their APR.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

COMPOUNDING_PERIODS = 365
# Enough digits that (1 + APR/365)^365 is exact far beyond the 18 stored decimal places.
_PRECISION = 60
FRACTION_PLACES = Decimal("1e-10")
PERCENT_PLACES = Decimal("1e-4")


def apy_compounded(apr: Decimal, periods: int = COMPOUNDING_PERIODS) -> Decimal:
    """(1 + apr/periods)^periods − 1, as a fraction (0.105155781… for apr 0.10)."""
    if not isinstance(apr, Decimal):
        raise TypeError("apr must be a Decimal")
    if apr < 0:
        raise ValueError("apr must not be negative")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (1 + apr / periods) ** periods - 1


def apy_for(apr: Decimal, *, compounding: bool) -> Decimal:
    """The APY to show beside `apr`: compounded daily where interest compounds, else the APR itself."""
    return apy_compounded(apr) if compounding else apr


def as_fraction(rate: Decimal) -> Decimal:
    """A rate rounded for display as a fraction, 10 decimal places (half-even)."""
    return rate.quantize(FRACTION_PLACES, rounding=ROUND_HALF_EVEN)


def as_percent(rate: Decimal) -> Decimal:
    """A fraction shown in percent to 4 decimal places: 0.105155781 → 10.5156."""
    return (rate * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_EVEN)


def tier_schedule_errors(tiers: Sequence[tuple[Decimal, Decimal | None, Decimal]]) -> list[str]:
    """Why a marginal APR schedule [(lower, upper, apr)] is not usable; empty when it is.

    Bands must start at 0, be contiguous (each lower = the previous upper), have upper > lower,
    and only the last may be unbounded (upper None). APRs are fractions in [0, 10).
    """
    errors: list[str] = []
    if not tiers:
        return ["at least one tier is required"]
    ordered = sorted(tiers, key=lambda t: t[0])
    if ordered[0][0] != 0:
        errors.append("the first tier must start at 0")
    for index, (lower, upper, apr) in enumerate(ordered):
        if apr < 0 or apr >= 10:
            errors.append(f"tier {index + 1}: APR must be a fraction in [0, 10)")
        if upper is not None and upper <= lower:
            errors.append(f"tier {index + 1}: upper bound must exceed the lower bound")
        if upper is None and index != len(ordered) - 1:
            errors.append(f"tier {index + 1}: only the last tier may be unbounded")
        if index and lower != ordered[index - 1][1]:
            errors.append(f"tier {index + 1}: must start where tier {index} ends")
    return errors
