"""Pool refusals (codes beside earn's reason codes)."""

from __future__ import annotations

from core.errors import ApplicationError, Conflict

NO_PRICE = "NO_PRICE"
POOL_EMPTY = "POOL_EMPTY"
POOL_INVALID = "POOL_INVALID"
NO_PRICE_HISTORY = "NO_PRICE_HISTORY"


class PoolError(ApplicationError):
    default_code = POOL_INVALID


class PriceMissing(Conflict):
    default_code = NO_PRICE


class PriceHistoryShort(Conflict):
    """Too few days of prices of a pool's pair to estimate its volatility (the outcome simulator)."""

    default_code = NO_PRICE_HISTORY
