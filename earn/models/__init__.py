"""Earn models, one module per concern; import them from here."""

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
    "EarlyRedemption",
    "PayoutMode",
    "Product",
    "ProductStatus",
    "ProductTerms",
    "RateTier",
    "RedemptionMode",
    "Strategy",
    "TermType",
    "TermsStatus",
]
