"""Interest arithmetic with no Django import: marginal tiers, day-count basis, rounding with carry.

All inputs are Decimals; results are exact to 18 decimal places (NUMERIC(38,18)), rounded down.
The arithmetic runs at a precision wide enough for any NUMERIC(38,18) product, like PostgreSQL's, so
the only rounding is the named one (core.money.ROUNDING) and the accrual engine's SQL
(earn.interest_sql) gives the same digits; the default 28-digit context would round large amounts first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import ParamSpec, TypeVar

from core.money import ROUNDING, exact18, floor_to_scale

# Digits kept before the named rounding: two NUMERIC(38,18) values multiply to at most 76 digits.
PRECISION = 100

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _exact(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run `func` with no silent rounding: only exact18 / floor_to_scale round, and with ROUNDING."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(prec=PRECISION, rounding=ROUNDING):
            return func(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Tier:
    """APR `apr` on the part of the base in [lower, upper); upper None = unbounded."""

    lower: Decimal
    upper: Decimal | None
    apr: Decimal


@_exact
def yearly_interest(base: Decimal, tiers: Sequence[Tier]) -> Decimal:
    """Marginal tiers: 7 with bands 0–5 @ 5 %, 5–10 @ 3 % earns 5×5 % + 2×3 %."""
    total = Decimal(0)
    for tier in sorted(tiers, key=lambda t: t.lower):
        if base <= tier.lower:
            break
        top = base if tier.upper is None else min(base, tier.upper)
        total += (top - tier.lower) * tier.apr
    return total


@_exact
def blended_apr(base: Decimal, tiers: Sequence[Tier]) -> Decimal:
    """The single APR that gives the same yearly interest on `base` (for display and records)."""
    if base <= 0:
        return tiers[0].apr if tiers else Decimal(0)
    return exact18(yearly_interest(base, tiers) / base)


@_exact
def daily_exact(base: Decimal, tiers: Sequence[Tier], basis: int) -> Decimal:
    """exact(D) = yearly interest / basis, to 18 dp (rounded down)."""
    return exact18(yearly_interest(base, tiers) / Decimal(basis))


@_exact
def post_with_carry(exact: Decimal, carry: Decimal, scale: int) -> tuple[Decimal, Decimal]:
    """posted = floor_to_scale(exact + carry); new carry = exact + carry − posted. Nothing is lost."""
    owed = exact + carry
    posted = floor_to_scale(owed, scale)
    return posted, owed - posted


@_exact
def simple_interest(principal: Decimal, apr: Decimal, days: int, basis: int) -> Decimal:
    """Simple interest for `days` at `apr`, exact to 18 dp."""
    return exact18(principal * apr * Decimal(days) / Decimal(basis))
