"""The PDF summary of a compliance report: totals and a bar chart drawn with fpdf2's own primitives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fpdf import FPDF

from compliance.reports import ReportKind, Summary
from core.dates import day_end

INK = (33, 37, 41)
MUTED = (108, 117, 125)
BAR = (31, 119, 180)
RULE = (222, 226, 230)


def _latin(text: Any) -> str:
    """Core PDF fonts are Latin-1; anything else (e.g. Chinese names) is shown as '?'. The CSV keeps it all."""
    return str(text).replace("\u2013", "-").replace("\u2014", "-").replace("\u2260", "!=").encode(
        "latin-1", "replace").decode("latin-1")


def _bar_chart(pdf: FPDF, title: str, data: list[tuple[str, int]]) -> None:
    pdf.set_font("Helvetica", "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, _latin(title), new_x="LMARGIN", new_y="NEXT")
    if not data:
        pdf.set_font("Helvetica", "I", 10)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 7, "No data in this period.", new_x="LMARGIN", new_y="NEXT")
        return
    label_w, value_w, row_h = 62.0, 18.0, 7.0
    left = pdf.l_margin
    bar_max = pdf.w - pdf.l_margin - pdf.r_margin - label_w - value_w
    top = pdf.get_y() + 2
    peak = max(v for _label, v in data) or 1
    pdf.set_font("Helvetica", "", 9)
    for i, (label, value) in enumerate(data):
        y = top + i * row_h
        pdf.set_text_color(*INK)
        pdf.set_xy(left, y)
        pdf.cell(label_w - 2, row_h - 1, _latin(label)[:38], align="R")
        width = max(bar_max * value / peak, 0.6)
        pdf.set_fill_color(*BAR)
        pdf.rect(left + label_w, y + 1, width, row_h - 3, style="F")
        pdf.set_xy(left + label_w + width + 1.5, y)
        pdf.cell(value_w, row_h - 1, f"{value:,.0f}")
    axis_bottom = top + len(data) * row_h
    pdf.set_draw_color(*MUTED)
    pdf.line(left + label_w, top, left + label_w, axis_bottom)
    pdf.set_y(axis_bottom + 4)


def _buckets(bucket: str, start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """First day of each day / ISO week / month of [start, end), as PostgreSQL's date_trunc names them."""
    first, last = start.astimezone(dt.UTC).date(), (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    if bucket == "week":
        first -= dt.timedelta(days=first.weekday())
    elif bucket == "month":
        first = first.replace(day=1)
    out = []
    try:
        while first <= last:
            out.append(first)
            if bucket == "day":
                first += dt.timedelta(days=1)
            elif bucket == "week":
                first += dt.timedelta(weeks=1)
            else:
                first = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    except OverflowError:  # the bucket after December 9999
        pass
    return out


MAX_COLUMNS = 400


def _bucket_count(bucket: str, start: dt.datetime, end: dt.datetime) -> int:
    days = (end - start).days
    return days if bucket == "day" else days // 7 if bucket == "week" else days // 28


def _columns(pdf: FPDF, summary: Summary, start: dt.datetime, end: dt.datetime) -> None:
    """Counts over the period as columns, every bucket of the period shown (empty ones as zero)."""
    counts = dict(summary.over_time)
    if counts and _bucket_count(summary.bucket, start, end) > MAX_COLUMNS:
        # A period of centuries: chart only the span that holds data (its empty buckets still shown as zero).
        start = max(start, dt.datetime.combine(min(counts), dt.time.min, tzinfo=dt.UTC))
        end = min(end, day_end(max(counts)))
    series = [(b, counts.get(b, 0)) for b in _buckets(summary.bucket, start, end)]
    pdf.set_font("Helvetica", "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, f"Per {summary.bucket}", new_x="LMARGIN", new_y="NEXT")
    if not series or not any(n for _d, n in series):
        pdf.set_font("Helvetica", "I", 10)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 7, "No data in this period.", new_x="LMARGIN", new_y="NEXT")
        return
    left, width, height = pdf.l_margin + 10, pdf.w - pdf.l_margin - pdf.r_margin - 10, 40.0
    top = pdf.get_y() + 2
    peak = max(n for _d, n in series)
    step = width / len(series)
    pdf.set_fill_color(*BAR)
    for i, (_day, n) in enumerate(series):
        h = height * n / peak
        if h:
            pdf.rect(left + i * step + step * 0.1, top + height - h, max(step * 0.8, 0.3), h, style="F")
    pdf.set_draw_color(*MUTED)
    pdf.line(left, top + height, left + width, top + height)
    pdf.line(left, top, left, top + height)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(pdf.l_margin, top - 1)
    pdf.cell(9, 4, f"{peak:,}", align="R")
    pdf.set_xy(pdf.l_margin, top + height - 3)
    pdf.cell(9, 4, "0", align="R")
    pdf.set_xy(left, top + height + 1)
    pdf.cell(width / 2, 4, series[0][0].isoformat())
    pdf.cell(width / 2, 4, series[-1][0].isoformat(), align="R")
    pdf.set_y(top + height + 8)


def summary_pdf(kind: ReportKind, summary: Summary, *, start: dt.datetime, end: dt.datetime, actor: str,
                generated_at: dt.datetime, audit_sequence: int | None, audit_hash: str | None) -> bytes:
    """Render one report's summary: title, period, totals table, chart, and the export's audit reference."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"{kind.title} - compliance report")
    pdf.set_author("Earn compliance")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_text_color(*INK)
    pdf.cell(0, 11, _latin(f"{kind.title}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*MUTED)
    last_day = (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
    period = f"Period: {start.astimezone(dt.UTC):%Y-%m-%d %H:%M} to {last_day:%Y-%m-%d %H:%M:%S} UTC"
    pdf.cell(0, 6, period, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, _latin(f"Exported {generated_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC by {actor}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_draw_color(*RULE)
    pdf.set_font("Helvetica", "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, "Totals", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in summary.totals:
        pdf.cell(80, 7, _latin(label), border="B")
        pdf.cell(0, 7, _latin(value), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _bar_chart(pdf, summary.chart_title, summary.chart)
    if summary.over_time:
        pdf.ln(2)
        _columns(pdf, summary, start, end)
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*MUTED)
    # The event is chained (its hash set) after the export's transaction commits: name it by number,
    # and by hash when it already has one.
    reference = (f"This export is audit event #{audit_sequence}"
                 + (f" (sha256 {audit_hash[:16]}...)" if audit_hash else "") + ". " if audit_sequence else "")
    pdf.multi_cell(0, 4.5, _latin(reference + "Row-level detail: the CSV export of the same report and period. "
                                  "Records are retained as set out in docs/COMPLIANCE.md; nothing is deleted."))
    return bytes(pdf.output())
