"""The console's reports: refused attempts (anomalies) and prices by stage.

    GET /console/anomalies    refused attempts, filtered by rule, party and a range of CST days
    GET /console/prices       prices by stage for a product over a range of CST days, as a chart

A malformed date answers 400 with the form and the reason; the days picked are whole CST days.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.clock import cst_range
from farmtrace.trace.rules import RULES

from ..chart import STAGES, format_chart, price_series
from ..deps import RegulatorDep, ServiceDep
from ..render import cst_text, name, translator, unit_name
from .page import ConsoleRoute, form_days, kind_name, render

__all__ = ["ANOMALY_LIMIT", "router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

ANOMALY_LIMIT = 200


@router.get("/console/anomalies")
def anomalies_page(
    request: Request,
    service: ServiceDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    rule: str = "",
    party: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    t = translator(request, lang)
    start, end, errors = form_days(since, until, t)
    rule = rule if rule in RULES else ""
    parties = service.parties()
    party = party if any(p.id == party for p in parties) else ""
    since_at, until_at = cst_range(start, end)  # the days the regulator picked, whole, in CST
    rows = service.anomalies(
        rule=rule or None, party=party or None, since=since_at, until=until_at, limit=ANOMALY_LIMIT
    )
    names = {p.id: name(asdict(p), t) for p in parties}
    shown = [
        {
            **asdict(a),
            "when": cst_text(a.at),
            "party_name": names.get(a.party, a.party),
            "rule_name": t(f"console.rule.{a.rule}") if t.has(f"console.rule.{a.rule}") else a.rule,
            # What the refusal means, in the reader's words; the raw message stays as evidence.
            "explained": t(f"console.rule_detail.{a.rule}")
            if t.has(f"console.rule_detail.{a.rule}")
            else None,
            "kind_name": kind_name(a.kind, t),
        }
        for a in rows
    ]
    return render(
        request,
        t,
        "console/anomalies.html",
        status=400 if errors else 200,
        title=t("console.anomalies.title"),
        regulator=regulator,
        nav="anomalies",
        rows=shown,
        rules=[(r, t(f"console.rule.{r}")) for r in RULES],
        parties=sorted(((p.id, names[p.id]) for p in parties), key=lambda x: x[1]),
        f={"rule": rule, "party": party, "since": since if start else "", "until": until if end else ""},
        errors=errors,
        limit=ANOMALY_LIMIT,
    )


@router.get("/console/prices")
def prices_page(
    request: Request,
    service: ServiceDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    product: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    t = translator(request, lang)
    start, end, errors = form_days(since, until, t)
    products = service.priced_products()
    if product not in products:
        product = products[0] if products else ""
    # Prices are kept by the product's Chinese name (the picker's value); shown in the reader's.
    english = service.product_names_en(products) if t.lang == "en" else {}
    shown = {p: english.get(p, p) for p in products}
    series = None
    chart = None
    if product:
        since_at, until_at = cst_range(start, end)
        rows = service.prices(product=product, since=since_at, until=until_at)
        series = price_series(rows)
        unit_words = (
            t("console.prices.per_kg")
            if series.unit == "kg"
            else t("console.prices.per_unit", unit=unit_name(series.unit, t))
        )
        chart = format_chart(
            series,
            labels={
                **{s: t(f"price.{s}") for s in STAGES},
                "x_axis": t("console.prices.x_axis"),
                "y_axis": unit_words,
            },
            title=t("console.prices.chart_title", product=shown[product]),
        )
    table = []
    if series is not None:
        for stage in STAGES:
            for p in series.stages.get(stage, []):
                table.append({"stage": t(f"price.{stage}"), **p.__dict__})
        table.sort(key=lambda r: (r["day"], r["stage"]))
    return render(
        request,
        t,
        "console/prices.html",
        status=400 if errors else 200,
        title=t("console.prices.title"),
        regulator=regulator,
        nav="prices",
        products=[(p, shown[p]) for p in products],
        product=product,
        product_name=shown.get(product, product),
        series=series,
        chart=chart,
        table=table,
        f={"since": since if start else "", "until": until if end else ""},
        errors=errors,
    )
