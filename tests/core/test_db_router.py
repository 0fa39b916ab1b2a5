"""Read replica routing (core.db_router): which alias each report, export, statement and history read uses.

The `replica` fixture gives one test a `replica` alias on this run's test database, as REPLICA_DATABASE_URL
with TEST MIRROR = default would, and read-only (default_transaction_read_only), so a write routed there
would fail. The tests commit (transaction=True), so rows written through default are seen through replica.
Each request is run with the queries of both connections captured: the reads of reports, exports,
statements and history are on replica; money paths (subscribe, redeem, accrual, deposits, reconcile) never
touch it.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.db_router import REPLICA, ReplicaRouter, read_alias, replica_reads
from earn.models import Position
from earn.services import accrual
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from ledger.models import Posting
from ledger.reconcile import ledger_reconcile
from statements.models import Statement
from statements.services import statement_build
from tests.earn.factories import Staff, live_product
from tests.earn.helpers import acknowledge, at
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def replica(transactional_db):
    """A read-only `replica` alias on the test database, for this test only."""
    config = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    if settings.DATABASE_POOLER != "pgbouncer":  # PgBouncer refuses startup options
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "options": "-c default_transaction_read_only=on"}
    settings.DATABASES[REPLICA] = config  # the same dict as connections.settings
    try:
        # Connected here: the test case only lets aliases it was set up with connect on their own.
        connections[REPLICA].connect()
        yield connections[REPLICA]
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del settings.DATABASES[REPLICA]


@dataclass
class Captured:
    default: CaptureQueriesContext
    replica: CaptureQueriesContext

    def on(self, alias: str, table: str) -> list[str]:
        """The SQL of the queries on `alias` that mention `table`."""
        return [q["sql"] for q in getattr(self, alias).captured_queries if f'"{table}"' in q["sql"]
                or f" {table} " in q["sql"]]


@contextmanager
def captured() -> Iterator[Captured]:
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as default, \
            CaptureQueriesContext(connections[REPLICA]) as replica:
        yield Captured(default, replica)


@pytest.fixture
def customer_book(assets, fund):
    """A customer with a demand position from 1 March 2026 (accrued 2 March), a redemption, and a statement."""
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    user = UserFactory(country="SG", email="rita@sg.example")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    with at(2026, 3, 1, 9):
        subscription_create(user=user, product_id=product.pk, amount="600")
    with at(2026, 3, 3, 0, 5):
        accrual.accrue_pending()
    with at(2026, 4, 2):
        statement, _created = statement_build(user=user, month=dt.date(2026, 3, 1))
    return user, product, statement


def test_without_a_replica_everything_reads_from_default():
    assert REPLICA not in settings.DATABASES
    assert read_alias() == DEFAULT_DB_ALIAS
    with replica_reads() as alias:
        assert alias == DEFAULT_DB_ALIAS
        assert ReplicaRouter().db_for_read(Posting) == DEFAULT_DB_ALIAS


def test_history_page_and_ledger_entries_read_from_the_replica(replica, customer_book):
    user, _product, _statement = customer_book
    browser = Client()
    browser.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    with captured() as queries:
        page = browser.get("/history")
        listing = api.get("/api/v1/ledger/entries")
        export = api.get("/api/v1/ledger/entries?format=csv")
        rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert page.status_code == 200 and listing.status_code == 200 and export.status_code == 200
    assert len(rows) - 1 == Posting.objects.filter(account__owner=user).count() == len(listing.json()["results"]) > 0
    assert len(queries.on(REPLICA, "ledger_posting")) >= 4  # page count + rows, list count + rows, CSV rows
    assert queries.on(DEFAULT_DB_ALIAS, "ledger_posting") == []
    # Who is signed in (sessions, users) is not a report: default.
    assert queries.on(DEFAULT_DB_ALIAS, "django_session")


def test_pool_position_history_reads_from_the_replica(replica, user_factory, fund):
    from pools.services.distribution import pool_distribute_day
    from tests.pools.factories import pool_product, ready_customer

    pool = pool_product()
    alice = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    api = APIClient()
    api.force_authenticate(alice)
    with at(2026, 3, 1, 10):
        position = api.post("/api/v1/pool-deposits", {"product": pool.product_id, "amount": "1"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="k1").json()["position"]
    pool_distribute_day(pool_id=pool.pk, day=dt.date(2026, 3, 2))
    with captured() as queries:
        history = api.get(f"/api/v1/pool-positions/{position}/history")
    assert [row["date"] for row in history.json()["results"]] == ["2026-03-02"]
    assert queries.on(REPLICA, "pools_poolpayout") and queries.on(DEFAULT_DB_ALIAS, "pools_poolpayout") == []
    # Whose position it is: asked of default, with the request.
    assert queries.on(DEFAULT_DB_ALIAS, "pools_poolposition")


def test_statements_and_the_income_export_read_from_the_replica(replica, customer_book):
    user, _product, statement = customer_book
    browser = Client()
    browser.force_login(user)
    with captured() as queries:
        listing = browser.get("/statements")
        pdf = browser.get(f"/statements/{statement.pk}.pdf")
        income = browser.get("/statements/income/2026.csv")
    assert listing.status_code == 200 and "2026" in listing.content.decode()
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert income.status_code == 200 and "interest" in income.content.decode()
    assert len(queries.on(REPLICA, "statements_statement")) == 2
    assert queries.on(REPLICA, "earn_accrual") and queries.on(REPLICA, "pricing_pricesnapshot")
    for table in ("statements_statement", "earn_accrual", "pricing_pricesnapshot"):
        assert queries.on(DEFAULT_DB_ALIAS, table) == [], table


def test_compliance_reports_read_from_the_replica_and_audit_the_export_on_default(replica, customer_book, usd_prices):
    staff = Staff()
    officer = APIClient()
    officer.force_authenticate(staff.compliance)
    with captured() as queries:
        report = officer.get("/api/v1/staff/reports/acknowledgements?from=2026-01-01&to=2026-12-31")
        body = b"".join(report.streaming_content).decode()
        pdf = officer.get("/api/v1/staff/reports/acknowledgements?from=2026-01-01&to=2026-12-31&format=pdf")
    assert report.status_code == 200 and "rita@sg.example" in body
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert len(queries.on(REPLICA, "compliance_acknowledgement")) >= 2  # the CSV's COPY, the PDF's totals
    assert queries.on(DEFAULT_DB_ALIAS, "compliance_acknowledgement") == []
    assert [q for q in queries.on(DEFAULT_DB_ALIAS, "compliance_auditevent") if q.startswith("INSERT")]


def test_money_paths_never_touch_the_replica(replica, assets, fund):
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    user = UserFactory(country="SG")
    with captured() as queries:
        fund(user, "USDT", "1000")
        acknowledge(user, product)
        with at(2026, 3, 1, 9):
            subscription_create(user=user, product_id=product.pk, amount="600")
        with at(2026, 3, 3, 0, 5):
            accrual.accrue_pending()
            assert accrual.accrual_dispatch(lambda _: None).state == "up to date"
        with at(2026, 3, 3, 9):
            redemption_create(user=user, position_id=Position.objects.get(user=user).pk, amount="100", mode="fast")
        assert ledger_reconcile().ok
    assert queries.replica.captured_queries == []
    assert len(queries.default.captured_queries) > 20


def test_an_object_read_from_the_replica_is_written_to_default(replica, customer_book):
    user, _product, statement = customer_book
    with replica_reads():
        loaded = Statement.objects.get(pk=statement.pk)
    assert loaded._state.db == REPLICA
    with captured() as queries:
        loaded.save(update_fields=["figures"])  # the replica is read-only: this would fail there
    assert [q for q in queries.default.captured_queries if q["sql"].startswith("UPDATE")]
    assert queries.replica.captured_queries == []


def test_the_replica_is_never_migrated():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "ledger") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "ledger") is None
