"""Compliance reports: one definition per kind (columns, the SQL of its rows, totals for the PDF).

The CSV is written by PostgreSQL: `COPY (SELECT …) TO STDOUT WITH (FORMAT csv, HEADER)`, read through
psycopg's copy in ~64 KiB chunks, so millions of rows stream in constant memory at the speed of COPY.
Every cell is formatted in SQL exactly as the Python writer formatted it before (UTC timestamps,
normalised decimals, "pass"/"fail"), text that a spreadsheet would run as a formula gets a leading
apostrophe in SQL (`core.api.csv_safe_sql`, the rule of `csv_safe`), and record ends are CRLF as
csv.writer writes them. PDF totals are aggregated in PostgreSQL. Exporting is itself an audit event
(`report.export`), recorded before the first byte is produced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from compliance.models import Acknowledgement, AssessmentAttempt, Complaint, Refusal
from core.api import csv_safe_sql as safe
from core.db_router import read_alias

CHUNK_BYTES = 64 * 1024


def iso(column: str) -> str:
    """A timestamp as UTC text with microseconds and a Z (2026-03-01T10:00:00.000000Z); NULL stays NULL."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def dec(column: str) -> str:
    """A decimal without trailing zeros (250.000… → 250, 0 → 0), as text, formula-safe; NULL stays NULL."""
    return safe(f"trim_scale({column})::text")


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


Query = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: str
    header: tuple[str, ...]
    query: Callable[[dt.datetime, dt.datetime], Query]  # SELECT … whose columns are the header, in order
    summary: Callable[[dt.datetime, dt.datetime], Summary]


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _window(start: dt.datetime, end: dt.datetime, **more: Any) -> dict[str, Any]:
    return {"start": start, "end": end, **more}


# --- acknowledgements -------------------------------------------------------------------------------------


def _ack_query(start: dt.datetime, end: dt.datetime) -> Query:
    return (f"""
        SELECT a.id AS "id", {iso("a.accepted_at")} AS "accepted_at", {safe("u.email")} AS "user",
               {safe("u.country")} AS "country", a.product_id AS "product", {safe("p.name_en")} AS "product_name",
               a.disclosure_version AS "disclosure_version", {safe("a.sha256")} AS "sha256",
               {safe("a.language")} AS "language", a.ip_address AS "ip_address",
               {safe("a.user_agent")} AS "user_agent"
          FROM compliance_acknowledgement a
          JOIN accounts_user u ON u.id = a.user_id
          JOIN earn_product p ON p.id = a.product_id
         WHERE a.accepted_at >= %(start)s AND a.accepted_at < %(end)s
         ORDER BY a.accepted_at, a.id""", _window(start, end))


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


def _assessment_query(start: dt.datetime, end: dt.datetime) -> Query:
    return (f"""
        SELECT a.id AS "id", {iso("a.created_at")} AS "created_at", {safe("u.email")} AS "user",
               {safe("a.jurisdiction")} AS "jurisdiction", {safe("a.product_kind")} AS "product_kind",
               a.score AS "score", a.total AS "total", a.percent AS "percent",
               CASE WHEN a.passed THEN 'pass' ELSE 'fail' END AS "result", {iso("a.retake_after")} AS "retake_after",
               {safe("a.language")} AS "language"
          FROM compliance_assessmentattempt a
          JOIN accounts_user u ON u.id = a.user_id
         WHERE a.created_at >= %(start)s AND a.created_at < %(end)s
         ORDER BY a.created_at, a.id""", _window(start, end))


def _assessment_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    qs = AssessmentAttempt.objects.filter(created_at__gte=start, created_at__lt=end)
    t = qs.aggregate(n=Count("id"), passed=Count("id", filter=Q(passed=True)), users=Count("user", distinct=True))
    chart = [(f"{jurisdiction} {kind} {'pass' if passed else 'fail'}", n)
             for kind, jurisdiction, passed, n in (qs.values_list("product_kind", "jurisdiction", "passed")
                                                   .annotate(n=Count("id"))
                                                   .order_by("jurisdiction", "product_kind", "-passed"))]
    rate = f"{t['passed'] * 100 // t['n']} %" if t["n"] else "-"
    return Summary([("Attempts", str(t["n"])), ("Passed", str(t["passed"])), ("Failed", str(t["n"] - t["passed"])),
                    ("Pass rate", rate), ("Customers", str(t["users"]))], "Attempts by jurisdiction and kind", chart,
                   *over_time(qs, "created_at", start, end))


