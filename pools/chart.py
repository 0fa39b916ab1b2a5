"""The impermanent-loss chart as SVG, built as a string (no plotting dependency): for the portal and the PDF.

`il_chart_svg(table)` takes `pools.selectors.il_table(product, amount_usd)`: the IL curve over price ratios
0.2–5 (log scale), the table's ratios marked with their percentage and the customer's loss in USD.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from pools import amm

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 44, 56
X_MIN, X_MAX = 0.2, 5.0  # price ratio, log scale (display only: floats never touch money)
Y_MIN = -0.30  # IL as a fraction; 0 at the top


def _x(ratio: float) -> float:
    span = math.log(X_MAX) - math.log(X_MIN)
    return LEFT + (math.log(ratio) - math.log(X_MIN)) / span * (WIDTH - LEFT - RIGHT)


def _y(il: float) -> float:
    return TOP + (il / Y_MIN) * (HEIGHT - TOP - BOTTOM)


def il_chart_svg(table: dict[str, Any], *, title: str | None = None) -> str:
    """An SVG document (UTF-8 text) of the IL curve with the table's points labelled."""
    pair = table.get("pair", "")
    amount = table.get("amount_usd")
    title = title or f"Impermanent loss, {pair}" + (f" — on {amount} USD" if amount is not None else "")
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
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{round(il * 100)} %</text>')
    ratios = [0.2, 0.25, 0.5, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5]
    for ratio in ratios:
        x = _x(ratio)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#f0f0f0"/>')
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">×{ratio:g}</text>')
    parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle" fill="#333">'
                 f'{escape(table.get("price_of", "a"))} price relative to {escape(table.get("in", "b"))} '
                 f'(×1 = price at deposit)</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#888"/>')
    parts.append(f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
                 f'stroke="#888"/>')
    # The curve, sampled on the log axis.
    points = []
    for i in range(121):
        ratio = math.exp(math.log(X_MIN) + (math.log(X_MAX) - math.log(X_MIN)) * i / 120)
        il = float(amm.impermanent_loss(Decimal(repr(ratio))))
        points.append(f"{_x(ratio):.1f},{_y(il):.1f}")
    parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    for index, row in enumerate(table.get("rows", [])):
        x, y = _x(float(row["ratio"])), _y(float(row["il"]))
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#c0392b"/>')
        label = f'{row["il_percent"]:.2f} %'
        if amount is not None and row.get("loss_usd"):
            label += f' (−{row["loss_usd"]} USD)'
        dy = 16 if index % 2 == 0 else 30
        anchor = "start" if float(row["ratio"]) < 1 else "end"
        parts.append(f'<text x="{x + (6 if anchor == "start" else -6):.1f}" y="{y + dy:.1f}" text-anchor="{anchor}" '
                     f'fill="#1a1a1a">{escape(label)}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{TOP - 6}" text-anchor="end" fill="#555">'
                 f'{escape(table.get("formula", ""))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
