"""`GET /metrics`: who may read it, request latency by route, money outcomes by reason code, and the gauges
read from the database (accrual lag and progress, stale chunks, reconcile result, ledger postings)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.roles import OPERATIONS
from earn.models import AccrualChunk, AccrualRun
from ledger.reconcile import ledger_reconcile
from ledger.services import deposit_credit
from tests.earn.factories import live_product, staff_user
from tests.factories import UserFactory, admin_login

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)


def _scrape(client: Client | None = None, **extra) -> str:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def _value(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        sample, _, label_text = metric.partition("{")
        found = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if sample == name and found == wanted:
            return float(value)
    return None


def test_strangers_are_refused_and_the_token_the_loopback_and_operations_staff_get_in(settings):
    settings.METRICS_TOKEN = "scraper-token-0123456789"
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    refused = Client().get("/metrics", **outside)
    assert refused.status_code == 403 and refused.json()["code"] == "PERMISSION_DENIED"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token", **outside).status_code == 403
    assert "earn_accrual_lag_days" in _scrape(HTTP_AUTHORIZATION="Bearer scraper-token-0123456789", **outside)
    assert "earn_accrual_lag_days" in _scrape()  # the test client comes from 127.0.0.1
    curator = staff_user("curator")
    operations = staff_user(OPERATIONS)
    assert admin_login(Client(), curator).get("/metrics", **outside).status_code == 403
    unverified = Client()
    unverified.force_login(operations)
    assert unverified.get("/metrics", **outside).status_code == 403  # staff need their second factor
    assert "earn_ledger_postings" in _scrape(admin_login(Client(), operations), **outside)


def test_latency_by_route_pattern_and_money_outcomes_by_reason_code(usd_prices):
    product = live_product("USDT", min_amount="10")
    customer = UserFactory(country="SG")
    deposit_credit(user_id=customer.pk, asset="USDT", amount=Decimal(1000), reference="metrics-fund")
    client = APIClient()
    client.force_authenticate(customer)
    before = _scrape()
    base_refused = _value(before, "earn_money_outcomes_total", operation="subscribe", outcome="NO_ACK") or 0
    refused = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "100"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="metrics-1")
    assert refused.status_code == 403 and "NO_ACK" in str(refused.json())
    after = _scrape()
    assert _value(after, "earn_money_outcomes_total", operation="subscribe", outcome="NO_ACK") == base_refused + 1
    count = _value(after, "earn_http_request_duration_seconds_count", route="api/v1/subscriptions", method="POST",
                   status="403")
    assert count is not None and count >= 1
    # The route is the URL pattern: one series for every position, not one per id.
    client.get("/api/v1/positions/987654")
    assert re.search(r'route="api/v1/positions/<int:position_id>"', _scrape())
    assert "987654" not in _scrape()


def test_accrual_lag_progress_and_stale_chunks(settings):
    settings.ACCRUAL_CHUNK_TIMEOUT = 600
    with time_machine.travel(NOW, tick=False):
        assert _value(_scrape(), "earn_accrual_lag_days") == 0  # nothing accrued yet: nothing overdue
        AccrualRun.objects.create(date=dt.date(2026, 6, 6), status=AccrualRun.Status.DONE)
        running = AccrualRun.objects.create(date=dt.date(2026, 6, 7))
        AccrualChunk.objects.create(run=running, lo=1, hi=10, status=AccrualChunk.Status.DONE)
        AccrualChunk.objects.create(run=running, lo=11, hi=20, enqueued_at=timezone.now() - dt.timedelta(hours=1))
        AccrualChunk.objects.create(run=running, lo=21, hi=30, enqueued_at=timezone.now())
        AccrualChunk.objects.create(run=running, lo=31, hi=40, enqueued_at=timezone.now())
        text = _scrape()
    assert _value(text, "earn_accrual_lag_days") == 3  # 9 June has ended; the last day done is 6 June
    assert _value(text, "earn_accrual_run_progress_ratio", date="2026-06-07") == 0.25
    assert _value(text, "earn_accrual_stale_chunks") == 1


def test_reconcile_result_and_posting_counter():
    customer = UserFactory()
    from tests.factories import AssetFactory

    AssetFactory(code="USDT", scale=8)
    before = _value(_scrape(), "earn_ledger_postings_total") or 0
    deposit_credit(user_id=customer.pk, asset="USDT", amount=Decimal(5), reference="metrics-postings")
    text = _scrape()
    assert _value(text, "earn_ledger_postings_total") >= before + 2  # a deposit is two postings
    assert _value(text, "earn_reconcile_ok") is None  # never reconciled: no sample rather than a guess
    assert ledger_reconcile().ok
    text = _scrape()
    assert _value(text, "earn_reconcile_ok") == 1 and _value(text, "earn_reconcile_mismatches") == 0
    assert _value(text, "earn_reconcile_last_run_timestamp_seconds") > 0


def test_the_process_metrics_come_from_prometheus_client():
    """The text is prometheus-client's own (no hand-written format): its registry knows our families."""
    names = {metric.name for metric in REGISTRY.collect()}
    assert {"earn_http_request_duration_seconds", "earn_money_outcomes"} <= names


@pytest.mark.django_db(transaction=True)
def test_audit_events_waiting_to_be_chained():
    """Outside a wrapping transaction: the chainer only links events whose transaction has committed."""
    from core.audit import audit_chain, audit_record

    with time_machine.travel(NOW, tick=False):
        audit_record(actor=None, action="test.metrics", object_type="test", object_id="1", after={"n": 1})
    with time_machine.travel(NOW + dt.timedelta(seconds=90), tick=False):
        text = _scrape()
        assert _value(text, "earn_audit_events_unchained") >= 1
        assert _value(text, "earn_audit_oldest_unchained_age_seconds") == 90
        audit_chain()
        text = _scrape()
    assert _value(text, "earn_audit_events_unchained") == 0
    assert _value(text, "earn_audit_oldest_unchained_age_seconds") == 0


@pytest.mark.django_db(transaction=True)
def test_notifications_waiting_in_the_outbox(settings, monkeypatch):
    from notifications import services, tasks

    settings.NOTIFICATIONS_VIA_CELERY = True
    monkeypatch.setattr(tasks.notifications_outbox_task, "apply_async", lambda **kw: None)
    user = UserFactory()
    with time_machine.travel(NOW, tick=False):
        services.notification_send_on_commit(user_id=user.pk, kind="action_required", key="refusal:1",
                                             params={"product": "P", "amount": "", "reasons": "R"})
    with time_machine.travel(NOW + dt.timedelta(seconds=30), tick=False):
        text = _scrape()
        assert _value(text, "earn_notification_outbox_backlog") == 1
        assert _value(text, "earn_notification_outbox_oldest_age_seconds") == 30
        assert services.outbox_drain() == 1
        text = _scrape()
    assert _value(text, "earn_notification_outbox_backlog") == 0
    assert _value(text, "earn_notification_outbox_oldest_age_seconds") == 0
