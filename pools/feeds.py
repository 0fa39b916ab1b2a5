"""Price sources for `price_feed`: a seeded random walk for the demo, a pluggable class for real prices.

A source is a class with `fetch(codes, current) -> {code: price in USD}`; `settings.PRICE_FEED_SOURCE`
names it (dotted path). The demo walk is deterministic for a seed: integer basis-point steps drawn from
`random.Random(seed)`, applied to the newest prices as Decimals (no floats touch a price).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

STABLE = frozenset({"USDT", "USDC", "USD", "HKD"})


class PriceSource(Protocol):
    name: str

    def fetch(self, codes: Iterable[str], current: dict[str, Decimal]) -> dict[str, Decimal]: ...


class RandomWalkSource:
    """Each non-stable asset moves by a whole number of basis points in [−max_bps, +max_bps] per step."""

    name = "demo-walk"

    def __init__(self, *, seed: int | str = 2026, max_bps: int = 150, steps: int = 1) -> None:
        self.rng = random.Random(seed)
        self.max_bps = max_bps
        self.steps = steps

    def fetch(self, codes: Iterable[str], current: dict[str, Decimal]) -> dict[str, Decimal]:
        prices = {}
        for code in sorted(codes):
            price = current.get(code)
            if price is None or code in STABLE:
                continue
            for _step in range(self.steps):
                price = price * (1 + Decimal(self.rng.randint(-self.max_bps, self.max_bps)) / 10000)
            prices[code] = price.quantize(Decimal("1e-8"), rounding=ROUND_HALF_EVEN)
        return prices


class FixedSource:
    """Prices given up front (tests, one-off corrections): `FixedSource(prices={"BTC": Decimal(...)})`."""

    name = "fixed"

    def __init__(self, *, prices: dict[str, Decimal]) -> None:
        self.prices = prices

    def fetch(self, codes: Iterable[str], current: dict[str, Decimal]) -> dict[str, Decimal]:
        return {code: self.prices[code] for code in codes if code in self.prices}


def configured_source(**kwargs: object) -> PriceSource:
    """The class named by settings.PRICE_FEED_SOURCE (default the demo walk), built with `kwargs`."""
    path = getattr(settings, "PRICE_FEED_SOURCE", "pools.feeds.RandomWalkSource")
    return import_string(path)(**kwargs)
