"""Read replica routing: reports, exports, statements and history read from `replica` when it is configured.

A router sees a model, not a purpose, so the purpose is said where the read is made: a selector either
builds its queryset with `.using(read_alias())` (lazy querysets: CSV streams, pages), or runs its body
inside `replica_reads()` (selectors that evaluate everything before they return). Nothing else reads
from the replica: money paths (subscribe, redeem, accrual, ledger postings, reconciliation, statement
builds) read what they are about to write from `default`, and every write goes to `default` whatever
the alias an object was loaded from (docs/OPERATIONS.md, "Read replica").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


def read_alias() -> str:
    """The alias of reporting reads: `replica` when REPLICA_DATABASE_URL configured one, else `default`."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS


@contextmanager
def replica_reads() -> Iterator[str]:
    """Inside, reads of any model go to `read_alias()` (querysets evaluated inside; not lazy ones returned)."""
    token = _replica_reads.set(True)
    try:
        yield read_alias()
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Reads inside `replica_reads()` go to the replica; writes always to default; migrations only there."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return read_alias() if _replica_reads.get() else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        # Also for an object loaded from the replica: Django would otherwise save it where it came from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
