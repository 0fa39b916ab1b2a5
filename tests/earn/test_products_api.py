"""Staff product API (role checks, lifecycle, terms versions) and the customer catalogue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.models import AuditEvent
from earn.models import Product, ProductStatus, TermsStatus
from tests.earn.factories import Staff, complete_sections, live_product, product_in_status


@pytest.fixture
def staff(db, assets):
    return Staff()


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


DRAFT_BODY = {
    "name_en": "USDT Flexible Savings", "name_zh_hant": "USDT 活期理財", "asset": "USDT", "term_type": "demand",
    "strategy": "simple", "risk_rating": 2,
    "vetting": {"venue": "Treasury lending desk", "yield_source": "Over-collateralised institutional loans.",
                "risk_rationale": "Short-dated and over-collateralised.",
                "audit_reports": [{"url": "https://audits.example/desk-2026.pdf", "date": "2026-05-01",
                                   "auditor": "Example Audit"}]},
    "terms": {"min_amount": "10", "max_amount": "100000", "per_user_cap": "200000", "total_cap": "5000000",
              "redemption_modes": ["fast", "standard"]},
    "tiers": [{"lower": "0", "upper": "10000", "apr": "0.06"}, {"lower": "10000", "upper": "100000", "apr": "0.03"}],
}


def test_curator_drafts_through_the_api(staff):
    response = client_for(staff.curator).post("/api/v1/staff/products", DRAFT_BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["drafted_by"] == staff.curator.email
    assert body["vetting_missing"] == []
    (v1,) = body["terms_versions"]
    assert v1["status"] == "pending" and v1["tiers"] == [  # amounts at USDT's scale (issue 16)
        {"lower": "0.00000000", "upper": "10000.00000000", "apr": "0.06"},
        {"lower": "10000.00000000", "upper": "100000.00000000", "apr": "0.03"}]
    assert AuditEvent.objects.filter(action="product.create", object_id=str(body["id"])).exists()


@pytest.mark.parametrize("who", ["customer", "approver", "operations", "compliance"])
def test_only_curators_draft(staff, who):
    response = client_for(getattr(staff, who)).post("/api/v1/staff/products", DRAFT_BODY, format="json")
    assert response.status_code == 403 and response.json()["code"] == "PERMISSION_DENIED"


def test_anonymous_gets_401_or_403(staff):
    assert APIClient().post("/api/v1/staff/products", DRAFT_BODY, format="json").status_code in (401, 403)


def test_bad_input_is_a_400_with_the_field(staff):
    body = {**DRAFT_BODY, "tiers": [{"lower": "0", "upper": "10", "apr": "0.05"},
                                    {"lower": "20", "upper": None, "apr": "0.01"}]}
    response = client_for(staff.curator).post("/api/v1/staff/products", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == "tiers"
    body = {**DRAFT_BODY, "terms": {**DRAFT_BODY["terms"], "min_amount": 10.5}}
    response = client_for(staff.curator).post("/api/v1/staff/products", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == "terms.min_amount"


def test_full_lifecycle_through_the_api(staff):
    curator, approver, ops = client_for(staff.curator), client_for(staff.approver), client_for(staff.operations)
    pid = curator.post("/api/v1/staff/products", DRAFT_BODY, format="json").json()["id"]
    assert curator.post(f"/api/v1/staff/products/{pid}/submit").json()["status"] == "in_review"
    # A curator cannot approve; the drafter could not either.
    response = curator.post(f"/api/v1/staff/products/{pid}/approve")
    assert response.status_code == 403
    response = approver.post(f"/api/v1/staff/products/{pid}/reject", {"reason": ""}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "reason"
    response = approver.post(f"/api/v1/staff/products/{pid}/reject", {"reason": "TVL missing"}, format="json")
    assert response.json()["status"] == "draft" and response.json()["rejection_reason"] == "TVL missing"
    curator.post(f"/api/v1/staff/products/{pid}/submit")
    response = approver.post(f"/api/v1/staff/products/{pid}/approve", {"reason": "Fine."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert response.json()["total_cap"] == "5000000.00000000"
    # No approved disclosure yet.
    response = ops.post(f"/api/v1/staff/products/{pid}/go-live")
    assert response.status_code == 409 and response.json()["code"] == "NO_APPROVED_DISCLOSURE"
    did = curator.post(f"/api/v1/staff/products/{pid}/disclosures",
                       {"body_en": "Your USDT is lent.", "body_zh_hant": "您的 USDT 將被借出。",
                        "sections": [{"key": k, **t} for k, t in complete_sections("lending").items()]},
                       format="json").json()["id"]
    assert client_for(staff.compliance).post(f"/api/v1/staff/disclosures/{did}/approve").status_code == 200
    assert ops.post(f"/api/v1/staff/products/{pid}/go-live").json()["status"] == "live"
    response = ops.post(f"/api/v1/staff/products/{pid}/go-live")
    assert response.status_code == 409 and response.json()["code"] == "INVALID_TRANSITION"
    assert ops.post(f"/api/v1/staff/products/{pid}/pause").json()["status"] == "paused"
    assert ops.post(f"/api/v1/staff/products/{pid}/go-live").json()["status"] == "live"
    assert ops.post(f"/api/v1/staff/products/{pid}/close").json()["status"] == "closed"
    actions = list(AuditEvent.objects.filter(object_type="earn.product", object_id=str(pid))
                   .values_list("action", flat=True))
    assert actions == ["product.create", "product.submit", "product.reject", "product.submit", "product.approve",
                       "product.go_live", "product.pause", "product.resume", "product.close"]


def test_unknown_product_is_404(staff):
    response = client_for(staff.curator).post("/api/v1/staff/products/999999/submit")
    assert response.status_code == 404


def test_maker_checker_over_the_api(staff):
    """An approver who drafted a product gets MAKER_CHECKER."""
    staff.approver.groups.add(*staff.curator.groups.all())
    client = client_for(staff.approver)
    pid = client.post("/api/v1/staff/products", DRAFT_BODY, format="json").json()["id"]
    client.post(f"/api/v1/staff/products/{pid}/submit")
    response = client.post(f"/api/v1/staff/products/{pid}/approve")
    assert response.status_code == 403 and response.json()["code"] == "MAKER_CHECKER"
    assert Product.objects.get(pk=pid).status == ProductStatus.IN_REVIEW


def test_new_terms_version_for_a_live_product(staff):
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC), tick=False):
        product = product_in_status("live", staff)
        body = {"min_amount": "5", "total_cap": "3000000", "redemption_modes": ["fast"],
                "effective_from": "2026-04-02", "tiers": [{"lower": "0", "apr": "0.045"}]}
        response = client_for(staff.curator2).post(f"/api/v1/staff/products/{product.pk}/terms", body, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["version"] == 2 and response.json()["status"] == "pending"
        response = client_for(staff.curator).post(f"/api/v1/staff/products/{product.pk}/terms/2/approve")
        assert response.status_code == 403
        response = client_for(staff.approver).post(f"/api/v1/staff/products/{product.pk}/terms/2/approve")
        assert response.status_code == 200 and response.json()["status"] == "approved"
        assert response.json()["approved_by"] == staff.approver.email
        assert product.terms_versions.get(version=1).status == TermsStatus.APPROVED
        # Customers see v1 today and v2 from its effective date.
        customer = client_for(staff.customer)
        assert customer.get(f"/api/v1/products/{product.pk}").json()["apr"] == "0.05"
    with time_machine.travel(dt.datetime(2026, 4, 2, 0, 1, tzinfo=dt.UTC), tick=False):
        detail = customer.get(f"/api/v1/products/{product.pk}").json()
        assert detail["apr"] == "0.045" and detail["terms_version"] == 2 and detail["total_cap"] == "3000000.00000000"


def test_terms_version_404_and_reject(staff):
    product = product_in_status("live", staff)
    assert client_for(staff.approver).post(f"/api/v1/staff/products/{product.pk}/terms/9/approve").status_code == 404
    client_for(staff.curator2).post(f"/api/v1/staff/products/{product.pk}/terms",
                                    {"min_amount": "5", "redemption_modes": ["fast"],
                                     "tiers": [{"lower": "0", "apr": "0.04"}]}, format="json")
    response = client_for(staff.approver).post(f"/api/v1/staff/products/{product.pk}/terms/2/reject", {},
                                               format="json")
    assert response.status_code == 400 and response.json()["field"] == "reason"
    response = client_for(staff.approver).post(f"/api/v1/staff/products/{product.pk}/terms/2/reject",
                                               {"reason": "Too generous"}, format="json")
    assert response.json()["status"] == "rejected" and response.json()["rejection_reason"] == "Too generous"


# --- Customer catalogue ----------------------------------------------------------------------------


def test_catalogue_shows_live_products_with_the_listed_fields(staff):
    product = live_product("USDT", "demand", tiers=[(0, 10000, "0.06"), (10000, 100000, "0.03")],
                           min_amount="10", max_amount="100000", per_user_cap="50000", total_cap="1000000",
                           sold_amount=Decimal("250000"))
    product_in_status("in_review", staff)
    response = client_for(staff.customer).get("/api/v1/products")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["id"] == product.pk
    assert {"type", "asset", "term_days", "apr_tiers", "apr", "apy", "min_amount", "max_amount", "per_user_cap",
            "total_cap", "left_quota", "user_left_quota", "window", "payout", "early_redemption",
            "redemption_modes", "auto_renew_allowed", "risk_rating", "disclosure", "pool"} <= set(item)
    assert item["apr_tiers"] == [{"min": "0.00000000", "max": "10000.00000000", "apr": "0.06"},
                                 {"min": "10000.00000000", "max": "100000.00000000", "apr": "0.03"}]
    assert item["apr"] == "0.06" and item["apy"] == "0.0618313107"
    assert item["apr_label"] == "6.0000% APR" and item["apy_label"] == "6.1831% APY (compounded daily)"
    assert item["left_quota"] == "750000.00000000" and item["user_left_quota"] == "50000.00000000"
    assert item["disclosure"] == {"id": product.disclosure.pk, "version": 1, "sha256": product.disclosure.sha256}
    assert item["pool"] is None and item["subscribable"] is True


def test_fixed_products_show_simple_apy(staff):
    live_product("USDT", "fixed", tiers=[(0, None, "0.10")], term_days=30)
    (item,) = client_for(staff.customer).get("/api/v1/products").json()["results"]
    assert item["apr"] == item["apy"].rstrip("0") == "0.1" and item["term_days"] == 30
    assert item["apy_label"] == "10.0000% APY (simple, equal to APR)"


def test_demand_apy_at_ten_percent(staff):
    """SCENARIOS 4 on the API: APR 10 % shows APY 10.5156 %."""
    live_product("USDT", "demand", tiers=[(0, None, "0.10")])
    (item,) = client_for(staff.customer).get("/api/v1/products").json()["results"]
    assert item["apy_label"] == "10.5156% APY (compounded daily)"


def test_catalogue_filters_and_paused_products(staff):
    usdt = live_product("USDT", "demand")
    btc = live_product("BTC", "fixed", term_days=90)
    paused = live_product("ETH", "fixed", term_days=60)
    Product.objects.filter(pk=paused.pk).update(status=ProductStatus.PAUSED)
    client = client_for(staff.customer)

    def ids(query=""):
        return [p["id"] for p in client.get(f"/api/v1/products{query}").json()["results"]]

    assert ids() == [usdt.pk, btc.pk]
    assert ids("?type=fixed") == [btc.pk]
    assert ids("?asset=btc") == [btc.pk]
    assert ids("?status=paused") == [paused.pk]
    assert ids("?status=live,paused") == [usdt.pk, btc.pk, paused.pk]
    assert client.get("/api/v1/products?status=draft").status_code == 400
    assert client.get("/api/v1/products?type=weird").status_code == 400
    detail = client.get(f"/api/v1/products/{paused.pk}").json()
    assert detail["status"] == "paused" and detail["subscribable"] is False


def test_customers_cannot_see_unreleased_products(staff):
    product = product_in_status("approved", staff)
    assert client_for(staff.customer).get(f"/api/v1/products/{product.pk}").status_code == 404


def test_names_follow_the_language(staff):
    live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期")
    client = client_for(staff.customer)
    assert client.get("/api/v1/products", HTTP_ACCEPT_LANGUAGE="zh-hant").json()["results"][0]["name"] == "USDT 活期"
    assert client.get("/api/v1/products").json()["results"][0]["name"] == "USDT Flexible"
    staff.customer.language = "zh-hant"
    staff.customer.save()
    assert client.get("/api/v1/products").json()["results"][0]["name"] == "USDT 活期"
    assert client.get("/api/v1/products?lang=en").json()["results"][0]["name"] == "USDT Flexible"


def _list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/products?status=live,paused")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_catalogue_query_count_does_not_grow_with_products(staff):
    """3 products or 30: the same number of queries (no N+1 over terms, tiers or disclosures)."""
    client = client_for(staff.customer)
    for index in range(3):
        live_product("USDT", "demand" if index % 2 else "fixed", tiers=[(0, 1000, "0.05"), (1000, None, "0.02")],
                     term_days=None if index % 2 else 30)
    _list_queries(client)  # the customer's first view of Earn is recorded once (GB cooling-off starts there)
    small, n_small = _list_queries(client)
    for index in range(27):
        live_product("BTC", "demand", tiers=[(0, 1, "0.02"), (1, None, "0.01")], total_cap=str(100 + index))
    large, n_large = _list_queries(client)
    assert (n_small, n_large) == (3, 30)
    # 5 for the catalogue, 3 for compliance (first view, jurisdiction warnings, the category rules in force)
    assert small == large <= 8


def test_catalogue_needs_authentication(db):
    assert APIClient().get("/api/v1/products").status_code in (401, 403)
