"""POST /api/v1/staff/deposits: operations staff credit a customer's available balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.roles import CURATOR, OPERATIONS
from core.models import AuditEvent
from ledger.models import AccountKind, JournalEntry, LedgerAccount
from tests.factories import OtpClient

URL = "/api/v1/staff/deposits"


def _staff_client(user_factory, role, email):
    user = user_factory(email=email, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return OtpClient(user), user


@pytest.fixture
def ops(user_factory, usd_prices):
    return _staff_client(user_factory, OPERATIONS, "ops@earn.example")


def _available(user, asset):
    return LedgerAccount.objects.get(owner=user, asset_id=asset, kind=AccountKind.AVAILABLE).balance


def test_operations_staff_credit_available(ops, customer, assets):
    client, staff = ops
    response = client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "250.5", "reference": "tx-1"},
                            format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"] == customer.pk
    assert body["asset"] == "USDT"
    assert body["amount"] == "250.50000000"
    assert body["reference"] == "tx-1"
    assert JournalEntry.objects.get(pk=body["entry"]).kind == "deposit"
    assert _available(customer, "USDT") == Decimal("250.5")


def test_deposit_is_audited_with_the_staff_member(ops, customer, assets):
    client, staff = ops
    entry = client.post(URL, {"user": customer.pk, "asset": "BTC", "amount": "0.1", "reference": "tx-audit"},
                        format="json").json()["entry"]
    event = AuditEvent.objects.get(action="ledger.deposit_credit", object_id=str(entry))
    assert event.actor_id == staff.pk
    assert event.after == {"user": customer.pk, "asset": "BTC", "amount": "0.1", "reference": "tx-audit"}


def test_replay_returns_the_same_entry_and_credits_once(ops, customer, assets):
    client, _ = ops
    payload = {"user": customer.pk, "asset": "USDT", "amount": "100", "reference": "tx-2"}
    first = client.post(URL, payload, format="json")
    again = client.post(URL, {**payload, "amount": "100.00"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert _available(customer, "USDT") == Decimal("100")
    assert AuditEvent.objects.filter(action="ledger.deposit_credit").count() == 1


@pytest.mark.parametrize("change", [{"amount": "101"}, {"asset": "USDC"}, {"user": "other"}])
def test_same_reference_for_another_deposit_is_409(ops, customer, assets, user_factory, change):
    client, _ = ops
    payload = {"user": customer.pk, "asset": "USDT", "amount": "100", "reference": "tx-3"}
    assert client.post(URL, payload, format="json").status_code == 201
    if change.get("user") == "other":
        change = {"user": user_factory(email="bob@gb.example", country="GB").pk}
    response = client.post(URL, {**payload, **change}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _available(customer, "USDT") == Decimal("100")


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"amount": "0"}, "NOT_POSITIVE", "amount"),
    ({"amount": "-5"}, "NOT_POSITIVE", "amount"),
    ({"amount": "abc"}, "INVALID", "amount"),
    ({"amount": 1.5}, "INVALID_AMOUNT", "amount"),
    ({"amount": 20}, "INVALID_AMOUNT", "amount"),
    ({"amount": "NaN"}, "INVALID", "amount"),
    ({"amount": "1e30"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "99999999999999999999.99999999"}, "INVALID_AMOUNT", "amount"),
    ({"amount": "0.000000001"}, "INVALID_AMOUNT", "amount"),
    ({"asset": "HKD", "amount": "1.005"}, "INVALID_AMOUNT", "amount"),
    ({"asset": "DOGE"}, "UNKNOWN_ASSET", "asset"),
    ({"user": 999999}, "UNKNOWN_USER", "user"),
    ({"user": "abc"}, "INVALID", "user"),
    ({"reference": ""}, "BLANK", "reference"),
    ({"reference": "x" * 191}, "MAX_LENGTH", "reference"),
])
def test_bad_input_is_400_with_code_and_field(ops, customer, assets, change, code, field):
    client, _ = ops
    payload = {"user": customer.pk, "asset": "USDT", "amount": "10", "reference": "tx-bad", **change}
    response = client.post(URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == (code, field), body
    assert not JournalEntry.objects.exists()


def test_whole_number_amount_is_accepted_as_a_string(ops, customer, assets):
    client, _ = ops
    response = client.post(URL, {"user": customer.pk, "asset": "HKD", "amount": "20", "reference": "tx-int"},
                           format="json")
    assert response.status_code == 201
    assert response.json()["amount"] == "20.00"


def test_customers_get_403(customer_client, customer, assets):
    response = customer_client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "1", "reference": "self"},
                                    format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert not JournalEntry.objects.exists()


def test_staff_in_another_role_get_403(user_factory, customer, assets):
    client, _ = _staff_client(user_factory, CURATOR, "curator@earn.example")
    response = client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "1", "reference": "c"},
                           format="json")
    assert response.status_code == 403


def test_operations_group_without_staff_flag_gets_403(user_factory, customer, assets):
    """A role counts only for staff accounts, so a customer added to the group by mistake gains nothing."""
    user = user_factory(email="notstaff@earn.example")
    user.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "1", "reference": "n"},
                           format="json")
    assert response.status_code == 403


def test_anonymous_gets_401(api_client, customer, assets):
    response = api_client.post(URL, {"user": customer.pk, "asset": "USDT", "amount": "1", "reference": "a"},
                               format="json")
    assert response.status_code == 401
