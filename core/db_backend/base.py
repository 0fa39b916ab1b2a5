"""Django's PostgreSQL backend, keeping the connection's prepared statements when a transaction rolls back.

psycopg forgets every statement it prepared on a connection (and DEALLOCATEs them all) whenever it sees a
ROLLBACK: its own `rollback()`, or a `ROLLBACK TO SAVEPOINT` run through a cursor. It does so in case the
transaction created what a statement was prepared against. PostgreSQL keeps prepared statements across a
rollback (they belong to the session, not the transaction) and re-checks a statement whose tables changed
before running it. Nothing this application prepares (core.rows.prepared_cursor: the money paths' reads and
writes of permanent tables) refers to an object created in the transaction, so the forgetting bought nothing
and cost much: every money request refused inside its transaction (a cap filled meanwhile, the balance)
made the connection parse and plan each of its money statements again, and a full product's traffic
refuses often. Here a rollback runs as a plain ROLLBACK on the connection, which leaves psycopg's cache as
it was. Anything else (a DROP or ALTER run through a cursor, DISCARD ALL) still clears it.

`send_with_commit` lets a transaction's last write travel with its COMMIT: one round trip instead of two on
every money request (the Idempotency-Key's answer, core.idempotency). The pair goes as one simple query,
"<statement>; COMMIT", its values bound client-side; PostgreSQL runs the COMMIT only if the statement
succeeded, and a COMMIT that fails (a deferred check) raises as Django's own commit would.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction  # type: ignore[attr-defined]  # not in django-stubs
from psycopg import ClientCursor, errors, pq

_IDLE = pq.TransactionStatus.IDLE
_IN_TRANSACTION = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)


def _command(connection: Any, sql: bytes) -> bool:
    """Run one utility command on the connection itself, not through a cursor. False when it cannot run so
    (no transaction to end, a pipeline open): the caller goes psycopg's way. A command PostgreSQL refuses raises
    its error, as a cursor would."""
    pgconn = connection.pgconn
    if connection._pipeline is not None or pgconn.transaction_status not in _IN_TRANSACTION:
        return False
    with connection.lock:
        result = pgconn.exec_(sql)
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise errors.error_from_result(result, encoding=connection.info.encoding)
    return True


class DatabaseWrapper(base.DatabaseWrapper):
    _with_commit: tuple[str, Any] | None = None  # the statement to send with the next COMMIT

    def send_with_commit(self, sql: str, params: Any) -> bool:
        """Send this statement with the COMMIT that ends the transaction, if the current atomic block's exit is
        that COMMIT (the outermost block, no other block open); else False, and the caller runs it now. The
        caller writes nothing after it."""
        if not self.in_atomic_block or len(self.atomic_blocks) != 1 or self._with_commit is not None:
            return False
        self._with_commit = (sql, params)
        return True

    def _commit(self) -> None:
        final, self._with_commit = self._with_commit, None
        if final is None or self.connection is None:
            return super()._commit()  # type: ignore[misc]  # not in django-stubs
        sql = f"{ClientCursor(self.connection).mogrify(*final)}; COMMIT"
        with debug_transaction(self, sql), self.wrap_database_errors:
            if not _command(self.connection, sql.encode(self.connection.info.encoding)):
                with self.connection.cursor() as cursor:  # a pipeline open: psycopg's way, two round trips
                    cursor.execute(*final)
                self.connection.commit()
        return None

    def _rollback(self) -> None:
        self._with_commit = None
        if self.connection is None or self.connection.pgconn.transaction_status == _IDLE:
            return
        with self.wrap_database_errors:
            if not _command(self.connection, b"ROLLBACK"):
                self.connection.rollback()

    def _savepoint_rollback(self, sid: str) -> None:
        sql = self.ops.savepoint_rollback_sql(sid)
        self.ensure_connection()
        with self.wrap_database_errors:
            done = _command(self.connection, sql.encode())
        if not done:
            super()._savepoint_rollback(sid)  # type: ignore[misc]  # not in django-stubs
        elif self.queries_logged:  # as a cursor logs it (tests count statements)
            self.queries_log.append({"sql": sql, "time": "0.000"})
