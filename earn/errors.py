"""Earn refusals. Each carries a reason code from API.md."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ApplicationError, Conflict, InvalidAmount, ValidationFailed

__all__ = ["InvalidAmount", "RedemptionRefused", "SubscriptionRefused"]

PRODUCT_NOT_LIVE = "PRODUCT_NOT_LIVE"
OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
BELOW_MIN = "BELOW_MIN"
ABOVE_MAX = "ABOVE_MAX"
USER_CAP_REACHED = "USER_CAP_REACHED"
CAP_REACHED = "CAP_REACHED"
INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
EARLY_REDEMPTION_NOT_ALLOWED = "EARLY_REDEMPTION_NOT_ALLOWED"
OTP_REQUIRED = "OTP_REQUIRED"

# 409 for state conflicts (API.md), 403 for compliance blocks, 400 for bad amounts.
STATUS_BY_CODE = {
    CAP_REACHED: 409, USER_CAP_REACHED: 409, PRODUCT_NOT_LIVE: 409, OUTSIDE_WINDOW: 409,
    INSUFFICIENT_BALANCE: 409, EARLY_REDEMPTION_NOT_ALLOWED: 409, "ACK_OUTDATED": 409, "NO_ACK": 403,
    "KYC_REQUIRED": 403, "RESIDENCE_UNDER_REVIEW": 403,
    "JURISDICTION_RESTRICTED": 403, "ASSESSMENT_REQUIRED": 403, "ASSESSMENT_FAILED": 403,
    "COOLING_OFF": 403, "EXPOSURE_LIMIT": 403, BELOW_MIN: 400, ABOVE_MAX: 400, OTP_REQUIRED: 403,
}


class SubscriptionRefused(ApplicationError):
    """A subscription refused for one or more reasons; `codes` lists them all, `code` the first."""

    def __init__(self, message: str, *, codes: Sequence[str], field: str | None = None) -> None:
        super().__init__(message, code=codes[0], field=field, status=STATUS_BY_CODE.get(codes[0], 409),
                         extra={"codes": list(codes)})
        self.codes = list(codes)


class RedemptionRefused(ApplicationError):
    def __init__(self, message: str, *, code: str, field: str | None = None, status: int = 409) -> None:
        super().__init__(message, code=code, field=field, status=status)


# --- Product curation (earn.services.product_lifecycle, earn.services.terms) ---------------------


class NoApprovedDisclosure(Conflict):
    default_code = "NO_APPROVED_DISCLOSURE"


class NoTermsInForce(Conflict):
    default_code = "NO_TERMS_IN_FORCE"


class VettingIncomplete(Conflict):
    default_code = "VETTING_INCOMPLETE"


class TermsPendingExists(Conflict):
    default_code = "TERMS_PENDING"


class CapBelowSold(Conflict):
    default_code = "CAP_BELOW_SOLD"


class InvalidTerms(ValidationFailed):
    default_code = "INVALID_TERMS"
