"""The value-date calendar, with no Django import: when money starts earning and when a term ends.

Days are UTC calendar days. Earn and pools both read it, so a subscription and a pool deposit made
at the same moment start (and mature) on the same day.
"""

from __future__ import annotations

import datetime as dt


def business_day(moment: dt.datetime) -> dt.date:
    """The UTC calendar day of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("business time must be timezone-aware")
    return moment.astimezone(dt.UTC).date()


def value_date_for(moment: dt.datetime) -> dt.date:
    """Money added on day T (UTC) starts earning on T+1."""
    return business_day(moment) + dt.timedelta(days=1)


def maturity_date_for(value_date: dt.date, term_days: int | None) -> dt.date:
    """A fixed term ends `term_days` after its value date (the first day that earns nothing)."""
    return value_date + dt.timedelta(days=term_days or 0)
