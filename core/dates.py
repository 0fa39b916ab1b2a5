"""Whole UTC days as datetime bounds, safe at the ends of the calendar (0001-01-01 … 9999-12-31)."""

from __future__ import annotations

import datetime as dt

LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


def day_start(day: dt.date) -> dt.datetime:
    """00:00 UTC of `day`: an inclusive lower bound."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def day_end(day: dt.date) -> dt.datetime:
    """00:00 UTC of the day after `day`: an exclusive upper bound. The day after 9999-12-31 is past
    what datetime holds (an OverflowError, once a 500); no row is that late, so the latest instant serves."""
    try:
        return day_start(day) + dt.timedelta(days=1)
    except OverflowError:
        return LATEST


def after(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    """`moment + step`, or the latest instant if that is past the calendar."""
    try:
        return moment + step
    except OverflowError:
        return LATEST
