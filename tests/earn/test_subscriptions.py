"""Subscribing through the API: gates, caps, idempotency, refusals (SCENARIOS.md 6–10)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from compliance.models import Disclosure, DisclosureStatus, Refusal
from earn.models import Position, PositionChange, Product, Subscription
from ledger.models import AccountKind, JournalEntry
from ledger.reconcile import ledger_reconcile as reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, balance, subscribe_api
from tests.factories import UserFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def ready(assets, fund, client_for):
    """A funded HK customer who has acknowledged a live USDT demand product."""
    def make(product=None, amount="10000", user=None):
        product = product or live_product("USDT")
        user = user or UserFactory(country="HK")
        fund(user, product.asset_id, amount)
        acknowledge(user, product)
        return product, user, client_for(user)

    return make


def assert_reconciled():
    report = reconcile()
    assert report.ok, report.mismatches


@time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC), tick=False)
def test_subscribe_moves_available_to_earn_and_opens_position(ready):
    product, user, client = ready(live_product("USDT", "fixed", term_days=30))
    response = subscribe_api(client, product, "1000", "k-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == "1000.00000000"
    assert body["value_date"] == "2026-03-02"
    assert body["maturity_date"] == "2026-04-01"
    assert balance(user, "USDT") == D("9000")
    assert balance(user, "USDT", AccountKind.EARN) == D("1000")
    position = Position.objects.get(pk=body["position"])
    assert position.principal == D("1000") and position.terms_id == product.terms.pk
    assert PositionChange.objects.get(position=position).effective_date == dt.date(2026, 3, 2)
    product.refresh_from_db()
    assert product.sold_amount == D("1000")
    assert_reconciled()


def test_demand_subscriptions_grow_one_position(ready):
    product, user, client = ready()
    assert subscribe_api(client, product, "100", "a").status_code == 201
    assert subscribe_api(client, product, "50", "b").status_code == 201
    position = Position.objects.get(user=user, product=product)
    assert position.principal == D("150")
    assert Subscription.objects.filter(position=position).count() == 2


def test_scenario_7_minimum(ready, assets):
    product, user, client = ready(live_product("BTC", min_amount="0.001"), amount="1")
    refused = subscribe_api(client, product, "0.0009", "m-1")
    assert refused.status_code == 400
    assert refused.json()["code"] == "BELOW_MIN"
    assert subscribe_api(client, product, "0.001", "m-2").status_code == 201


def test_scenario_8_idempotency_replay_and_reuse(ready):
    product, user, client = ready()
    first = subscribe_api(client, product, "100", "same-key")
    second = subscribe_api(client, product, "100", "same-key")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Subscription.objects.count() == 1
    entries = JournalEntry.objects.count()
    reused = subscribe_api(client, product, "200", "same-key")
    assert reused.status_code == 409
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert JournalEntry.objects.count() == entries
    assert balance(user, "USDT") == D("9900")


def test_idempotency_key_required(ready):
    product, user, client = ready()
    response = client.post("/api/v1/subscriptions", {"product": product.pk, "amount": "1"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_scenario_9_insufficient_balance(ready):
    product, user, client = ready(amount="100")
    response = subscribe_api(client, product, "100.00000001", "i-1")
    assert response.status_code == 409
    assert response.json()["code"] == "INSUFFICIENT_BALANCE"
    assert balance(user, "USDT") == D("100")
    assert not Position.objects.filter(user=user).exists()
    product.refresh_from_db()
    assert product.sold_amount == 0
    assert Refusal.objects.get(user=user).codes == ["INSUFFICIENT_BALANCE"]
    assert_reconciled()


def test_scenario_10_acknowledgement_gate(assets, fund, client_for):
    product = live_product("USDT")
    user = UserFactory(country="HK")
    fund(user, "USDT", "1000")
    client = client_for(user)
    response = subscribe_api(client, product, "10", "g-1")
    assert response.status_code == 403
    assert response.json()["code"] == "NO_ACK"
    first = acknowledge(user, product)
    accepted = subscribe_api(client, product, "10", "g-2")
    assert accepted.status_code == 201
    # The subscription records the acknowledgement the gate accepted it on.
    assert Subscription.objects.get(pk=accepted.json()["id"]).acknowledgement_id == first.pk
    # A new disclosure version is approved: existing positions keep running, new subscriptions wait.
    v1 = product.disclosures.get()
    Disclosure.objects.filter(pk=v1.pk).update(status=DisclosureStatus.SUPERSEDED)
    Disclosure.objects.create(product=product, version=2, status=DisclosureStatus.CURRENT, body_en="v2",
                              body_zh_hant="第二版", risk_statements=v1.risk_statements, sha256="f" * 64,
                              author=v1.author, approved_by=v1.approved_by, approved_at=v1.approved_at)
    outdated = subscribe_api(client, product, "10", "g-3")
    assert outdated.status_code == 409
    assert outdated.json()["code"] == "ACK_OUTDATED"
    assert Position.objects.get(user=user).principal == D("10")
    second = acknowledge(user, product)
    renewed = subscribe_api(client, product, "10", "g-4")
    assert renewed.status_code == 201
    assert Subscription.objects.get(pk=renewed.json()["id"]).acknowledgement_id == second.pk != first.pk
    assert list(Refusal.objects.filter(user=user).values_list("codes", flat=True)) == [["NO_ACK"], ["ACK_OUTDATED"]]


def test_restricted_country_is_refused_and_recorded(ready):
    product, user, client = ready(user=UserFactory(country="US"))
    response = subscribe_api(client, product, "10", "r-1")
    assert response.status_code == 403
    assert response.json()["code"] == "JURISDICTION_RESTRICTED"
    assert Refusal.objects.get(user=user).codes == ["JURISDICTION_RESTRICTED"]


def test_acknowledgement_needs_every_statement_and_current_version(assets, client_for):
    product = live_product("USDT")
    user = UserFactory(country="HK")
    client = client_for(user)
    url = f"/api/v1/products/{product.pk}/acknowledgements"
    missing = client.post(url, {"disclosure_version": 1, "statements": ["rates_can_change"], "language": "en"},
                          format="json")
    assert missing.status_code == 400
    assert missing.json()["field"] == "statements"
    stale = client.post(url, {"disclosure_version": 7, "statements": [], "language": "en"}, format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "ACK_OUTDATED"
    keys = [s["key"] for s in product.disclosure.risk_statements]
    ok = client.post(url, {"disclosure_version": 1, "statements": keys, "language": "zh-hant"}, format="json",
                     HTTP_USER_AGENT="pytest-browser")
    assert ok.status_code == 201
    assert ok.json()["sha256"] == product.disclosure.sha256
    ack = user.acknowledgements.get()
    assert (ack.language, ack.user_agent, ack.ip_address) == ("zh-hant", "pytest-browser", "127.0.0.1")


def test_caps_window_and_max(ready):
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    product = live_product("USDT", max_amount="500", per_user_cap="600", total_cap="100000",
                           window_start=now, window_end=now + dt.timedelta(days=10))
    product, user, client = ready(product)
    with time_machine.travel(now - dt.timedelta(seconds=1), tick=False):
        assert subscribe_api(client, product, "10", "w-0").json()["code"] == "OUTSIDE_WINDOW"
    with time_machine.travel(now + dt.timedelta(days=1), tick=False):
        assert subscribe_api(client, product, "501", "w-1").json()["code"] == "ABOVE_MAX"
        assert subscribe_api(client, product, "500", "w-2").status_code == 201
        over = subscribe_api(client, product, "101", "w-3")
        assert (over.status_code, over.json()["code"]) == (409, "USER_CAP_REACHED")
        assert subscribe_api(client, product, "100", "w-4").status_code == 201
    with time_machine.travel(now + dt.timedelta(days=10), tick=False):
        assert subscribe_api(client, product, "1", "w-5").json()["code"] == "OUTSIDE_WINDOW"


def test_total_cap_refusal(ready):
    product, user, client = ready(live_product("USDT", total_cap="2000"))
    assert subscribe_api(client, product, "1500", "c-1").status_code == 201
    refused = subscribe_api(client, product, "1500", "c-2")
    assert (refused.status_code, refused.json()["code"]) == (409, "CAP_REACHED")
    product.refresh_from_db()
    assert product.sold_amount == D("1500")


def test_paused_product_refuses(ready):
    product, user, client = ready()
    Product.objects.filter(pk=product.pk).update(status="paused")
    assert subscribe_api(client, product, "1", "p-1").json()["code"] == "PRODUCT_NOT_LIVE"


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "1e400", "0.000000001", "NaN", "Infinity", ""])
def test_bad_amounts_are_clear_400s(ready, amount):
    product, user, client = ready()
    response = subscribe_api(client, product, amount, f"bad-{amount}")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == "amount"


@time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC), tick=False)
def test_preview_reports_dates_interest_and_every_blocker(ready, client_for, assets):
    product, user, client = ready(live_product("USDT", "fixed", term_days=30, tiers=[(0, None, "0.05")]))
    response = client.post("/api/v1/subscriptions/preview", {"product": product.pk, "amount": "1000"}, format="json")
    body = response.json()
    assert response.status_code == 200
    assert (body["value_date"], body["maturity_date"]) == ("2026-03-02", "2026-04-01")
    assert body["est_daily_interest"] == "0.13698630"
    assert body["est_total_interest"] == "4.10958904"
    assert body["blocking"] == []
    stranger = client_for(UserFactory(country="US"))
    blocked = stranger.post("/api/v1/subscriptions/preview", {"product": product.pk, "amount": "1000"},
                            format="json").json()
    assert blocked["blocking"] == ["JURISDICTION_RESTRICTED", "NO_ACK", "INSUFFICIENT_BALANCE"]


def test_compliance_status_lists_blockers_per_live_product(ready):
    product, user, client = ready()
    other = live_product("USDT")
    body = client.get("/api/v1/compliance/status").json()
    assert {row["product"]: row["blocking"] for row in body} == {product.pk: [], other.pk: ["NO_ACK"]}
