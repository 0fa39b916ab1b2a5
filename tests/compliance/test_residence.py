"""Residence and investor class are KYC facts (issue 14 item 1, SCENARIOS.md 19).

Customers cannot edit what the gate reads; they request a change and a compliance officer decides. New
sign-ups are refused (KYC_REQUIRED) until verified; a pending request refuses (RESIDENCE_UNDER_REVIEW); a
customer whose verified residence becomes restricted keeps and may redeem their positions, not add to them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from accounts import kyc
from accounts.models import KycStatus, ResidenceChangeRequest, User
from compliance.gate import blocking_codes
from compliance.models import CustomerProfile
from compliance.services.customers import risk_profile_record
from core.errors import MakerCheckerViolation, PermissionDenied
from core.models import AuditEvent
from earn.models import Position
from tests.compliance.conftest import client_for
from tests.earn.factories import Staff, live_product
from tests.earn.helpers import acknowledge, subscribe_api
from tests.factories import UserFactory, admin_login

TEN = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff(prices):
    return Staff()


def portal(user) -> Client:
    """A signed-in browser; staff get the one-time-code-verified session the admin console requires."""
    client = Client()
    if user.is_staff:
        return admin_login(client, user)
    client.force_login(user)
    return client


def admin_action(officer, model: str, action: str, pks, reason: str = ""):
    """Run an admin action past its confirmation page, as a compliance officer clicking through."""
    return portal(officer).post(f"/admin/accounts/{model}/", {
        "action": action, "_selected_action": [str(pk) for pk in pks], "confirm": "yes", "reason": reason})


@pytest.fixture
def us_customer(prices, fund):
    user = UserFactory(country="US", email="carol@us.example", display_name="Carol")
    fund(user, "USDT", "1000")
    return user


def test_the_profile_page_ignores_a_posted_country_and_no_api_changes_it(us_customer):
    """The issue's attack: a US customer edits "Country of residence" to SG and subscribes (201 on old main)."""
    product = live_product("USDT", "demand")
    acknowledge(us_customer, product)
    response = portal(us_customer).post("/account/profile", {"display_name": "Carol", "country": "SG",
                                                              "language": "en"})
    assert response.status_code == 302
    us_customer.refresh_from_db()
    assert us_customer.country == "US"
    api = client_for(us_customer)
    for method, url in [("patch", "/api/v1/account/residence-requests"), ("put", "/api/v1/account/residence-requests"),
                        ("post", "/api/v1/auth/token"), ("patch", "/api/v1/account/profile")]:
        getattr(api, method)(url, {"country": "SG", "email": us_customer.email, "password": "pass-word-123"},
                             format="json")
    us_customer.refresh_from_db()
    assert us_customer.country == "US"
    refused = subscribe_api(api, product, "100", "k-attack")
    assert (refused.status_code, refused.json()["code"]) == (403, "JURISDICTION_RESTRICTED")
    assert not Position.objects.filter(user=us_customer).exists()


