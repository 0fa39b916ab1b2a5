"""Writing audit events (unchained, on the request path) and chaining them (in the background).

The audit trail sits on the ground floor (core): ledger, accounts, earn, pools and compliance all
record through `audit_record`, and none of them needs another app for it.

Two steps, so that no request waits on a service-wide lock:

1. `audit_record` runs in the caller's transaction and only INSERTs the event with its canonical
   payload (the exact JSON text that will be hashed); `prev_hash`, `hash` and `chain_position` stay
   NULL. No lock beyond the row itself.
2. `audit_chain` (Celery `core.tasks.audit_chain_task`: beat every few seconds, and kicked after the
   commit of every transaction that recorded an event) takes the chain lock, reads the unchained
   events it can see, and links each to the chain's head: `chain_position` = head + 1,
   `prev_hash` = head's hash, `hash` = sha256(prev_hash ‖ payload). The head is read from
   `core_auditeventkey`, which PostgreSQL keeps for every event, of detached months too.

Order. Sequence numbers are handed out at INSERT, not at COMMIT: a transaction still in flight may hold
an event with a lower sequence than events already committed. So the chain's order is not the
sequence but `chain_position`, given when the chainer first *sees* an event, which is after its
transaction committed (an uncommitted row is invisible to the chainer). An event that commits late
simply gets a later position; nothing already chained ever has to move, and no horizon (oldest
in-flight transaction id) has to be computed. Within one chainer run events are taken in sequence
order. The chain therefore follows commit order at the chainer's granularity, and `audit_verify`
walks it by `chain_position`.

Guarantees kept: every committed event is chained exactly once (the row trigger lets an UPDATE only
fill in the three chain columns of an unchained event, content untouched); a changed, removed or
reordered event breaks the chain where `audit_verify` looks. Events stay unchained for seconds; the
health check (`/healthz`) and `audit_verify --no-chain` report any older than
`AUDIT_CHAIN_MAX_LAG_SECONDS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.kicks import OncePer
from core.models import AuditEvent, AuditEventKey
from core.rows import prepared_cursor

GENESIS_HASH = "0" * 64
# Only the chainer takes this transaction-scoped advisory lock (one chainer at a time); writers never do.
AUDIT_CHAIN_LOCK = 0x4541524E  # "EARN"
CHAIN_BATCH = 5_000


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical(payload: Any) -> Any:
    """Plain-JSON form (Decimals as strings, dates ISO) so hashing is stable."""
    return json.loads(json.dumps(payload, default=_default, sort_keys=True))


def event_body(*, sequence: int, created_at: dt.datetime, actor_id: int | None, action: str, object_type: str,
               object_id: str, before: Any, after: Any) -> str:
    """The canonical JSON text of an event (keys sorted, no whitespace, UTF-8): stored as `payload`, hashed."""
    return json.dumps(
        {"sequence": sequence, "created_at": created_at.isoformat(), "actor": actor_id, "action": action,
         "object_type": object_type, "object_id": object_id, "before": before, "after": after},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )


def link_hash(prev_hash: str, payload: str) -> str:
    """hash = sha256(prev_hash ‖ payload), hex; the SQL verification computes the same bytes."""
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def event_hash(prev_hash: str, *, sequence: int, created_at: dt.datetime, actor_id: int | None, action: str,
               object_type: str, object_id: str, before: Any, after: Any) -> str:
    return link_hash(prev_hash, event_body(sequence=sequence, created_at=created_at, actor_id=actor_id,
                                           action=action, object_type=object_type, object_id=object_id,
                                           before=before, after=after))


_kick_due = OncePer("AUDIT_CHAIN_KICK_SECONDS")


def _chain_soon() -> None:
    """After the commit: ask a worker to chain (a lost message only delays chaining until beat's next run).

    At most once per AUDIT_CHAIN_KICK_SECONDS per process: one run chains every event committed before it,
    so under load a kick per commit queued hundreds of runs a second that found nothing (and cost each
    request a broker round trip). An event whose kick was skipped is chained by the next kick or by beat
    (AUDIT_CHAIN_EVERY_SECONDS), as one whose kick found the chainer busy always was.
    """
    if not _kick_due.due():
        return
    from core.tasks import audit_chain_task

    audit_chain_task.delay()


_SEQUENCE_TAIL = '"sequence":0}'


def audit_record(*, actor: Any, action: str, obj: Any = None, object_type: str = "", object_id: Any = "",
                 before: Any = None, after: Any = None) -> AuditEvent:
    """Append one event, unchained, in the caller's transaction. `obj` (a model instance) fills object type and id.

    One statement: the canonical payload's keys are sorted, so "sequence" is its last; PostgreSQL hands out
    the sequence number and appends it to the text Python made, exactly as `event_body` writes it. No lock
    is taken, so audited writes of different customers and products never wait for each other here.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    actor_id = getattr(actor, "pk", actor) if actor is not None else None
    before, after = canonical(before), canonical(after)
    created_at = timezone.now()
    object_id = str(object_id)
    body = event_body(sequence=0, created_at=created_at, actor_id=actor_id, action=action, object_type=object_type,
                      object_id=object_id, before=before, after=after)
    assert body.endswith(_SEQUENCE_TAIL), body  # the last key; the number goes where the 0 stood
    table = AuditEvent._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (sequence, created_at, actor_id, action, object_type, object_id, before, after,
                                     payload)
                SELECT n.s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s || n.s::text || '}}'
                  FROM (SELECT nextval(pg_get_serial_sequence(%s, 'sequence')) AS s) n
                RETURNING sequence, payload""",
            [created_at, actor_id, action, object_type, object_id, _json_or_null(before), _json_or_null(after),
             body[:-2], table])
        sequence, payload = cursor.fetchone()
    return _written(sequence=sequence, created_at=created_at, actor_id=actor_id, action=action,
                    object_type=object_type, object_id=object_id, before=before, after=after, payload=payload)


def _written(**fields: Any) -> AuditEvent:
    """The event as inserted (no re-read), with the chainer queued once for this transaction's commit."""
    event = AuditEvent(**fields)
    event._state.adding = False
    event._state.db = connection.alias
    if settings.AUDIT_CHAIN_ON_COMMIT and not any(
            callback[1] is _chain_soon for callback in connection.run_on_commit):
        transaction.on_commit(_chain_soon, robust=True)
    return event


_OBJECT_ID_MARK = "\x00"  # a value no object id has; JSON spells it \u0000


def audit_record_inserting(*, insert_sql: str, insert_params: list[Any], actor: Any, action: str, object_type: str,
                           before: Any = None, after: Any = None,
                           claim: tuple[str, list[Any]] | None = None) -> tuple[int, AuditEvent] | None:
    """Insert one row and its audit event in one statement; returns the row's id and the event.

    `insert_sql` is an `INSERT … RETURNING id`; the event's object id is that id. The event is exactly what
    `audit_record` would write after the insert (same canonical payload; PostgreSQL appends the id where it
    goes and the sequence number at the end). One statement is atomic by itself: outside a transaction block
    it needs no BEGIN and COMMIT (the refusal of a money request).

    `claim` (SQL and parameters of a data-modifying statement with RETURNING) runs first in the same statement as
    the CTE `claim`; `insert_sql` may select from it, and when it inserts nothing neither is an event written and
    None is returned (core.idempotency: a refusal recorded only if its request holds the key).
    """
    actor_id = getattr(actor, "pk", actor) if actor is not None else None
    before, after = canonical(before), canonical(after)
    created_at = timezone.now()
    body = event_body(sequence=0, created_at=created_at, actor_id=actor_id, action=action, object_type=object_type,
                      object_id=_OBJECT_ID_MARK, before=before, after=after)
    assert body.endswith(_SEQUENCE_TAIL), body
    mark = json.dumps(_OBJECT_ID_MARK)
    assert body.count(mark) == 1, body  # only where the id goes (a value "\x00" elsewhere would be ambiguous)
    head, _mark, tail = body[:-2].partition(mark)
    table = AuditEvent._meta.db_table
    prelude, prelude_params = (f"claim AS ({claim[0]}),", claim[1]) if claim else ("", [])
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""WITH {prelude} obj AS ({insert_sql}),
                     n AS (SELECT nextval(pg_get_serial_sequence(%s, 'sequence')) AS s)
                INSERT INTO {table} (sequence, created_at, actor_id, action, object_type, object_id, before, after,
                                     payload)
                SELECT n.s, %s, %s, %s, %s, obj.id::text, %s::jsonb, %s::jsonb,
                       %s || '"' || obj.id::text || '"' || %s || n.s::text || '}}'
                  FROM obj, n
                RETURNING object_id, sequence, payload""",
            [*prelude_params, *insert_params, table, created_at, actor_id, action, object_type, _json_or_null(before),
             _json_or_null(after), head, tail])
        row = cursor.fetchone()
    if row is None:
        return None
    object_id, sequence, payload = row
    return int(object_id), _written(sequence=sequence, created_at=created_at, actor_id=actor_id, action=action,
                                    object_type=object_type, object_id=object_id, before=before, after=after,
                                    payload=payload)


def _json_or_null(value: Any) -> str | None:
    """A JSON column's parameter as the ORM writes it: None is SQL NULL, anything else its JSON text."""
    return None if value is None else json.dumps(value)


def audit_chain(*, wait: bool = True, batch: int = CHAIN_BATCH) -> int:
    """Chain every unchained event this transaction can see; return how many were chained.

    Idempotent and safe to run anywhere at any time (beat, after a commit, `audit_verify`, tests):
    one chainer at a time holds the chain lock. `wait=False` returns 0 at once when another chainer
    holds it (that one will find these events too, or the next run will). Each batch is its own
    transaction when called outside one.
    """
    table = AuditEvent._meta.db_table
    total, after = 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
                if not cursor.fetchone()[0]:
                    return total
            # Statements after the lock see every chain update committed before it (READ COMMITTED).
            # Within one run, batches go on from the last sequence taken (the rows behind it were just
            # chained); an event committed meanwhile with a lower sequence waits for the next run.
            cursor.execute(f"SELECT sequence, payload, created_at FROM {table} WHERE hash IS NULL AND sequence > %s "
                           "ORDER BY sequence LIMIT %s", [after, batch])
            pending = cursor.fetchall()
            if not pending:
                return total
            # The head from the key table: it keeps the positions of months detached for retention too.
            cursor.execute(f"SELECT chain_position, hash FROM {AuditEventKey._meta.db_table}"
                           " WHERE chain_position IS NOT NULL ORDER BY chain_position DESC LIMIT 1")
            head = cursor.fetchone()
            position, prev = head if head else (0, GENESIS_HASH)
            sequences, prevs, hashes, positions = [], [], [], []
            for sequence, payload, _created_at in pending:
                position += 1
                digest = link_hash(prev, payload)
                sequences.append(sequence)
                prevs.append(prev)
                hashes.append(digest)
                positions.append(position)
                prev = digest
            cursor.execute(
                f"UPDATE {table} AS e SET prev_hash = v.prev_hash, hash = v.hash, chain_position = v.position "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[]) AS v (sequence, prev_hash, hash, "
                "position) WHERE e.sequence = v.sequence AND e.hash IS NULL AND e.created_at BETWEEN %s AND %s",
                # Only the months of the batch's events: the other partitions are pruned when the plan is made
                # (else each event's sequence is probed in every month's primary key).
                [sequences, prevs, hashes, positions, min(row[2] for row in pending), max(row[2] for row in pending)])
            total += len(pending)
            after = pending[-1][0]
            wait = True  # the lock was ours; later batches may wait for it
        if len(pending) < batch:
            return total


def audit_chain_lag(*, max_lag_seconds: int | None = None) -> tuple[int, AuditEvent | None]:
    """Events still unchained more than `max_lag_seconds` (default AUDIT_CHAIN_MAX_LAG_SECONDS) after they
    were recorded: (how many, the oldest of them or None). Nonzero means the chainer is not keeping up."""
    limit = settings.AUDIT_CHAIN_MAX_LAG_SECONDS if max_lag_seconds is None else max_lag_seconds
    stale = AuditEvent.objects.filter(hash__isnull=True, created_at__lt=timezone.now() - dt.timedelta(seconds=limit))
    count = stale.count()
    return count, (stale.order_by("created_at").first() if count else None)
