"""Retention of the ledger's monthly partitions (core.partitions.detach_before asks before detaching).

docs/COMPLIANCE.md keeps the ledger 7 years after the position closes. A month's postings may leave
the database only when every customer account they touch is closed out — balance zero and no posting
for RETENTION_YEARS years — so no open position's history is archived. Platform accounts never close;
their old months go with the customers'. The entries of a month go with its postings (the posting
trigger keeps an entry and its postings in the same month).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from core.partitions import retention_cutoff


def postings_month_guard(cursor, partition: str, _month_end: dt.date) -> str | None:
    cutoff = retention_cutoff()
    cursor.execute(
        f"""
        SELECT count(*) FROM ledger_ledgeraccount a
         WHERE a.owner_id IS NOT NULL
           AND a.id IN (SELECT DISTINCT account_id FROM "{partition}")
           AND (a.balance <> 0 OR EXISTS (SELECT 1 FROM ledger_posting p
                                           WHERE p.account_id = a.id AND p.created_at >= %s))
        """,
        [cutoff],
    )
    open_accounts = cursor.fetchone()[0]
    if open_accounts:
        return (f"{open_accounts} customer account(s) posted in it still hold a balance or moved in the last "
                f"{settings.RETENTION_YEARS} years")
    return None


def postings_month_archive(cursor, partition: str) -> None:
    """Keep each account's sum of the month's postings (ArchivedPostings) before the month is detached."""
    cursor.execute(
        f"""
        INSERT INTO ledger_archivedpostings (partition, account_id, amount, postings, archived_at)
        SELECT %s, account_id, sum(CASE side WHEN 'C' THEN amount ELSE -amount END), count(*), now()
          FROM "{partition}" GROUP BY account_id
        """,
        [partition],
    )