# --- refusals -----------------------------------------------------------------------------------------------

_CODES = """(SELECT string_agg(code, ' ' ORDER BY i)
               FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.codes) = 'array' THEN r.codes
                                                   ELSE '[]'::jsonb END) WITH ORDINALITY AS c(code, i))"""


def _refusal_query(start: dt.datetime, end: dt.datetime) -> Query:
    return (f"""
        SELECT r.id AS "id", {iso("r.created_at")} AS "created_at", {safe("u.email")} AS "user",
               {safe("u.country")} AS "country", r.product_id AS "product", {safe("p.name_en")} AS "product_name",
               {safe("r.action")} AS "action", {dec("r.amount")} AS "amount", {safe(_CODES)} AS "codes",
               {safe("r.detail")} AS "detail"
          FROM compliance_refusal r
          JOIN accounts_user u ON u.id = r.user_id
          LEFT JOIN earn_product p ON p.id = r.product_id
         WHERE r.created_at >= %(start)s AND r.created_at < %(end)s
         ORDER BY r.created_at, r.id""", _window(start, end))


def _refusal_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    qs = Refusal.objects.filter(created_at__gte=start, created_at__lt=end)
    t = qs.aggregate(n=Count("id"), users=Count("user", distinct=True))
    by_code = _fetch("SELECT code, count(*) FROM compliance_refusal r, jsonb_array_elements_text(r.codes) code "
                     "WHERE r.created_at >= %(start)s AND r.created_at < %(end)s GROUP BY code "
                     "ORDER BY count(*) DESC, code", _window(start, end))
    return Summary([("Refusals", str(t["n"])), ("Customers", str(t["users"])),
                    *((f"  {code}", str(n)) for code, n in by_code)],
                   "Refusals by reason code", by_code,
                   *over_time(qs, "created_at", start, end))


# --- approvals (maker ≠ checker) ------------------------------------------------------------------------


def _approval_part(order: int, kind: str, table: str, maker: str, *, product: str, name: str, version: str) -> str:
    return f"""
        SELECT {order} AS k, '{kind}' AS "object", o.id AS "id", {product} AS "product",
               {safe(name)} AS "product_name", {version} AS "version", {safe("m.email")} AS "maker",
               {iso("o.created_at")} AS "made_at", {safe("c.email")} AS "checker",
               {iso("o.approved_at")} AS "approved_at", {safe("o.status")} AS "status", o.approved_at AS at
          FROM {table} o
          LEFT JOIN accounts_user m ON m.id = o.{maker}
          LEFT JOIN accounts_user c ON c.id = o.approved_by_id
          {"" if product == "o.id" else "LEFT JOIN earn_product p ON p.id = o.product_id"}
         WHERE o.approved_at >= %(start)s AND o.approved_at < %(end)s"""


def _approval_query(start: dt.datetime, end: dt.datetime) -> Query:
    parts = [_approval_part(1, "product", "earn_product", "drafted_by_id", product="o.id", name="o.name_en",
                            version="NULL::integer"),
             _approval_part(2, "terms", "earn_productterms", "drafted_by_id", product="o.product_id",
                            name="p.name_en", version="o.version"),
             _approval_part(3, "disclosure", "compliance_disclosure", "author_id", product="o.product_id",
                            name="p.name_en", version="o.version")]
    return (f"""
        SELECT "object", "id", "product", "product_name", "version", "maker", "made_at", "checker", "approved_at",
               "status"
          FROM ({" UNION ALL ".join(parts)}) approvals
         ORDER BY k, at, "id\"""", _window(start, end))


