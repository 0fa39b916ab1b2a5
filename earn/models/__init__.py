"""Earn models, one module per concern; import them from here."""

from earn.models.positions import (
    Accrual,
    AccrualChunk,
    AccrualRun,
    Position,
    PositionChange,
    PositionStatus,
    Redemption,
    RedemptionStatus,
    Subscription,
)
from earn.models.products import (
    EarlyRedemption,
    PayoutMode,
    Product,
    ProductStatus,
    ProductTerms,
    RateTier,
    RedemptionMode,
    Strategy,
    TermsStatus,
    TermType,
)

__all__ = [
    "Accrual",
    "AccrualChunk",
    "AccrualRun",
    "EarlyRedemption",
    "PayoutMode",
    "Position",
    "PositionChange",
    "PositionStatus",
    "Product",
    "ProductStatus",
    "ProductTerms",
    "RateTier",
    "Redemption",
    "RedemptionMode",
    "RedemptionStatus",
    "Strategy",
    "Subscription",
    "TermType",
    "TermsStatus",
]
