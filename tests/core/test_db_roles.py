"""The runtime database role cannot rewrite the books or escape its grants (issue 14, item 4).

Web, worker and beat connect as settings.DATABASE_RUNTIME_ROLE; migrations run as the owner. Here
the role gets the real grants (core.db_roles, as `manage.py db_grant_runtime` applies them) in the
test database, then a second connection as that role tries every dangerous statement and each one
is refused by PostgreSQL's privilege checks (SQLSTATE 42501), while the application's own writes,
run through the services on a connection as the same role, work.

Roles are cluster-wide: they are created only when missing (a concurrent run may create them at the
same moment) and never dropped; the grants live in this run's own test database. The connection
uses the test database's host and port with the role's name; its password, where the cluster asks
for one, is DATABASE_URL's when that URL already names the role, else libpq's (PGPASSWORD, ~/.pgpass).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client

from core.audit import audit_chain, audit_record
from core.audit_verify import audit_chain_verify
from core.db_roles import APPEND_ONLY_TABLES, runtime_grants_apply, runtime_privilege_problems
from core.models import AuditEvent
from earn.models import Accrual, Position
from earn.services import accrual
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from ledger.models import JournalEntry, JournalEntryKey, Posting
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parents[2]
ROLE = settings.DATABASE_RUNTIME_ROLE
OWNER = "earn_owner"
INSUFFICIENT_PRIVILEGE = "42501"


def _role_ensure(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f"DO $$ BEGIN CREATE ROLE {connection.ops.quote_name(name)} LOGIN; "
                           "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")


def _conninfo(user: str, dbname: str | None = None) -> str:
    db = connection.settings_dict
    password = db["PASSWORD"] if db["USER"] == user else None
    return psycopg.conninfo.make_conninfo(host=db["HOST"] or None, port=db["PORT"] or None, user=user,
                                          dbname=dbname or db["NAME"], password=password or None)


@pytest.fixture
def runtime_role(transactional_db):
    """The runtime role with the real grants in this test database (committed, so other connections see them)."""
    _role_ensure(ROLE)
    runtime_grants_apply(connection, ROLE)
    return ROLE


@contextlib.contextmanager
def connected_as(role: str) -> Iterator[None]:
    """Django's default connection logs in as `role` for the block (the services then run as that role)."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["USER"] = role
    connection.settings_dict["PASSWORD"] = saved["PASSWORD"] if saved["USER"] == role else ""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == role
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def book(runtime_role, assets, fund):
    """One funded customer (a journal entry with postings and an audit trail to attack)."""
    customer = UserFactory(country="SG")
    fund(customer, "USDT", "1000")
    audit_record(actor=None, action="test.event", object_type="test", object_id="1", after={"n": 1})
    return customer


# A column of each append-only table without `created_at`.
SOME_COLUMN = {"ledger_reconcilerun": "ran_at", "ledger_journalentrykey": "entry_created_at",
               "liabilities_liabilitysnapshot": "built_at", "liabilities_liabilityleaf": "idx",
               "liabilities_liabilitynode": "idx", "compliance_acknowledgement": "accepted_at",
               "compliance_acknowledgementkey": "accepted_at"}
DANGEROUS = [
    *[f"UPDATE {table} SET {column} = {column}" for table in APPEND_ONLY_TABLES
      for column in [SOME_COLUMN.get(table, "created_at")]],
    *[f"DELETE FROM {table}" for table in APPEND_ONLY_TABLES],
    *[f"TRUNCATE {table}" for table in APPEND_ONLY_TABLES],
    # Key rows come from the audit event's or acknowledgement's own insert, never from the application.
    "INSERT INTO compliance_acknowledgementkey (id, accepted_at, user_id, product_id, disclosure_id)"
    " VALUES (987654321, now(), NULL, NULL, NULL)",
    "INSERT INTO core_auditeventkey (sequence, created_at) VALUES (987654321, now())",
    # A partition (core/partitions.py) is not addressable by the runtime role at all.
    "DELETE FROM ledger_posting_default",
    "UPDATE ledger_journalentry_default SET memo = memo",
    "SELECT count(*) FROM ledger_posting_default",
    "TRUNCATE ledger_ledgeraccount",
    "TRUNCATE accounts_user CASCADE",
    "SET session_replication_role = replica",
    "ALTER TABLE ledger_posting DISABLE TRIGGER ALL",
    "ALTER TABLE compliance_auditevent DISABLE TRIGGER auditevent_append_only",
    "ALTER TABLE ledger_posting OWNER TO CURRENT_USER",
    "DROP TABLE compliance_auditevent",
    "DROP TABLE ledger_posting CASCADE",
    "DROP FUNCTION compliance_refuse_change() CASCADE",
    "CREATE ROLE intruder LOGIN SUPERUSER",
    "CREATE ROLE intruder LOGIN",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "ALTER ROLE CURRENT_USER BYPASSRLS",
    "SET ROLE postgres",
    "CREATE TABLE public.shadow (id int)",
    "CREATE FUNCTION public.shadow() RETURNS int LANGUAGE sql AS 'select 1'",
    "COPY ledger_posting FROM PROGRAM 'true'",
    "SELECT setval(pg_get_serial_sequence('compliance_auditevent', 'sequence'), 1)",
]


