"""What one successful subscription costs the database (issue 17): statements per request, through the API.

Counted as Django logs them (CaptureQueriesContext), in a real transaction (BEGIN and COMMIT are not
statements Django logs), with token authentication as API clients use it. The token was used within
the minute, so its `last_used_at` (written at most once a minute) is not due.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tokens import api_token_create
from earn.models import Position, Product
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, balance, cap_filled_meanwhile
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

MAX_STATEMENTS = 15


@pytest.fixture
def quiet_notifications(settings, monkeypatch):
    """As in production: the notification is an outbox row written in the transaction (one INSERT, counted)
    and sent by a worker; the request's only other part in it is asking for a drain after the commit."""
    from notifications import services, tasks
    from notifications.models import OutboxMessage

    settings.NOTIFICATIONS_VIA_CELERY = True
    monkeypatch.setattr(tasks.notifications_outbox_task, "apply_async", lambda **kwargs: None)
    monkeypatch.setattr(services._kick_due, "last", float("-inf"))
    return OutboxMessage.objects


def _customer(product, fund):
    user = UserFactory(country="SG")  # no jurisdiction rule: the gate asks for the acknowledgement only
    fund(user, product.asset_id, "10000")
    acknowledge(user, product)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='t')[1]}")
    assert client.get("/api/v1/assets").status_code == 200  # the token's first use is recorded here
    return user, client


def _subscribe(client, product, amount, key):
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": amount}, format="json",
                               HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.json()
    return response, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("term_type", ["demand", "fixed"])
def test_a_successful_subscription_costs_at_most_15_statements(assets, fund, quiet_notifications, term_type):
    product = live_product("USDT", term_type, total_cap="1000000", per_user_cap="5000")
    user, client = _customer(product, fund)

    _, first = _subscribe(client, product, "100", "first")  # opens the earn account (and the demand position)
    _, second = _subscribe(client, product, "100", "second")

    assert len(first) <= MAX_STATEMENTS, "\n".join(first)
    assert len(second) <= MAX_STATEMENTS, "\n".join(second)
    assert not [sql for sql in first + second if "SAVEPOINT" in sql]  # nested blocks that protect nothing
    # The cap is reserved by the last write of the subscription: after it only the idempotency
    # record's answer (a row this transaction inserted) is written.
    for statements in (first, second):
        reserve = next(i for i, sql in enumerate(statements) if "UPDATE earn_product SET sold_amount" in sql)
        assert all("core_idempotencyrecord" in sql or sql == "COMMIT" for sql in statements[reserve + 1:]), \
            statements[reserve:]
    assert quiet_notifications.filter(key__startswith="subscription:").count() == 2
    product.refresh_from_db()
    assert product.sold_amount == Decimal("200")
    assert balance(user, "USDT", AccountKind.EARN) == Decimal("200")
    assert sum(Position.objects.filter(user=user).values_list("principal", flat=True)) == Decimal("200")
    assert ledger_reconcile().ok


def test_a_refusal_at_the_cap_takes_no_lock_and_changes_nothing(assets, fund, quiet_notifications):
    product = live_product("USDT", total_cap="150")
    user, client = _customer(product, fund)
    _subscribe(client, product, "100", "first")
    response = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "100"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="second")
    assert response.status_code == 409 and response.json()["code"] == "CAP_REACHED"
    assert Product.objects.get(pk=product.pk).sold_amount == Decimal("100")
    assert balance(user, "USDT") == Decimal("9900")


def test_the_cap_reserved_last_still_refuses_when_it_fills_meanwhile(assets, fund, quiet_notifications, monkeypatch):
    """The read of the product says there is room; another subscription fills the cap before ours reaches
    its reservation: the conditional UPDATE refuses and everything this one wrote is rolled back."""
    product = live_product("USDT", total_cap="150")
    user, client = _customer(product, fund)
    cap_filled_meanwhile(monkeypatch, "100")
    response = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "100"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="late")
    assert response.status_code == 409 and response.json()["code"] == "CAP_REACHED"
    assert Product.objects.get(pk=product.pk).sold_amount == Decimal("0")
    assert not Position.objects.filter(user=user).exists()
    assert balance(user, "USDT") == Decimal("10000")
    assert ledger_reconcile().ok


def test_no_statement_touches_the_asset_or_terms_twice(assets, fund, quiet_notifications):
    product = live_product("USDT", "fixed", term_days=30)
    _, client = _customer(product, fund)
    _, statements = _subscribe(client, product, "100", "once")
    assert sum('FROM "earn_productterms"' in sql for sql in statements) == 1
    assert not [sql for sql in statements if 'FROM "ledger_asset"' in sql and "JOIN" not in sql]
    assert not [sql for sql in statements if 'FROM "earn_ratetier"' in sql and "ARRAY(" not in sql]


