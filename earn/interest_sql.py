"""The interest rule of earn.interest as SQL, for the set-based accrual engine (no Django import).

The engine builds its statement from these fragments and tests/earn/test_interest_sql_agrees.py
evaluates the very same fragments over VALUES rows, so the SQL and the Python rule cannot drift
apart unnoticed. Rounding is `trunc` (towards zero), the SQL spelling of core.money.ROUNDING.
"""

from __future__ import annotations

from core.money import DECIMAL_PLACES


def yearly_sql(base: str, tiers: str) -> str:
    """Yearly interest on `base` over marginal tiers: Σ max(min(base, upper) − lower, 0) × apr (0 without
    tiers). `tiers` is a FROM clause whose rows are aliased `r` with columns lower, upper (NULL = no
    bound) and apr, filtered to the row's terms. See earn.interest.yearly_interest."""
    return (f"coalesce((SELECT sum(greatest(least({base}, coalesce(r.upper, {base})) - r.lower, 0) * r.apr)\n"
            f"                       FROM {tiers}), 0)")


# Over a row with columns yearly, basis, base (earn.interest.daily_exact, blended_apr):
EXACT_SQL = f"trunc(yearly / basis, {DECIMAL_PLACES})"
APR_SQL = f"trunc(yearly / base, {DECIMAL_PLACES})"
# Over a row with columns exact, prev_carry, scale (earn.interest.post_with_carry):
POSTED_SQL = "trunc(exact + prev_carry, scale)"
CARRY_SQL = f"exact + prev_carry - {POSTED_SQL}"
