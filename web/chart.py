"""Prices by stage over time, drawn as a self-contained SVG line chart.

    price_series(rows) -> Series          TraceService.prices()'s rows (PriceRow) for one product, per stage
    format_chart(series, *, labels) -> Markup    the series as an <svg> element

`price_series` puts every price on one footing: mass units are converted to CNY per kg (a price
per 市斤 of 3 yuan is 6 yuan per kg), and several units recorded on one day are pooled with their
counts as weights. Prices per counted unit (piece, box, bag) cannot be compared with prices per kg;
the series keeps the unit the most prices were recorded in and counts the prices it left out.

The chart: one line per stage (production, wholesale, retail) through the daily mean, with the
day's min–max as a whisker; each stage has its own colour, dash pattern and marker shape, so the
lines stay apart in grey-scale and for colour-blind readers; axes with labelled ticks and titles;
a legend. Every text is escaped; presentation attributes only (a strict CSP blocks style
attributes). It scales to its container's width (viewBox), so it is drawn at a size whose 12 px
text stays legible on a 360 px phone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

from farmtrace.trace.model.units import MASS_UNITS
from farmtrace.trace.reads.reports import PriceRow

__all__ = ["STAGES", "Point", "Series", "format_chart", "price_series"]

STAGES = ("production", "wholesale", "retail")
W, H = 420, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 24, 46, 44
# (colour, dash pattern, marker) per stage
_LOOK = {
    "production": ("#2e7d32", "", "circle"),
    "wholesale": ("#c25400", "7 4", "square"),
    "retail": ("#1f4e99", "2 3", "triangle"),
}


@dataclass(frozen=True)
class Point:
    day: date
    mean: Decimal
    low: Decimal
    high: Decimal
    count: int


@dataclass
class Series:
    unit: str  # "kg" for every mass unit (converted), else the count unit charted
    stages: dict[str, list[Point]] = field(default_factory=dict)
    left_out: int = 0  # prices in other units, not charted

    @property
    def empty(self) -> bool:
        return not any(self.stages.values())


def price_series(rows: Iterable[PriceRow]) -> Series:
    """Group `TraceService.prices` rows (one product) into per-stage daily points; see the module doc."""
    rows = [r for r in rows if r.stage in STAGES]

    def base(unit: str) -> str:
        return "kg" if unit in MASS_UNITS else unit

    counts: dict[str, int] = {}
    for r in rows:
        counts[base(r.unit)] = counts.get(base(r.unit), 0) + r.count
    if not counts:
        return Series(unit="kg")
    unit = max(counts, key=lambda u: (counts[u], u == "kg", u))
    pooled: dict[tuple[str, str], list[tuple[Decimal, Decimal, Decimal, int]]] = {}
    left_out = 0
    for r in rows:
        if base(r.unit) != unit:
            left_out += r.count
            continue
        factor = MASS_UNITS.get(r.unit, Decimal(1))
        pooled.setdefault((r.stage, r.day), []).append(
            (Decimal(r.mean) / factor, Decimal(r.min) / factor, Decimal(r.max) / factor, r.count)
        )
    series = Series(unit=unit, left_out=left_out)
    for (stage, day), parts in sorted(pooled.items()):
        n = sum(p[3] for p in parts)
        mean = sum((p[0] * p[3] for p in parts), Decimal(0)) / n
        series.stages.setdefault(stage, []).append(
            Point(
                date.fromisoformat(day),
                mean.quantize(Decimal("0.01")),
                min(p[1] for p in parts).quantize(Decimal("0.01")),
                max(p[2] for p in parts).quantize(Decimal("0.01")),
                n,
            )
        )
    return series


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v % 1 else f"{v:.0f}"


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"/>'
    return f'<path d="M{x:.1f},{y - 4:.1f}L{x + 3.8:.1f},{y + 3:.1f}L{x - 3.8:.1f},{y + 3:.1f}z" fill="{colour}"/>'


@dataclass(frozen=True)
class _Frame:
    """Where values land: the days charted, the y axis' top and tick step, and the plot's size."""

    days: list[date]
    y_max: float
    step: float
    plot_w: float = W - LEFT - RIGHT
    plot_h: float = H - TOP - BOTTOM

    @classmethod
    def of(cls, series: Series) -> _Frame:
        """The frame of a series with at least one point."""
        days = sorted({p.day for pts in series.stages.values() for p in pts})
        values = [float(v) for pts in series.stages.values() for p in pts for v in (p.low, p.high)]
        top_value = max(values) if values else 1.0
        step = _nice_step(top_value, 4) if top_value > 0 else 1.0
        y_max = step * math.ceil(top_value / step * 1.0001) if top_value > 0 else 1.0
        return cls(days=days, y_max=y_max, step=step)

    def x_of(self, d: date) -> float:
        first, last = self.days[0], self.days[-1]
        if first == last:
            return LEFT + self.plot_w / 2
        return LEFT + self.plot_w * (d - first).days / max((last - first).days, 1)

    def y_of(self, v: float) -> float:
        return TOP + self.plot_h * (1 - v / self.y_max)


def format_chart(series: Series, *, labels: Mapping[str, str], title: str = "") -> Markup:
    """The series as an <svg> line chart (empty of lines if the series is).

    `labels`: a name per stage, "x_axis" (the year is added) and "y_axis" (e.g. "元/kg"). Date ticks
    are written MM-DD.
    """
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="price-chart" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="13" fill="#1b1f1c">',
        f"<title>{escape(title)}</title>",
    ]
    if not any(series.stages.values()):
        out.append("</svg>")
        return Markup("".join(out))
    frame = _Frame.of(series)
    out += _axes(frame, labels)
    out += _lines(frame, series)
    out += _legend(series, labels)
    return Markup("\n".join(out) + "</svg>")


def _axes(f: _Frame, labels: Mapping[str, str]) -> list[str]:
    """The grid with the y ticks, the x axis with at most 5 dates, and both axis titles."""
    out = ['<g class="y-axis" stroke="#d5ddd7" stroke-width="1">']
    v = 0.0
    while v <= f.y_max + 1e-9:
        y = f.y_of(v)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" stroke="none" fill="#4d5751">{_fmt(v)}</text>'
        )
        v += f.step
    out.append("</g>")
    # x ticks: at most 5 dates, evenly spread over the days that have prices.
    days, bottom = f.days, TOP + f.plot_h
    n_ticks = min(5, len(days))
    picks = sorted({days[round(i * (len(days) - 1) / max(n_ticks - 1, 1))] for i in range(n_ticks)})
    out.append('<g class="x-axis" fill="#4d5751">')
    out.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{W - RIGHT}" y2="{bottom}" stroke="#4d5751"/>')
    for d in picks:
        x = f.x_of(d)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#4d5751"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 17}" text-anchor="middle">{d:%m-%d}</text>')
    first, last = days[0], days[-1]
    years = f"{first:%Y}" if first.year == last.year else f"{first:%Y}–{last:%Y}"
    out.append(
        f'<text class="axis-title" x="{LEFT + f.plot_w / 2:.1f}" y="{H - 6}" text-anchor="middle" fill="#1b1f1c">'
        f"{escape(labels['x_axis'])} ({years})</text>"
    )
    out.append("</g>")
    out.append(
        f'<text class="axis-title" x="14" y="{TOP + f.plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {TOP + f.plot_h / 2:.1f})">{escape(labels["y_axis"])}</text>'
    )
    return out


def _lines(f: _Frame, series: Series) -> list[str]:
    """Each stage's whiskers (the day's min–max), line through the daily means, and markers (at
    most about 15 of them when more than 45 days are charted)."""
    out = []
    dense = len(f.days) > 45
    for stage in STAGES:
        pts = series.stages.get(stage)
        if not pts:
            continue
        colour, dash, shape = _LOOK[stage]
        out.append(f'<g class="series" data-stage="{stage}">')
        for p in pts:
            if p.low != p.high:
                x = f.x_of(p.day)
                out.append(
                    f'<line x1="{x:.1f}" y1="{f.y_of(float(p.low)):.1f}" x2="{x:.1f}" y2="{f.y_of(float(p.high)):.1f}" '
                    f'stroke="{colour}" stroke-opacity="0.45" stroke-width="1.5"/>'
                )
        coords = " ".join(f"{f.x_of(p.day):.1f},{f.y_of(float(p.mean)):.1f}" for p in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.2"{dash_attr} '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
        every = max(1, len(pts) // 15) if dense else 1
        for i, p in enumerate(pts):
            if i % every == 0 or i == len(pts) - 1:
                out.append(_marker(shape, f.x_of(p.day), f.y_of(float(p.mean)), colour))
        out.append("</g>")
    return out


def _legend(series: Series, labels: Mapping[str, str]) -> list[str]:
    """The legend above the plot: a stage without prices is shown muted."""
    out = ['<g class="legend">']
    x = LEFT
    for stage in STAGES:
        colour, dash, shape = _LOOK[stage]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        muted = "" if series.stages.get(stage) else ' opacity="0.45"'
        out.append(
            f'<g data-stage="{stage}"{muted}><line x1="{x}" y1="18" x2="{x + 26}" y2="18" stroke="{colour}" '
            f'stroke-width="2.2"{dash_attr}/>{_marker(shape, x + 13, 18, colour)}'
            f'<text x="{x + 32}" y="22">{escape(labels[stage])}</text></g>'
        )
        x += 32 + int(sum(12 if ord(c) > 0x2E80 else 7.5 for c in labels[stage])) + 18
    out.append("</g>")
    return out
