"""The impermanent-loss chart as SVG, built as a string (no plotting dependency): for the portal and the PDF.
Texts are translated (gettext) in the active language.

`il_chart_svg(table)` takes `pools.selectors.il_table(product, amount_usd)`: the IL curve over price ratios
0.2–5 (log scale), the table's ratios marked with their percentage and the customer's loss in USD.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from pools import amm

WIDTH, HEIGHT = 800, 380
LEFT, TOP, BOTTOM = 60, 48, 56
PLOT_RIGHT = 480  # the curve on the left, the table of the marked ratios on the right
TABLE_X = 500
X_MIN, X_MAX = 0.2, 5.0  # price ratio, log scale (display only: floats never touch money)
Y_MIN = -0.30  # IL as a fraction; 0 at the top


def _x(ratio: float) -> float:
    span = math.log(X_MAX) - math.log(X_MIN)
    return LEFT + (math.log(ratio) - math.log(X_MIN)) / span * (PLOT_RIGHT - LEFT)


def _y(il: float) -> float:
    return TOP + (il / Y_MIN) * (HEIGHT - TOP - BOTTOM)


def il_chart_svg(table: dict[str, Any], *, title: str | None = None) -> str:
    """An SVG document (UTF-8 text) of the IL curve with the table's points labelled."""
    pair = table.get("pair", "")
    amount = table.get("amount_usd")
    title = title or (_("Impermanent loss, %(pair)s — on %(amount)s USD") % {"pair": pair, "amount": amount}
                      if amount is not None else _("Impermanent loss, %(pair)s") % {"pair": pair})
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="11" '
             f'role="img" aria-label="{escape(title)}">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
             f'<text x="{WIDTH / 2:.1f}" y="22" text-anchor="middle" font-size="14" font-weight="bold" '
             f'fill="#1a1a1a">{escape(title)}</text>']
    # Grid: IL every 5 %, ratio at the table's points.
    for step in range(0, 7):
        il = -0.05 * step
        y = _y(il)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{PLOT_RIGHT}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{round(il * 100)} %</text>')
    for ratio in (0.25, 0.5, 1, 2, 3, 4, 5):  # 0.8, 1.25 and 1.5 are too close to label
        x = _x(ratio)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">×{ratio:g}</text>')
    parts.append(f'<text x="{(LEFT + PLOT_RIGHT) / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle" fill="#333">'
                 + escape(_("%(a)s price relative to %(b)s (×1 = price at deposit)")
                          % {"a": table.get("price_of", "a"), "b": table.get("in", "b")}) + "</text>")
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>')
    parts.append(f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{PLOT_RIGHT}" y2="{HEIGHT - BOTTOM}" '
                 f'stroke="#888"/>')
    # The curve, sampled on the log axis.
    points = []
    for i in range(121):
        ratio = math.exp(math.log(X_MIN) + (math.log(X_MAX) - math.log(X_MIN)) * i / 120)
        il = float(amm.impermanent_loss(Decimal(repr(ratio))))  # float-ok: SVG coordinates, not money
        points.append(f"{_x(ratio):.1f},{_y(il):.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    rows = table.get("rows", [])
    for row in rows:
        x, y = _x(float(row["ratio"])), _y(float(row["il"]))  # float-ok: SVG coordinates, not money
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#c0392b"/>')
    parts.append(f'<text x="{PLOT_RIGHT}" y="{TOP - 8}" text-anchor="end" fill="#555">'
                 f'{escape(table.get("formula", ""))}</text>')
    parts += _table(rows, personal=amount is not None)
    parts.append("</svg>")
    return "\n".join(parts)


def _table(rows: list[dict[str, Any]], *, personal: bool) -> list[str]:
    """The marked ratios as a table beside the curve: IL, the loss on the amount, the days of yield that cover it
    at the current fee + reward APR (— when the pool earns nothing)."""
    columns = [(_("Price ×"), 0, "start"), (_("IL"), 78, "end")]
    if personal:
        columns.append((_("Loss (USD)"), 168, "end"))
    columns.append((_("Break-even (days)"), 285, "end"))
    top, step = TOP + 6, 24
    parts = [f'<rect x="{TABLE_X - 10}" y="{top - 18}" width="{WIDTH - TABLE_X}" height="{step * (len(rows) + 1) + 8}" '
             f'fill="#fafafa" stroke="#e3e3e3"/>']
    for title, dx, anchor in columns:
        parts.append(f'<text x="{TABLE_X + dx}" y="{top}" text-anchor="{anchor}" font-weight="bold" '
                     f'fill="#333">{escape(title)}</text>')
    for index, row in enumerate(rows, start=1):
        y = top + index * step
        days = row.get("break_even_days")
        cells = [f'×{row["ratio"]}', f'{row["il_percent"]:.2f} %']
        if personal:
            cells.append(f'−{row["loss_usd"]}' if row.get("loss_usd") else "0.00")
        cells.append("—" if days is None else f"{days}")
        for (_title, dx, anchor), cell in zip(columns, cells, strict=True):
            parts.append(f'<text x="{TABLE_X + dx}" y="{y}" text-anchor="{anchor}" fill="#1a1a1a">'
                         f'{escape(cell)}</text>')
    return parts
