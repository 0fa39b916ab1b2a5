"""The inline SVG chart (pure function, no Django)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal.charts import Series, cumulative, line_chart


def test_cumulative_sums_in_date_order():
    d = dt.date(2026, 3, 1)
    assert cumulative([(d + dt.timedelta(days=1), Decimal("2")), (d, Decimal("1"))]) == [
        (d, Decimal("1")), (d + dt.timedelta(days=1), Decimal("3"))]


def test_line_chart_draws_one_polyline_per_series_with_labelled_axes():
    d = dt.date(2026, 3, 1)
    points = [(d + dt.timedelta(days=i), Decimal("0.13698630") * (i + 1)) for i in range(30)]
    svg = line_chart([Series("USDT", points), Series("BTC", points[:5])], title="Interest <earned>", empty_text="-")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 2
    assert "Interest &lt;earned&gt;" in svg and "<earned>" not in svg
    assert "2026-03-01" in svg and "2026-03-30" in svg
    assert "style=" not in svg  # the content security policy allows no inline styles


def test_empty_chart_says_why():
    svg = line_chart([], title="t", empty_text="No interest yet")
    assert "No interest yet" in svg and "<polyline" not in svg
