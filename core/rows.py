"""Model instances from the rows of hand-written SQL, for the money paths' one-statement reads.

Building and compiling an ORM query with joins and subqueries costs about a millisecond of Python per
request, more than the statement itself. The few reads every subscription and commitment make are
written as SQL once; `RowShape` names a model's columns in them and turns the row's slice back into
an instance with the field conversions the ORM applies (a JSON column arrives as text and is parsed
by its field), so callers get the same objects as from a queryset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)
BIGINT_MAX = 2**63 - 1


def is_bigint(value: object) -> bool:
    """A value a bigint key column can hold (the ORM answers "no rows" for others; raw SQL would raise)."""
    return isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX <= value <= BIGINT_MAX


class RowShape(Generic[M]):
    """The concrete columns of `model` under a table alias, and the instance made from their values."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields: list[Any] = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self.columns = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self._converters: list[tuple[int, Callable[..., Any], Any]] | None = None

    def converters(self) -> list[tuple[int, Callable[..., Any], Any]]:
        if self._converters is None:
            self._converters = [(i, convert, field.get_col(self.alias))
                                for i, field in enumerate(self.fields)
                                for convert in field.get_db_converters(connection)]
        return self._converters

    def instance(self, row: Sequence[Any], start: int = 0) -> M:
        """The instance from row[start : start + width], as loaded from the database."""
        values = list(row[start:start + self.width])
        for i, convert, expression in self.converters():
            values[i] = convert(values[i], expression, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def insert(instance: M) -> M:
    """INSERT one new instance with a plain statement and set its primary key: what `save()` writes (field
    defaults and `pre_save` applied), without the ORM's compiler and without model signals (for models that
    have no receivers, on the money paths)."""
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({", ".join(["%s"] * len(fields))}) '
                       f'RETURNING "{meta.pk.column}"', values)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def prepared_cursor() -> CursorWrapper:
    """A cursor for a money path's statements: bound server-side and prepared on first use, so PostgreSQL parses
    and plans each once per connection instead of on every request (the subscription's read of offer and gate
    facts, a dozen tables, costs about four times as much to plan as to run). Once: the connection runs with
    plan_cache_mode = force_generic_plan (config/settings/base.py); under `auto` they were planned again with
    the values of more than half of their executions. A rollback keeps them (core.db_backend).

    Never for a statement that reads a table with month partitions: a prepared (generic) plan of one locks every
    month's partition when it runs (docs/OPERATIONS.md, "Partitions and the lock table"). Inserting into one is
    fine: the plan names the parent, and the row's partition is opened when the row is routed. Where
    psycopg prepares nothing (behind PgBouncer unless it keeps prepared statements: DATABASE_PREPARED_STATEMENTS)
    it is a plain server-binding cursor. Django's own cursors bind client-side and are never prepared."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw: Any = psycopg.Cursor(connection.connection)
    return _PreparedDebugCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


class _PreparedDebugCursor(CursorDebugWrapper):
    """Logs a statement as Django's own cursors do, its parameters inlined (psycopg does not keep the text of a
    prepared statement's execution, which Django's debug cursor reads)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(connection.ops.compose_sql(sql, params), params):  # type: ignore[attr-defined]
            return CursorWrapper.execute(self, sql, params)
