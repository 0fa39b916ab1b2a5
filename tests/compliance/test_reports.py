"""Compliance reports: CSV streamed, PDF summary, role-checked, every export an audit event."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

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
    for unwritable in (tmp_path / "missing" / "acks.csv", tmp_path):  # no such directory; a directory: exit 1
        with pytest.raises(CommandError, match="cannot write"):
            call_command("compliance_report", "acknowledgements", "--from", "2026-03-01", "--to", "2026-03-02",
                         "--format", "csv", "-o", str(unwritable), stdout=io.StringIO())


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


# --- the CSV is PostgreSQL's COPY, byte for byte what csv.writer with csv_safe wrote ------------------------

TRICKY = ["=1+1", "+x", "-y", "@z", "\tt", "\rr", "", "a,b", 'say "hi"', "two\nlines", "crlf\r\nend", "'quoted",
          " lead", "中文 UA", "=x\n=y", "Mozilla/5.0 (X11; Linux x86_64)"]


def test_copy_csv_is_byte_for_byte_the_python_writer_with_formula_escaping(activity):
    """CRLF record ends, quotes only where needed, an empty text as an empty cell, line breaks kept inside
    quoted cells, and a cell starting with = + - @ tab or CR neutralised with a leading apostrophe."""
    from compliance.models import Acknowledgement
    from core.api import csv_safe

    staff, product, alice = activity
    first = Acknowledgement.objects.get(user=alice)
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(["id", "accepted_at", "user", "country", "product", "product_name", "disclosure_version",
                     "sha256", "language", "ip_address", "user_agent"])
    writer.writerow([first.pk, "2026-03-01T10:00:00.000000Z", "alice@hk.example", "HK", product.pk, "USDT Flexible",
                     1, first.sha256, "zh-hant", first.ip_address, first.user_agent])
    for i, text in enumerate(TRICKY):
        user = UserFactory(country="HK", email=f"{'-+=@a'[i % 5]}u{i}@x.example")
        at = T0 + dt.timedelta(minutes=i + 1, microseconds=i)
        ip = [None, "2001:db8::1", "203.0.113.9"][i % 3]
        ack = Acknowledgement.objects.create(user=user, product=product, disclosure=first.disclosure,
                                             disclosure_version=1, sha256=first.sha256, statements=[],
                                             language=text[:8], ip_address=ip, user_agent=text, accepted_at=at)
        writer.writerow([csv_safe(v) for v in (
            ack.pk, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), user.email, "HK", product.pk, "USDT Flexible", 1,
            first.sha256, text[:8], ip, text)])
    response = client_for(staff.compliance).get(f"/api/v1/staff/reports/acknowledgements?{RANGE}")
    assert b"".join(response.streaming_content) == expected.getvalue().encode()
    assert "'=1+1" in expected.getvalue() and '"two\nlines"' in expected.getvalue()  # the cases are exercised


@pytest.mark.django_db
def test_the_sql_escaping_is_csv_safe():
    from django.db import connection

    from core.api import csv_safe, csv_safe_sql

    with connection.cursor() as cursor:
        for value in [*TRICKY, "=", "-", "'", "\t", "\r", "\n=x", "ok=", "@"]:
            cursor.execute(f"SELECT {csv_safe_sql('v')} FROM (SELECT %s::text AS v) t", [value])
            assert cursor.fetchone()[0] == (csv_safe(value) or None), value


def test_copy_streams_in_bounded_chunks_and_counts_rows(activity):
    from compliance.reports import KINDS, CsvCopy

    start, end = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    whole = CsvCopy(KINDS["acknowledgements"], start, end)
    small = CsvCopy(KINDS["acknowledgements"], start, end, chunk_bytes=64)
    chunks = list(small)
    assert len(chunks) > 2 and all(len(c) < 64 + 1024 for c in chunks)
    assert b"".join(chunks) == b"".join(whole)
    assert (whole.rows, small.rows) == (2, 2)


def test_record_ends_become_crlf_but_line_feeds_inside_quotes_stay():
    from compliance.reports import to_crlf

    chunks = [b'a,"x\n', b'y ""q""\n', b'z",b\nc,d\n', b'e,"', b'\n"\n']
    assert b"".join(to_crlf(iter(chunks))) == b'a,"x\ny ""q""\nz",b\r\nc,d\r\ne,"\n"\r\n'


# --- pools are first-class in the positions report --------------------------------------------------------------


def test_positions_report_counts_pool_deposits_and_positions(activity, user_factory, fund):
    from compliance.reports import KINDS
    from pools.services.deposits import pool_deposit_create
    from tests.pools.factories import pool_product, ready_customer

    staff, _product, _alice = activity
    pool = pool_product()
    holder = ready_customer(user_factory, fund, pool, BTC="2", USDT="200000")
    with time_machine.travel(T0, tick=False):
        first = pool_deposit_create(user=holder, product_id=pool.product_id, amount="0.5")
        pool_deposit_create(user=holder, product_id=pool.product_id, amount="0.25")
    rows = {r["product"]: r for r in _csv(client_for(staff.compliance).get(f"/api/v1/staff/reports/positions?{RANGE}"))}
    row = rows[str(pool.product_id)]
    assert (row["asset"], row["subscriptions"], row["subscribed"], row["open_positions"], row["principal"]) == (
        "BTC", "2", "0.75", "1", "0.75")  # one demand pool position; amounts are the product asset's leg
    assert first.amount_a == Decimal("0.5")
    start, end = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    summary = KINDS["positions"].summary(start, end)
    totals = dict(summary.totals)
    assert (totals["Subscriptions in period"], totals["Open positions now"]) == ("3", "2")
    assert (f"{pool.product.name_en} (BTC)", 1) in summary.chart
    pdf = client_for(staff.compliance).get(f"/api/v1/staff/reports/positions?{RANGE}&format=pdf")
    assert pdf.status_code == 200
