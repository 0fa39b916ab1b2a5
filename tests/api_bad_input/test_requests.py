"""Bad requests other than amounts: unknown assets and products, other people's ids, idempotency keys,
malformed dates, broken or oversized bodies. Each answer is a 4xx with a code; nothing moves."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts import roles
from earn.models import Redemption, Subscription
from ledger.models import JournalEntry
from tests.api_bad_input.conftest import assert_refused
from tests.earn.factories import staff_user


def _key() -> str:
    return uuid.uuid4().hex


# --- unknown assets and products ------------------------------------------------------------------

@pytest.mark.parametrize("asset", ["DOGE", "", "U" * 17, "../USDT", "USDT;DROP TABLE"])
def test_staff_deposit_refuses_unknown_asset(market, asset):
    response = market.ops_client.post("/api/v1/staff/deposits", {"user": market.alice.pk, "asset": asset,
                                                                 "amount": "10", "reference": _key()},
                                      format="json")
    assert_refused(response, 400, field="asset")


def test_staff_deposit_refuses_unknown_user(market):
    response = market.ops_client.post("/api/v1/staff/deposits", {"user": 10**9, "asset": "USDT", "amount": "10",
                                                                 "reference": _key()}, format="json")
    assert_refused(response, 400, code="UNKNOWN_USER", field="user")


@pytest.mark.parametrize("asset", ["DOGE", "U" * 17])
def test_ledger_entries_refuse_unknown_asset(market, asset):
    assert_refused(market.client.get("/api/v1/ledger/entries", {"asset": asset}), 400, field="asset")


@pytest.mark.parametrize("product", [10**9, 0, -1, "abc", None, 2**63])
def test_subscribe_refuses_unknown_product(market, product):
    before = Subscription.objects.count()
    response = market.client.post("/api/v1/subscriptions", {"product": product, "amount": "10"}, format="json",
                                  HTTP_IDEMPOTENCY_KEY=_key())
    assert response.status_code in {400, 404}
    assert_refused(response, response.status_code, field="product")
    assert Subscription.objects.count() == before


@pytest.mark.parametrize("path", ["/api/v1/products/abc", "/api/v1/positions/1.5", "/api/v1/positions/-1/redemptions",
                                  "/api/v1/no-such-endpoint", "/api/v1/products/99999999999999999999999"])
def test_unknown_api_paths_answer_json_404(market, path):
    assert_refused(market.client.get(path), 404, code="NOT_FOUND")


def test_huge_path_id_is_404_not_500(market):
    assert_refused(market.client.get(f"/api/v1/positions/{2**70}"), 404)
    assert_refused(market.client.get(f"/api/v1/products/{2**70}"), 404)


# --- other customers' objects ------------------------------------------------------------------------

def test_other_customers_position_is_404_everywhere(market):
    other = market.mallory_position
    before = (JournalEntry.objects.count(), Redemption.objects.count())
    assert_refused(market.client.get(f"/api/v1/positions/{other}"), 404)
    assert_refused(market.client.get(f"/api/v1/positions/{other}/accruals"), 404)
    assert_refused(market.client.patch(f"/api/v1/positions/{other}", {"auto_renew": True}, format="json"), 404)
    assert_refused(market.client.post(f"/api/v1/positions/{other}/redemptions", {"amount": "1"}, format="json",
                                      HTTP_IDEMPOTENCY_KEY=_key()), 404)
    assert_refused(market.client.post(f"/api/v1/positions/{other}/redemptions/preview", {"amount": "1"},
                                      format="json"), 404)
    assert (JournalEntry.objects.count(), Redemption.objects.count()) == before


def test_customer_cannot_use_staff_endpoints(market):
    response = market.client.post("/api/v1/staff/deposits", {"user": market.alice.pk, "asset": "USDT",
                                                              "amount": "1000000", "reference": _key()},
                                  format="json")
    assert_refused(response, 403)


def test_anonymous_is_refused_with_a_code(market, api_client):
    assert_refused(api_client.get("/api/v1/positions"), 401)
    assert_refused(api_client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "1"},
                                   format="json", HTTP_IDEMPOTENCY_KEY=_key()), 401)


# --- idempotency keys ------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": ""}, {"HTTP_IDEMPOTENCY_KEY": "   "}])
def test_money_moves_need_an_idempotency_key(market, headers):
    before = (JournalEntry.objects.count(), Subscription.objects.count(), Redemption.objects.count())
    subscribe = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                                   format="json", **headers)
    assert_refused(subscribe, 400, code="IDEMPOTENCY_KEY_REQUIRED", field="Idempotency-Key")
    redeem = market.client.post(f"/api/v1/positions/{market.alice_position}/redemptions", {"amount": "1"},
                                format="json", **headers)
    assert_refused(redeem, 400, code="IDEMPOTENCY_KEY_REQUIRED", field="Idempotency-Key")
    assert (JournalEntry.objects.count(), Subscription.objects.count(), Redemption.objects.count()) == before


def test_overlong_idempotency_key_is_refused(market):
    response = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                                  format="json", HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert_refused(response, 400, code="IDEMPOTENCY_KEY_INVALID", field="Idempotency-Key")


def test_reused_idempotency_key_replays_the_same_request_and_refuses_another(market):
    key = _key()
    first = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                               format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    entries = JournalEntry.objects.count()
    replay = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                                format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    other = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "11"},
                               format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert_refused(other, 409, code="IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    redeem_with_same_key = market.client.post(f"/api/v1/positions/{market.alice_position}/redemptions",
                                              {"amount": "1"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert_refused(redeem_with_same_key, 409, code="IDEMPOTENCY_KEY_REUSED")
    assert JournalEntry.objects.count() == entries
    assert Subscription.objects.filter(user=market.alice).count() == 2  # the setup one and this one


def test_another_customers_key_is_their_own(market):
    """Keys are per user: Mallory reusing Alice's key neither replays Alice's answer nor is refused."""
    key = _key()
    alice = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                               format="json", HTTP_IDEMPOTENCY_KEY=key)
    mallory = market.mallory_client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10"},
                                         format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert alice.status_code == mallory.status_code == 201
    assert alice.json()["id"] != mallory.json()["id"]


def test_reused_deposit_reference_for_another_deposit_is_409(market):
    body = {"user": market.alice.pk, "asset": "USDT", "amount": "10", "reference": "wire-42"}
    assert market.ops_client.post("/api/v1/staff/deposits", body, format="json").status_code == 201
    assert market.ops_client.post("/api/v1/staff/deposits", body, format="json").status_code == 200
    assert_refused(market.ops_client.post("/api/v1/staff/deposits", {**body, "amount": "11"}, format="json"),
                   409, code="IDEMPOTENCY_KEY_REUSED")


# --- malformed dates -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "yesterday", "2026/01/01", "20260101x", "0000-01-01",
                                   "2026-01-01T25:00:00", "9" * 300, "2026-01-01T00:00:00+25:00", "\x00"])
@pytest.mark.parametrize("param", ["from", "to"])
def test_ledger_entries_refuse_malformed_dates(market, param, value):
    assert_refused(market.client.get("/api/v1/ledger/entries", {param: value}), 400, field=param)


def test_ledger_entries_refuse_a_range_that_ends_before_it_starts(market):
    response = market.client.get("/api/v1/ledger/entries", {"from": "2026-02-01", "to": "2026-01-01"})
    assert_refused(response, 400, field="to")


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01"])
def test_ledger_entries_accept_extreme_but_valid_dates(market, value):
    """Regression: `to=9999-12-31` (the day after is past datetime.max) was a 500."""
    assert market.client.get("/api/v1/ledger/entries", {"from": value}).status_code == 200
    assert market.client.get("/api/v1/ledger/entries", {"to": value}).status_code == 200


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJwIjpbXX0", "e30", "%%%", "a" * 5000])
def test_ledger_entries_refuse_a_forged_cursor(market, cursor):
    assert_refused(market.client.get("/api/v1/ledger/entries", {"cursor": cursor}), 400, code="INVALID_CURSOR")


# --- broken and oversized bodies ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b'"100"', b"\xff\xfe", b'{"amount": 1e999999}'])
def test_broken_json_bodies_are_400(market, raw):
    response = market.client.post("/api/v1/subscriptions", raw, content_type="application/json",
                                  HTTP_IDEMPOTENCY_KEY=_key())
    assert_refused(response, 400)


def test_unsupported_content_type_is_415(market):
    response = market.client.post("/api/v1/subscriptions", b"<amount>1</amount>", content_type="application/xml",
                                  HTTP_IDEMPOTENCY_KEY=_key())
    assert_refused(response, 415, code="UNSUPPORTED_MEDIA_TYPE")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=4096)
@pytest.mark.parametrize("path", ["/api/v1/subscriptions", "/api/v1/subscriptions/preview", "/api/v1/staff/deposits",
                                  "/api/v1/auth/token"])
def test_oversized_body_is_413_with_a_code(market, path):
    before = JournalEntry.objects.count()
    body = json.dumps({"product": market.demand.pk, "amount": "10", "padding": "x" * 5000})
    response = market.client.post(path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=_key())
    assert_refused(response, 413, code="REQUEST_TOO_LARGE")
    assert JournalEntry.objects.count() == before


def test_default_body_limit_refuses_a_megabyte(market):
    body = json.dumps({"product": market.demand.pk, "amount": "10", "padding": "x" * 1024 * 1024})
    response = market.client.post("/api/v1/subscriptions", body, content_type="application/json",
                                  HTTP_IDEMPOTENCY_KEY=_key())
    assert_refused(response, 413, code="REQUEST_TOO_LARGE")


def test_body_under_the_limit_still_works(market):
    response = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "10",
                                                            "padding": "x" * 1000},
                                  format="json", HTTP_IDEMPOTENCY_KEY=_key())
    assert response.status_code == 201


def test_non_numeric_content_length_is_400(market):
    response = market.client.generic("POST", "/api/v1/subscriptions", b"{}", content_type="application/json",
                                     CONTENT_LENGTH="ten", HTTP_IDEMPOTENCY_KEY=_key())
    assert_refused(response, 400, code="INVALID_CONTENT_LENGTH")


@pytest.mark.parametrize("statements", [["x"] * 101, ["y" * 101]])
def test_oversized_lists_and_strings_are_refused(market, statements):
    response = market.client.post(f"/api/v1/products/{market.demand.pk}/acknowledgements",
                                  {"disclosure_version": 1, "statements": statements}, format="json")
    assert assert_refused(response, 400)["field"] in {"statements", "statements.0"}


# --- lockout ---------------------------------------------------------------------------------------

def test_token_lockout_answers_in_the_api_error_body(db, api_client, user_factory, settings):
    """Regression (found by schemathesis): django-axes sent its HTML lockout page to API clients."""
    user = user_factory(email="locked@bad-input.example")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        api_client.post("/api/v1/auth/token", {"email": user.email, "password": "wrong"}, format="json")
    response = api_client.post("/api/v1/auth/token", {"email": user.email, "password": "pass-word-123"},
                               format="json")
    assert_refused(response, 429, code="LOCKED_OUT")
    assert int(response["Retry-After"]) > 0


@pytest.mark.parametrize(("field", "value"), [("effective_from", "2026-02-30"), ("effective_from", "soon"),
                                               ("window_start", "2026-01-01T25:00"), ("window_end", "31/12/2026")])
def test_staff_terms_refuse_malformed_dates(market, field, value):
    curator = APIClient()
    curator.force_authenticate(staff_user(roles.CURATOR, email="curator@bad-input.example"))
    response = curator.post(f"/api/v1/staff/products/{market.demand.pk}/terms",
                            {"min_amount": "1", "tiers": [{"lower": "0", "apr": "0.05"}], field: value}, format="json")
    assert_refused(response, 400, field=field)
