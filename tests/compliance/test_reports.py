"""Compliance reports: CSV streamed, PDF summary, role-checked, every export an audit event."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from compliance.services.assessments import assessment_submit
from compliance.services.complaints import complaint_file
from core.models import AuditEvent
from earn.services.subscriptions import subscription_create
from tests.compliance.conftest import answers, client_for
from tests.earn.factories import Staff, live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
RANGE = "from=2026-03-01&to=2026-03-01"


@pytest.fixture
def activity(prices, fund):
    """One day of compliance activity on 2026-03-01, and some on the 2nd that a 1-day report leaves out."""
    staff = Staff()
    with time_machine.travel(T0, tick=False):
        product = live_product("USDT", "demand", name_en="USDT Flexible", drafted_by=staff.curator,
                               approved_by=staff.approver)
        alice = UserFactory(country="HK", email="alice@hk.example")
        fund(alice, "USDT", "1000")
        acknowledge(alice, product, language="zh-hant")
        subscription_create(user=alice, product_id=product.pk, amount="250")
        assessment_submit(user=alice, product_kind="demand", answers=answers("HK", "demand"))
        complaint_file(user=alice, subject="=HYPERLINK(\"x\")", body="b", product_id=product.pk)
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        acknowledge(UserFactory(country="HK"), product)
    return staff, product, alice


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_acknowledgements_csv_for_the_range(activity):
    staff, product, _alice = activity
    response = client_for(staff.compliance).get(f"/api/v1/staff/reports/acknowledgements?{RANGE}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="acknowledgements_20260301_20260301.csv"'
    rows = _csv(response)
    assert [(r["user"], r["product"], r["disclosure_version"], r["language"], r["sha256"]) for r in rows] == [
        ("alice@hk.example", str(product.pk), "1", "zh-hant", product.disclosure.sha256)]
    assert rows[0]["accepted_at"] == "2026-03-01T10:00:00.000000Z"


@pytest.mark.parametrize("kind", ["acknowledgements", "assessments", "refusals", "approvals", "positions",
                                  "complaints"])
def test_every_kind_as_csv_and_pdf_and_each_export_is_audited(activity, kind):
    staff, _product, _alice = activity
    client = client_for(staff.compliance)
    before = AuditEvent.objects.filter(action="report.export").count()
    assert client.get(f"/api/v1/staff/reports/{kind}?{RANGE}").status_code == 200
    pdf = client.get(f"/api/v1/staff/reports/{kind}?{RANGE}&format=pdf")
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    events = list(AuditEvent.objects.filter(action="report.export").order_by("sequence"))[before:]
    assert [(e.actor_id, e.object_id, e.after["format"]) for e in events] == [
        (staff.compliance.pk, kind, "csv"), (staff.compliance.pk, kind, "pdf")]
    assert pdf["X-Audit-Event"] == str(events[1].sequence)


def test_rows_of_each_report(activity):
    staff, product, _alice = activity
    client = client_for(staff.compliance)
    assessments = _csv(client.get(f"/api/v1/staff/reports/assessments?{RANGE}"))
    assert [(r["user"], r["jurisdiction"], r["result"], r["percent"]) for r in assessments] == [
        ("alice@hk.example", "HK", "pass", "100")]
    approvals = _csv(client.get("/api/v1/staff/reports/approvals?from=2026-01-01&to=2026-12-31"))
    assert ("product", "curator@test.example", "approver@test.example") in {
        (r["object"], r["maker"], r["checker"]) for r in approvals}
    positions = _csv(client.get(f"/api/v1/staff/reports/positions?{RANGE}"))
    assert [(r["product"], r["subscriptions"], r["subscribed"], r["open_positions"], r["principal"])
            for r in positions] == [(str(product.pk), "1", "250", "1", "250")]
    complaints = _csv(client.get(f"/api/v1/staff/reports/complaints?{RANGE}"))
    assert complaints[0]["subject"] == "'=HYPERLINK(\"x\")"  # a formula is neutralised in the CSV


def test_only_compliance_officers(activity):
    staff, _product, alice = activity
    for user in (alice, staff.curator, staff.operations):
        assert client_for(user).get(f"/api/v1/staff/reports/refusals?{RANGE}").status_code == 403
    assert not AuditEvent.objects.filter(action="report.export").exists()


@pytest.mark.parametrize(("query", "code"), [("from=2026-03-01", "INVALID"), (f"{RANGE}&format=xls", "NOT_FOUND"),
                                             ("from=2026-03-02&to=2026-03-01", "INVALID")])
def test_bad_requests_are_json_errors(activity, query, code):
    staff, _product, _alice = activity
    response = client_for(staff.compliance).get(f"/api/v1/staff/reports/refusals?{query}")
    assert response.status_code in (400, 404)
    assert response["Content-Type"].startswith("application/json")


def test_unknown_kind_is_404(activity):
    staff, _product, _alice = activity
    assert client_for(staff.compliance).get(f"/api/v1/staff/reports/nope?{RANGE}").json()["code"] == "NOT_FOUND"


def test_management_command_writes_csv_and_pdf(activity, tmp_path):
    staff, _product, _alice = activity
    out = io.StringIO()
    target = tmp_path / "acks.csv"
    call_command("compliance_report", "acknowledgements", "--from", "2026-03-01", "--to", "2026-03-02",
                 "--format", "csv", "-o", str(target), "--actor", staff.compliance.email, stdout=out)
    assert len(list(csv.DictReader(target.open()))) == 2
    assert "2 rows" in out.getvalue()
    pdf = tmp_path / "acks.pdf"
    call_command("compliance_report", "acknowledgements", "--from", "2026-03-01", "--to", "2026-03-02",
                 "--format", "pdf", "-o", str(pdf), stdout=io.StringIO())
    assert pdf.read_bytes().startswith(b"%PDF-")
    exports = AuditEvent.objects.filter(action="report.export").order_by("sequence")
    assert [(e.actor_id, e.after["channel"]) for e in exports] == [(staff.compliance.pk, "command"), (None, "command")]


@pytest.mark.parametrize(("last_day", "bucket"), [("2026-03-31", "day"), ("2026-12-31", "week"),
                                                  ("2028-12-31", "month")])
def test_counts_over_time_fall_in_the_pdfs_buckets(activity, last_day, bucket):
    """PostgreSQL's day / week / month buckets are the ones the PDF draws, so no count is dropped."""
    from compliance.pdf import _buckets
    from compliance.reports import KINDS

    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    end = dt.datetime.combine(dt.date.fromisoformat(last_day), dt.time.min, tzinfo=dt.UTC) + dt.timedelta(days=1)
    summary = KINDS["acknowledgements"].summary(start, end)
    assert summary.bucket == bucket
    assert sum(n for _b, n in summary.over_time) == 2
    assert {b for b, _n in summary.over_time} <= set(_buckets(bucket, start, end))
