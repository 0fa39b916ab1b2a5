"""Pool refusals (codes beside earn's reason codes)."""

from __future__ import annotations

from core.errors import ApplicationError, Conflict

NO_PRICE = "NO_PRICE"
POOL_EMPTY = "POOL_EMPTY"
POOL_INVALID = "POOL_INVALID"


class PoolError(ApplicationError):
    default_code = POOL_INVALID


class PriceMissing(Conflict):
    default_code = NO_PRICE
