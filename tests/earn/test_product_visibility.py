"""Customers see published products (live, paused read-only) and products they hold; every other product
(draft, in review, approved but not live, closed and never held) is 404 on every customer endpoint."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from compliance.models import Complaint
from compliance.services.disclosures import disclosure_approve, disclosure_draft
from earn.models import ProductStatus, Subscription
from ledger.services import deposit_credit
from tests.earn.factories import Staff, complete_sections, product_in_status
from tests.factories import AssetFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    AssetFactory(code="USDT", scale=8)
    staff = Staff()
    customer = UserFactory(country="SG")
    deposit_credit(user_id=customer.pk, asset="USDT", amount=1000, reference=f"vis-{customer.pk}")
    client = APIClient()
    client.force_authenticate(customer)
    return staff, customer, client


def _hidden(status: str, staff: Staff):
    product = product_in_status(status, staff)
    if status in ("approved",):  # a disclosure ready for go-live: its text must not leak either
        disclosure_approve(actor=staff.approver, disclosure=disclosure_draft(
            actor=staff.curator, product=product, body_en="Read this.", body_zh_hant="請細閱。",
            sections=complete_sections(product.category)))
    return product


def _customer_calls(client, product_id: int) -> dict[str, object]:
    key = uuid.uuid4().hex
    return {
        "preview": client.post("/api/v1/subscriptions/preview", {"product": product_id, "amount": "10"},
                               format="json"),
        "subscribe": client.post("/api/v1/subscriptions", {"product": product_id, "amount": "10"}, format="json",
                                 HTTP_IDEMPOTENCY_KEY=key),
        "detail": client.get(f"/api/v1/products/{product_id}"),
        "disclosure": client.get(f"/api/v1/products/{product_id}/disclosure"),
        "acknowledge": client.post(f"/api/v1/products/{product_id}/acknowledgements",
                                   {"disclosure_version": 1, "statements": [], "language": "en"}, format="json"),
        "complaint": client.post("/api/v1/compliance/complaints", {"product": product_id, "subject": "Rates",
                                                                   "body": "Why?"}, format="json"),
        "assessment": client.get(f"/api/v1/compliance/assessment?product={product_id}"),
    }


@pytest.mark.parametrize("status", ["draft", "in_review", "approved", "closed"])
def test_products_not_published_are_404_on_every_customer_endpoint(world, status):
    staff, customer, client = world
    product = _hidden(status, staff)
    for name, response in _customer_calls(client, product.pk).items():
        assert response.status_code == 404, (name, response.status_code, response.content[:200])
        assert "apr" not in response.json(), name
    assert not Subscription.objects.exists() and not Complaint.objects.exists()


@pytest.mark.parametrize("status", ["draft", "approved"])
def test_portal_pages_of_products_not_published_are_404(world, status):
    staff, customer, _client = world
    product = _hidden(status, staff)
    from django.test import Client

    browser = Client()
    browser.force_login(customer)
    for url in (f"/products/{product.pk}", f"/products/{product.pk}/subscribe",
                f"/products/{product.pk}/assessment"):
        response = browser.get(url)
        assert response.status_code == 404, (url, response.status_code)


def test_a_product_the_customer_holds_stays_visible_after_it_closes(world):
    staff, customer, client = world
    product = product_in_status("live", staff)
    product_id = product.pk
    disclosure = product.disclosures.get(status="current")
    assert client.post(f"/api/v1/products/{product_id}/acknowledgements",
                       {"disclosure_version": disclosure.version,
                        "statements": [s["key"] for s in disclosure.risk_statements]}, format="json").status_code == 201
    assert client.post("/api/v1/subscriptions", {"product": product_id, "amount": "10"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="hold-1").status_code == 201
    type(product).objects.filter(pk=product_id).update(status=ProductStatus.CLOSED)
    assert client.get(f"/api/v1/products/{product_id}").status_code == 200
    assert client.post("/api/v1/compliance/complaints", {"product": product_id, "subject": "Closed",
                                                         "body": "Why?"}, format="json").status_code == 201
    stranger = APIClient()
    stranger.force_authenticate(UserFactory(country="SG"))
    assert stranger.get(f"/api/v1/products/{product_id}").status_code == 404
