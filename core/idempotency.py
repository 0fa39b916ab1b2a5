"""Idempotency-Key handling for money-moving requests.

The record is inserted in the same transaction as the operation it guards. A concurrent request
with the same key waits on the unique index until the first commits, then replays its answer; if
the first fails, nothing was kept and the second runs afresh.

A refusal that can be decided before any lock (the gate, a full cap as last committed) claims the key
in the statement that records the refusal (`IdempotentRequest.claim_sql`), with no transaction block: a
concurrent request holding the key makes that statement wait, and a committed answer under the key makes
it record nothing, so the refused request replays that answer instead. The claim it leaves behind has no
response (`response_status` NULL): the key is released, and the next request with it runs afresh, as
after a rolled-back claim.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError, IdempotencyKeyReused
from core.models import IdempotencyRecord
from core.rows import prepared_cursor

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

MAX_KEY_LENGTH = 200
_TABLE = IdempotencyRecord._meta.db_table
# Takes the key unless it holds an answer: a released key (a refused attempt's claim) is taken over.
_CLAIM_SQL = f"""INSERT INTO {_TABLE} (user_id, key, scope, request_hash, created_at) VALUES (%s, %s, %s, %s, %s)
                 ON CONFLICT (user_id, key) DO UPDATE
                    SET scope = EXCLUDED.scope, request_hash = EXCLUDED.request_hash, created_at = EXCLUDED.created_at
                  WHERE {_TABLE}.response_status IS NULL
                 RETURNING id"""


# For a read that decides a refusal without claiming the key (no write to carry the claim): whether the key
# already holds an answer, in the same snapshot as what the refusal is decided on (`answered_params`).
ANSWERED_SQL = (f"EXISTS (SELECT 1 FROM {_TABLE} i WHERE i.user_id = %(idempotency_user)s "
                "AND i.key = %(idempotency_key)s AND i.response_status IS NOT NULL)")


class IdempotencyKeyMissing(ApplicationError):
    default_code = "IDEMPOTENCY_KEY_REQUIRED"


def request_hash(scope: str, payload: Any) -> str:
    body = json.dumps([scope, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _key_refused(key: str | None) -> ApplicationError | None:
    """Why this Idempotency-Key header is refused, or None."""
    if not key or not key.strip():
        return IdempotencyKeyMissing(_("The Idempotency-Key header is required for this request."),
                                     field="Idempotency-Key")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        # Control characters (a NUL is refused by PostgreSQL in text) make no sense in a key.
        return ApplicationError(_("The Idempotency-Key header must be at most 200 printable characters."),
                                code="IDEMPOTENCY_KEY_INVALID", field="Idempotency-Key")
    return None


def answered_params(user: AbstractBaseUser, key: str | None) -> dict[str, Any]:
    """ANSWERED_SQL's parameters; a key that `IdempotentRequest.of` will refuse holds nothing."""
    return {"idempotency_user": user.pk, "idempotency_key": None if _key_refused(key) else key}


@dataclass(frozen=True)
class IdempotentRequest:
    """One money-moving request under its Idempotency-Key: the key checked and the body hashed."""

    user_id: int
    key: str
    scope: str
    digest: str

    @classmethod
    def of(cls, *, user: AbstractBaseUser, key: str | None, scope: str, payload: Any) -> IdempotentRequest:
        refused = _key_refused(key)
        if refused is not None:
            raise refused
        assert key is not None
        return cls(user_id=user.pk, key=key, scope=scope, digest=request_hash(scope, payload))

    def claim_sql(self) -> tuple[str, list[Any]]:
        """The claim as one statement (`INSERT … RETURNING id`, no row when the key holds an answer), for a
        caller that writes in the same statement only what it keeps if the key is its own."""
        return _CLAIM_SQL, [self.user_id, self.key, self.scope, self.digest, timezone.now()]

    def replay(self) -> tuple[int, Any, bool]:
        """The answer stored under the key (whose claim just failed); a different body is refused."""
        record = IdempotencyRecord.objects.get(user_id=self.user_id, key=self.key)
        if record.request_hash != self.digest:
            raise IdempotencyKeyReused(
                _("This Idempotency-Key was already used for a different request."), field="Idempotency-Key")
        return record.response_status or 200, record.response_body, True

    def run(self, action: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
        """Run `action` once per (user, key) in the claim's transaction; returns (status, body, replayed)."""

        def claim_then_act(claim: tuple[str, list[Any]]) -> tuple[int, Any, int] | None:
            with prepared_cursor() as cursor:
                cursor.execute(*claim)
                row = cursor.fetchone()
            if row is None:
                return None
            status, body = action()
            return status, body, row[0]

        return self.run_claiming(claim_then_act)

    def run_claiming(self, action: Callable[[tuple[str, list[Any]]], tuple[int, Any, int] | None]
                     ) -> tuple[int, Any, bool]:
        """`run` for an action whose first statement claims the key itself: it gets `claim_sql()` to embed (a
        CTE whose row, if any, carries the record id) and returns (status, body, record id), or None when its
        statement claimed nothing (the key holds an answer, replayed). One round trip fewer than `run`."""
        with transaction.atomic(durable=True):
            done = action(self.claim_sql())
            if done is None:
                return self.replay()
            status, body, record = done
            _answer(record, status, body)
            return status, body, False


_ANSWER_SQL = f"UPDATE {_TABLE} SET response_status = %s, response_body = %s::jsonb WHERE id = %s"


def _answer(record: int, status: int, body: Any) -> None:
    """Store the answer under the claimed key, the transaction's last write: sent with its COMMIT when the
    backend can (core.db_backend.send_with_commit), else now (a plain UPDATE: the ORM's would cost more Python
    than the statement)."""
    params = [status, None if body is None else json.dumps(body), record]
    send_with_commit = getattr(connection, "send_with_commit", None)
    if send_with_commit is not None and send_with_commit(_ANSWER_SQL, params):
        return
    with prepared_cursor() as cursor:
        cursor.execute(_ANSWER_SQL, params)


def idempotent(*, user: AbstractBaseUser, key: str | None, scope: str, payload: Any,
               action: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
    """Run `action` once per (user, key); returns (status, body, replayed)."""
    return IdempotentRequest.of(user=user, key=key, scope=scope, payload=payload).run(action)
