"""SQL helpers shared by the tests of the monthly partitioned tables (ledger, audit trail, acknowledgements)."""

from __future__ import annotations

from django.db import connection


def one(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()


def every(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def partitions(table: str) -> list[str]:
    """The table's partitions by name (months, then the default)."""
    return [name for (name,) in every("SELECT inhrelid::regclass::text FROM pg_inherits"
                                      " WHERE inhparent = %s::regclass ORDER BY 1", [table])]
