"""Compliance reports: one definition per kind (columns, rows for a date range, totals for the PDF).

Rows are read with server-side cursors (`.iterator(chunk_size=…)`) so a CSV of millions of rows is
streamed in constant memory; totals are aggregated in PostgreSQL. Exporting is itself an audit
event (`report.export`), recorded before the first byte is produced.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import CharField, Count, F, Func, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from compliance.models import Acknowledgement, AssessmentAttempt, Complaint, Disclosure, Refusal
from core.api import csv_safe
from earn.models import Position, Product, ProductTerms, Redemption, Subscription

CHUNK = 5000


def _iso(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else ""


def iso_sql(field: str) -> Func:
    """The same UTC text as `_iso`, formatted by PostgreSQL (a million rows stream faster)."""
    return Func(F(field), Value('YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), function="to_char",
                template="to_char(%(expressions)s)", output_field=CharField())


def _dec(value: Any) -> str:
    return "" if value is None else format(value.normalize(), "f") if value else "0"


@dataclass(frozen=True)
class Summary:
    """What the PDF shows: headline totals and one breakdown drawn as a bar chart."""

    totals: list[tuple[str, str]]
    chart_title: str
    chart: list[tuple[str, int]]  # (label, count)
    over_time: list[tuple[dt.date, int]] = field(default_factory=list)  # (first day of the bucket, count)
    bucket: str = "day"


def over_time(qs: QuerySet, field_name: str, start: dt.datetime, end: dt.datetime) -> tuple[list, str]:
    """Counts per day (per week beyond 92 days, per month beyond two years), one GROUP BY in PostgreSQL."""
    days = (end - start).days
    bucket = "day" if days <= 92 else "week" if days <= 731 else "month"
    trunc = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[bucket]
    rows = (qs.annotate(bucket=trunc(field_name, tzinfo=dt.UTC)).values_list("bucket").annotate(n=Count("id"))
            .order_by("bucket"))
    return [(moment.date(), n) for moment, n in rows], bucket


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: str
    header: tuple[str, ...]
    rows: Callable[[dt.datetime, dt.datetime], Iterator[tuple]]
    summary: Callable[[dt.datetime, dt.datetime], Summary]


# --- acknowledgements -------------------------------------------------------------------------------------


def _ack_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    qs = (Acknowledgement.objects.filter(accepted_at__gte=start, accepted_at__lt=end).order_by("accepted_at", "id")
          .annotate(at=iso_sql("accepted_at"))
          .values_list("id", "at", "user__email", "user__country", "product_id", "product__name_en",
                       "disclosure_version", "sha256", "language", "ip_address", "user_agent"))
    return qs.iterator(chunk_size=CHUNK)


def _ack_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    qs = Acknowledgement.objects.filter(accepted_at__gte=start, accepted_at__lt=end)
    totals = qs.aggregate(n=Count("id"), users=Count("user", distinct=True), products=Count("product", distinct=True))
    langs = dict(qs.values_list("language").annotate(n=Count("id")).order_by())
    chart = [(name, n) for name, n in qs.values_list("product__name_en").annotate(n=Count("id"))
             .order_by("-n", "product__name_en")[:12]]
    return Summary([("Acknowledgements", str(totals["n"])), ("Customers", str(totals["users"])),
                    ("Products", str(totals["products"])),
                    ("By language", ", ".join(f"{k}: {v}" for k, v in sorted(langs.items())) or "-")],
                   "Acknowledgements by product", chart, *over_time(qs, "accepted_at", start, end))


# --- assessments --------------------------------------------------------------------------------------------


def _assessment_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    qs = (AssessmentAttempt.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
          .annotate(at=iso_sql("created_at"), retake=iso_sql("retake_after"))
          .values_list("id", "at", "user__email", "jurisdiction", "product_kind", "score", "total",
                       "percent", "passed", "retake", "language"))
    for row in qs.iterator(chunk_size=CHUNK):
        yield (*row[:8], "pass" if row[8] else "fail", *row[9:])


def _assessment_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    qs = AssessmentAttempt.objects.filter(created_at__gte=start, created_at__lt=end)
    t = qs.aggregate(n=Count("id"), passed=Count("id", filter=Q(passed=True)), users=Count("user", distinct=True))
    chart = []
    for kind, jurisdiction, passed, n in (qs.values_list("product_kind", "jurisdiction", "passed")
                                          .annotate(n=Count("id")).order_by("jurisdiction", "product_kind",
                                                                            "-passed")):
        chart.append((f"{jurisdiction} {kind} {'pass' if passed else 'fail'}", n))
    rate = f"{t['passed'] * 100 // t['n']} %" if t["n"] else "-"
    return Summary([("Attempts", str(t["n"])), ("Passed", str(t["passed"])), ("Failed", str(t["n"] - t["passed"])),
                    ("Pass rate", rate), ("Customers", str(t["users"]))], "Attempts by jurisdiction and kind", chart,
                   *over_time(qs, "created_at", start, end))


# --- refusals -----------------------------------------------------------------------------------------------


def _refusal_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    qs = (Refusal.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
          .annotate(at=iso_sql("created_at"))
          .values_list("id", "at", "user__email", "user__country", "product_id", "product__name_en",
                       "action", "amount", "codes", "detail"))
    for row in qs.iterator(chunk_size=CHUNK):
        yield (*row[:7], _dec(row[7]), " ".join(row[8] or []), row[9])


def _refusal_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    qs = Refusal.objects.filter(created_at__gte=start, created_at__lt=end)
    t = qs.aggregate(n=Count("id"), users=Count("user", distinct=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, count(*) FROM compliance_refusal r, jsonb_array_elements_text(r.codes) code "
                       "WHERE r.created_at >= %s AND r.created_at < %s GROUP BY code ORDER BY count(*) DESC, code",
                       [start, end])
        by_code = cursor.fetchall()
    return Summary([("Refusals", str(t["n"])), ("Customers", str(t["users"])),
                    *((f"  {code}", str(n)) for code, n in by_code)],
                   "Refusals by reason code", by_code,
                   *over_time(qs, "created_at", start, end))


# --- approvals (maker ≠ checker) ------------------------------------------------------------------------


def _approval_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    window = Q(approved_at__gte=start, approved_at__lt=end)
    products = (Product.objects.filter(window).order_by("approved_at", "id")
                .values_list("id", "id", "name_en", "drafted_by__email", "created_at", "approved_by__email",
                             "approved_at", "status"))
    terms = (ProductTerms.objects.filter(window).order_by("approved_at", "id")
             .values_list("id", "product_id", "product__name_en", "drafted_by__email", "created_at",
                          "approved_by__email", "approved_at", "status", "version"))
    disclosures = (Disclosure.objects.filter(window).order_by("approved_at", "id")
                   .values_list("id", "product_id", "product__name_en", "author__email", "created_at",
                                "approved_by__email", "approved_at", "status", "version"))
    for kind, qs in (("product", products), ("terms", terms), ("disclosure", disclosures)):
        for row in qs.iterator(chunk_size=CHUNK):
            version = row[8] if len(row) > 8 else ""
            yield (kind, row[0], row[1], row[2], version, row[3], _iso(row[4]), row[5], _iso(row[6]), row[7])


def _approval_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    window = Q(approved_at__gte=start, approved_at__lt=end)
    counts = [("Products", Product.objects.filter(window).count()),
              ("Terms versions", ProductTerms.objects.filter(window).count()),
              ("Disclosure versions", Disclosure.objects.filter(window).count())]
    return Summary([*((k, str(v)) for k, v in counts), ("Maker = checker", "0 (refused by PostgreSQL)")],
                   "Approvals by object", counts)


# --- positions by product -------------------------------------------------------------------------------


def _position_totals(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    subs = {p: (n, s) for p, n, s in Subscription.objects.filter(created_at__gte=start, created_at__lt=end)
                .values_list("product_id").annotate(n=Count("id"), s=Sum("amount")).order_by()}
    reds = {p: (n, s) for p, n, s in Redemption.objects.filter(created_at__gte=start, created_at__lt=end)
                .values_list("position__product_id").annotate(n=Count("id"), s=Sum("amount")).order_by()}
    open_ = {p: (n, s) for p, n, s in Position.objects.filter(status="active")
                 .values_list("product_id").annotate(n=Count("id"), s=Sum("principal")).order_by()}
    out = []
    for product in Product.objects.exclude(status="draft").order_by("id").values("id", "name_en", "asset_id",
                                                                                 "status"):
        pid = product["id"]
        out.append({**product, "subscriptions": subs.get(pid, (0, None))[0], "subscribed": subs.get(pid, (0, 0))[1],
                    "redemptions": reds.get(pid, (0, None))[0], "redeemed": reds.get(pid, (0, 0))[1],
                    "open_positions": open_.get(pid, (0, None))[0], "principal": open_.get(pid, (0, 0))[1]})
    return out


def _position_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    for p in _position_totals(start, end):
        yield (p["id"], p["name_en"], p["asset_id"], p["status"], p["subscriptions"], _dec(p["subscribed"] or 0),
               p["redemptions"], _dec(p["redeemed"] or 0), p["open_positions"], _dec(p["principal"] or 0))


def _position_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    rows = _position_totals(start, end)
    return Summary([("Products", str(len(rows))),
                    ("Subscriptions in period", str(sum(r["subscriptions"] for r in rows))),
                    ("Redemptions in period", str(sum(r["redemptions"] for r in rows))),
                    ("Open positions now", str(sum(r["open_positions"] for r in rows)))],
                   "Open positions by product", [(f"{r['name_en']} ({r['asset_id']})", r["open_positions"])
                                                 for r in rows if r["open_positions"]][:12])


# --- complaints -------------------------------------------------------------------------------------------


def _complaint_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    now = timezone.now()
    qs = (Complaint.objects.filter(received_at__gte=start, received_at__lt=end).order_by("received_at", "id")
          .values_list("id", "received_at", "user__email", "product_id", "position_id", "subject", "status",
                       "owner__email", "deadline_at", "closed_at"))
    for row in qs.iterator(chunk_size=CHUNK):
        overdue = (row[9] or now) > row[8]
        yield (row[0], _iso(row[1]), *row[2:8], _iso(row[8]), _iso(row[9]), "yes" if overdue else "no")


def _complaint_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    now = timezone.now()
    qs = Complaint.objects.filter(received_at__gte=start, received_at__lt=end)
    by_status = list(qs.values_list("status").annotate(n=Count("id")).order_by("status"))
    overdue = qs.filter(Q(closed_at__isnull=True, deadline_at__lt=now) | Q(closed_at__gt=F("deadline_at"))).count()
    return Summary([("Complaints", str(sum(n for _s, n in by_status))),
                    *((f"  {s}", str(n)) for s, n in by_status), ("Past the 8-week deadline", str(overdue))],
                   "Complaints by status", by_status,
                   *over_time(qs, "received_at", start, end))


# --- restricted holders -------------------------------------------------------------------------------------


def _restricted_positions() -> Iterator[tuple]:
    """Open Earn and pool positions of customers whose verified residence is now restricted (a snapshot)."""
    from compliance.gate import restricted_countries
    from pools.models import PoolPosition

    countries = sorted(restricted_countries())
    earn = (Position.objects.filter(user__country__in=countries, status="active", principal__gt=0)
            .order_by("user__email", "id").annotate(since=iso_sql("created_at"))
            .values_list("user_id", "user__email", "user__country", "user__kyc_status", "id", "product_id",
                         "product__name_en", "asset_id", "principal", "since", "maturity_date"))
    for row in earn.iterator(chunk_size=CHUNK):
        yield (*row[:4], "earn", *row[4:8], _dec(row[8]), "", row[9], row[10] or "")
    pools = (PoolPosition.objects.filter(user__country__in=countries, status="active", shares__gt=0)
             .order_by("user__email", "id").annotate(since=iso_sql("created_at"))
             .values_list("user_id", "user__email", "user__country", "user__kyc_status", "id", "product_id",
                          "product__name_en", "product__asset_id", "shares", "since", "maturity_date"))
    for row in pools.iterator(chunk_size=CHUNK):
        yield (*row[:4], "pool", *row[4:8], "", _dec(row[8]), row[9], row[10] or "")


def _restricted_rows(start: dt.datetime, end: dt.datetime) -> Iterator[tuple]:
    return _restricted_positions()


def _restricted_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    customers: set[int] = set()
    by_country: dict[str, int] = {}
    positions = 0
    for row in _restricted_positions():
        positions += 1
        if row[0] not in customers:
            customers.add(row[0])
            by_country[row[2]] = by_country.get(row[2], 0) + 1
    from compliance.gate import restricted_countries

    return Summary([("Customers holding", str(len(customers))), ("Open positions", str(positions)),
                    ("Restricted countries", ", ".join(sorted(restricted_countries())) or "-"),
                    ("Period", "ignored: holdings now")],
                   "Customers holding, by country", sorted(by_country.items()))


KINDS: dict[str, ReportKind] = {k.key: k for k in [
    ReportKind("acknowledgements", "Acknowledgements",
               ("id", "accepted_at", "user", "country", "product", "product_name", "disclosure_version", "sha256",
                "language", "ip_address", "user_agent"), _ack_rows, _ack_summary),
    ReportKind("assessments", "Assessments",
               ("id", "created_at", "user", "jurisdiction", "product_kind", "score", "total", "percent", "result",
                "retake_after", "language"), _assessment_rows, _assessment_summary),
    ReportKind("refusals", "Refusals",
               ("id", "created_at", "user", "country", "product", "product_name", "action", "amount", "codes",
                "detail"), _refusal_rows, _refusal_summary),
    ReportKind("approvals", "Approvals (maker / checker)",
               ("object", "id", "product", "product_name", "version", "maker", "made_at", "checker", "approved_at",
                "status"), _approval_rows, _approval_summary),
    ReportKind("positions", "Positions by product",
               ("product", "product_name", "asset", "status", "subscriptions", "subscribed", "redemptions",
                "redeemed", "open_positions", "principal"), _position_rows, _position_summary),
    ReportKind("complaints", "Complaints",
               ("id", "received_at", "user", "product", "position", "subject", "status", "owner", "deadline_at",
                "closed_at", "overdue"), _complaint_rows, _complaint_summary),
    ReportKind("restricted_holders", "Restricted-country holders (now)",
               ("user_id", "user", "country", "kyc_status", "kind", "position", "product", "product_name", "asset",
                "principal", "shares", "opened_at", "maturity_date"), _restricted_rows, _restricted_summary),
]}


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(kind: ReportKind, start: dt.datetime, end: dt.datetime) -> Iterator[str]:
    """The report as CSV text lines (formula-looking cells neutralised), produced lazily."""
    writer = csv.writer(_Echo())
    yield writer.writerow(kind.header)
    for row in kind.rows(start, end):
        yield writer.writerow([csv_safe(v) for v in row])


def write_csv(kind: ReportKind, start: dt.datetime, end: dt.datetime, out: Any) -> int:
    """Write the CSV to a text file; returns the number of data rows."""
    n = -1
    for n, line in enumerate(csv_lines(kind, start, end)):  # noqa: B007
        out.write(line)
    return n


def chunked(lines: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Group small lines into ~64 KiB chunks for the HTTP stream."""
    buf: list[str] = []
    length = 0
    for line in lines:
        buf.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buf).encode()
            buf, length = [], 0
    if buf:
        yield "".join(buf).encode()
