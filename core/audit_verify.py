"""Verifying the audit hash chain from the first event to the last, in constant memory."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.audit import GENESIS_HASH, event_body, link_hash
from core.models import AuditEvent

FIELDS = ("sequence", "created_at", "actor_id", "action", "object_type", "object_id", "before", "after", "payload",
          "prev_hash", "hash")


@dataclass(frozen=True)
class ChainReport:
    checked: int
    last_sequence: int | None
    last_hash: str
    broken_sequence: int | None = None
    reason: str = ""
    # Events not chained yet (the chainer has not run since they committed), and those of them older
    # than AUDIT_CHAIN_MAX_LAG_SECONDS (the chainer is not keeping up).
    unchained: int = 0
    stale_unchained: int = 0
    oldest_unchained_sequence: int | None = None

    @property
    def intact(self) -> bool:
        return self.broken_sequence is None


def _json(value: Any) -> Any:
    """Django has psycopg hand jsonb over as text; parse it as JSONField would."""
    return json.loads(value) if isinstance(value, str) else value


def _unchained(cursor: Any, max_lag_seconds: int) -> tuple[int, int, int | None]:
    cutoff = timezone.now() - dt.timedelta(seconds=max_lag_seconds)
    cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE created_at < %s), "
                   f"min(sequence) FILTER (WHERE created_at < %s) FROM {AuditEvent._meta.db_table} "
                   "WHERE hash IS NULL", [cutoff, cutoff])
    return cursor.fetchone()


def audit_chain_verify(*, batch: int = 10_000, progress: Callable[[int], None] | None = None,
                       max_lag_seconds: int | None = None) -> ChainReport:
    """Walk the chain in `chain_position` order; stop at the first event whose link or content does not match.

    An event's content fails when its payload is not the canonical JSON of its columns or its hash is
    not sha256(prev_hash ‖ payload); its link fails when prev_hash is not the hash of the event before
    it. One read-only transaction and a server-side cursor: one consistent snapshot, memory flat however
    long the trail is, `batch` rows per round trip. Unchained events are counted, not verified.
    """
    lag = settings.AUDIT_CHAIN_MAX_LAG_SECONDS if max_lag_seconds is None else max_lag_seconds
    prev_hash, last_seq, checked = GENESIS_HASH, None, 0
    columns = ", ".join(FIELDS)
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as django_cursor:
        if outermost:  # a caller's transaction (tests) keeps its own snapshot
            django_cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        unchained, stale, oldest = _unchained(django_cursor, lag)
        with django_cursor.connection.cursor(name="audit_verify") as cursor:
            cursor.itersize = batch
            cursor.execute(f"SELECT {columns} FROM {AuditEvent._meta.db_table} WHERE chain_position IS NOT NULL "
                           "ORDER BY chain_position")
            while rows := cursor.fetchmany(batch):
                for seq, created_at, actor_id, action, object_type, object_id, before, after, payload, stored_prev, \
                        stored in rows:
                    if stored_prev != prev_hash:
                        return ChainReport(checked, last_seq, prev_hash, seq,
                                           f"prev_hash does not match the hash of the event before it (#{last_seq})",
                                           unchained, stale, oldest)
                    body = event_body(sequence=seq, created_at=created_at, actor_id=actor_id, action=action,
                                      object_type=object_type, object_id=object_id, before=_json(before),
                                      after=_json(after))
                    if body != payload or link_hash(stored_prev, payload) != stored:
                        return ChainReport(checked, last_seq, prev_hash, seq, "hash does not match the event's content",
                                           unchained, stale, oldest)
                    prev_hash, last_seq = stored, seq
                    checked += 1
                if progress:
                    progress(len(rows))
    return ChainReport(checked, last_seq, prev_hash, unchained=unchained, stale_unchained=stale,
                       oldest_unchained_sequence=oldest)
