"""Compliance admin: audit browser filters, report downloads, rules and complaints through the services."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.signals import user_logged_in
from django.test import Client

from compliance.models import Complaint, JurisdictionRule
from compliance.services.complaints import complaint_file
from core.models import AuditEvent
from tests.earn.factories import Staff, live_product
from tests.factories import admin_login


@pytest.fixture
def staff(prices):
    return Staff()


def login(user):
    client = admin_login(Client(), user)
    return client


def test_audit_browser_is_read_only_with_filters(staff):
    live_product("USDT")
    client = login(staff.compliance)
    page = client.get("/admin/compliance/auditevent/?actor_kind=system")
    assert page.status_code == 200
    assert "Compliance reports" in page.content.decode()
    event = AuditEvent.objects.first()
    if event is not None:
        detail = client.get(f"/admin/compliance/auditevent/{event.pk}/change/")
        assert detail.status_code == 200
        assert 'name="_save"' not in detail.content.decode()
    assert client.post("/admin/compliance/auditevent/add/").status_code == 403


def test_report_download_from_the_admin_is_audited(staff):
    client = login(staff.compliance)
    assert client.get("/admin/compliance/auditevent/reports/").status_code == 200
    response = client.get("/admin/compliance/auditevent/reports/?kind=refusals&start=2026-01-01&end=2026-12-31"
                          "&fmt=csv&export=1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"id,created_at,user")
    event = AuditEvent.objects.get(action="report.export")
    assert (event.actor_id, event.after["channel"], event.after["kind"]) == (staff.compliance.pk, "admin", "refusals")
    pdf = client.get("/admin/compliance/auditevent/reports/?kind=positions&start=2026-01-01&end=2026-12-31"
                     "&fmt=pdf&export=1")
    assert pdf.content.startswith(b"%PDF-")


@pytest.mark.parametrize("role", ["curator", "operations"])
def test_reports_page_needs_the_compliance_role(staff, role):
    assert login(getattr(staff, role)).get("/admin/compliance/auditevent/reports/").status_code == 403


def test_rule_change_is_an_audit_event_with_before_and_after(staff):
    rule = JurisdictionRule.objects.get(country="GB")
    client = login(staff.compliance)
    assert client.get("/admin/compliance/jurisdictionrule/").status_code == 200
    form = {"country": "GB", "assessment_min_risk": "2", "pass_mark": "80", "retake_wait_hours": "48",
            "exposure_shares": "{}", "cooling_off_hours": "24", "risk_warnings": "on", "notes": "FCA"}
    response = client.post(f"/admin/compliance/jurisdictionrule/{rule.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="jurisdiction_rule.change")
    assert (event.before["pass_mark"], event.after["pass_mark"], event.after["assessment_min_risk"]) == (75, 80, 2)


def test_complaint_deadline_is_highlighted_and_handling_goes_through_the_service(staff):
    product = live_product("USDT")
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        old = complaint_file(user=staff.customer, subject="Old one", body="b", product_id=product.pk)
    client = login(staff.compliance)
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        html = client.get("/admin/compliance/complaint/").content.decode()
        assert "overdue" in html and "#c0392b" in html
        response = client.post(f"/admin/compliance/complaint/{old.pk}/change/",
                               {"status": "resolved", "owner": staff.compliance.pk, "note": "Apologised.",
                                "final_response": "Refunded the fee."})
    assert response.status_code == 302
    old = Complaint.objects.get(pk=old.pk)
    assert (old.status, old.owner_id, "Apologised." in old.notes) == ("resolved", staff.compliance.pk, True)
    assert AuditEvent.objects.filter(action="complaint.update", object_id=str(old.pk)).count() == 1


def test_evidence_pages_render(staff):
    client = login(staff.compliance)
    for model in ("acknowledgement", "refusal", "assessmentattempt", "customerprofile", "assessmentquestion"):
        assert client.get(f"/admin/compliance/{model}/").status_code == 200, model


def test_staff_login_is_audited_customer_login_is_not(staff, rf):
    """Any session login through django.contrib.auth.login (portal, admin) sends user_logged_in."""
    request = rf.get("/login/", HTTP_USER_AGENT="Firefox", REMOTE_ADDR="203.0.113.9")
    user_logged_in.send(sender=type(staff.compliance), request=request, user=staff.compliance)
    user_logged_in.send(sender=type(staff.customer), request=request, user=staff.customer)
    events = list(AuditEvent.objects.filter(action="staff.login"))
    assert [(e.actor_id, e.after["ip"], e.after["user_agent"]) for e in events] == [
        (staff.compliance.pk, "203.0.113.9", "Firefox")]


def test_staff_record_a_risk_profile_in_the_admin(staff):
    from compliance.models import CustomerProfile
    from tests.factories import UserFactory

    customer = UserFactory(country="HK", professional_investor=False)
    client = login(staff.compliance)
    assert client.get("/admin/compliance/customerprofile/add/").status_code == 200
    response = client.post("/admin/compliance/customerprofile/add/",
                           {"user": customer.pk, "risk_profile": "conservative", "net_worth_usd": "80000"})
    assert response.status_code == 302, response.content.decode()[:3000]
    profile = CustomerProfile.objects.get(user=customer)
    assert (profile.risk_profile, profile.net_worth_usd, profile.professional_investor) == ("conservative", 80000,
                                                                                            False)
    assert AuditEvent.objects.filter(action="risk_profile.record", actor=staff.compliance).exists()
