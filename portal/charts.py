"""Inline SVG charts, drawn on the server (no scripts, no external libraries). No Django imports.

Coordinates are computed with Decimal like everything else that touches amounts; the SVG only
carries presentation attributes, so the page's content security policy needs no inline styles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from html import escape

PALETTE = ("#2563eb", "#059669", "#d97706", "#7c3aed", "#dc2626", "#0891b2")
PIXEL = Decimal("0.1")


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[dt.date, Decimal]]


def _px(value: Decimal) -> str:
    return format(value.quantize(PIXEL, rounding=ROUND_HALF_EVEN), "f")


def _nice_max(value: Decimal) -> Decimal:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    base = Decimal(10) ** exponent
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= base * step:
            return base * step
    return base * 10


def _label(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def line_chart(series: Sequence[Series], *, title: str, empty_text: str, width: int = 640, height: int = 220,
               y_label: str = "") -> str:
    """One or more lines over dates, with a zero-based y axis, 4 grid lines and dated x ticks."""
    left, right, top, bottom = Decimal(64), Decimal(16), Decimal(32), Decimal(28)
    w, h = Decimal(width), Decimal(height)
    plot_w, plot_h = w - left - right, h - top - bottom
    dates = sorted({d for s in series for d, _v in s.points})
    if not dates:  # a short strip with the reason, not an empty frame
        return (f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} 48" width="100%" '
                f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><text x="{width // 2}" y="28" '
                f'text-anchor="middle" fill="#6b7280" font-size="13">{escape(empty_text)}</text></svg>')
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    top_value = _nice_max(max((v for s in series for _d, v in s.points), default=Decimal(0)))
    first, last = dates[0], dates[-1]
    span = Decimal(max((last - first).days, 1))

    def x(day: dt.date) -> Decimal:
        return left + plot_w * Decimal((day - first).days) / span

    def y(value: Decimal) -> Decimal:
        return top + plot_h - plot_h * value / top_value

    for i in range(5):
        value = top_value * i / 4
        yy = _px(y(value))
        parts.append(f'<line x1="{_px(left)}" y1="{yy}" x2="{_px(w - right)}" y2="{yy}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{_px(left - 6)}" y="{yy}" dy="4" text-anchor="end" font-size="11" '
                     f'fill="#6b7280">{escape(_label(value))}</text>')
    ticks = [first] if first == last else [first + dt.timedelta(days=(last - first).days * i // 3) for i in range(4)]
    for index, day in enumerate(dict.fromkeys(ticks)):
        anchor = "start" if index == 0 else ("end" if day == last else "middle")
        parts.append(f'<text x="{_px(x(day))}" y="{_px(h - 8)}" text-anchor="{anchor}" font-size="11" '
                     f'fill="#6b7280">{day.isoformat()}</text>')
    if y_label:
        parts.append(f'<text x="4" y="14" font-size="11" fill="#374151">{escape(y_label)}</text>')
    for index, s in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{_px(x(d))},{_px(y(v))}" for d, v in s.points)
        if len(s.points) == 1:
            d, v = s.points[0]
            parts.append(f'<circle cx="{_px(x(d))}" cy="{_px(y(v))}" r="3" fill="{colour}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        legend_x = w - right - 90 * (len(series) - index)
        parts.append(f'<rect x="{_px(legend_x)}" y="5" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{_px(legend_x + 14)}" y="14" font-size="11" fill="#374151">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def cumulative(points: Sequence[tuple[dt.date, Decimal]]) -> list[tuple[dt.date, Decimal]]:
    total = Decimal(0)
    out = []
    for day, value in sorted(points):
        total += value
        out.append((day, total))
    return out
