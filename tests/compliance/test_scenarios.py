"""SCENARIOS.md 11, 12, 14 and 15 end to end (10 and 13: tests/earn/test_subscriptions.py and
tests/compliance/test_disclosures_*.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from compliance.models import Refusal
from compliance.services.assessments import assessment_submit
from core.audit import audit_chain, audit_record
from core.models import AuditEvent
from tests.compliance.conftest import answers, client_for
from tests.earn.factories import Staff, live_product
from tests.earn.helpers import acknowledge, subscribe_api
from tests.factories import UserFactory

TEN = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
PRESCRIBED = ("Don't invest unless you're prepared to lose all the money you invest. This is a high-risk investment "
              "and you should not expect to be protected if something goes wrong. Take 2 mins to learn more.")
PERSONALISED = ("Bob, this is a high-risk investment. How would you feel if you lost the money you're about to "
                "invest? Take 2 mins to learn more.")


@pytest.fixture
def gb_ready(prices, fund, gb_customer):
    """A funded GB customer who passed the assessment and acknowledged a live USDT product (Earn not yet viewed)."""
    product = live_product("USDT", "demand")
    with time_machine.travel(TEN - dt.timedelta(days=3), tick=False):
        assessment_submit(user=gb_customer, product_kind="demand", answers=answers("GB", "demand"))
    fund(gb_customer, "USDT", "1000")
    acknowledge(gb_customer, product)
    return product, gb_customer, client_for(gb_customer)


def test_scenario_11_gb_cooling_off_from_the_first_view(gb_ready):
    product, user, client = gb_ready
    with time_machine.travel(TEN, tick=False):
        assert client.get("/api/v1/products").status_code == 200  # first view of Earn
    with time_machine.travel(TEN + dt.timedelta(hours=23, minutes=59), tick=False):
        refused = subscribe_api(client, product, "100", "k-early")
        assert refused.json()["code"] == "COOLING_OFF", refused.json()
        assert Refusal.objects.get(user=user).codes == ["COOLING_OFF"]
        assert client.get("/api/v1/products").status_code == 200  # a later view does not restart the clock
    with time_machine.travel(TEN + dt.timedelta(hours=24), tick=False):
        allowed = subscribe_api(client, product, "100", "k-on-time")
        assert allowed.status_code == 201, allowed.json()


def test_scenario_11_no_view_means_no_subscription(gb_ready):
    product, _user, client = gb_ready
    with time_machine.travel(TEN + dt.timedelta(days=30), tick=False):
        assert subscribe_api(client, product, "100", "k").json()["code"] == "COOLING_OFF"


def test_scenario_12_gb_warnings_on_product_pages_and_before_subscribing(gb_ready):
    product, _user, client = gb_ready
    listed = client.get("/api/v1/products").json()["results"][0]
    assert listed["risk_warning"] == PRESCRIBED
    assert client.get(f"/api/v1/products/{product.pk}").json()["risk_warning"] == PRESCRIBED
    assert client.get(f"/api/v1/products/{product.pk}/disclosure").json()["prescribed_warnings"] == [PRESCRIBED]
    preview = client.post("/api/v1/subscriptions/preview", {"product": product.pk, "amount": "100"},
                          format="json").json()
    assert (preview["risk_warning"], preview["personalised_warning"]) == (PRESCRIBED, PERSONALISED)


def test_scenario_12_no_gb_warnings_for_other_countries(prices):
    product = live_product("USDT", "demand")
    client = client_for(UserFactory(country="HK"))
    assert client.get("/api/v1/products").json()["results"][0]["risk_warning"] is None
    assert client.get(f"/api/v1/products/{product.pk}/disclosure").json()["prescribed_warnings"] == []
    preview = client.post("/api/v1/subscriptions/preview", {"product": product.pk, "amount": "1"}, format="json")
    assert preview.json()["personalised_warning"] is None


def _ten_events():
    return [audit_record(actor=None, action="test.event", object_type="test", object_id=i, after={"n": i}).sequence
            for i in range(1, 11)]


def test_scenario_14_tampering_with_event_5_is_named(db):
    sequences = _ten_events()
    call_command("audit_verify", verbosity=0)  # intact
    fifth = sequences[4]
    with connection.cursor() as cursor:
        # As a superuser, bypassing the append-only trigger: one byte of event 5's payload changes.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE compliance_auditevent SET after = '{\"n\": 6}' WHERE sequence = %s", [fifth])
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError) as broken:
        call_command("audit_verify", verbosity=0)
    assert broken.value.returncode == 1
    assert f"event #{fifth}:" in str(broken.value)
    assert "content" in str(broken.value)


def test_scenario_14_a_deleted_event_breaks_the_next_link(db):
    sequences = _ten_events()
    audit_chain()  # what the worker does after the commit
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM compliance_auditevent WHERE sequence = %s", [sequences[4]])
        cursor.execute("SET LOCAL session_replication_role = origin")
    with pytest.raises(CommandError) as broken:
        call_command("audit_verify", verbosity=0)
    assert f"event #{sequences[5]}:" in str(broken.value)
    assert "prev_hash" in str(broken.value)


@pytest.mark.parametrize("sql", ["UPDATE compliance_auditevent SET action = 'x'",
                                 "DELETE FROM compliance_auditevent"])
def test_postgresql_refuses_update_and_delete(db, sql):
    _ten_events()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.filter(action="test.event").count() == 10


def test_scenario_15_restricted_country_refused_and_in_the_refusals_report(prices, fund):
    staff = Staff()
    product = live_product("USDT", "demand")
    carol = UserFactory(country="US", email="carol@us.example")
    fund(carol, "USDT", "100")
    acknowledge(carol, product)
    refused = subscribe_api(client_for(carol), product, "50", "k-us")
    assert refused.json()["code"] == "JURISDICTION_RESTRICTED"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    report = client_for(staff.compliance).get(f"/api/v1/staff/reports/refusals?from={today}&to={today}")
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert [(r["user"], r["country"], r["codes"], r["amount"]) for r in rows] == [
        ("carol@us.example", "US", "JURISDICTION_RESTRICTED", "50")]


def test_compliance_status_tells_a_new_gb_customer_what_is_missing(prices, gb_customer):
    product = live_product("USDT", "demand")
    client = client_for(gb_customer)
    status = client.get("/api/v1/compliance/status").json()
    assert status == [{"product": product.pk, "blocking": ["NO_ACK", "ASSESSMENT_REQUIRED", "COOLING_OFF"]}]
