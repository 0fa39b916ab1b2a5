"""Safe behind PgBouncer in transaction pooling mode (docs/OPERATIONS.md, "Behind PgBouncer").

In transaction mode a client owns a server session only for the length of one transaction; anything that
outlives it (a session advisory lock, a plain SET, a cursor WITH HOLD, a prepared statement, LISTEN, a
temporary table without ON COMMIT DROP) lands with whichever client gets that session next. The static tests
keep such statements out of the code; the others run only in `make test-pgbouncer` (DATABASE_POOLER=pgbouncer,
DATABASE_URL through a local PgBouncer) and drive the inline catch-up and Celery tasks through it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.settings.base import database_config
from earn.models import Accrual, AccrualLease, AccrualRun, Position
from earn.services import accrual
from ledger.models import Posting
from ledger.reconcile import ledger_reconcile
from tests.earn.helpers import at, demand_savers

BASE_DIR = Path(__file__).resolve().parents[2]
APP_DIRS = ("accounts", "bin", "compliance", "config", "core", "earn", "ledger", "monitoring", "notifications",
            "pools", "portal", "pricing", "statements")

# (pattern, why) — what must not reach the database through a transaction pooler.
SESSION_STATE = [
    (re.compile(r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\(|pg_advisory_unlock", re.I),
     "a session advisory lock: pg_(try_)advisory_xact_lock inside atomic() (or a lease row)"),
    (re.compile(r"""execute\(\s*f?["']\s*SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)""", re.I),
     "a session SET: SET LOCAL inside atomic()"),
    (re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I), "set_config(…, false) sets the session"),
    (re.compile(r"""["'][^"'\n]*\b(?:UN)?LISTEN\s+[\w"*]"""), "LISTEN lives in the session"),
    (re.compile(r"\bWITH\s+HOLD\b|DECLARE\s+\w+\s+(?:NO\s+)?(?:BINARY\s+)?(?:SCROLL\s+)?CURSOR", re.I),
     "a cursor declared by hand"),
    (re.compile(r"""["']\s*PREPARE\s+\w+""", re.I), "a prepared statement lives in the session"),
    (re.compile(r"CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(?![^;]{0,120}ON\s+COMMIT\s+DROP)", re.I),
     "a temporary table outliving its transaction: ON COMMIT DROP"),
    (re.compile(r"server_side_binding[\"']?\s*[:=]\s*True"), "server-side binding prepares statements"),
]


def session_state_uses(text: str) -> list[str]:
    return [why for pattern, why in SESSION_STATE if pattern.search(text)]


def test_the_patterns_catch_what_they_should_and_only_that():
    for bad in ['cursor.execute("SELECT pg_advisory_lock(%s)", [1])', "SELECT pg_try_advisory_lock(1)",
                'cursor.execute("SET jit = off")', "cursor.execute(f\"SET search_path TO {s}\")",
                "SELECT set_config('x', 'y', false)", 'cursor.execute("LISTEN accruals")',
                "DECLARE c CURSOR WITH HOLD FOR SELECT 1", 'cursor.execute("PREPARE q AS SELECT 1")',
                '"CREATE TEMP TABLE _x AS SELECT 1"', '{"server_side_binding": True}']:
        assert session_state_uses(bad), bad
    for good in ['cursor.execute("SELECT pg_advisory_xact_lock(%s)", [1])', 'cursor.execute("SET LOCAL jit = off")',
                 'cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")',
                 'cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")', "SELECT set_config('x', 'y', true)",
                 '"UPDATE t SET a = 1"', '"CREATE TEMP TABLE _x ON COMMIT DROP AS SELECT 1"',
                 "# earn announces; notifications listens"]:
        assert not session_state_uses(good), good


def test_no_session_level_state_in_the_code():
    """The application's Python and SQL hold nothing in a database session beyond one transaction."""
    found = []
    for name in APP_DIRS:
        for path in sorted((BASE_DIR / name).rglob("*")):
            if path.suffix in (".py", ".sql") and path.is_file():
                found += [f"{path.relative_to(BASE_DIR)}: {why}" for why in session_state_uses(path.read_text())]
    assert found == []


