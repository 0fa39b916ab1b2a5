"""Ledger refusals."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError, Conflict


class UnbalancedEntry(ApplicationError):
    default_code = "UNBALANCED_ENTRY"


class InvalidAmount(ApplicationError):
    default_code = "INVALID_AMOUNT"


class InsufficientBalance(Conflict):
    default_code = "INSUFFICIENT_BALANCE"

    def __init__(self, message: str | None = None, **kwargs: object) -> None:
        super().__init__(message or str(_("Insufficient available balance.")), **kwargs)  # type: ignore[arg-type]


class IdempotencyKeyReused(Conflict):
    default_code = "IDEMPOTENCY_KEY_REUSED"