def _approval_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    (products, terms, disclosures), = _fetch("""
        SELECT (SELECT count(*) FROM earn_product WHERE approved_at >= %(start)s AND approved_at < %(end)s),
               (SELECT count(*) FROM earn_productterms WHERE approved_at >= %(start)s AND approved_at < %(end)s),
               (SELECT count(*) FROM compliance_disclosure WHERE approved_at >= %(start)s AND approved_at < %(end)s)
    """, _window(start, end))
    counts = [("Products", products), ("Terms versions", terms), ("Disclosure versions", disclosures)]
    return Summary([*((k, str(v)) for k, v in counts), ("Maker = checker", "0 (refused by PostgreSQL)")],
                   "Approvals by object", counts)


# --- positions by product -------------------------------------------------------------------------------

# A pool product's subscriptions are its pool deposits, its redemptions the pool withdrawals and its open
# positions the active pool positions; amounts are the leg in the product's asset (the `asset` column).
_POOL_LEG = "CASE WHEN pr.asset_id = pl.asset_b_id AND pl.asset_a_id <> pr.asset_id THEN {b} ELSE {a} END"
_POOL_JOIN = """JOIN pools_poolposition pp ON pp.id = x.position_id JOIN pools_pool pl ON pl.id = pp.pool_id
                JOIN earn_product pr ON pr.id = pp.product_id"""
_POSITION_TOTALS = f"""
    WITH subs AS (
        SELECT product_id, count(*) AS n, sum(amount) AS s FROM earn_subscription
         WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY product_id
        UNION ALL
        SELECT pp.product_id, count(*), sum({_POOL_LEG.format(a="x.amount_a", b="x.amount_b")})
          FROM pools_pooldeposit x {_POOL_JOIN}
         WHERE x.created_at >= %(start)s AND x.created_at < %(end)s GROUP BY pp.product_id),
    reds AS (
        SELECT pos.product_id, count(*) AS n, sum(x.amount) AS s
          FROM earn_redemption x JOIN earn_position pos ON pos.id = x.position_id
         WHERE x.created_at >= %(start)s AND x.created_at < %(end)s GROUP BY pos.product_id
        UNION ALL
        SELECT pp.product_id, count(*), sum({_POOL_LEG.format(a="x.amount_a", b="x.amount_b")})
          FROM pools_poolwithdrawal x {_POOL_JOIN}
         WHERE x.created_at >= %(start)s AND x.created_at < %(end)s GROUP BY pp.product_id),
    held AS (
        SELECT product_id, count(*) AS n, sum(principal) AS s FROM earn_position WHERE status = 'active'
         GROUP BY product_id
        UNION ALL
        SELECT pp.product_id, count(*), sum({_POOL_LEG.format(a="pp.cost_a", b="pp.cost_b")})
          FROM pools_poolposition pp JOIN pools_pool pl ON pl.id = pp.pool_id
          JOIN earn_product pr ON pr.id = pp.product_id
         WHERE pp.status = 'active' GROUP BY pp.product_id)
    SELECT p.id, p.name_en, p.asset_id, p.status,
           coalesce((SELECT sum(n) FROM subs WHERE subs.product_id = p.id), 0)::bigint AS subscriptions,
           coalesce((SELECT sum(s) FROM subs WHERE subs.product_id = p.id), 0) AS subscribed,
           coalesce((SELECT sum(n) FROM reds WHERE reds.product_id = p.id), 0)::bigint AS redemptions,
           coalesce((SELECT sum(s) FROM reds WHERE reds.product_id = p.id), 0) AS redeemed,
           coalesce((SELECT sum(n) FROM held WHERE held.product_id = p.id), 0)::bigint AS open_positions,
           coalesce((SELECT sum(s) FROM held WHERE held.product_id = p.id), 0) AS principal
      FROM earn_product p
     WHERE p.status <> 'draft'"""


def _position_query(start: dt.datetime, end: dt.datetime) -> Query:
    return (f"""
        SELECT t.id AS "product", {safe("t.name_en")} AS "product_name", {safe("t.asset_id")} AS "asset",
               {safe("t.status")} AS "status", t.subscriptions AS "subscriptions",
               {dec("t.subscribed")} AS "subscribed",
               t.redemptions AS "redemptions", {dec("t.redeemed")} AS "redeemed",
               t.open_positions AS "open_positions", {dec("t.principal")} AS "principal"
          FROM ({_POSITION_TOTALS}) t
         ORDER BY t.id""", _window(start, end))


