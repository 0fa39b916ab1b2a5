"""Raw-SQL helpers for the ledger tests: they bypass `ledger.services` on purpose."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.utils import timezone

from ledger.models import LedgerAccount


def raw_entry(key: str, kind: str = "transfer") -> int:
    """INSERT a journal entry without postings; returns its id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)"
            " VALUES (%s, %s, 'raw', '', '', %s) RETURNING id",
            [kind, key, timezone.now()],
        )
        return cursor.fetchone()[0]


def raw_posting(entry_id: int, account: LedgerAccount, side: str, amount: str, asset: str | None = None) -> None:
    """INSERT one posting; `asset` defaults to the account's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [entry_id, account.pk, asset or account.asset_id, side, Decimal(amount), timezone.now()],
        )


def balance(account: LedgerAccount) -> Decimal:
    return LedgerAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
