"""Staff deposits: credit a customer's available balance and audit who did it, in one transaction.

A use case on top of `ledger.services.deposit_credit` (idempotent on the reference); it belongs
in `ledger.services` and lives here only until that module's owner takes it in.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction

from compliance.audit import audit_record
from ledger import selectors
from ledger.models import JournalEntry
from ledger.services import deposit_credit

# Namespace of the two-key advisory lock that serialises requests for one deposit reference.
DEPOSIT_REFERENCE_LOCK = 0x44455053  # "DEPS"


def staff_deposit_credit(*, actor_id: int, user_id: int, asset: str, amount: Decimal,
                         reference: str) -> tuple[JournalEntry, bool]:
    """Credit `amount` of `asset` to the user; returns (entry, created).

    Replaying a reference with the same user, asset and amount returns the first entry and writes
    nothing; the same reference for anything else raises IdempotencyKeyReused (409).
    """
    with transaction.atomic(durable=True):
        # Two requests with one reference queue here, so exactly one of them sees "created".
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [DEPOSIT_REFERENCE_LOCK, reference])
        existed = selectors.deposit_get(reference=reference) is not None
        entry = deposit_credit(user_id=user_id, asset=asset, amount=amount, reference=reference,
                               memo=f"staff deposit by user {actor_id}")
        if not existed:
            audit_record(actor=actor_id, action="ledger.deposit_credit", obj=entry,
                         after={"user": user_id, "asset": asset, "amount": amount, "reference": reference})
    return entry, not existed