def _position_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    ((products, subscriptions, redemptions, held),) = _fetch(
        f"SELECT count(*), coalesce(sum(subscriptions), 0), coalesce(sum(redemptions), 0), "
        f"coalesce(sum(open_positions), 0) FROM ({_POSITION_TOTALS}) t", _window(start, end))
    chart = _fetch(f"SELECT name_en || ' (' || asset_id || ')', open_positions FROM ({_POSITION_TOTALS}) t "
                   f"WHERE open_positions > 0 ORDER BY id LIMIT 12", _window(start, end))
    return Summary([("Products", str(products)), ("Subscriptions in period", str(subscriptions)),
                    ("Redemptions in period", str(redemptions)), ("Open positions now", str(held))],
                   "Open positions by product", [(label, n) for label, n in chart])


# --- complaints -------------------------------------------------------------------------------------------


def _complaint_query(start: dt.datetime, end: dt.datetime) -> Query:
    return (f"""
        SELECT c.id AS "id", {iso("c.received_at")} AS "received_at", {safe("u.email")} AS "user",
               c.product_id AS "product", c.position_id AS "position", {safe("c.subject")} AS "subject",
               {safe("c.status")} AS "status", {safe("o.email")} AS "owner", {iso("c.deadline_at")} AS "deadline_at",
               {iso("c.closed_at")} AS "closed_at",
               CASE WHEN coalesce(c.closed_at, %(now)s) > c.deadline_at THEN 'yes' ELSE 'no' END AS "overdue"
          FROM compliance_complaint c
          JOIN accounts_user u ON u.id = c.user_id
          LEFT JOIN accounts_user o ON o.id = c.owner_id
         WHERE c.received_at >= %(start)s AND c.received_at < %(end)s
         ORDER BY c.received_at, c.id""", _window(start, end, now=timezone.now()))


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

# Open Earn and pool positions of customers whose verified residence is now restricted (a snapshot).
_RESTRICTED = """
    SELECT 1 AS k, u.id AS user_id, u.email, u.country, u.kyc_status, 'earn' AS kind, x.id AS position,
           x.product_id, p.name_en, x.asset_id, x.principal, NULL::numeric AS shares, x.created_at,
           x.maturity_date
      FROM earn_position x JOIN accounts_user u ON u.id = x.user_id JOIN earn_product p ON p.id = x.product_id
     WHERE u.country = ANY(%(countries)s) AND x.status = 'active' AND x.principal > 0
    UNION ALL
    SELECT 2, u.id, u.email, u.country, u.kyc_status, 'pool', x.id, x.product_id, p.name_en, p.asset_id, NULL,
           x.shares, x.created_at, x.maturity_date
      FROM pools_poolposition x JOIN accounts_user u ON u.id = x.user_id JOIN earn_product p ON p.id = x.product_id
     WHERE u.country = ANY(%(countries)s) AND x.status = 'active' AND x.shares > 0"""


def _countries() -> dict[str, Any]:
    from compliance.gate import restricted_countries

    return {"countries": sorted(restricted_countries())}


def _restricted_query(start: dt.datetime, end: dt.datetime) -> Query:
    return (f"""
        SELECT h.user_id AS "user_id", {safe("h.email")} AS "user", {safe("h.country")} AS "country",
               {safe("h.kyc_status")} AS "kyc_status", h.kind AS "kind", h.position AS "position",
               h.product_id AS "product", {safe("h.name_en")} AS "product_name", {safe("h.asset_id")} AS "asset",
               {dec("h.principal")} AS "principal", {dec("h.shares")} AS "shares", {iso("h.created_at")} AS "opened_at",
               to_char(h.maturity_date, 'YYYY-MM-DD') AS "maturity_date"
          FROM ({_RESTRICTED}) h
         ORDER BY h.k, h.email, h.position""", _countries())


