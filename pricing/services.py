"""Writes of prices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from core.errors import InvalidAmount
from core.money import to_decimal
from pricing.models import PriceSnapshot


def price_record(*, asset_code: str, price_usd: Decimal | str, source: str = "manual",
                 as_of: datetime | None = None) -> PriceSnapshot:
    """Append one snapshot; a price must be a positive number."""
    price = to_decimal(price_usd)
    if price <= 0:
        raise InvalidAmount("A price must be positive.", field="price_usd")
    return PriceSnapshot.objects.create(asset_id=asset_code, price_usd=price, source=source,
                                        as_of=as_of or timezone.now())
