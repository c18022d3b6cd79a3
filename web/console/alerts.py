"""The console's alerts: accepted events that look wrong, with their evidence, and the cold-chain
thresholds a regulator sets.

    GET /console/alerts       alerts (price, temperature, humidity), filtered by signal and CST days;
                              each names the event (a link to its signed record), the lot, the party,
                              and why: the baseline and threshold, or the rule and the readings
    GET /console/thresholds   the thresholds in force, every earlier version (who set it, when), and
                              a form that sets a new version (static/thresholds.js posts it to
                              POST /alerts/thresholds with the regulator's token)

Alerts are signals, kept apart from refusals (the anomalies page): nothing here blocks a capture.
`alerts_of(state)` is the app's one `trace.alerts.Alerts`, shared with the JSON routes.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.alerts import SIGNALS, Alert, Alerts, ColdChainEvidence
from farmtrace.trace.clock import cst_range
from farmtrace.trace.cold_chain import DEFAULT_SETTER, MEASURES, ThresholdVersion

from ..deps import RegulatorDep, ServiceDep, StateDep
from ..i18n import Translator
from ..render import cst_minute, cst_text, name, translator, unit_name
from ..state import AppState
from .page import ConsoleRoute, form_days, render

__all__ = ["ALERT_LIMIT", "alerts_of", "router", "threshold_text"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

ALERT_LIMIT = 300


def alerts_of(state: AppState) -> Alerts:
    """The app's alerts: its log, its tables, its price-watch settings."""
    return Alerts.of(state.log, state.service.engine, watch=state.settings.price_watch())


def _bound(value: str | None, t: Translator, unit: str) -> str:
    return f"{value} {unit}" if value is not None else t("alerts.rule.open")


def threshold_text(v: ThresholdVersion, t: Translator) -> str:
    """A threshold in the reader's words: "2 °C – 8 °C, 30 min" (an open end says so)."""
    th = v.threshold
    unit = t(f"alerts.unit.{th.measure}")
    low = str(th.low) if th.low is not None else None
    high = str(th.high) if th.high is not None else None
    text = t("alerts.rule.range", low=_bound(low, t, unit), high=_bound(high, t, unit))
    return text + (t("alerts.rule.minutes", minutes=th.minutes) if th.minutes else "")


def _evidence(a: Alert, t: Translator) -> list[str]:
    """Why the alert was raised, one sentence a line."""
    e = a.evidence
    if isinstance(e, ColdChainEvidence):
        unit = t(f"alerts.unit.{e.measure}")
        return [
            t("alerts.cold.reading", value=e.worst_value, unit=unit, time=cst_text(e.worst_time)),
            t(
                "alerts.cold.spell",
                n=e.readings,
                first=cst_text(e.first_time),
                last=cst_text(e.last_time),
                minutes=e.lasted,
            ),
            t(
                "alerts.cold.rule_default" if e.set_by == DEFAULT_SETTER else "alerts.cold.rule",
                id=e.rule_id,
                category=e.category,
                low=_bound(e.low, t, unit),
                high=_bound(e.high, t, unit),
                minutes=e.minutes,
                set_by=e.set_by,
                set_at=cst_text(e.set_at),
            ),
        ]
    unit = unit_name(e.unit, t)
    return [
        t("alerts.price.amount", amount=e.amount, unit=unit, stage=t(f"price.{e.stage}")),
        t(
            "alerts.price.baseline",
            n=e.count,
            since=e.since_day,
            until=e.until_day,
            median=e.median,
            mad=e.mad,
            unit=unit,
        ),
        t("alerts.price.score", score=e.score, scale=e.scale, threshold=e.threshold),
    ]


@router.get("/console/alerts")
def alerts_page(
    request: Request,
    state: StateDep,
    service: ServiceDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    signal: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    t = translator(request, lang)
    start, end, errors = form_days(since, until, t)
    signal = signal if signal in SIGNALS else ""
    since_at, until_at = cst_range(start, end)
    found = alerts_of(state).list(signal=signal or None, since=since_at, until=until_at, limit=ALERT_LIMIT)
    names = {p.id: name(asdict(p), t) for p in service.parties()}
    rows = [
        {
            "event_id": a.event_id,
            "signal": a.signal,
            "signal_name": t(f"alerts.signal.{a.signal}"),
            "when": cst_minute(a.at),
            "party": a.party,
            "party_name": names.get(a.party, a.party),
            "lot": a.lot,
            "product": a.product,
            "value": a.value,
            "unit": unit_name(a.unit, t) if a.signal == "price" else t(f"alerts.unit.{a.signal}"),
            "evidence": _evidence(a, t),
        }
        for a in found
    ]
    return render(
        request,
        t,
        "console/alerts.html",
        status=400 if errors else 200,
        title=t("alerts.title"),
        regulator=regulator,
        nav="alerts",
        rows=rows,
        signals=[(s, t(f"alerts.signal.{s}")) for s in SIGNALS],
        f={"signal": signal, "since": since if start else "", "until": until if end else ""},
        errors=errors,
        limit=ALERT_LIMIT,
        watch=state.settings.price_watch(),
    )


def _version_row(v: ThresholdVersion, t: Translator) -> dict[str, Any]:
    return {
        "id": v.id,
        "category": v.threshold.category,
        "measure": v.threshold.measure,
        "measure_name": t(f"alerts.signal.{v.threshold.measure}"),
        "range": threshold_text(v, t),
        "set_by": t("alerts.thresholds.default") if v.set_by == DEFAULT_SETTER else v.set_by,
        "set_at": "" if v.set_by == DEFAULT_SETTER else cst_text(v.set_at),
    }


@router.get("/console/thresholds")
def thresholds_page(
    request: Request, state: StateDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    alerts = alerts_of(state)
    return render(
        request,
        t,
        "console/thresholds.html",
        title=t("alerts.thresholds.title"),
        regulator=regulator,
        nav="thresholds",
        current=[_version_row(v, t) for v in alerts.thresholds(state.clock())],
        history=[_version_row(v, t) for v in reversed(alerts.history())],
        measures=[(m, t(f"alerts.signal.{m}")) for m in MEASURES],
        saved=request.query_params.get("saved") == "1",
        messages=t.catalogue("alerts.js."),
    )
