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


def raw_postings(entry_id: int, legs: list[tuple[LedgerAccount, str, str]]) -> None:
    """INSERT several postings (account, side, amount) in one statement, as the services do."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)"
            " SELECT %s, a, s, d, x, %s"
            "   FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::numeric[]) AS t(a, s, d, x)",
            [entry_id, now, [a.pk for a, _d, _x in legs], [a.asset_id for a, _d, _x in legs],
             [d for _a, d, _x in legs], [Decimal(x) for _a, _d, x in legs]],
        )


def key_row(entry_id: int) -> tuple[int | None, int, bool]:
    """(entry_txid, legs, posted_at_once) of the entry's key row: what the ledger's triggers recorded."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT entry_txid, legs, posted_at_once FROM ledger_journalentrykey WHERE entry_id = %s",
                       [entry_id])
        return cursor.fetchone()


def balance(account: LedgerAccount) -> Decimal:
    return LedgerAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