def test_value_dates_unchanged(assets, fund, quiet_notifications):
    import time_machine

    product = live_product("USDT", "fixed", term_days=30)
    _, client = _customer(product, fund)
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        response, _ = _subscribe(client, product, "100", "dated")
    body = response.json()
    assert (body["value_date"], body["maturity_date"]) == ("2026-03-02", "2026-04-01")


def test_a_redemption_runs_in_the_idempotency_transaction_without_a_savepoint(assets, fund, quiet_notifications):
    """Like a subscription: the request's one transaction, no nested block; a refusal keeps nothing of it."""
    from core.models import IdempotencyRecord
    from earn.models import Redemption

    product = live_product("USDT", total_cap="1000000")
    user, client = _customer(product, fund)
    subscribed, _ = _subscribe(client, product, "100", "sub")
    url = f"/api/v1/positions/{subscribed.json()['position']}/redemptions"
    with CaptureQueriesContext(connection) as queries:
        done = client.post(url, {"amount": "40", "mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert done.status_code == 201, done.json()
    assert not [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    refused = client.post(url, {"amount": "1000", "mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="r2")
    assert refused.status_code in (400, 409, 422), refused.json()
    assert not IdempotencyRecord.objects.filter(user=user, key="r2").exists()
    assert Redemption.objects.filter(position__user=user).count() == 1
    assert quiet_notifications.filter(key__startswith="redemption:").count() == 1
    assert balance(user, "USDT", AccountKind.EARN) == Decimal("60")
    assert Position.objects.get(user=user).principal == Decimal("60")
    assert ledger_reconcile().ok


@pytest.mark.skipif(settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold") is None,
                    reason="psycopg prepares nothing here (behind PgBouncer without DATABASE_PREPARED_STATEMENTS)")
def test_the_money_statements_run_the_plan_made_once_for_them(assets, fund, quiet_notifications):
    """PostgreSQL's default plan_cache_mode (auto) plans a prepared statement anew on each of its first five
    executions and then whenever the one-off plans looked cheaper: under load the subscription's offer read
    (a dozen tables) was planned on more than half of its executions. The connection asks for the plan made
    once (DATABASE_PLAN_CACHE_MODE): no execution of a money path's prepared statement makes a custom plan."""
    product = live_product("USDT", total_cap="250")
    customers = [_customer(product, fund) for _ in range(3)]
    for n, (_user, client) in enumerate(customers * 2):  # subscriptions, then refusals at the cap (three reads each)
        client.post("/api/v1/subscriptions", {"product": product.pk, "amount": str(40 + n)}, format="json",
                    HTTP_IDEMPOTENCY_KEY=f"k{n}")
    position = Position.objects.filter(user=customers[0][0]).get()
    redeemed = customers[0][1].post(f"/api/v1/positions/{position.pk}/redemptions", {"amount": "10", "mode": "fast"},
                                    format="json", HTTP_IDEMPOTENCY_KEY="r")
    assert redeemed.status_code == 201, redeemed.json()
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    offer = [row for row in prepared if "LEFT JOIN LATERAL" in row[0] and "u.kyc_status" in row[0]]
    assert offer and offer[0][1] >= 6  # six subscription requests read the offer; each ran the generic plan
    assert [row[0][:80] for row in prepared if row[2]] == []  # no custom plan, for any of them


def test_a_commitment_claims_its_key_inserts_and_locks_its_accounts_in_one_statement(assets, fund):
    from earn.models import LaunchCommitment
    from tests.earn.factories import launch_product

    product = launch_product("USDT")
    user, client = _customer(product, fund)

    def commit(key):
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/v1/commitments", {"product": product.pk, "amount": "10"}, format="json",
                                   HTTP_IDEMPOTENCY_KEY=key)
        return response, [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]

    first, first_sql = commit("first")
    second, second_sql = commit("second")
    assert first.status_code == second.status_code == 201, (first.json(), second.json())
    # Authentication, the offer and the gate's facts, [claim + commitment + accounts locked], the posting, the
    # key's answer.
    assert len(second_sql) == 5, "\n".join(second_sql)
    assert len(first_sql) == 5, "\n".join(first_sql)  # the committed account is opened by the same statement
    written = next(sql for sql in second_sql if "INSERT INTO earn_launchcommitment" in sql)
    assert "core_idempotencyrecord" in written and "FOR UPDATE" in written
    replay = client.post("/api/v1/commitments", {"product": product.pk, "amount": "10"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="second")
    assert replay.status_code == 201 and replay.json() == second.json() and replay["Idempotent-Replayed"] == "true"
    assert LaunchCommitment.objects.filter(user=user).count() == 2
    assert balance(user, "USDT", AccountKind.COMMITTED) == 20 and balance(user, "USDT") == 9980
    assert ledger_reconcile().ok