def test_the_pooler_setting_turns_off_server_side_cursors_and_prepared_statements():
    direct = database_config("postgres://app@db:5432/earn", "")
    pooled = database_config("postgres://app@pgbouncer:6432/earn", "pgbouncer")
    assert not direct.get("DISABLE_SERVER_SIDE_CURSORS")
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["OPTIONS"]["prepare_threshold"] is None and "server_side_binding" not in pooled["OPTIONS"]
    assert direct["OPTIONS"]["prepare_threshold"] == 0 and "server_side_binding" not in direct["OPTIONS"]
    assert (pooled["HOST"], pooled["PORT"]) == ("pgbouncer", 6432)
    with pytest.raises(ImproperlyConfigured):
        database_config("postgres://app@db:5432/earn", "pgpool")


def test_prepared_statements_behind_the_pooler_only_when_it_keeps_them(monkeypatch):
    """PgBouncer 1.21+ with max_prepared_statements (compose's) keeps protocol-level prepared statements."""
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "true")
    assert database_config("postgres://app@pgbouncer:6432/earn", "pgbouncer")["OPTIONS"]["prepare_threshold"] == 0
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert database_config("postgres://app@db:5432/earn", "")["OPTIONS"]["prepare_threshold"] is None


def test_direct_connections_ask_for_generic_plans_of_their_prepared_statements(monkeypatch):
    """A start-up option (no round trip); the pooler passes none, so there the role carries it (roles.sql)."""
    direct = database_config("postgres://app@db:5432/earn", "")
    assert direct["OPTIONS"]["options"] == "-c plan_cache_mode=force_generic_plan"
    assert direct["ENGINE"] == "core.db_backend"  # Django's, keeping prepared statements across a rollback
    assert "options" not in database_config("postgres://app@pgbouncer:6432/earn", "pgbouncer")["OPTIONS"]
    kept = database_config("postgres://app@db:5432/earn?options=-c%20statement_timeout%3D5000", "")
    assert kept["OPTIONS"]["options"] == "-c statement_timeout=5000 -c plan_cache_mode=force_generic_plan"
    monkeypatch.setenv("DATABASE_PLAN_CACHE_MODE", "")
    assert "options" not in database_config("postgres://app@db:5432/earn", "")["OPTIONS"]
    monkeypatch.setenv("DATABASE_PLAN_CACHE_MODE", "generic")
    with pytest.raises(ImproperlyConfigured):
        database_config("postgres://app@db:5432/earn", "")
    monkeypatch.setenv("DATABASE_PLAN_CACHE_MODE", "auto")
    monkeypatch.setenv("DATABASE_PREPARED_STATEMENTS", "false")
    assert "options" not in database_config("postgres://app@db:5432/earn", "")["OPTIONS"]


def test_compose_keeps_prepared_statements_in_its_pooler():
    ini = (BASE_DIR / "deploy" / "pgbouncer" / "pgbouncer.ini").read_text()
    kept = re.search(r"^max_prepared_statements\s*=\s*(\d+)", ini, re.M)
    assert kept and int(kept.group(1)) > 0
    assert re.search(r"DATABASE_PREPARED_STATEMENTS:\s*\"true\"", (BASE_DIR / "docker-compose.yml").read_text())


# --- Through PgBouncer (make test-pgbouncer) -------------------------------------------------------------

pooled = pytest.mark.skipif(settings.DATABASE_POOLER != "pgbouncer",
                            reason="runs through PgBouncer only (make test-pgbouncer)")


def _client() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                           dbname=db["NAME"], autocommit=True, prepare_threshold=None)


