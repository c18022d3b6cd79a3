"""The public price page, in Simplified Chinese (default) or English, laid out for a phone first.

    GET /market-prices?product=&days=   a product's prices by day at production, wholesale and
                                        retail over the last `days` CST days (7 to 90, default 30),
                                        the spread between the stages, and the chart

Everything on it comes from the signed events' prices (`TraceService.prices`, the same read as the
regulator's prices page and GET /prices): each day's mean at each stage on one footing (CNY per kg
for every mass unit, web/chart.py `price_series`), and the spreads between the stages' daily means:
wholesale − production, retail − wholesale, retail − production, in yuan and as a percentage of the
lower stage. The chart is web/chart.py's, as on the home page and the console. No script runs;
nothing is loaded from another server.

A `days` outside 7 to 90 or not a whole number is a 400 page naming the field; a product with no
recorded prices is a 404 page; both keep the picker so the reader can go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.clock import cst_day, cst_midnight

from .assets import asset_url, content_security_policy
from .chart import STAGES, Series, format_chart, price_series
from .deps import ServiceDep
from .i18n import Translator
from .render import Surface, render, translator, unit_name

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "MIN_DAYS", "Spread", "router", "spreads"]

router = APIRouter(include_in_schema=False)

MIN_DAYS, DEFAULT_DAYS, MAX_DAYS = 7, 30, 90
SURFACE = Surface(
    csp=content_security_policy(linked_styles=True),
    cache_control="public, max-age=120",  # prices of past days do not change; today's may lag two minutes
    vary="Accept-Language",
)
_PAIRS = (("production", "wholesale"), ("wholesale", "retail"), ("production", "retail"))


@dataclass(frozen=True)
class Spread:
    """One day's prices by stage (None where the stage has none that day) and the spreads between
    them: (from stage, to stage, difference, percent of the lower stage) where both have prices."""

    day: date
    means: dict[str, Decimal | None]
    gaps: tuple[tuple[str, str, Decimal, Decimal | None], ...]


def spreads(series: Series) -> list[Spread]:
    """The series' days, newest first, with each day's stage means and the spreads between them."""
    by_day: dict[date, dict[str, Decimal | None]] = {}
    for stage in STAGES:
        for p in series.stages.get(stage, []):
            by_day.setdefault(p.day, dict.fromkeys(STAGES))[stage] = p.mean
    out = []
    for day in sorted(by_day, reverse=True):
        means = by_day[day]
        gaps = []
        for lo, hi in _PAIRS:
            a, b = means[lo], means[hi]
            if a is not None and b is not None:
                pct = ((b - a) / a * 100).quantize(Decimal(1)) if a else None
                gaps.append((lo, hi, (b - a).quantize(Decimal("0.01")), pct))
        out.append(Spread(day=day, means=means, gaps=tuple(gaps)))
    return out


def _days(text: str) -> int | None:
    text = text.strip()
    if not text:
        return DEFAULT_DAYS
    if text.isascii() and text.isdigit() and len(text) <= 3 and MIN_DAYS <= int(text) <= MAX_DAYS:
        return int(text)
    return None


@router.get("/market-prices")
def price_page(
    request: Request, service: ServiceDep, lang: str | None = None, product: str = "", days: str = ""
) -> Response:
    t = translator(request, lang)
    products = service.priced_products()
    english = service.product_names_en(products) if t.lang == "en" else {}
    shown = {p: english.get(p, p) for p in products}
    window = _days(days)
    context: dict[str, Any] = {
        "products": [(p, shown[p]) for p in products],
        "product": product,
        "days": days.strip()[:4] if window is None else window,
        "day_choices": (7, 30, 90),
        "error": None,
        "chart": None,
        "rows": [],
    }
    if window is None:
        context["error"] = t("market.bad_days", value=days.strip()[:10], low=MIN_DAYS, high=MAX_DAYS)
        return _render(request, t, status=400, **context)
    if not product:
        context["product"] = product = products[0] if products else ""
    if product and product not in products:
        context["error"] = t("market.unknown", product=product[:60])
        return _render(request, t, status=404, **context)
    if product:
        today = cst_day(service.clock())
        rows = service.prices(product=product, since=cst_midnight(today - timedelta(days=window - 1)))
        series = price_series(rows)
        unit = unit_name(series.unit, t)
        title = t("market.chart_title", product=shown[product], days=window)
        if not series.empty:
            context["chart"] = format_chart(
                series,
                labels={
                    **{s: t(f"price.{s}") for s in STAGES},
                    "x_axis": t("home.prices.x_axis"),
                    "y_axis": t("home.prices.y_axis", unit=unit),
                },
                title=title,
            )
        context.update(
            title=title,
            product_name=shown[product],
            unit=unit,
            per_unit=t("home.prices.y_axis", unit=unit),
            left_out=series.left_out,
            rows=[_row(s, t) for s in spreads(series)],
        )
    return _render(request, t, **context)


def _row(s: Spread, t: Translator) -> dict[str, Any]:
    return {
        "day": s.day.isoformat(),
        "means": {stage: (str(v) if v is not None else None) for stage, v in s.means.items()},
        "gaps": [
            {
                "label": t("market.gap", low=t(f"price.{lo}"), high=t(f"price.{hi}")),
                "pair": f"{lo}-{hi}",
                "amount": f"{gap:+}",
                "percent": f"{pct:+}%" if pct is not None else "",
            }
            for lo, hi, gap, pct in s.gaps
        ],
    }


_CSS = asset_url("home.css")


def _render(request: Request, t: Translator, *, status: int = 200, **context: Any) -> Response:
    return render(request, t, "prices.html", surface=SURFACE, status=status, home_css=_CSS, **context)
