"""One price-feed tick: record snapshots from a source, then re-balance every pool to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ledger.models import Asset
from pools.feeds import PriceSource
from pools.models import PoolRebalance
from pools.services.pools import pools_rebalance_all
from pricing.selectors import latest_prices
from pricing.services import price_record


@dataclass
class FeedResult:
    prices: dict[str, Decimal] = field(default_factory=dict)
    rebalanced: list[PoolRebalance] = field(default_factory=list)


def price_feed_tick(*, source: PriceSource, codes: list[str] | None = None) -> FeedResult:
    """Fetch prices for `codes` (default every asset with a price), append snapshots, re-balance pools."""
    current = latest_prices(codes)
    wanted = codes or sorted(current)
    fetched = source.fetch([c for c in wanted if Asset.objects.filter(code=c).exists()], current)
    now = timezone.now()
    with transaction.atomic():
        for code, price in sorted(fetched.items()):
            price_record(asset_code=code, price_usd=price, source=source.name, as_of=now)
    return FeedResult(prices=fetched, rebalanced=pools_rebalance_all())
