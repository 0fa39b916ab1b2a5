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


# Terms with up to this many tiers are priced from arrays on the terms' row, without a subquery per position.
INLINE_TIERS = 4


def yearly_inline_sql(base: str, count: str, lower: str, upper: str, apr: str, *, fallback: str) -> str:
    """yearly_sql's sum written out over the tiers' arrays (`count` tiers, each array ordered alike;
    count NULL = no tiers) for up to INLINE_TIERS tiers, `fallback` (a yearly_sql) above: the same
    exact sum, without a subquery per row. Numeric sums are exact, so the order of the terms does not
    matter."""
    def tier(i: int) -> str:
        return f"greatest(least({base}, coalesce({upper}[{i}], {base})) - {lower}[{i}], 0) * {apr}[{i}]"

    cases = " ".join(f"WHEN {n} THEN {' + '.join(tier(i) for i in range(1, n + 1))}"
                     for n in range(1, INLINE_TIERS + 1))
    return f"(CASE coalesce({count}, 0) WHEN 0 THEN 0 {cases} ELSE {fallback} END)"


# Over a row with columns yearly, basis, base (earn.interest.daily_exact, blended_apr):
EXACT_SQL = f"trunc(yearly / basis, {DECIMAL_PLACES})"
APR_SQL = f"trunc(yearly / base, {DECIMAL_PLACES})"
# Over a row with columns exact, prev_carry, scale (earn.interest.post_with_carry):
POSTED_SQL = "trunc(exact + prev_carry, scale)"
CARRY_SQL = f"exact + prev_carry - {POSTED_SQL}"
