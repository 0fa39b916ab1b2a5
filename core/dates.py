"""Whole UTC days as datetime bounds, safe at the ends of the calendar (0001-01-01 … 9999-12-31)."""

from __future__ import annotations

import datetime as dt
import re

LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str) -> dt.date:
    """Exactly YYYY-MM-DD (surrounding spaces aside) → date; ValueError otherwise. `date.fromisoformat` alone also
    reads 20260303 and the week date 2026-W10-2 as days."""
    text = (text or "").strip()
    if not _ISO_DAY.fullmatch(text):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text[:32]!r}")
    return dt.date.fromisoformat(text)


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
