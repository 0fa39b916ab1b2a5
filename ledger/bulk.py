"""Set-based posting for jobs that pay many customers at once (daily accrual, rewards).

One journal entry carries every customer's credit as its own posting and one platform debit per
asset. Rows come from a SQL query, so 10 000 customers cost a handful of statements, not 10 000
round trips. Accounts are locked in ascending id order before balances change, the same order
`ledger.services` uses, so a job and a customer's subscription cannot deadlock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from ledger.errors import IdempotencyKeyReused

_LEGS = "_ledger_bulk_legs"


@dataclass(frozen=True)
class BulkResult:
    entry_id: int | None
    postings: int
    total: dict[str, Decimal]


def entry_post_credits(*, kind: str, idempotency_key: str, credits_sql: str, params: Any, debit_kind: str,
                       reference: str = "", memo: str = "") -> BulkResult:
    """Post one entry crediting (owner_id, asset_id, kind, amount) rows from `credits_sql`.

    Each asset's credits are balanced by one debit to the platform account of `debit_kind`.
    Rows with amount 0 are skipped; if nothing is left no entry is written. Must run inside the
    caller's transaction (the business rows and the postings commit together).
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_LEGS}")
        cursor.execute(f"CREATE TEMP TABLE {_LEGS} ON COMMIT DROP AS "
                       f"SELECT owner_id::bigint, asset_id::text, kind::text, amount::numeric(38,18) "
                       f"FROM ({credits_sql}) q(owner_id, asset_id, kind, amount) WHERE amount > 0", params)
        cursor.execute(f"SELECT asset_id, count(*), sum(amount) FROM {_LEGS} GROUP BY asset_id ORDER BY asset_id")
        per_asset = cursor.fetchall()
        if not per_asset:
            cursor.execute(f"DROP TABLE {_LEGS}")
            return BulkResult(None, 0, {})
        fingerprint = hashlib.sha256(
            repr((kind, reference, [(a, n, format(s, "f")) for a, n, s in per_asset])).encode()).hexdigest()
        cursor.execute(
            f"""
            INSERT INTO ledger_ledgeraccount (owner_id, asset_id, kind, balance, created_at)
            SELECT DISTINCT owner_id, asset_id, kind, 0, %s::timestamptz FROM {_LEGS}
            UNION ALL
            SELECT DISTINCT NULL::bigint, asset_id, %s, 0, %s::timestamptz FROM {_LEGS}
            ON CONFLICT (owner_id, asset_id, kind) DO NOTHING
            """,
            [now, debit_kind, now],
        )
        cursor.execute(
            """
            INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            """,
            [kind, idempotency_key, fingerprint, reference, memo, now],
        )
        row = cursor.fetchone()
        if row is None:
            raise IdempotencyKeyReused(f"ledger entry {idempotency_key} was already posted")
        entry_id = row[0]
        cursor.execute(
            f"""
            INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at)
            SELECT %s, acc.id, l.asset_id, 'C', l.amount, %s
              FROM {_LEGS} l JOIN ledger_ledgeraccount acc
                ON acc.owner_id = l.owner_id AND acc.asset_id = l.asset_id AND acc.kind = l.kind
            UNION ALL
            SELECT %s, acc.id, l.asset_id, 'D', sum(l.amount), %s
              FROM {_LEGS} l JOIN ledger_ledgeraccount acc
                ON acc.owner_id IS NULL AND acc.asset_id = l.asset_id AND acc.kind = %s
             GROUP BY acc.id, l.asset_id
            """,
            [entry_id, now, entry_id, now, debit_kind],
        )
        postings = cursor.rowcount
        cursor.execute(
            "SELECT id FROM ledger_ledgeraccount"
            " WHERE id IN (SELECT account_id FROM ledger_posting WHERE entry_id = %s) ORDER BY id FOR UPDATE",
            [entry_id],
        )
        cursor.execute(
            """
            UPDATE ledger_ledgeraccount acc SET balance = acc.balance + delta.d
              FROM (SELECT account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END) AS d
                      FROM ledger_posting WHERE entry_id = %s GROUP BY account_id) delta
             WHERE delta.account_id = acc.id
            """,
            [entry_id],
        )
        cursor.execute(f"DROP TABLE {_LEGS}")
    return BulkResult(entry_id, postings, {asset: total for asset, _, total in per_asset})