def test_the_runtime_role_cannot_rewrite_the_books_or_escape_its_grants(book):
    """Each statement in DANGEROUS, on its own, as the runtime role: refused for lack of privilege (42501)."""
    before = (JournalEntry.objects.count(), Posting.objects.count(), AuditEvent.objects.count())
    assert all(before)
    outcomes = {}
    with psycopg.connect(_conninfo(ROLE), autocommit=True) as runtime:
        for statement in DANGEROUS:
            try:
                runtime.execute(statement)
                outcomes[statement] = "accepted"
            except psycopg.Error as exc:
                outcomes[statement] = exc.sqlstate
        # `SET ROLE postgres` would fail for a missing role too: the refusal must be for privilege.
        assert runtime.execute("SELECT current_user").fetchone()[0] == ROLE
    assert {statement: outcome for statement, outcome in outcomes.items() if outcome != INSUFFICIENT_PRIVILEGE} == {}
    assert (JournalEntry.objects.count(), Posting.objects.count(), AuditEvent.objects.count()) == before


def test_the_runtime_role_can_write_a_balanced_entry_in_sql(book):
    """INSERT on entries and postings (and reading them) is what the role is for."""
    accounts = list(book.ledger_accounts.filter(asset_id="USDT").values_list("id", flat=True)[:1])
    with psycopg.connect(_conninfo(ROLE)) as runtime:
        with runtime.transaction():
            system = runtime.execute("SELECT id FROM ledger_ledgeraccount WHERE owner_id IS NULL AND asset_id = 'USDT' "
                                     "LIMIT 1").fetchone()[0]
            entry = runtime.execute(
                "INSERT INTO ledger_journalentry (kind, idempotency_key, fingerprint, reference, memo, created_at) "
                "VALUES ('transfer', 'roles-test', %s, '', '', now()) RETURNING id", ["0" * 64]).fetchone()[0]
            for account, side in ((accounts[0], "C"), (system, "D")):
                runtime.execute("INSERT INTO ledger_posting (entry_id, account_id, asset_id, side, amount, created_at) "
                                "VALUES (%s, %s, 'USDT', %s, 1, now())", [entry, account, side])
        assert runtime.execute("SELECT count(*) FROM ledger_posting WHERE entry_id = %s", [entry]).fetchone()[0] == 2


