"""The one function that writes audit events, chaining each to the one before.

The audit trail sits on the ground floor (core): ledger, accounts, earn, pools and compliance all
record through `audit_record`, and none of them needs another app for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from core.models import AuditEvent

GENESIS_HASH = "0" * 64
# Appends take this transaction-scoped advisory lock so two writers never chain to the same
# predecessor; it is released at commit, so callers write the audit event last.
AUDIT_CHAIN_LOCK = 0x4541524E  # "EARN"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def canonical(payload: Any) -> Any:
    """Plain-JSON form (Decimals as strings, dates ISO) so hashing is stable."""
    return json.loads(json.dumps(payload, default=_default, sort_keys=True))


def event_hash(prev_hash: str, *, sequence: int, created_at: dt.datetime, actor_id: int | None, action: str,
               object_type: str, object_id: str, before: Any, after: Any) -> str:
    body = json.dumps(
        {"sequence": sequence, "created_at": created_at.isoformat(), "actor": actor_id, "action": action,
         "object_type": object_type, "object_id": object_id, "before": before, "after": after},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@transaction.atomic
def audit_record(*, actor: Any, action: str, obj: Any = None, object_type: str = "", object_id: Any = "",
                 before: Any = None, after: Any = None) -> AuditEvent:
    """Append one event. `obj` (a model instance) fills object type and id when given."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    actor_id = getattr(actor, "pk", actor) if actor is not None else None
    before, after = canonical(before), canonical(after)
    with connection.cursor() as cursor:
        # Django's foreign keys are checked at COMMIT, which would be after the chain lock is taken: a
        # key-share lock on a product row queued there behind another transaction's FOR UPDATE, whose
        # holder waits for the chain lock, is a deadlock (bench/load_subscribe.py found it: a refusal's
        # commit against a redemption and a subscription of the same product). So run the pending checks
        # now, and take the key-share lock the event's own actor key will need, before the chain lock.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if actor_id is not None:
            cursor.execute(f"SELECT 1 FROM {get_user_model()._meta.db_table} WHERE id = %s FOR KEY SHARE", [actor_id])
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'sequence'))", [AuditEvent._meta.db_table])
        sequence = cursor.fetchone()[0]
    last = AuditEvent.objects.order_by("-sequence").values_list("hash", flat=True).first()
    prev_hash = last or GENESIS_HASH
    created_at = timezone.now()
    digest = event_hash(prev_hash, sequence=sequence, created_at=created_at, actor_id=actor_id, action=action,
                        object_type=object_type, object_id=str(object_id), before=before, after=after)
    return AuditEvent.objects.create(sequence=sequence, created_at=created_at, actor_id=actor_id, action=action,
                                     object_type=object_type, object_id=str(object_id), before=before,
                                     after=after, prev_hash=prev_hash, hash=digest)
