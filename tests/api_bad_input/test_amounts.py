"""Bad amounts on every endpoint that takes money: each a 400 with a code, nothing moved."""

from __future__ import annotations

import uuid

import pytest

from earn.models import Redemption, Subscription
from ledger.models import JournalEntry
from tests.api_bad_input.conftest import assert_refused

BAD_AMOUNTS = [
    pytest.param("-5", id="negative"),
    pytest.param("0", id="zero"),
    pytest.param("0.000000000", id="zero-with-decimals"),
    pytest.param("1" + "0" * 40, id="huge"),
    pytest.param("1e30", id="huge-exponent"),
    pytest.param("1.123456789", id="too-many-decimals-for-usdt"),
    pytest.param("1.0000000000000000001", id="beyond-18-decimals"),
    pytest.param("abc", id="non-numeric"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("1,000", id="thousands-separator"),
    pytest.param("0x10", id="hex"),
    pytest.param("１００", id="full-width-digits"),
    pytest.param("1_000", id="underscore"),
    pytest.param("١٠٠", id="arabic-indic-digits"),
    pytest.param(100.5, id="json-float"),
    pytest.param(True, id="json-bool"),
    pytest.param(["100"], id="json-list"),
    pytest.param({"value": "100"}, id="json-object"),
    pytest.param("9" * 65, id="longer-than-64-chars"),
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_every_money_endpoint_refuses_the_amount(market, amount):
    """Subscribe, its preview, redeem, its preview and a staff deposit: 400 on `amount`, nothing written.
    (An empty amount means "everything" to a redemption, so those two skip empty and blank.)"""
    position = market.alice_position
    calls = [
        (market.client, "/api/v1/subscriptions", {"product": market.demand.pk, "amount": amount}),
        (market.client, "/api/v1/subscriptions/preview", {"product": market.demand.pk, "amount": amount}),
        (market.ops_client, "/api/v1/staff/deposits",
         {"user": market.alice.pk, "asset": "USDT", "amount": amount, "reference": uuid.uuid4().hex}),
    ]
    if not (isinstance(amount, str) and not amount.strip()):
        calls += [(market.client, f"/api/v1/positions/{position}/redemptions", {"amount": amount}),
                  (market.client, f"/api/v1/positions/{position}/redemptions/preview", {"amount": amount})]
    before = (JournalEntry.objects.count(), Subscription.objects.count(), Redemption.objects.count())
    for client, path, body in calls:
        response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert_refused(response, 400, field="amount")
    assert (JournalEntry.objects.count(), Subscription.objects.count(), Redemption.objects.count()) == before


def test_amount_below_the_asset_scale_is_refused_for_a_two_decimal_asset(market):
    acknowledge_hkd = market.client.get(f"/api/v1/products/{market.hkd.pk}/disclosure")
    assert acknowledge_hkd.status_code == 200
    response = market.ops_client.post("/api/v1/staff/deposits", {"user": market.alice.pk, "asset": "HKD",
                                                                 "amount": "10.001", "reference": "hkd-1"},
                                      format="json")
    assert_refused(response, 400, code="INVALID_AMOUNT", field="amount")


def test_redeeming_more_than_the_position_holds_is_refused(market):
    response = market.client.post(f"/api/v1/positions/{market.alice_position}/redemptions", {"amount": "100.00000001"},
                                  format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert_refused(response, 400, code="INVALID_AMOUNT", field="amount")


def test_subscribing_more_than_the_balance_is_refused(market):
    response = market.client.post("/api/v1/subscriptions", {"product": market.demand.pk, "amount": "5000"},
                                  format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    assert response.status_code in {400, 409}
    assert response.json()["code"]
