"""One error family for the whole service: a code, a human message, an HTTP status, a field."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ApplicationError(Exception):
    """A domain refusal. The API renders it as {"code", "detail", "field"} with `status`."""

    status = 400
    default_code = "INVALID"

    def __init__(self, message: StrOrPromise, *, code: str | None = None, field: str | None = None,
                 status: int | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.default_code
        self.field = field
        self.extra = extra or {}
        if status is not None:
            self.status = status


class ValidationFailed(ApplicationError):
    status = 400
    default_code = "INVALID"


class NotFound(ApplicationError):
    status = 404
    default_code = "NOT_FOUND"


class PermissionDenied(ApplicationError):
    status = 403
    default_code = "PERMISSION_DENIED"


class Conflict(ApplicationError):
    status = 409
    default_code = "CONFLICT"


class InvalidAmount(ApplicationError):
    """An amount that is not a positive decimal at the asset's scale (ledger and earn alike)."""

    default_code = "INVALID_AMOUNT"


class IdempotencyKeyReused(Conflict):
    """A known idempotency key (request header or ledger entry key) sent with other content."""

    default_code = "IDEMPOTENCY_KEY_REUSED"


class InvalidTransition(Conflict):
    """A lifecycle move the state machine does not allow (products, disclosures)."""

    default_code = "INVALID_TRANSITION"


class MakerCheckerViolation(PermissionDenied):
    """The person who made or edited something may not approve it."""

    default_code = "MAKER_CHECKER"