def test_scenario_19_a_residence_change_waits_for_compliance(us_customer, staff):
    product = live_product("USDT", "demand")
    acknowledge(us_customer, product)
    api = client_for(us_customer)
    created = api.post("/api/v1/account/residence-requests",
                       {"requested_country": "sg", "reason": "Moved to Singapore on 1 March"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["current_country"], body["requested_country"], body["status"]) == ("US", "SG", "pending")
    us_customer.refresh_from_db()
    assert us_customer.country == "US"

    refused = subscribe_api(api, product, "100", "k-1")
    assert refused.status_code == 403
    assert refused.json()["codes"][:2] == ["RESIDENCE_UNDER_REVIEW", "JURISDICTION_RESTRICTED"]
    again = api.post("/api/v1/account/residence-requests", {"requested_country": "GB", "reason": "x"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "RESIDENCE_REQUEST_PENDING")
    assert [r["status"] for r in api.get("/api/v1/account/residence-requests").json()] == ["pending"]

    request = ResidenceChangeRequest.objects.get(user=us_customer)
    assert admin_action(staff.curator, "residencechangerequest", "approve_selected", [request.pk]).status_code in (
        200, 302, 403)
    request.refresh_from_db()
    assert request.status == "pending"  # only compliance officers decide
    assert admin_action(staff.compliance, "residencechangerequest", "approve_selected", [request.pk]).status_code \
        == 302
    request.refresh_from_db()
    us_customer.refresh_from_db()
    assert (request.status, request.decided_by, us_customer.country) == ("approved", staff.compliance, "SG")

    allowed = subscribe_api(api, product, "100", "k-2")
    assert allowed.status_code == 201, allowed.json()
    actions = list(AuditEvent.objects.filter(object_type="accounts.residencechangerequest")
                   .values_list("action", "actor_id"))
    assert actions == [("residence_request.create", us_customer.pk),
                       ("residence_request.approve", staff.compliance.pk)]
    approval = AuditEvent.objects.get(action="residence_request.approve")
    assert (approval.before["country"], approval.after["country"]) == ("US", "SG")


def test_a_rejected_request_changes_nothing_and_lifts_the_review(staff, fund):
    user = UserFactory(country="SG")
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    request = kyc.residence_request_create(user=user, requested_country="GB", reason="Moving soon")
    assert blocking_codes(user, product) == ["RESIDENCE_UNDER_REVIEW"]
    admin_action(staff.compliance, "residencechangerequest", "reject_selected", [request.pk], reason="No proof")
    request.refresh_from_db()
    user.refresh_from_db()
    assert (request.status, request.decision_note, user.country) == ("rejected", "No proof", "SG")
    assert blocking_codes(user, product) == []
    assert AuditEvent.objects.filter(action="residence_request.reject", actor=staff.compliance).exists()


def test_the_requester_never_decides_and_the_database_agrees(staff):
    officer = staff.compliance
    request = kyc.residence_request_create(user=officer, requested_country="SG", reason="Relocated")
    with pytest.raises(MakerCheckerViolation):
        kyc.residence_request_approve(actor=officer, request_id=request.pk)
    with pytest.raises(PermissionDenied):
        kyc.residence_request_approve(actor=staff.curator, request_id=request.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidenceChangeRequest.objects.filter(pk=request.pk).update(status="rejected", decided_by=officer,
                                                                    decided_at=TEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidenceChangeRequest.objects.create(user=officer, current_country="HK", requested_country="GB",
                                              current_investor_class="retail", reason="second")


def test_gb_cooling_off_and_appropriateness_cannot_be_dodged_through_the_profile(prices, fund, gb_customer):
    """On old main a GB customer set SG on the profile page and skipped both (SG has no rule)."""
    product = live_product("USDT", "demand")
    fund(gb_customer, "USDT", "1000")
    acknowledge(gb_customer, product)
    portal(gb_customer).post("/account/profile", {"display_name": "Bob", "country": "SG", "language": "en"})
    gb_customer.refresh_from_db()
    assert gb_customer.country == "GB"
    refused = subscribe_api(client_for(gb_customer), product, "100", "k-gb")
    assert refused.status_code == 403
    assert {"ASSESSMENT_REQUIRED", "COOLING_OFF"} <= set(refused.json()["codes"])


def test_hk_assessment_and_exposure_limit_cannot_be_dodged_through_the_profile(prices, fund, hk_retail):
    product = live_product("USDT", "fixed", risk_rating=4, term_days=30)
    fund(hk_retail, "USDT", "1000")
    acknowledge(hk_retail, product)
    portal(hk_retail).post("/account/profile", {"display_name": "Alice", "country": "SG", "language": "en"})
    refused = subscribe_api(client_for(hk_retail), product, "100", "k-hk")
    assert refused.status_code == 403
    assert refused.json()["codes"] == ["ASSESSMENT_REQUIRED", "EXPOSURE_LIMIT"]


def test_customers_cannot_make_themselves_professional_investors(prices, hk_retail):
    with pytest.raises(PermissionDenied):
        risk_profile_record(actor=hk_retail, user=hk_retail, risk_profile="high", net_worth_usd="1",
                            professional_investor=True)
    portal(hk_retail).post("/account/risk-profile", {"risk_profile": "high", "net_worth_usd": "5",
                                                     "professional_investor": "on"})
    assert CustomerProfile.objects.get(user=hk_retail).professional_investor is False
    request = kyc.residence_request_create(user=hk_retail, requested_investor_class="professional",
                                           reason="Portfolio above HKD 8m")
    assert (request.requested_country, request.current_investor_class) == ("", "retail")
    assert CustomerProfile.objects.get(user=hk_retail).professional_investor is False


def test_compliance_approves_a_reclassification(staff, hk_retail):
    request = kyc.residence_request_create(user=hk_retail, requested_investor_class="professional",
                                           reason="Corporate professional investor")
    kyc.residence_request_approve(actor=staff.compliance, request_id=request.pk, note="Checked statements")
    assert CustomerProfile.objects.get(user=hk_retail).professional_investor is True
    assert AuditEvent.objects.filter(action="investor_class.set", actor=staff.compliance).exists()


def test_sign_up_is_unverified_until_a_compliance_officer_verifies(staff, fund):
    client = Client()
    client.post("/account/sign-up", {"email": "new@sg.example", "display_name": "New Person", "country": "SG",
                                      "language": "en", "password": "a-long-pass-phrase-9",
                                      "password_again": "a-long-pass-phrase-9"})
    user = User.objects.get(email="new@sg.example")
    assert (user.country, user.declared_country, user.kyc_status) == ("SG", "SG", "unverified")
    product = live_product("USDT", "demand")
    fund(user, "USDT", "100")
    acknowledge(user, product)
    page = client.post(f"/products/{product.pk}/subscribe", {"step": "confirm", "amount": "10",
                                                              "idempotency_key": "s1"}).content.decode()
    assert "KYC_REQUIRED" not in page and "verifies every new customer" in page
    refused = subscribe_api(client_for(user), product, "10", "k-new")
    assert (refused.status_code, refused.json()["code"]) == (403, "KYC_REQUIRED")
    assert "verification pending" in client.get("/account/profile").content.decode().lower()

    assert admin_action(staff.curator, "kyccustomer", "verify_kyc", [user.pk]).status_code in (200, 302, 403)
    user.refresh_from_db()
    assert user.kyc_status == "unverified"
    assert admin_action(staff.compliance, "kyccustomer", "verify_kyc", [user.pk]).status_code == 302
    user.refresh_from_db()
    assert (user.kyc_status, user.kyc_verified_by, user.kyc_source) == ("verified", staff.compliance, "staff")
    event = AuditEvent.objects.get(action="kyc.verify")
    assert (event.actor_id, event.before["kyc_status"], event.after["kyc_status"]) == (
        staff.compliance.pk, "unverified", "verified")
    assert subscribe_api(client_for(user), product, "10", "k-new-2").status_code == 201


def test_kyc_rejection_refuses_subscriptions(staff):
    user = UserFactory(country="SG", kyc_status=KycStatus.UNVERIFIED, kyc_verified_at=None)
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    admin_action(staff.compliance, "kyccustomer", "reject_kyc", [user.pk], reason="Document mismatch")
    user.refresh_from_db()
    assert user.kyc_status == "rejected"
    assert blocking_codes(user, product) == ["KYC_REQUIRED"]


def test_new_rules_run_first_and_read_the_database_not_the_callers_object(staff):
    user = UserFactory(country="US", kyc_status=KycStatus.UNVERIFIED, kyc_verified_at=None)
    product = live_product("USDT", "demand")
    kyc.residence_request_create(user=user, requested_country="SG", reason="Moved")
    assert blocking_codes(user, product)[:3] == ["KYC_REQUIRED", "RESIDENCE_UNDER_REVIEW", "JURISDICTION_RESTRICTED"]
    user.country, user.kyc_status = "SG", "verified"  # never saved: the gate must not believe it
    assert blocking_codes(user, product)[:3] == ["KYC_REQUIRED", "RESIDENCE_UNDER_REVIEW", "JURISDICTION_RESTRICTED"]


def test_a_customer_whose_residence_becomes_restricted_redeems_but_cannot_subscribe(staff, fund, tmp_path):
    user = UserFactory(country="SG", email="sam@sg.example")
    fund(user, "USDT", "1000")
    product = live_product("USDT", "demand")
    acknowledge(user, product)
    api = client_for(user)
    assert subscribe_api(api, product, "300", "k-before").status_code == 201
    request = kyc.residence_request_create(user=user, requested_country="US", reason="Moved to the US")
    kyc.residence_request_approve(actor=staff.compliance, request_id=request.pk)

    assert subscribe_api(api, product, "100", "k-after").json()["code"] == "JURISDICTION_RESTRICTED"
    officer = client_for(staff.compliance)
    report = officer.get("/api/v1/staff/reports/restricted_holders?from=2026-01-01&to=2026-12-31")
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert [(r["user"], r["country"], r["kind"], r["principal"]) for r in rows] == [
        ("sam@sg.example", "US", "earn", "300")]
    pdf = officer.get("/api/v1/staff/reports/restricted_holders?from=2026-01-01&to=2026-12-31&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    out = tmp_path / "holders.csv"
    call_command("compliance_report", "restricted_holders", "--from", "2026-01-01", "--to", "2026-12-31",
                 "-o", str(out), stdout=io.StringIO())
    assert "sam@sg.example" in out.read_text()

    position = Position.objects.get(user=user)
    redeemed = api.post(f"/api/v1/positions/{position.pk}/redemptions", {"mode": "fast"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="r-1")
    assert redeemed.status_code == 201, redeemed.json()
    position.refresh_from_db()
    assert position.principal == 0
    report = officer.get("/api/v1/staff/reports/restricted_holders?from=2026-01-01&to=2026-12-31")
    assert len(list(csv.DictReader(io.StringIO(b"".join(report.streaming_content).decode())))) == 0


def test_restricted_holders_report_from_the_admin(staff):
    client = portal(staff.compliance)
    response = client.get("/admin/compliance/auditevent/reports/?kind=restricted_holders&start=2026-01-01"
                          "&end=2026-12-31&fmt=csv&export=1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"user_id,user,country,kyc_status")


def test_the_admin_pages_show_kyc_and_requests_to_compliance(staff):
    user = UserFactory(country="SG")
    kyc.residence_request_create(user=user, requested_country="GB", reason="Moved")
    client = portal(staff.compliance)
    assert client.get("/admin/accounts/kyccustomer/").status_code == 200
    page = client.get("/admin/accounts/residencechangerequest/")
    assert page.status_code == 200 and user.email in page.content.decode()
    confirm = client.post("/admin/accounts/residencechangerequest/", {
        "action": "approve_selected", "_selected_action": [str(ResidenceChangeRequest.objects.get().pk)]})
    assert confirm.status_code == 200 and "Confirm" in confirm.content.decode()


@pytest.mark.django_db(transaction=True)
def test_requests_and_decisions_outside_a_wrapping_transaction(prices):
    staff = Staff()
    user = UserFactory(country="US")
    api = client_for(user)
    created = api.post("/api/v1/account/residence-requests", {"requested_country": "SG", "reason": "Moved"},
                       format="json")
    assert created.status_code == 201, created.json()
    duplicate = api.post("/api/v1/account/residence-requests", {"requested_country": "SG", "reason": "Moved"},
                         format="json")
    assert duplicate.status_code == 409
    assert admin_action(staff.compliance, "residencechangerequest", "approve_selected",
                        [created.json()["id"]]).status_code == 302
    newcomer = UserFactory(country="SG", kyc_status=KycStatus.UNVERIFIED, kyc_verified_at=None)
    assert admin_action(staff.compliance, "kyccustomer", "verify_kyc", [newcomer.pk]).status_code == 302
    user.refresh_from_db()
    newcomer.refresh_from_db()
    assert (user.country, newcomer.kyc_status) == ("SG", "verified")


@pytest.mark.django_db(transaction=True)
def test_portal_posts_outside_a_wrapping_transaction(prices):
    user = UserFactory(country="HK")
    client = portal(user)
    assert client.post("/account/profile", {"display_name": "Hana", "country": "US",
                                            "language": "en"}).status_code == 302
    response = client.post("/account/residence-request", {"requested_country": "GB", "requested_investor_class": "",
                                                          "reason": "Moved to London"})
    assert response.status_code == 302
    page = client.get("/account/profile").content.decode()
    assert "Under review" in page
    refused = client.post("/account/residence-request", {"requested_country": "SG", "reason": "again"})
    assert refused.status_code == 200 and "You already have a request under review." in refused.content.decode()
    user.refresh_from_db()
    assert user.country == "HK"
    assert ResidenceChangeRequest.objects.filter(user=user, status="pending").count() == 1


def test_kyc_guidance_in_traditional_chinese(prices):
    user = UserFactory(country="SG", language="zh-hant", kyc_status=KycStatus.UNVERIFIED, kyc_verified_at=None)
    product = live_product("USDT", "demand")
    client = portal(user)
    client.cookies["django_language"] = "zh-hant"
    page = client.get(f"/products/{product.pk}").content.decode()
    assert "您的身份及居住國家或地區尚未核實。" in page and "KYC_REQUIRED" not in page
    kyc.residence_request_create(user=user, requested_country="GB", reason="搬往倫敦")
    page = client.get(f"/products/{product.pk}").content.decode()
    assert "您更改居住國家或地區的申請正在審核中。" in page
    assert "審核中" in client.get("/account/profile").content.decode()
