"""GET /api/v1/staff/customers?email=: staff name a customer by email, never a numeric id they cannot see
(issue 16, item 5). Exact match only, operations and compliance officers with 2FA, audited, throttled."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts import roles
from core.models import AuditEvent
from core.throttling import ScopedRateThrottle
from ledger.models import AccountKind, LedgerAccount
from tests.earn.factories import staff_user
from tests.factories import OtpClient, UserFactory

URL = "/api/v1/staff/customers"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@lookup.example", display_name="Alice Chan", country="SG")


@pytest.mark.parametrize("role", [roles.OPERATIONS, roles.COMPLIANCE_OFFICER])
def test_operations_and_compliance_find_a_customer_by_exact_email(role, alice):
    staff = staff_user(role)
    response = _client(staff).get(URL, {"email": "Alice@Lookup.example "})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {"id": alice.pk, "email": "alice@lookup.example", "display_name": "Alice Chan", "country": "SG",
                    "kyc_status": "verified", "is_active": True,
                    "created": alice.date_joined.isoformat().replace("+00:00", "Z")}
    event = AuditEvent.objects.get(action="customer.lookup")
    assert (event.actor_id, event.object_type, event.object_id) == (staff.pk, "accounts.user", str(alice.pk))


@pytest.mark.parametrize("email", ["nobody@lookup.example", "alice@lookup", "lookup.example", "alice@lookup.exampl"])
def test_no_partial_match_and_an_unknown_email_is_404(email, alice):
    response = _client(staff_user(roles.OPERATIONS)).get(URL, {"email": email})
    if "@" in email and "." in email.split("@")[1]:
        assert response.status_code == 404
        assert response.json() == {"code": "NOT_FOUND", "detail": "No customer has this email address.",
                                   "field": "email"}
    else:
        assert response.status_code == 400
        assert response.json()["field"] == "email"
    assert not AuditEvent.objects.filter(action="customer.lookup").exists()


def test_there_is_no_listing_without_an_email(alice):
    response = _client(staff_user(roles.OPERATIONS)).get(URL)
    assert response.status_code == 400
    assert response.json()["field"] == "email"


def test_a_staff_account_is_not_a_customer(db):
    colleague = staff_user(roles.CURATOR, email="curator@earn.example")
    response = _client(staff_user(roles.OPERATIONS)).get(URL, {"email": colleague.email})
    assert response.status_code == 404


@pytest.mark.parametrize("role", [roles.CURATOR, roles.APPROVER, None])
def test_other_roles_and_customers_are_refused(role, alice):
    user = staff_user(role) if role else UserFactory(email="bob@lookup.example")
    response = _client(user).get(URL, {"email": alice.email})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="customer.lookup").exists()


def test_staff_without_two_factor_get_403(alice):
    response = _client(staff_user(roles.OPERATIONS, otp_device=False)).get(URL, {"email": alice.email})
    assert response.status_code == 403
    assert response.json()["code"] == "STAFF_2FA_REQUIRED"


def test_anonymous_is_401(alice):
    assert APIClient().get(URL, {"email": alice.email}).status_code == 401


def test_lookups_are_rate_limited_per_staff_user(alice, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "staff_lookup", "3/min")
    client = _client(staff_user(roles.OPERATIONS))
    statuses = [client.get(URL, {"email": alice.email}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get(URL, {"email": alice.email})
    assert refused.json()["code"] == "THROTTLED"
    assert int(refused["Retry-After"]) > 0


def test_operations_deposit_to_the_customer_found_by_email(alice, assets, usd_prices):
    """The whole flow without a numeric id typed by hand: look up by email, deposit by email."""
    ops = staff_user(roles.OPERATIONS)
    client = OtpClient(ops)
    found = client.get(URL, {"email": alice.email}).json()
    response = client.post("/api/v1/staff/deposits", {"user": alice.email, "asset": "USDT", "amount": "25",
                                                      "reference": "lookup-1"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"] == found["id"] == alice.pk
    available = LedgerAccount.objects.get(owner=alice, asset_id="USDT", kind=AccountKind.AVAILABLE).balance
    assert available == Decimal("25")


@pytest.mark.django_db(transaction=True)
def test_lookup_outside_a_wrapping_transaction(assets):
    alice = UserFactory(email="alice@outside-lookup.example")
    staff = staff_user(roles.COMPLIANCE_OFFICER)
    response = _client(staff).get(URL, {"email": alice.email})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="customer.lookup", object_id=str(alice.pk)).count() == 1
