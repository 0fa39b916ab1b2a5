"""Idempotency-Key handling for money-moving requests.

The record is inserted in the same transaction as the operation it guards. A concurrent request
with the same key waits on the unique index until the first commits, then replays its answer; if
the first fails, nothing was kept and the second runs afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError, IdempotencyKeyReused
from core.models import IdempotencyRecord

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

MAX_KEY_LENGTH = 200


class IdempotencyKeyMissing(ApplicationError):
    default_code = "IDEMPOTENCY_KEY_REQUIRED"


def request_hash(scope: str, payload: Any) -> str:
    body = json.dumps([scope, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def idempotent(*, user: AbstractBaseUser, key: str | None, scope: str, payload: Any,
               action: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
    """Run `action` once per (user, key); returns (status, body, replayed)."""
    if not key or not key.strip():
        raise IdempotencyKeyMissing(_("The Idempotency-Key header is required for this request."),
                                    field="Idempotency-Key")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        # Control characters (a NUL is refused by PostgreSQL in text) make no sense in a key.
        raise ApplicationError(_("The Idempotency-Key header must be at most 200 printable characters."),
                               code="IDEMPOTENCY_KEY_INVALID", field="Idempotency-Key")
    digest = request_hash(scope, payload)
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO core_idempotencyrecord (user_id, key, scope, request_hash, created_at)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (user_id, key) DO NOTHING RETURNING id
                """,
                [user.pk, key, scope, digest, timezone.now()],
            )
            row = cursor.fetchone()
        if row is None:
            record = IdempotencyRecord.objects.get(user_id=user.pk, key=key)
            if record.request_hash != digest:
                raise IdempotencyKeyReused(
                    _("This Idempotency-Key was already used for a different request."), field="Idempotency-Key")
            return record.response_status or 200, record.response_body, True
        status, body = action()
        cursor = connection.cursor()  # a plain UPDATE: the ORM's would cost more Python than the statement
        with cursor:
            cursor.execute(f"UPDATE {IdempotencyRecord._meta.db_table} SET response_status = %s, "
                           "response_body = %s::jsonb WHERE id = %s",
                           [status, None if body is None else json.dumps(body), row[0]])
        return status, body, False
