"""Complaints: customers file them (API), officers handle them (service/admin), 8-week deadline, audited."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from compliance.models import Complaint
from compliance.services.complaints import complaint_update
from core.errors import InvalidTransition, ValidationFailed
from core.models import AuditEvent
from earn.services.subscriptions import subscription_create
from tests.compliance.conftest import client_for
from tests.earn.factories import Staff, live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

URL = "/api/v1/compliance/complaints"
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


@time_machine.travel(T0, tick=False)
def test_file_about_a_position_with_an_8_week_deadline(prices, fund):
    user = UserFactory(country="HK")
    product = live_product("USDT", "demand")
    fund(user, "USDT", "100")
    acknowledge(user, product)
    position = subscription_create(user=user, product_id=product.pk, amount="10").position
    response = client_for(user).post(URL, {"position": position.pk, "subject": "Interest missing",
                                           "body": "No interest for 2 March."}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["product"], body["position"], body["status"]) == (product.pk, position.pk, "open")
    assert body["final_response_due"] == "2026-04-26T10:00:00Z"
    assert AuditEvent.objects.filter(action="complaint.file", object_id=str(body["id"])).exists()
    assert [c["id"] for c in client_for(user).get(URL).json()] == [body["id"]]


def test_someone_elses_position_is_404_and_their_complaints_invisible(prices):
    product = live_product("USDT", "demand")
    owner, stranger = UserFactory(country="HK"), UserFactory(country="HK")
    client_for(owner).post(URL, {"product": product.pk, "subject": "s", "body": "b"}, format="json")
    from earn.models import Position

    other = Position.objects.create(user=owner, product=product, terms=product.terms, asset_id="USDT",
                                    term_type="demand", value_date=dt.date(2026, 3, 2))
    response = client_for(stranger).post(URL, {"position": other.pk, "subject": "s", "body": "b"}, format="json")
    assert response.status_code == 404
    assert client_for(stranger).get(URL).json() == []


def test_needs_a_product_or_position(db):
    response = client_for(UserFactory()).post(URL, {"subject": "s", "body": "b"}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "product")


def test_officer_handles_and_closes_with_a_final_response(prices):
    staff = Staff()
    product = live_product("USDT", "demand")
    complaint = Complaint.objects.get(pk=client_for(staff.customer).post(
        URL, {"product": product.pk, "subject": "s", "body": "b"}, format="json").json()["id"])
    complaint_update(actor=staff.compliance, complaint=complaint.pk, status="investigating", owner=staff.compliance,
                     note="Called the customer.")
    with pytest.raises(ValidationFailed):
        complaint_update(actor=staff.compliance, complaint=complaint.pk, status="resolved")
    done = complaint_update(actor=staff.compliance, complaint=complaint.pk, status="resolved",
                            final_response="Interest was paid on 3 March.")
    assert (done.status, done.owner, done.closed_at is not None) == ("resolved", staff.compliance, True)
    assert "Called the customer." in done.notes
    with pytest.raises(InvalidTransition):
        complaint_update(actor=staff.compliance, complaint=complaint.pk, status="open")
    actions = list(AuditEvent.objects.filter(object_type="compliance.complaint").values_list("action", flat=True))
    assert actions == ["complaint.file", "complaint.update", "complaint.update"]


def test_detail_is_the_owners_only_and_the_list_costs_fixed_queries(prices, django_assert_num_queries):
    product = live_product("USDT", "demand")
    owner, stranger = UserFactory(country="HK"), UserFactory(country="HK")
    client = client_for(owner)
    ids = [client.post(URL, {"product": product.pk, "subject": f"s{i}", "body": "b"}, format="json").json()["id"]
           for i in range(3)]
    assert client.get(f"{URL}/{ids[0]}").json()["subject"] == "s0"
    assert client_for(stranger).get(f"{URL}/{ids[0]}").status_code == 404
    with django_assert_num_queries(1):
        assert [c["id"] for c in client.get(URL).json()] == ids[::-1]
