"""A statement as PDF (fpdf2, with an embedded CJK font) and as CSV, in the customer's language.

The font (statements/fonts/wqy-microhei.ttf, Apache-2.0) covers Latin and Traditional Chinese; fpdf2
embeds only the glyphs used, so Chinese product names and labels render as characters, never "?".
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

FONT = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttf"
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # its INFO lines ("glyf pruned") are noise here
FAMILY = "wqy"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (222, 226, 230)


def _kind_labels() -> dict[str, str]:
    return {
        "available": _("Available"), "earn": _("In Earn"), "accrued": _("Interest owed"),
        "pending": _("Settling"), "pool_share": _("Pool shares"),
        "deposit": _("Deposits"), "withdrawal": _("Withdrawals"), "subscription": _("Subscriptions"),
        "redemption": _("Redemptions"), "settlement": _("Settlements"), "accrual": _("Interest"),
        "interest_payout": _("Interest paid out"), "penalty": _("Penalties"), "pool_deposit": _("Pool deposits"),
        "pool_redemption": _("Pool redemptions"), "fee": _("Pool fees"), "reward": _("Rewards"),
        "transfer": _("Transfers"), "reversal": _("Corrections"),
    }


def _sections() -> list[tuple[str, str]]:
    return [("interest", _("Interest by product")), ("rewards", _("Rewards by product")),
            ("fees", _("Pool fees by product")), ("forfeits", _("Interest forfeited by product"))]


def _language(language: str) -> str:
    return "zh-hant" if (language or "").lower().startswith("zh") else "en"


def statement_rows(figures: dict[str, Any], language: str) -> list[tuple[str, str, str, str]]:
    """(asset, section, label, amount) rows in display order; the CSV's body and the PDF's tables."""
    lang = _language(language)
    with translation.override(lang):
        labels = _kind_labels()
        rows: list[tuple[str, str, str, str]] = []
        for asset in figures["assets"]:
            code = asset["asset"]
            rows.append((code, "balance", _("Opening balance"), asset["opening"]))
            rows += [(code, "opening_by_kind", labels.get(k, k), v) for k, v in asset["opening_by_kind"].items()]
            rows += [(code, "movement", labels.get(m["kind"], m["kind"]), m["amount"]) for m in asset["movements"]]
            rows.append((code, "balance", _("Closing balance"), asset["closing"]))
            rows += [(code, "closing_by_kind", labels.get(k, k), v) for k, v in asset["closing_by_kind"].items()]
            rows.append((code, "earn", _("Subscribed into Earn"), asset["into_earn"]))
            rows.append((code, "earn", _("Redeemed from Earn"), asset["out_of_earn"]))
            for section, _title in _sections():
                rows += [(code, section, line["name"].get(lang) or line["name"]["en"], line["amount"])
                         for line in asset[section]]
    return rows


CSV_HEADER = ["month", "asset", "section", "label", "amount"]


def statement_csv(figures: dict[str, Any], language: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for asset, section, label, amount in statement_rows(figures, language):
        writer.writerow([figures["month"], asset, section, label, amount])
    return out.getvalue()


def _row(pdf: FPDF, label: str, amount: str, *, bold: bool = False, indent: float = 0) -> None:
    pdf.set_font(FAMILY, size=9.5 if not bold else 10.5)
    pdf.set_text_color(*(INK if bold or not indent else MUTED))
    pdf.set_x(pdf.l_margin + indent)
    pdf.cell(110 - indent, 6, label)
    pdf.cell(0, 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")


def statement_pdf(figures: dict[str, Any], language: str) -> bytes:
    """The statement as a PDF in `language` (en or zh-hant)."""
    lang = _language(language)
    with translation.override(lang):
        labels = _kind_labels()
        pdf = FPDF(format="A4")
        pdf.set_title(_("Earn statement") + f" {figures['month']}")
        pdf.add_font(FAMILY, "", str(FONT))
        pdf.set_auto_page_break(True, margin=15)
        pdf.add_page()
        pdf.set_font(FAMILY, size=16)
        pdf.set_text_color(*INK)
        pdf.cell(0, 10, _("Earn statement") + f" · {figures['month']}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=9.5)
        pdf.set_text_color(*MUTED)
        customer = figures["customer"]
        pdf.cell(0, 6, f"{customer['name']} <{customer['email']}>".strip(), new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, _("Period (UTC): %(start)s to %(end)s") % {"start": figures["from"][:10],
                                                                    "end": figures["to"][:10]},
                 new_x="LMARGIN", new_y="NEXT")
        for asset in figures["assets"]:
            pdf.ln(3)
            pdf.set_draw_color(*RULE)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
            pdf.ln(1)
            pdf.set_font(FAMILY, size=13)
            pdf.set_text_color(*INK)
            pdf.cell(0, 8, asset["asset"], new_x="LMARGIN", new_y="NEXT")
            _row(pdf, _("Opening balance"), asset["opening"], bold=True)
            for kind, value in asset["opening_by_kind"].items():
                _row(pdf, labels.get(kind, kind), value, indent=6)
            for move in asset["movements"]:
                _row(pdf, labels.get(move["kind"], move["kind"]), move["amount"])
            _row(pdf, _("Closing balance"), asset["closing"], bold=True)
            for kind, value in asset["closing_by_kind"].items():
                _row(pdf, labels.get(kind, kind), value, indent=6)
            _row(pdf, _("Subscribed into Earn"), asset["into_earn"])
            _row(pdf, _("Redeemed from Earn"), asset["out_of_earn"])
            for section, title in _sections():
                if asset[section]:
                    _row(pdf, title, "", bold=True)
                    for line in asset[section]:
                        _row(pdf, line["name"].get(lang) or line["name"]["en"], line["amount"], indent=6)
        pdf.ln(4)
        pdf.set_font(FAMILY, size=8)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(0, 4.5, _("Opening balance plus the movements above is the closing balance. Amounts are in "
                                 "each asset's units, from the ledger at the end of the month."))
        return bytes(pdf.output())
