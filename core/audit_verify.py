"""Verifying the audit hash chain from the first event to the last, set-based in SQL, in ranges.

The live chain, that is: months detached for retention are skipped, and the first live event after
one is checked against the hash its predecessor had (the key table keeps it, see core/audit_retention.py).
Each event's hash is recomputed by PostgreSQL from its stored canonical payload and the stored
previous hash — sha256(prev_hash ‖ payload), the same bytes `core.audit.link_hash` hashes — and
compared with the stored hash; its link is compared with the previous event's hash (a window
function over `chain_position`); its columns are compared, as JSON values, with its payload. Python
never touches an event: the chain is walked in ranges of `batch` events, one aggregate row per range,
so memory stays flat and the work runs at C speed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.audit import GENESIS_HASH
from core.models import AuditEvent, AuditEventKey, DetachedPartition

TABLE = AuditEvent._meta.db_table
KEY_TABLE = AuditEventKey._meta.db_table
DETACHED_TABLE = DetachedPartition._meta.db_table

# sha256(prev_hash ‖ payload) as lowercase hex, in SQL; tests hold it to core.audit.link_hash byte for byte.
HASH_SQL = "encode(sha256(convert_to({prev} || {payload}, 'UTF8')), 'hex')"

# The columns, as JSON values, must be the payload's fields (created_at compared as an instant). Field by
# field on the payload parsed once: cheaper than building an object of the columns to compare whole.
CONTENT_SQL = """(
    (p ->> 'sequence')::bigint = sequence
    AND (p ->> 'created_at')::timestamptz = created_at
    AND (p -> 'actor') = COALESCE(to_jsonb(actor_id), 'null'::jsonb)
    AND p ->> 'action' = action AND p ->> 'object_type' = object_type AND p ->> 'object_id' = object_id
    AND (p -> 'before') = COALESCE(before, 'null'::jsonb)
    AND (p -> 'after') = COALESCE(after, 'null'::jsonb)
)"""

# A key row (k) of a month detached for retention (core.partitions.detach_before).
DETACHED_SQL = f"""EXISTS (SELECT 1 FROM {DETACHED_TABLE} AS d
                     WHERE d.parent = '{TABLE}'
                       AND d.month = (partition_month_start(k.created_at) AT TIME ZONE 'UTC')::date)"""

# Where the positions between an event (l) and the live event before it are not live, only events of
# months detached for retention may be missing there; the key table keeps their positions and hashes, so
# the expected hash is the one it kept for the position just before. Any other missing position (a live
# event removed) leaves no expected hash: a broken link.
GAP_PREV_SQL = f"""CASE
    WHEN EXISTS (SELECT 1 FROM {KEY_TABLE} AS k
                  WHERE k.chain_position > l.before_position AND k.chain_position < l.chain_position
                    AND NOT {DETACHED_SQL}) THEN NULL
    ELSE (SELECT k.hash FROM {KEY_TABLE} AS k WHERE k.chain_position = l.chain_position - 1 AND {DETACHED_SQL})
  END"""

# One range of the chain: each event with the hash of the one before it (from the event before it in the
# range; for the first one, from the previous range, %(prev)s at %(prev_position)s; across a detached
# month, from the key table) and its three checks.
RANGE_SQL = f"""
    SELECT chain_position, sequence, prev_hash, hash, computed, content_ok,
           CASE WHEN before_position = chain_position - 1 THEN before_hash ELSE {GAP_PREV_SQL} END AS expected_prev,
           before_sequence
      FROM (SELECT chain_position, sequence, prev_hash, hash, computed, content_ok,
                   COALESCE(lag(chain_position) OVER w, %(prev_position)s) AS before_position,
                   COALESCE(lag(hash) OVER w, %(prev)s) AS before_hash,
                   lag(sequence) OVER w AS before_sequence
              FROM (SELECT chain_position, sequence, prev_hash, hash,
                           {HASH_SQL.format(prev="prev_hash", payload="payload")} AS computed,
                           {CONTENT_SQL} AS content_ok
                      FROM {TABLE} AS e CROSS JOIN LATERAL (SELECT e.payload::jsonb AS p OFFSET 0) AS parsed
                     WHERE chain_position > %(after)s ORDER BY chain_position LIMIT %(limit)s) AS r
            WINDOW w AS (ORDER BY chain_position)) AS l
