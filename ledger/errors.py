"""Ledger refusals."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError, Conflict, IdempotencyKeyReused, InvalidAmount

__all__ = ["IdempotencyKeyReused", "InsufficientBalance", "InvalidAmount", "UnbalancedEntry"]


class UnbalancedEntry(ApplicationError):
    default_code = "UNBALANCED_ENTRY"


class InsufficientBalance(Conflict):
    """`account` names the ledger account that would go negative, for logs and tests; it is an internal
    id no endpoint takes, so it stays out of the API answer."""

    default_code = "INSUFFICIENT_BALANCE"

    def __init__(self, message: str | None = None, *, account: int | None = None, **kwargs: Any) -> None:
        super().__init__(message or str(_("Insufficient available balance.")), **kwargs)
        self.account = account

