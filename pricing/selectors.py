"""Reads of prices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

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
