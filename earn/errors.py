"""Earn refusals. Each carries a reason code from API.md."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ApplicationError, Conflict, InvalidAmount, ValidationFailed
from core.refusals import status_for

__all__ = ["InvalidAmount", "RedemptionRefused", "SubscriptionRefused"]

PRODUCT_NOT_LIVE = "PRODUCT_NOT_LIVE"
OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
BELOW_MIN = "BELOW_MIN"
ABOVE_MAX = "ABOVE_MAX"
USER_CAP_REACHED = "USER_CAP_REACHED"
CAP_REACHED = "CAP_REACHED"
INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
EARLY_REDEMPTION_NOT_ALLOWED = "EARLY_REDEMPTION_NOT_ALLOWED"
POSITION_CLOSED = "POSITION_CLOSED"
POSITION_MATURED = "POSITION_MATURED"
MODE_NOT_AVAILABLE = "MODE_NOT_AVAILABLE"
OTP_REQUIRED = "OTP_REQUIRED"


class SubscriptionRefused(ApplicationError):
    """A subscription refused for one or more reasons; `codes` lists them all, `code` the first.

    The HTTP status is the first code's, from its registered `Refusal` (core.refusals).
    """

    def __init__(self, message: str, *, codes: Sequence[str], field: str | None = None) -> None:
        super().__init__(message, code=codes[0], field=field, status=status_for(codes[0]),
                         extra={"codes": list(codes)})
        self.codes = list(codes)


class RedemptionRefused(ApplicationError):
    """A redemption refused; the status is the code's registered one (409 when unregistered) unless given."""

    def __init__(self, message: str, *, code: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code=code, field=field, status=status_for(code) if status is None else status)


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
