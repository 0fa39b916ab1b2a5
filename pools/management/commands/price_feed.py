"""`manage.py price_feed [--ticks N] [--seed S] [--max-bps B] [--source PATH]`: record prices, re-balance pools."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
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
        if options["ticks"] < 1 or not 0 <= options["max_bps"] <= 10_000:
            raise CommandError("--ticks is at least 1, --max-bps 0 to 10000")
        if options["source"]:
            source = _source(options["source"])
        else:
            source = configured_source(seed=options["seed"], max_bps=options["max_bps"])
        if isinstance(source, RandomWalkSource):
            source.max_bps = options["max_bps"]
        for tick in range(options["ticks"]):
            result = price_feed_tick(source=source)
            prices = ", ".join(f"{code} {price}" for code, price in sorted(result.prices.items()))
            self.stdout.write(f"tick {tick + 1}: {prices or 'no prices'}; pools re-balanced: {len(result.rebalanced)}")


def _source(path: str) -> Any:
    """The source class at `path`, built with no arguments; only a class with a `fetch` (any other dotted name,
    such as a function, was called as it stood and ended in a traceback)."""
    try:
        found = import_string(path)
    except ImportError as exc:
        raise CommandError(f"--source {path}: no such class") from exc
    if not isinstance(found, type) or not callable(getattr(found, "fetch", None)):
        raise CommandError(f"--source {path}: not a price source class (one with a fetch method)")
    return found()
