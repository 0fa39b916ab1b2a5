"""`manage.py price_feed [--ticks N] [--seed S] [--max-bps B] [--source PATH]`: record prices, re-balance pools."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from pools.feeds import RandomWalkSource, configured_source
from pools.services.prices import price_feed_tick


class Command(BaseCommand):
    help = "Record price snapshots (demo: a seeded random walk) and re-balance every pool as arbitrage would."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--ticks", type=int, default=1, help="how many steps to take (default 1)")
        parser.add_argument("--seed", default="2026", help="random-walk seed: the same seed walks the same path")
        parser.add_argument("--max-bps", type=int, default=150, help="largest step of the walk in basis points")
        parser.add_argument("--source", default=None, help="dotted path of a source class (default: the setting)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["source"]:
            source = import_string(options["source"])()
        else:
            source = configured_source(seed=options["seed"], max_bps=options["max_bps"])
        if isinstance(source, RandomWalkSource):
            source.max_bps = options["max_bps"]
        for tick in range(options["ticks"]):
            result = price_feed_tick(source=source)
            prices = ", ".join(f"{code} {price}" for code, price in sorted(result.prices.items()))
            self.stdout.write(f"tick {tick + 1}: {prices or 'no prices'}; pools re-balanced: {len(result.rebalanced)}")