@pooled
@pytest.mark.django_db
def test_this_run_goes_through_a_pooler_in_transaction_mode():
    """PostgreSQL's own port is not the one we dialled, and two clients take turns on one server session
    (which a session pooler never does: each open client keeps its own)."""
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_port()")
        assert cursor.fetchone()[0] != int(connection.settings_dict["PORT"])
    with _client() as one, _client() as two:
        pids = [(one.execute("SELECT pg_backend_pid()").fetchone()[0],
                 two.execute("SELECT pg_backend_pid()").fetchone()[0]) for _ in range(5)]
    assert any(a == b for a, b in pids), pids


@pytest.fixture
def book(assets, fund):
    """Four customers each holding 1000 USDT in a 10 % demand product from 2 March 2026."""
    return demand_savers(fund, 4)


@pooled
@pytest.mark.django_db(transaction=True)
def test_inline_catch_up_through_the_pooler_keeps_other_runs_out(book):
    """Each chunk is its own transaction, on whichever server session the pooler gives; the lease keeps a
    scheduler (another client of the pooler) out from start to end, and nothing is left behind."""
    answers: list[str] = []

    class Meanwhile(accrual.Progress):
        def chunk_done(self, day: dt.date, rows: int) -> None:
            with _client() as other:  # another process's scheduler step, through the pooler
                other.execute("BEGIN")
                locked = not other.execute("SELECT pg_try_advisory_xact_lock(%s)", [accrual.ACCRUAL_LOCK]) \
                    .fetchone()[0]
                lease = other.execute("SELECT holder IS NOT NULL FROM earn_accruallease WHERE name = %s",
                                      [accrual.LEASE_NAME]).fetchone()[0]
                other.execute("COMMIT")
            answers.append("locked" if locked or lease else "free")

    with at(2026, 3, 4, 0, 5):
        days = accrual.accrue_pending(chunk_size=1, progress=Meanwhile())
    assert [d.date for d in days] == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    assert answers == ["locked"] * 8
    assert Accrual.objects.count() == 8 and AccrualLease.objects.get().holder is None
    assert ledger_reconcile().ok
    with _client() as other:  # the accrual lock, held by no server session of this database
        held = other.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
                             "AND classid = 0 AND objid = %s AND database = (SELECT oid FROM pg_database "
                             "WHERE datname = current_database())", [accrual.ACCRUAL_LOCK]).fetchone()[0]
    assert held == 0


@pooled
@pytest.mark.django_db(transaction=True)
def test_celery_tasks_run_eagerly_through_the_pooler(book):
    """The scheduler's task fans out chunk tasks, each worked and committed through the pooler; the sweeper
    and the notification sweep (which iterates a queryset) too."""
    from config.celery import app
    from earn.tasks import accrual_sweep_task, accrual_task
    from notifications.tasks import notifications_sweep_task

    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with at(2026, 3, 5, 0, 5):
            assert accrual_task.apply().get()["state"] == "dispatched"
            assert accrual_sweep_task.apply().get() == {"requeued": 0}
            notifications_sweep_task.apply().get()
    finally:
        app.conf.task_always_eager = eager
    assert list(AccrualRun.objects.values_list("date", "status")) == [
        (dt.date(2026, 3, d), AccrualRun.Status.DONE) for d in (2, 3, 4)]
    assert Accrual.objects.count() == 12
    assert all(p.principal == Decimal("1000") for p in Position.objects.all())
    assert ledger_reconcile().ok


@pooled
@pytest.mark.django_db(transaction=True)
def test_iterating_a_queryset_outside_a_transaction_works_through_the_pooler(book):
    """QuerySet.iterator() outside atomic() would declare a cursor WITH HOLD in one server session and fetch
    from it in others; with DISABLE_SERVER_SIDE_CURSORS it is one plain query."""
    seen = 0
    for _posting in Posting.objects.order_by("id").iterator(chunk_size=1):
        with _client() as other:  # keeps the pooler's sessions changing hands between fetches
            other.execute("SELECT 1")
        seen += 1
    assert seen == Posting.objects.count() > 0