"""

# Chained events after the last live one that are not in a detached month: removed from the end.
MISSING_TAIL_SQL = f"""
    SELECT count(*), min(k.sequence) FROM {KEY_TABLE} AS k WHERE k.chain_position > %(after)s AND NOT {DETACHED_SQL}
"""

SUMMARY_SQL = f"""
    SELECT count(*), max(chain_position),
           min(chain_position) FILTER (WHERE prev_hash IS DISTINCT FROM expected_prev
                                          OR computed IS DISTINCT FROM hash OR content_ok IS NOT TRUE)
      FROM ({RANGE_SQL}) AS checked
"""

DETAIL_SQL = f"""
    SELECT sequence, prev_hash IS NOT DISTINCT FROM expected_prev, before_sequence,
           (SELECT count(*) FROM ({RANGE_SQL}) AS earlier WHERE earlier.chain_position < %(bad)s)
      FROM ({RANGE_SQL}) AS checked
     WHERE chain_position = %(bad)s
"""


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
    # The chain position the live chain was verified from, when months before it were detached for
    # retention: the first live event's predecessor, whose hash the key table kept (None: from genesis).
    anchor_position: int | None = None

    @property
    def intact(self) -> bool:
        return self.broken_sequence is None


def _unchained(cursor: Any, max_lag_seconds: int) -> tuple[int, int, int | None]:
    cutoff = timezone.now() - dt.timedelta(seconds=max_lag_seconds)
    cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE created_at < %s), "
                   f"min(sequence) FILTER (WHERE created_at < %s) FROM {TABLE} WHERE hash IS NULL", [cutoff, cutoff])
    return cursor.fetchone()


def audit_chain_verify(*, batch: int = 100_000, progress: Callable[[int], None] | None = None,
                       max_lag_seconds: int | None = None) -> ChainReport:
    """Check the chain in `chain_position` order; stop at the first event whose link or content does not match.

    An event's content fails when its columns are not its payload or its hash is not
    sha256(prev_hash ‖ payload); its link fails when prev_hash is not the hash of the event before it.
    One read-only REPEATABLE READ transaction (one snapshot for every range). Unchained events are
    counted, not verified. Months detached for retention are not verified here (their exports carry a
    SHA-256); the live events after them are, against the hashes the key table kept.
    """
    lag = settings.AUDIT_CHAIN_MAX_LAG_SECONDS if max_lag_seconds is None else max_lag_seconds
    prev_hash, last_seq, checked, after = GENESIS_HASH, None, 0, 0
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # a caller's transaction (tests) keeps its own snapshot
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # The gap lookups (never run on an unbroken stretch) raise the plan's estimated cost above
            # JIT's thresholds: compiling it cost 0.7 s per range and saved nothing.
            cursor.execute("SET LOCAL jit = off")
        unchained, stale, oldest = _unchained(cursor, lag)
        cursor.execute(f"SELECT min(chain_position) FROM {TABLE}")
        first = cursor.fetchone()[0]
        anchor = first - 1 if first and first > 1 else None
        extra: dict[str, Any] = {"unchained": unchained, "stale_unchained": stale,
                                 "oldest_unchained_sequence": oldest, "anchor_position": anchor}
        while True:
            params: dict[str, Any] = {"prev": prev_hash, "prev_position": after, "after": after, "limit": batch}
            cursor.execute(SUMMARY_SQL, params)
            count, last_position, bad = cursor.fetchone()
            if not count:
                break
            if bad is not None:
                cursor.execute(DETAIL_SQL, {**params, "bad": bad})
                sequence, link_ok, before_sequence, before_count = cursor.fetchone()
                if link_ok:
                    reason = "hash does not match the event's content"
                else:
                    before = before_sequence or last_seq
                    reason = f"prev_hash does not match the hash of the event before it (#{before})"
                return ChainReport(checked + before_count, last_seq, prev_hash, sequence, reason, **extra)
            cursor.execute(f"SELECT sequence, hash FROM {TABLE} WHERE chain_position = %s", [last_position])
            last_seq, prev_hash = cursor.fetchone()
            checked += count
            after = last_position
            if progress:
                progress(count)
            if count < batch:
                break
        cursor.execute(MISSING_TAIL_SQL, {"after": after})
        missing, first_missing = cursor.fetchone()
        if missing:
            return ChainReport(checked, last_seq, prev_hash, first_missing,
                               f"{missing} chained event(s) after the last one found are missing", **extra)
    return ChainReport(checked, last_seq, prev_hash, **extra)
