"""Earn models, one module per concern; import them from here."""

from earn.models.exposure import ExposureKind, ExposureLimit
from earn.models.launches import CommitmentStatus, LaunchCommitment, LaunchRun
from earn.models.leases import AccrualLease
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
    Category,
    EarlyRedemption,
    LaunchMethod,
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
    "AccrualLease",
    "AccrualRun",
    "Category",
    "CommitmentStatus",
    "EarlyRedemption",
    "ExposureKind",
    "ExposureLimit",
    "LaunchCommitment",
    "LaunchMethod",
    "LaunchRun",
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
