"""The price chart (web/chart.py), standalone: series from recorded prices, and the SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from farmtrace.trace.reads.reports import PriceRow
from farmtrace.web.chart import format_chart, price_series

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {
    "production": "产地价",
    "wholesale": "批发价",
    "retail": "零售价",
    "x_axis": "日期",
    "y_axis": "元/kg",
}


def row(
    day: str, stage: str, mean: str, *, unit: str = "kg", count: int = 1, low=None, high=None
) -> PriceRow:
    return PriceRow(
        day=day,
        product="宁乡包菜",
        stage=stage,
        unit=unit,
        count=count,
        min=low or mean,
        mean=mean,
        max=high or mean,
    )


def test_mass_prices_are_converted_to_per_kg_and_pooled_by_count():
    series = price_series(
        [
            row("2026-11-19", "retail", "4", unit="kg", count=3),
            row("2026-11-19", "retail", "3", unit="jin", count=1, low="2.5", high="3.5"),  # 6 per kg
            row("2026-11-19", "production", "1.2"),
            row("2026-11-20", "production", "0.0012", unit="g"),  # 1.2 per kg
        ]
    )
    assert series.unit == "kg" and series.left_out == 0
    (retail,) = series.stages["retail"]
    assert retail.day == date(2026, 11, 19) and retail.count == 4
    assert retail.mean == Decimal("4.50")  # (3 × 4 + 1 × 6) / 4
    assert (retail.low, retail.high) == (Decimal("4.00"), Decimal("7.00"))
    assert [p.mean for p in series.stages["production"]] == [Decimal("1.20"), Decimal("1.20")]


def test_prices_per_counted_unit_are_not_mixed_with_prices_per_kg():
    series = price_series(
        [row("2026-11-19", "retail", "4", count=5), row("2026-11-19", "retail", "12", unit="box", count=2)]
    )
    assert series.unit == "kg" and series.left_out == 2
    only_boxes = price_series([row("2026-11-19", "retail", "12", unit="box")])
    assert only_boxes.unit == "box" and only_boxes.stages["retail"][0].mean == Decimal("12.00")


def test_the_chart_has_a_line_per_stage_axes_and_a_legend():
    rows = []
    for d in range(1, 31):
        day = f"2026-11-{d:02d}"
        rows += [row(day, "production", "1.2"), row(day, "wholesale", "2", low="1.8", high="2.3")]
        rows += [row(day, "retail", "4.5")]
    svg = str(format_chart(price_series(rows), labels=LABELS, title="宁乡包菜"))
    root = ET.fromstring(svg)
    assert root.get("viewBox") and root.get("role") == "img" and root.get("aria-label") == "宁乡包菜"
    series = {g.get("data-stage"): g for g in root.iter(f"{SVG}g") if g.get("class") == "series"}
    assert set(series) == {"production", "wholesale", "retail"}
    lines = {stage: g.find(f"{SVG}polyline") for stage, g in series.items()}
    assert all(len(line.get("points").split()) == 30 for line in lines.values())
    # Three looks that survive grey-scale: colour, dash pattern, marker shape.
    assert len({line.get("stroke") for line in lines.values()}) == 3
    assert len({line.get("stroke-dasharray") for line in lines.values()}) == 3
    shapes = {
        stage: {child.tag for child in g if child.tag != f"{SVG}polyline" and child.tag != f"{SVG}line"}
        for stage, g in series.items()
    }
    assert len({frozenset(s) for s in shapes.values()}) == 3
    # Whiskers only where a day's prices differ.
    assert len(series["wholesale"].findall(f"{SVG}line")) == 30 and not series["retail"].findall(f"{SVG}line")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"产地价", "批发价", "零售价", "元/kg", "日期 (2026)"} <= set(texts)
    assert "11-01" in texts and "11-30" in texts  # date ticks
    assert {"0", "2", "4", "6"} <= set(texts)  # value ticks from 0 past the highest price (4.5)
    # Higher prices are drawn higher up (smaller y).
    y = {stage: float(line.get("points").split()[0].split(",")[1]) for stage, line in lines.items()}
    assert y["retail"] < y["wholesale"] < y["production"]


def test_the_chart_escapes_its_texts():
    labels = {**LABELS, "retail": "<script>alert(1)</script>"}
    svg = str(
        format_chart(
            price_series([row("2026-11-19", "retail", "4")]), labels=labels, title='"><svg onload=x>'
        )
    )
    ET.fromstring(svg)
    assert "<script" not in svg and "<svg onload" not in svg and " style=" not in svg


def test_a_single_day_and_no_data():
    one = ET.fromstring(str(format_chart(price_series([row("2026-11-19", "retail", "4")]), labels=LABELS)))
    assert [t.text for t in one.iter(f"{SVG}text") if t.get("class") == "tick"] == ["11-19"]
    empty = price_series([])
    assert empty.empty
    ET.fromstring(str(format_chart(empty, labels=LABELS, title="none")))
