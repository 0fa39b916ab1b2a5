"""Verifying the audit hash chain from the first event to the last, in constant memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compliance.audit import GENESIS_HASH, event_hash
from compliance.models import AuditEvent

FIELDS = ("sequence", "created_at", "actor_id", "action", "object_type", "object_id", "before", "after", "prev_hash",
          "hash")


@dataclass(frozen=True)
class ChainReport:
    checked: int
    last_sequence: int | None
    last_hash: str
    broken_sequence: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_sequence is None


def audit_chain_verify(*, batch: int = 10_000, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Recompute every hash in sequence order; stop at the first event whose link or content does not match.

    Reads in keyset batches by sequence, so memory stays flat however long the trail is.
    """
    prev_hash, last_seq, checked = GENESIS_HASH, None, 0
    after = 0
    while True:
        rows = list(AuditEvent.objects.filter(sequence__gt=after).order_by("sequence").values_list(*FIELDS)[:batch])
        if not rows:
            return ChainReport(checked, last_seq, prev_hash)
        for seq, created_at, actor_id, action, object_type, object_id, before, after_, stored_prev, stored in rows:
            if stored_prev != prev_hash:
                return ChainReport(checked, last_seq, prev_hash, seq,
                                   f"prev_hash does not match the hash of the event before it (#{last_seq})")
            expected = event_hash(stored_prev, sequence=seq, created_at=created_at, actor_id=actor_id, action=action,
                                  object_type=object_type, object_id=object_id, before=before, after=after_)
            if expected != stored:
                return ChainReport(checked, last_seq, prev_hash, seq, "hash does not match the event's content")
            prev_hash, last_seq = stored, seq
            checked += 1
        after = rows[-1][0]
        if progress:
            progress(len(rows))
