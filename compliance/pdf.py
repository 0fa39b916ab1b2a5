"""The PDF summary of a compliance report: totals and a bar chart drawn with fpdf2's own primitives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fpdf import FPDF

from compliance.reports import ReportKind, Summary

INK = (33, 37, 41)
MUTED = (108, 117, 125)
BAR = (31, 119, 180)
RULE = (222, 226, 230)


def _latin(text: Any) -> str:
    """Core PDF fonts are Latin-1; anything else (e.g. Chinese names) is shown as '?'. The CSV keeps it all."""
    return str(text).replace("\u2013", "-").replace("\u2014", "-").replace("\u2260", "!=").encode(
        "latin-1", "replace").decode("latin-1")


def _bar_chart(pdf: FPDF, title: str, data: list[tuple[str, float]]) -> None:
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
    peak = max(v for _label, v in data) or 1.0
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
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*MUTED)
    reference = (f"This export is audit event #{audit_sequence} (sha256 {audit_hash[:16]}...). "
                 if audit_sequence else "")
    pdf.multi_cell(0, 4.5, _latin(reference + "Row-level detail: the CSV export of the same report and period. "
                                  "Records are retained as set out in docs/COMPLIANCE.md; nothing is deleted."))
    return bytes(pdf.output())
