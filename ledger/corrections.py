"""Corrections: a wrong entry is undone by its mirror image, never by editing a balance.

PostgreSQL derives every balance from postings and refuses any other balance write, so the books
are corrected the way an accountant would: a REVERSAL entry with each posting's side swapped,
referencing the entry it undoes. Both stay in the ledger; the audit trail says who and why.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from core.audit import audit_record
from ledger.models import EntryKind, JournalEntry, Side
from ledger.services import Leg, entry_post

# Namespace of the two-key advisory lock that serialises reversals of one entry (so one audit event).
REVERSAL_LOCK = 0x52455652  # "REVR"


def entry_reverse(*, entry_id: int, actor: Any, reason: str) -> JournalEntry:
    """Post the reversal of entry `entry_id` (idempotent: a second call returns the first reversal).

    Raises ValueError for a reversal (post the original again instead) and InsufficientBalance when
    a customer has already spent what the wrong entry credited them (nothing is written).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REVERSAL_LOCK, entry_id])
        entry = JournalEntry.objects.get(pk=entry_id)
        if entry.kind == EntryKind.REVERSAL:
            raise ValueError("a reversal is not reversed; post the original entry again")
        key = f"reversal:{entry.pk}"
        existing = JournalEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        legs = [Leg(p.account_id, p.asset_id, Side.CREDIT if p.side == Side.DEBIT else Side.DEBIT, p.amount)
                for p in entry.postings.order_by("id")]
        reversal = entry_post(kind=EntryKind.REVERSAL, idempotency_key=key, reference=str(entry.pk),
                              memo=reason[:500], legs=legs)
        audit_record(actor=actor, action="ledger.entry_reverse", obj=reversal,
                     before={"entry": entry.pk, "kind": entry.kind, "key": entry.idempotency_key},
                     after={"reversal": reversal.pk, "reason": reason})
    return reversal
