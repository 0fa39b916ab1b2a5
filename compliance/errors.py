"""Compliance refusals and their reason codes (API.md)."""

from __future__ import annotations

from core.errors import ApplicationError, Conflict

KYC_REQUIRED = "KYC_REQUIRED"
RESIDENCE_UNDER_REVIEW = "RESIDENCE_UNDER_REVIEW"
NO_ACK = "NO_ACK"
ACK_OUTDATED = "ACK_OUTDATED"
ASSESSMENT_REQUIRED = "ASSESSMENT_REQUIRED"
ASSESSMENT_FAILED = "ASSESSMENT_FAILED"
COOLING_OFF = "COOLING_OFF"
EXPOSURE_LIMIT = "EXPOSURE_LIMIT"
JURISDICTION_RESTRICTED = "JURISDICTION_RESTRICTED"
PRODUCT_NOT_PERMITTED = "PRODUCT_NOT_PERMITTED"


class AcknowledgementInvalid(ApplicationError):
    default_code = "ACK_INVALID"


class AcknowledgementOutdated(Conflict):
    default_code = ACK_OUTDATED


class AssessmentUnavailable(ApplicationError):
    default_code = "ASSESSMENT_UNAVAILABLE"
    status = 404


class RetakeTooSoon(Conflict):
    default_code = "RETAKE_TOO_SOON"
