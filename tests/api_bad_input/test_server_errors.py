"""Inputs that once answered 500: each now a JSON 4xx (or a normal answer), on every endpoint it can reach."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.test import Client

from accounts import roles
from core.models import IdempotencyRecord
from earn.models import Position, Subscription
from ledger.models import JournalEntry
from tests.api_bad_input.conftest import assert_refused
from tests.earn.factories import staff_user

DEEP = b"[" * 3000


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/subscriptions", "/api/v1/subscriptions/preview",
                                  "/api/v1/staff/deposits", "/api/v1/compliance/complaints"])
def test_a_deeply_nested_body_is_400(market, path):
    for client in (market.client, market.ops_client, Client()):
        response = client.post(path, DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep")
        assert response.status_code in (400, 401, 403), (path, response.status_code)
        assert response.json()["code"]


def test_a_deeply_nested_body_on_the_unauthenticated_token_endpoint_is_400(db):
    response = Client().post("/api/v1/auth/token", DEEP, content_type="application/json")
    assert_refused(response, 400, code="PARSE_ERROR")


@pytest.mark.parametrize("key", ["a\x00b", "\x00", "tab\there", "line\nbreak"])
def test_a_control_character_in_the_idempotency_key_is_400(market, key):
    response = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                                  format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "Idempotency-Key"
    assert not IdempotencyRecord.objects.filter(user=market.alice).exclude(key__startswith="setup-").exists()


@pytest.mark.parametrize("body", [
    {"product": 1, "amount": "10", "otp": "1\x002"},
    {"subject": "a\x00b", "body": "text"},
    {"answers": {"q\x00": "a"}},
])
def test_a_nul_anywhere_in_a_json_body_is_400(market, body):
    for path in ("/api/v1/subscriptions", "/api/v1/compliance/complaints", "/api/v1/compliance/assessment"):
        response = market.client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert_refused(response, 400, code="NUL_CHARACTER")


@pytest.mark.parametrize("path", ["/api/v1/positions?status=a%00b", "/api/v1/ledger/entries?asset=US%00DT",
                                  "/api/v1/products?asset=%00", "/api/v1/compliance/assessment?lang=en%00"])
def test_a_nul_in_a_query_parameter_is_400_naming_it(market, path):
    response = market.client.get(path)
    body = assert_refused(response, 400, code="NUL_CHARACTER")
    assert body["field"] == path.split("?")[1].split("=")[0]


def test_a_nul_in_a_stored_header_is_400(market):
    disclosure = market.demand.disclosures.get(status="current")
    response = market.client.post(f"/api/v1/products/{market.demand.pk}/acknowledgements",
                                  {"disclosure_version": disclosure.version, "statements": []}, format="json",
                                  HTTP_USER_AGENT="evil\x00agent")
    assert_refused(response, 400, code="NUL_CHARACTER", field="User-Agent")


def test_a_nul_in_a_portal_form_is_400(market):
    browser = Client()
    browser.force_login(market.alice)
    response = browser.post("/complaints", {"subject": "a\x00b", "body": "x"})
    assert response.status_code == 400
    response = browser.get("/history?from=2026-01-01%00")
    assert response.status_code == 400


@pytest.mark.parametrize("amount", ["99999999999999999999.99999999", "1000000000000000.1", "1e20"])
def test_an_amount_beyond_the_limit_is_invalid_amount_everywhere(market, amount):
    calls = [
        (market.ops_client, "/api/v1/staff/deposits",
         {"user": market.alice.pk, "asset": "USDT", "amount": amount, "reference": uuid.uuid4().hex}),
        (market.client, "/api/v1/subscriptions", {"product": market.demand.pk, "amount": amount}),
        (market.client, "/api/v1/subscriptions/preview", {"product": market.demand.pk, "amount": amount}),
        (market.client, f"/api/v1/positions/{market.alice_position}/redemptions", {"amount": amount}),
        (market.client, f"/api/v1/positions/{market.alice_position}/redemptions/preview", {"amount": amount}),
    ]
    before = JournalEntry.objects.count()
    for client, path, body in calls:
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert_refused(response, 400, code="INVALID_AMOUNT", field="amount")
    assert JournalEntry.objects.count() == before


@pytest.mark.parametrize("amount", [100, 100.5, 0, -1])
def test_json_numbers_are_refused_as_amounts_everywhere(market, amount):
    calls = [
        (market.ops_client, "/api/v1/staff/deposits",
         {"user": market.alice.pk, "asset": "USDT", "amount": amount, "reference": uuid.uuid4().hex}),
        (market.client, "/api/v1/subscriptions", {"product": market.demand.pk, "amount": amount}),
        (market.client, "/api/v1/subscriptions/preview", {"product": market.demand.pk, "amount": amount}),
        (market.client, f"/api/v1/positions/{market.alice_position}/redemptions", {"amount": amount}),
        (market.client, f"/api/v1/positions/{market.alice_position}/redemptions/preview", {"amount": amount}),
    ]
    before = (JournalEntry.objects.count(), Subscription.objects.count())
    for client, path, body in calls:
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        refused = assert_refused(response, 400, code="INVALID_AMOUNT", field="amount")
        assert "string" in refused["detail"]
    assert (JournalEntry.objects.count(), Subscription.objects.count()) == before


@pytest.fixture
def officer(market):
    from rest_framework.test import APIClient

    user = staff_user(roles.COMPLIANCE_OFFICER, email="officer@bad-input.example")
    client = APIClient()
    client.force_authenticate(user)
    return user, client


@pytest.mark.parametrize("fmt", ["pdf", "csv"])
def test_a_report_for_the_whole_calendar_answers(officer, fmt):
    _user, client = officer
    response = client.get(f"/api/v1/staff/reports/acknowledgements?from=0001-01-01&to=9999-12-31&format={fmt}")
    assert response.status_code == 200, response.content[:300]
    if fmt == "pdf":
        assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize(("start", "end"), [("0001-01-01T00:00:00-05:00", "2026-01-01"),
                                            ("2026-01-01", "9999-12-31T23:59:59+00:00"),
                                            ("2026-01-01", "9999-12-31T23:59:59.999999"),
                                            ("2026-01-01", "9999-12-31T23:00:00-05:00")])
def test_report_bounds_at_the_ends_of_the_calendar_are_an_answer_or_a_400(officer, start, end):
    _user, client = officer
    query = f"from={start}&to={end}&format=pdf".replace("+", "%2B")
    response = client.get(f"/api/v1/staff/reports/acknowledgements?{query}")
    assert response.status_code in (200, 400), response.content[:300]


def test_a_report_for_the_whole_calendar_from_the_admin_and_the_command(officer, tmp_path):
    user, _client = officer
    browser = Client()
    browser.force_login(user)
    response = browser.get("/admin/compliance/auditevent/reports/", {"export": "1", "kind": "acknowledgements",
                                                                     "start": "0001-01-01", "end": "9999-12-31",
                                                                     "fmt": "pdf"})
    assert response.status_code in (200, 302), response.status_code
    out = tmp_path / "all.pdf"
    call_command("compliance_report", "acknowledgements", "--from", "0001-01-01", "--to", "9999-12-31",
                 "--format", "pdf", "-o", str(out))
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("query", ["from=0001-01-01&to=9999-12-31", "from=9999-12-31", "to=0001-01-01",
                                   "from=0001-01-01T00:00:00-01:00"])
def test_ledger_and_portal_history_take_any_calendar_range(market, query):
    response = market.client.get(f"/api/v1/ledger/entries?{query}")
    assert response.status_code in (200, 400), response.content[:300]
    browser = Client()
    browser.force_login(market.alice)
    assert browser.get(f"/history?{query.replace('from', 'start').replace('to=', 'end=')}").status_code == 200


@pytest.mark.parametrize("query", ["page_size=99999999999999999999", "page_size=-1", "page_size=1e9",
                                   "cursor=" + "A" * 5000, "status=active&page_size=100000",
                                   "cursor=eyJwIjpbIjk5OTk5OTk5OTk5OTk5OTk5OTk5OTkiXSwiciI6MH0"])
def test_huge_page_sizes_and_cursors_are_an_answer_or_a_400(market, query):
    for path in ("/api/v1/positions", "/api/v1/ledger/entries", "/api/v1/products",
                 f"/api/v1/positions/{market.alice_position}/accruals"):
        response = market.client.get(f"{path}?{query}")
        assert response.status_code in (200, 400, 404), (path, response.status_code, response.content[:200])


@pytest.mark.parametrize("value", ["99999999999999999999", "9223372036854775808", "-1", "١٢"])
def test_huge_ids_in_query_parameters_and_bodies_are_4xx(market, value):
    assert market.client.get(f"/api/v1/compliance/assessment?product={value}").status_code in (400, 404)
    for path, body in (("/api/v1/subscriptions/preview", {"product": value, "amount": "1"}),
                       ("/api/v1/compliance/complaints", {"product": value, "subject": "s", "body": "b"}),
                       ("/api/v1/compliance/complaints", {"position": value, "subject": "s", "body": "b"})):
        response = market.client.post(path, body, format="json")
        assert response.status_code in (400, 404), (path, response.status_code, response.content[:200])
    response = market.ops_client.post("/api/v1/staff/deposits", {"user": value, "asset": "USDT", "amount": "1",
                                                                 "reference": uuid.uuid4().hex}, format="json")
    assert response.status_code in (400, 404), response.content[:200]
    assert Position.objects.filter(user=market.alice).count() == 1
