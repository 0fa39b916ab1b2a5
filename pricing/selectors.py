"""Reads of prices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from pricing.models import PriceSnapshot


def latest_prices(asset_codes: Iterable[str] | None = None, *, at: datetime | None = None) -> dict[str, Decimal]:
    """The newest price per asset at `at` (default now), one query; assets without a price are absent."""
    at = at or timezone.now()
    qs = PriceSnapshot.objects.filter(as_of__lte=at)
    if asset_codes is not None:
        qs = qs.filter(asset_id__in=list(asset_codes))
    rows = qs.order_by("asset_id", "-as_of", "-id").distinct("asset_id").values_list("asset_id", "price_usd")
    return dict(rows)


def latest_price(asset_code: str, *, at: datetime | None = None) -> Decimal | None:
    return latest_prices([asset_code], at=at).get(asset_code)


def newest_price_time(asset_codes: Iterable[str], *, at: datetime | None = None) -> datetime | None:
    """When the newest snapshot of any of these assets was taken, at `at` (default now)."""
    return (PriceSnapshot.objects.filter(asset_id__in=list(asset_codes), as_of__lte=at or timezone.now())
            .aggregate(newest=Max("as_of"))["newest"])


def daily_closes(asset_codes: Iterable[str], *, since: datetime,
                 at: datetime | None = None) -> dict[date, dict[str, Decimal]]:
    """{UTC day: {asset: its newest snapshot of that day}} from `since` to `at`, one query (days without one absent)."""
    rows = (PriceSnapshot.objects.filter(asset_id__in=list(asset_codes), as_of__gte=since,
                                         as_of__lte=at or timezone.now())
            .annotate(day=TruncDate("as_of", tzinfo=UTC))
            .order_by("asset_id", "day", "-as_of", "-id").distinct("asset_id", "day")
            .values_list("asset_id", "day", "price_usd"))
    closes: dict[date, dict[str, Decimal]] = {}
    for code, day, price in rows:
        closes.setdefault(day, {})[code] = price
    return closes
