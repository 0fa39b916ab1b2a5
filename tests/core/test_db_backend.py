"""The database backend keeps a connection's prepared statements when a transaction rolls back (core.db_backend).

psycopg forgets them all on a ROLLBACK, so every money request refused inside its transaction (a cap filled
meanwhile, the balance) made the connection parse and plan each money statement again.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from core.rows import prepared_cursor
from earn.models import Position, Product
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, balance, cap_filled_meanwhile
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold") is None,
                       reason="psycopg prepares nothing here (behind PgBouncer without DATABASE_PREPARED_STATEMENTS)"),
]


def _prepared() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _probe() -> int:
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        return cursor.fetchone()[0]


def test_a_rollback_keeps_the_prepared_statements():
    assert _probe() == 42
    before = _prepared()
    assert any("::int + 1" in sql for sql in before.values())
    with pytest.raises(ValueError), transaction.atomic():
        _probe()
        raise ValueError("refused inside the transaction")
    assert not connection.in_atomic_block and connection.connection.info.transaction_status == 0  # IDLE
    assert _prepared() == before
    assert _probe() == 42 and _prepared() == before  # run by the same name, not prepared again


def test_a_savepoint_rollback_keeps_them_undoes_its_work_and_is_logged():
    _probe()
    before = _prepared()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE _sp (n int) ON COMMIT DROP")
            cursor.execute("INSERT INTO _sp VALUES (1)")
        sid = transaction.savepoint()
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO _sp VALUES (2)")
        with CaptureQueriesContext(connection) as queries:
            transaction.savepoint_rollback(sid)
        with connection.cursor() as cursor:
            cursor.execute("SELECT array_agg(n) FROM _sp")
            assert cursor.fetchone()[0] == [1]
    assert [q["sql"] for q in queries.captured_queries] == [f'ROLLBACK TO SAVEPOINT "{sid}"']
    assert _prepared() == before


def test_a_refused_savepoint_rollback_raises_and_the_transaction_still_ends():
    _probe()
    with pytest.raises(DatabaseError, match="savepoint"), transaction.atomic():
        connection.savepoint_rollback("no_such_savepoint")
    assert connection.connection.info.transaction_status == 0
    assert _probe() == 42


def test_a_subscription_refused_inside_its_transaction_leaves_the_money_statements_prepared(assets, fund,
                                                                                          monkeypatch):
    """The cap fills between the offer read and the reservation: 409, everything rolled back, and the next
    subscription runs the statements the first one prepared, by the same names."""
    from earn.services import subscriptions

    product = live_product("USDT", total_cap="150")
    user = UserFactory(country="SG")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='t')[1]}")
    assert client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "10"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="first").status_code == 201
    prepared = _prepared()
    offer = next(name for name, sql in prepared.items() if "u.kyc_status" in sql)
    real = cap_filled_meanwhile(monkeypatch, "150")
    refused = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "10"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="late")
    assert refused.status_code == 409 and refused.json()["code"] == "CAP_REACHED"
    monkeypatch.setattr(subscriptions, "_reserve_cap", real)
    assert Product.objects.get(pk=product.pk).sold_amount == Decimal("10")
    assert balance(user, "USDT", AccountKind.EARN) == Decimal("10")
    kept = _prepared()  # the refusal's record is prepared now too
    assert {name: kept.get(name) for name in prepared} == prepared
    assert client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "20"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="third").status_code == 201
    after = _prepared()
    assert after[offer] == prepared[offer] and set(prepared) <= set(after)
    assert Position.objects.get(user=user).principal == Decimal("30")
    assert ledger_reconcile().ok
