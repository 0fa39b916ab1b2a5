"""Verifying the audit hash chain from the first event to the last, in constant memory."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from core.audit import GENESIS_HASH, event_hash
from core.models import AuditEvent

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


def _json(value: Any) -> Any:
    """Django has psycopg hand jsonb over as text; parse it as JSONField would."""
    return json.loads(value) if isinstance(value, str) else value


def audit_chain_verify(*, batch: int = 10_000, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Recompute every hash in sequence order; stop at the first event whose link or content does not match.

    One read-only transaction and a server-side cursor: one consistent snapshot, memory flat however
    long the trail is, `batch` rows per round trip.
    """
    prev_hash, last_seq, checked = GENESIS_HASH, None, 0
    columns = ", ".join(FIELDS)
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as django_cursor:
        if outermost:  # a caller's transaction (tests) keeps its own snapshot
            django_cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with django_cursor.connection.cursor(name="audit_verify") as cursor:
            cursor.itersize = batch
            cursor.execute(f"SELECT {columns} FROM {AuditEvent._meta.db_table} ORDER BY sequence")
            while rows := cursor.fetchmany(batch):
                for seq, created_at, actor_id, action, object_type, object_id, before, after, stored_prev, stored \
                        in rows:
                    if stored_prev != prev_hash:
                        return ChainReport(checked, last_seq, prev_hash, seq,
                                           f"prev_hash does not match the hash of the event before it (#{last_seq})")
                    expected = event_hash(stored_prev, sequence=seq, created_at=created_at, actor_id=actor_id,
                                          action=action, object_type=object_type, object_id=object_id,
                                          before=_json(before), after=_json(after))
                    if expected != stored:
                        return ChainReport(checked, last_seq, prev_hash, seq, "hash does not match the event's content")
                    prev_hash, last_seq = stored, seq
                    checked += 1
                if progress:
                    progress(len(rows))
    return ChainReport(checked, last_seq, prev_hash)
