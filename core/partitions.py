"""Monthly range partitions of the history tables: conversion, maintenance, retention.

The history tables (ledger entries and postings, accrual rows, audit events, acknowledgements) are
range-partitioned by month (declarative partitioning), one partition per UTC month named
`<table>_pYYYY_MM`, plus a default partition that catches rows outside every month created (a clock
far off, a test that travels in time). Which tables are partitioned is read from the catalog
(`pg_partitioned_table`), so a migration that converts another table needs no change here.

- `convert_to_partitioned` / `convert_to_plain`: used by the migrations that convert a table in
  place (copy into a new partitioned table, swap names, recreate indexes, constraints, triggers and
  grants, continue the id sequence) and by their reverse.
- `ensure_partitions(months_ahead)`: creates the current month and the next ones (beat, monthly;
  `manage.py partitions --ensure`), through the SECURITY DEFINER SQL function
  `partition_month_ensure` (core/sql/partitions.sql), so the runtime role can run it.
- `detach_before(month, export_dir)`: retention. Refuses a month within the retention period
  (docs/COMPLIANCE.md §5) and whatever a registered guard refuses; otherwise exports each partition
  before `month` to a file with COPY (plus its SHA-256) and only then detaches it. Nothing is deleted:
  the detached table stays in the database until an operator drops it after checking the export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.audit import audit_record
from core.models import DetachedPartition

DEFAULT_SUFFIX = "_default"
OLD_SUFFIX = "__unpartitioned"

# (parent table, month) -> a reason to keep the month, or None. Filled by the apps that know why a month
# must stay (ledger, earn, pools, core's audit trail); a table may have several.
RetentionGuard = Callable[[object, str, dt.date], str | None]
_GUARDS: dict[str, list[RetentionGuard]] = {}
# (cursor, partition): runs in the detaching transaction, before the detach (the ledger keeps each
# account's sum of the month's postings, so balances still reconcile without them; the audit trail
# records the chain's anchor). What it returns is stored on the DetachedPartition record.
DetachHook = Callable[[object, str], dict | None]
_DETACH_HOOKS: dict[str, DetachHook] = {}


class PartitionError(Exception):
    """A conversion, maintenance or retention step that cannot go ahead; nothing was changed."""


def register_retention_guard(table: str, guard: RetentionGuard) -> None:
    """`guard(cursor, partition, month_end)` returns why `partition` must stay, or None."""
    guards = _GUARDS.setdefault(table, [])
    if guard not in guards:
        guards.append(guard)


def register_detach_hook(table: str, hook: DetachHook) -> None:
    _DETACH_HOOKS[table] = hook


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as error:
        raise PartitionError(f"month must be YYYY-MM, not {text!r}") from error


# ---------------------------------------------------------------------------------------------------
# Catalog


@dataclass(frozen=True)
class Partition:
    parent: str
    name: str
    month: dt.date | None  # None: the default partition
    rows: int  # the planner's estimate (reltuples), -1 when never analysed


def partitioned_tables(cursor) -> list[tuple[str, str]]:
    """(table, partition column) of every range-partitioned table in the current schema."""
    cursor.execute(
        "SELECT c.relname, a.attname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
        "  JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
        " WHERE c.relnamespace = current_schema()::regnamespace AND p.partstrat = 'r' AND NOT c.relispartition"
        " ORDER BY c.relname")
    return [(table, column) for table, column in cursor.fetchall()]


def partitions_of(cursor, table: str) -> list[Partition]:
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint FROM pg_inherits i"
        "  JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY c.relname", [table])
    found = []
    for name, bound, rows in cursor.fetchall():
        month = None if bound == "DEFAULT" else parse_month(name[-7:].replace("_", "-"))
        found.append(Partition(table, name, month, rows))
    return found


def partitions_list() -> list[Partition]:
    with connection.cursor() as cursor:
        return [p for table, _column in partitioned_tables(cursor) for p in partitions_of(cursor, table)]


# ---------------------------------------------------------------------------------------------------
# Maintenance


def ensure_partitions(months_ahead: int | None = None, today: dt.date | None = None) -> list[str]:
    """Create this month's and the next `months_ahead` months' partitions of every partitioned table.

    Idempotent; returns the partitions it created. Raises (nothing created for that table) when the
    default partition already holds rows of a month to create.
    """
    ahead = settings.PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    if ahead < 0:
        raise PartitionError("months ahead must be 0 or more")
    first = month_start(today or timezone.now().date())
    created = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for table, _column in partitioned_tables(cursor):
                for n in range(ahead + 1):
                    cursor.execute("SELECT partition_month_ensure(%s::regclass, %s)", [table, add_months(first, n)])
                    name = cursor.fetchone()[0]
                    if name:
                        created.append(name)
    except DatabaseError as error:
        raise PartitionError(str(error).splitlines()[0]) from error
    return created


def retention_cutoff(today: dt.date | None = None) -> dt.date:
    """The first month that must stay: months before it are past the retention period."""
    today = today or timezone.now().date()
    return add_months(month_start(today), -12 * settings.RETENTION_YEARS)


@dataclass(frozen=True)
class Detached:
    partition: str
    path: Path
    rows: int
    sha256: str


def detach_before(month: dt.date, export_dir: Path, today: dt.date | None = None) -> list[Detached]:
    """Export, then detach, every month partition of the partitioned tables that ends by `month`.

    Refuses (PartitionError, nothing exported or detached) when `month` is after the retention cutoff
    or a registered guard names a reason to keep a partition. Runs as the tables' owner.
    """
    month = month_start(month)
    cutoff = retention_cutoff(today)
    if month > cutoff:
        raise PartitionError(f"{month:%Y-%m} is within the retention period: records from {cutoff:%Y-%m} on are "
                             f"kept for {settings.RETENTION_YEARS} years (docs/COMPLIANCE.md, Retention)")
    export_dir.mkdir(parents=True, exist_ok=True)
    done: list[Detached] = []
    with transaction.atomic(), connection.cursor() as cursor:
        # Every partitioned table at once: a month of entries goes with its postings.
        chosen = [(table, p, m) for table, _column in partitioned_tables(cursor)
                  for p in partitions_of(cursor, table) if (m := p.month) is not None and m < month]
        reasons = []
        for table, p, part_month in chosen:
            for guard in _GUARDS.get(table, ()):
                reason = guard(cursor, p.name, add_months(part_month, 1))
                if reason:
                    reasons.append(f"{p.name}: {reason}")
        if reasons:
            raise PartitionError("refused, nothing detached: " + "; ".join(reasons))
        for table, p, part_month in chosen:
            path = export_dir / f"{p.name}.copy"
            if path.exists():
                raise PartitionError(f"{path} exists already; move it away first (nothing is overwritten)")
            # Lock first: no row can arrive between the export and the detach.
            cursor.execute(f'LOCK TABLE "{p.name}" IN ACCESS EXCLUSIVE MODE')
            digest = hashlib.sha256()
            rows = 0
            with path.open("wb") as out, cursor.copy(f'COPY "{p.name}" TO STDOUT') as copy:
                for chunk in copy:
                    data = bytes(chunk)
                    digest.update(data)
                    rows += data.count(b"\n")
                    out.write(data)
            path.with_suffix(".copy.sha256").write_text(f"{digest.hexdigest()}  {path.name}\n")
            hook = _DETACH_HOOKS.get(table)
            extra = (hook(cursor, p.name) if hook else None) or {}
            cursor.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{p.name}"')
            DetachedPartition.objects.create(parent=table, partition=p.name, month=part_month, rows=rows,
                                             export_path=str(path), sha256=digest.hexdigest(), **extra)
            audit_record(actor=None, action="partitions.detach", object_type="partition", object_id=p.name,
                         after={"parent": table, "month": f"{part_month:%Y-%m}", "rows": rows,
                                "sha256": digest.hexdigest(), "export": path.name})
            done.append(Detached(p.name, path, rows, digest.hexdigest()))
    return done


# ---------------------------------------------------------------------------------------------------
# In-place conversion (migrations)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _months_to_create(cursor, table: str, column: str, months_ahead: int) -> list[dt.date]:
    cursor.execute(f"SELECT min({_q(column)}), max({_q(column)}) FROM {_q(table)}")
    low, high = cursor.fetchone()
    today = timezone.now().date()
    first = month_start(today)
    last = add_months(first, months_ahead)
    if low is not None:
        low_day = low.astimezone(dt.UTC).date() if isinstance(low, dt.datetime) else low
        high_day = high.astimezone(dt.UTC).date() if isinstance(high, dt.datetime) else high
        first = min(first, month_start(low_day))
        last = max(last, month_start(high_day))
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def _definitions(cursor, table: str, skip_indexes: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """CREATE INDEX, ADD CONSTRAINT (foreign keys) and CREATE TRIGGER statements of `table`, for its successor."""
    skip = set(skip_indexes)
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary"
        "   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid AND c.conrelid = x.indrelid)"
        " ORDER BY i.relname", [table])
    indexes = [(name, ddl) for name, ddl in cursor.fetchall() if name not in skip]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
        " AND contype IN ('f', 'u') ORDER BY conname", [table])
    constraints = [(name, ddl) for name, ddl in cursor.fetchall() if name not in skip]
    cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
                   " ORDER BY tgname", [table])
    triggers = [ddl for (ddl,) in cursor.fetchall()]
    return ([ddl for _name, ddl in indexes],
            [f"ALTER TABLE {{table}} ADD CONSTRAINT {_q(name)} {ddl}" for name, ddl in constraints],
            triggers)


def _swap(cursor, table: str, create_new: str, primary_key: Sequence[str], skip_indexes: Iterable[str],
          after_copy: Callable[[], None] | None = None) -> None:
    """Shared by both directions: rename `table`, create its successor, copy, recreate, drop the old copy."""
    old = table + OLD_SUFFIX
    cursor.execute("SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass AND conrelid <> confrelid",
                   [table])
    if cursor.fetchone()[0]:
        raise PartitionError(f"drop the foreign keys that reference {table} first")
    indexes, constraints, triggers = _definitions(cursor, table, skip_indexes)
    cursor.execute("SELECT a.grantee, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a"
                   " WHERE c.oid = %s::regclass AND a.grantee <> c.relowner", [table])
    grants = cursor.fetchall()
    key = primary_key[0]  # the identity column (id; sequence for audit events)
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, key])
    old_sequence = cursor.fetchone()[0]
    cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    # Constraint and index names are unique per schema: the old table keeps its own until it is dropped.
    cursor.execute(create_new.format(table=_q(table), old=_q(old)))
    if after_copy is None:
        cursor.execute(f"INSERT INTO {_q(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {_q(old)}")
    else:
        after_copy()
    cursor.execute(f"SELECT (SELECT count(*) FROM {_q(table)}), (SELECT count(*) FROM {_q(old)})")
    copied, had = cursor.fetchone()
    if copied != had:
        raise PartitionError(f"{table}: copied {copied} rows of {had}")
    cursor.execute(f"DROP TABLE {_q(old)}")
    cursor.execute(f"ALTER TABLE {_q(table)} ADD PRIMARY KEY ({', '.join(_q(c) for c in primary_key)})")
    # The definitions were read before the rename: they name `table`, now the successor.
    for ddl in indexes:
        cursor.execute(ddl)
    for ddl in constraints:
        cursor.execute(ddl.format(table=_q(table)))
    for ddl in triggers:
        cursor.execute(ddl)
    for grantee, privilege in grants:
        who = "PUBLIC" if grantee == 0 else None
        if who is None:
            cursor.execute("SELECT quote_ident(pg_get_userbyid(%s))", [grantee])
            who = cursor.fetchone()[0]
        cursor.execute(f"GRANT {privilege} ON TABLE {_q(table)} TO {who}")
    # The identity's sequence is new: give it the old one's name and continue after the highest id.
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, key])
    new_sequence = cursor.fetchone()[0]
    if old_sequence and new_sequence and new_sequence != old_sequence:
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {old_sequence.split('.')[-1]}")
    if new_sequence:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({_q(key)}), 0) + 1, false)"
                       f" FROM {_q(table)}", [table, key])
    cursor.execute(f"ANALYZE {_q(table)}")


def convert_to_partitioned(cursor, table: str, column: str, *, skip_indexes: Iterable[str] = (),
                           months_ahead: int = 3, key: str = "id") -> None:
    """Convert `table` in place into one range-partitioned by month on `column` (a date or timestamptz).

    The primary key becomes (key, column) (`key`: the identity column, id by default); unique indexes
    and constraints named in `skip_indexes` are not recreated (the caller replaces them: a unique key
    must include the partition column).
    Other tables' foreign keys to `table` must have been dropped by the caller. Partitions: every
    month from the oldest row's to `months_ahead` after this one, and a default partition.
    """
    months = _months_to_create(cursor, table, column, months_ahead)

    def copy() -> None:
        for month in months:
            cursor.execute("SELECT partition_month_ensure(%s::regclass, %s)", [table, month])
        cursor.execute(f"CREATE TABLE {_q(table + DEFAULT_SUFFIX)} PARTITION OF {_q(table)} DEFAULT")
        cursor.execute(f"INSERT INTO {_q(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {_q(table + OLD_SUFFIX)}")

    _swap(cursor, table,
          "CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS"
          f" INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({_q(column)})",
          (key, column), skip_indexes, copy)


def convert_to_plain(cursor, table: str, key: str = "id") -> None:
    """The reverse: `table` (partitioned) becomes one plain table again, with `key` as its primary key.

    Detached partitions are not brought back (they are no longer part of the table)."""
    _swap(cursor, table,
          "CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS"
          " INCLUDING STORAGE INCLUDING COMMENTS)", (key,), ())
