"""Argument types for the management commands: a bad value is argparse's one-line error, never a traceback."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from core.dates import parse_day


def iso_day(text: str) -> dt.date:
    """Exactly YYYY-MM-DD (a week date or 20260303 is refused, as in the API)."""
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def int_at_least(low: int) -> Callable[[str], int]:
    """An integer ≥ `low` (a chunk of 0 positions or a batch of 0 events would never finish)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text[:32]!r}") from exc
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    parse.__name__ = f"integer ≥ {low}"
    return parse