def _restricted_summary(start: dt.datetime, end: dt.datetime) -> Summary:
    params = _countries()
    ((customers, positions),) = _fetch(f"SELECT count(DISTINCT user_id), count(*) FROM ({_RESTRICTED}) h", params)
    by_country = _fetch(f"SELECT country, count(DISTINCT user_id) FROM ({_RESTRICTED}) h GROUP BY country "
                        f"ORDER BY country", params)
    return Summary([("Customers holding", str(customers)), ("Open positions", str(positions)),
                    ("Restricted countries", ", ".join(params["countries"]) or "-"),
                    ("Period", "ignored: holdings now")],
                   "Customers holding, by country", [(country, n) for country, n in by_country])


KINDS: dict[str, ReportKind] = {k.key: k for k in [
    ReportKind("acknowledgements", "Acknowledgements",
               ("id", "accepted_at", "user", "country", "product", "product_name", "disclosure_version", "sha256",
                "language", "ip_address", "user_agent"), _ack_query, _ack_summary),
    ReportKind("assessments", "Assessments",
               ("id", "created_at", "user", "jurisdiction", "product_kind", "score", "total", "percent", "result",
                "retake_after", "language"), _assessment_query, _assessment_summary),
    ReportKind("refusals", "Refusals",
               ("id", "created_at", "user", "country", "product", "product_name", "action", "amount", "codes",
                "detail"), _refusal_query, _refusal_summary),
    ReportKind("approvals", "Approvals (maker / checker)",
               ("object", "id", "product", "product_name", "version", "maker", "made_at", "checker", "approved_at",
                "status"), _approval_query, _approval_summary),
    ReportKind("positions", "Positions by product",
               ("product", "product_name", "asset", "status", "subscriptions", "subscribed", "redemptions",
                "redeemed", "open_positions", "principal"), _position_query, _position_summary),
    ReportKind("complaints", "Complaints",
               ("id", "received_at", "user", "product", "position", "subject", "status", "owner", "deadline_at",
                "closed_at", "overdue"), _complaint_query, _complaint_summary),
    ReportKind("restricted_holders", "Restricted-country holders (now)",
               ("user_id", "user", "country", "kyc_status", "kind", "position", "product", "product_name", "asset",
                "principal", "shares", "opened_at", "maturity_date"), _restricted_query, _restricted_summary),
]}


# --- the CSV: PostgreSQL's COPY, streamed ---------------------------------------------------------------------


def to_crlf(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """COPY ends records with LF; csv.writer (and RFC 4180) with CRLF. Line feeds inside a quoted cell stay.

    A line feed is a record end when the quotes before it are balanced ("" inside a cell counts twice).
    """
    quoted = False
    for chunk in chunks:
        if not quoted and b'"' not in chunk:
            yield chunk.replace(b"\n", b"\r\n")
            continue
        out = []
        for i, piece in enumerate(chunk.split(b"\n")):
            if i:
                out.append(b"\n" if quoted else b"\r\n")
            out.append(piece)
            if piece.count(b'"') % 2:
                quoted = not quoted
        yield b"".join(out)


class CsvCopy:
    """The report as UTF-8 CSV bytes in ~64 KiB chunks, from COPY; iterate once. `rows` is set at the end."""

    def __init__(self, kind: ReportKind, start: dt.datetime, end: dt.datetime, *,
                 chunk_bytes: int = CHUNK_BYTES) -> None:
        self.kind, self.start, self.end, self.chunk_bytes = kind, start, end, chunk_bytes
        self.rows: int | None = None

    def _raw(self) -> Iterator[bytes]:
        sql, params = self.kind.query(self.start, self.end)
        statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)"
        buffer = bytearray()
        # One COPY statement: nothing outlives it, so it streams through a transaction pooler too.
        with connections[read_alias()].cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own cursor: Django's wrapper has no copy()
            with cursor.copy(statement, params) as copy:
                for data in copy:
                    buffer += data
                    if len(buffer) >= self.chunk_bytes:
                        yield bytes(buffer)
                        buffer.clear()
            if buffer:
                yield bytes(buffer)
            self.rows = cursor.rowcount

    def __iter__(self) -> Iterator[bytes]:
        return to_crlf(self._raw())


def write_csv(kind: ReportKind, start: dt.datetime, end: dt.datetime, out: Any) -> int:
    """Write the CSV to a binary file; returns the number of data rows."""
    stream = CsvCopy(kind, start, end)
    for chunk in stream:
        out.write(chunk)
    return stream.rows or 0