def test_the_runtime_role_cannot_vouch_for_an_entry_on_its_key_row(book):
    """The key row's progress (whose entry, how many postings, balanced at once) is the ledger triggers' to write:
    the runtime role can neither open a key row with it filled in nor update it."""
    with psycopg.connect(_conninfo(ROLE), autocommit=True) as runtime:
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="must open empty"):
            runtime.execute("INSERT INTO ledger_journalentrykey (idempotency_key, entry_id, entry_created_at,"
                            " entry_txid, legs, posted_at_once)"
                            " VALUES ('roles-forged', nextval('ledger_journalentry_id_seq'), now(), txid_current(), 2,"
                            " true)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute("UPDATE ledger_journalentrykey SET posted_at_once = true")
    assert not JournalEntryKey.objects.filter(idempotency_key="roles-forged").exists()


def test_grants_are_least_privilege_and_reapplied(runtime_role):
    """What the role holds, read back from the catalog; a grant added by hand does not survive a re-run."""
    with connection.cursor() as cursor:
        assert runtime_privilege_problems(cursor, ROLE) == []
        cursor.execute(f"GRANT UPDATE, TRUNCATE ON ledger_posting TO {connection.ops.quote_name(ROLE)}")
        assert any("UPDATE on ledger_posting" in p for p in runtime_privilege_problems(cursor, ROLE))
    runtime_grants_apply(connection, ROLE)
    with connection.cursor() as cursor:
        assert runtime_privilege_problems(cursor, ROLE) == []
        cursor.execute("SELECT has_table_privilege(%s, 'ledger_ledgeraccount', 'UPDATE'), "
                       "has_table_privilege(%s, 'django_session', 'DELETE'), "
                       "has_table_privilege(%s, 'axes_accessattempt', 'DELETE'), "
                       "has_table_privilege(%s, 'otp_totp_totpdevice', 'UPDATE')", [ROLE] * 4)
        assert cursor.fetchone() == (True, True, True, True)


def test_the_application_works_as_the_runtime_role(runtime_role, assets, fund):
    """Sign-in (session, lockout counters, login audit), funding, subscribing, a day's accrual (temporary
    tables, advisory locks), a redemption: all through the services, connected as the runtime role."""
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    with connected_as(ROLE):
        customer = UserFactory(country="SG", email="runtime@sg.example")
        client = Client()
        sign_in = "/account/sign-in"
        assert client.post(sign_in, {"email": customer.email, "password": "wrong"}).status_code in (200, 429)
        assert client.post(sign_in, {"email": customer.email, "password": "pass-word-123"}).status_code == 302
        assert client.get("/dashboard").status_code == 200
        fund(customer, "USDT", "1000")
        acknowledge(customer, product)
        with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
            subscription_create(user=customer, product_id=product.pk, amount="1000")
        with time_machine.travel(dt.datetime(2026, 3, 3, 0, 5, tzinfo=dt.UTC), tick=False):
            accrual.accrue_day(dt.date(2026, 3, 2))
            position = Position.objects.get(user=customer)
            redemption_create(user=customer, position_id=position.pk, amount="100", mode="fast")
        assert Accrual.objects.filter(position=position).count() == 1
        assert ledger_reconcile().ok
        assert audit_chain() > 0  # the chainer's column UPDATE is within the role's grants
        assert audit_chain_verify().intact


def test_migrations_run_as_the_owner_and_the_app_as_the_runtime_role(transactional_db):
    """The deploy sequence on a fresh database: bootstrap as a superuser, `migrate` and `db_grant_runtime`
    as the owner (no superuser needed), demo data as the runtime role; the owner owns every table."""
    _role_ensure(OWNER)
    _role_ensure(ROLE)
    name = f"{connection.settings_dict['NAME']}_deploy"[:63]
    admin = psycopg.connect(_conninfo(connection.settings_dict["USER"], "postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        from core.db_roles import roles_bootstrap

        with psycopg.connect(_conninfo(connection.settings_dict["USER"], name), autocommit=True) as superuser:
            roles_bootstrap(superuser.cursor(), owner=OWNER, owner_password="", runtime=ROLE, runtime_password="")

        def manage(role: str, *args: str) -> str:
            db = connection.settings_dict
            url = f"postgres://{role}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
            env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
            result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                                    text=True, timeout=300)
            assert result.returncode == 0, result.stderr[-3000:]
            return result.stdout

        manage(OWNER, "migrate", "--noinput", "-v", "0")
        assert "no TRUNCATE" in manage(OWNER, "db_grant_runtime")
        manage(ROLE, "seed_demo")
        with psycopg.connect(_conninfo(connection.settings_dict["USER"], name)) as check:
            owners = check.execute("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                                   "WHERE relnamespace = 'public'::regnamespace").fetchall()
            assert owners == [(OWNER,)]
            assert check.execute("SELECT count(*) FROM ledger_posting").fetchone()[0] > 0
            assert runtime_privilege_problems(check.cursor(), ROLE) == []
        # Also through a pooler, which passes no start-up options: the role's own setting in this database.
        with psycopg.connect(_conninfo(ROLE, name)) as runtime:
            assert runtime.execute("SHOW plan_cache_mode").fetchone()[0] == "force_generic_plan"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
