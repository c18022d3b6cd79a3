"""The console's exports: a range of CST days, or one lot's whole trace, as EPCIS, CSV or XLSX.

    GET /console/exports          the forms, with presets for the last 7, 30 and 90 days
    GET /console/exports/range    ?since=&until=&fmt=  303 to /exports/events.{fmt} (the days whole, in CST)
    GET /console/exports/lot      ?code=&fmt=          303 to the lot's export; jsonld: the EPCIS
                                                       document of the whole trace, here
    GET /console/exports/flows    ?party=&since=&until=&fmt=   303 to the party's 来源/去向 record,
                                                       /exports/parties/{id}/flows.{fmt} (csv, xlsx;
                                                       docs/national-platform.md)

A bad form answers 400 (404 for an unknown lot) with the form and the reason.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from farmtrace.trace.clock import cst_day, cst_range
from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.model.ids import check_lot_code, check_party_id
from farmtrace.trace.rules import PartyState

from ..deps import ClockDep, RegulatorDep, StateDep
from ..i18n import Translator
from ..render import translator
from .page import ConsoleRoute, form_days, render

__all__ = ["EXPORT_FORMATS", "router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

EXPORT_FORMATS = ("csv", "xlsx", "jsonld")
MAX_DAYS = 366


@router.get("/console/exports")
def exports_page(request: Request, clock: ClockDep, regulator: RegulatorDep, lang: str | None = None) -> Response:
    t = translator(request, lang)
    return _exports(request, t, regulator, today=cst_day(clock()), errors=[], f={})


@router.get("/console/exports/range")
def export_range(
    request: Request,
    clock: ClockDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    since: str = "",
    until: str = "",
    fmt: str = "csv",
) -> Response:
    t = translator(request, lang)
    start, end, errors = form_days(since, until, t)
    if not errors and (start is None or end is None):
        errors.append(t("console.exports.need_range"))
    elif start and end and end < start:
        errors.append(t("console.exports.bad_order"))
    elif start and end and (end - start).days >= MAX_DAYS:
        errors.append(t("console.exports.too_long"))
    if fmt not in EXPORT_FORMATS:
        errors.append(t("console.exports.bad_format"))
    if errors:
        f = {"since": since, "until": until}
        return _exports(request, t, regulator, today=cst_day(clock()), errors=errors, f=f, status=400)
    assert start is not None and end is not None
    return RedirectResponse(_range_url(start, end, fmt, t.lang), status_code=303)


@router.get("/console/exports/lot")
def export_lot(
    request: Request,
    state: StateDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    code: str = "",
    fmt: str = "csv",
) -> Response:
    t = translator(request, lang)
    code = code.strip()
    service, today = state.service, cst_day(state.clock())
    try:
        check_lot_code(code)
        service.lot_summary(code)
    except (InvalidEvent, NotFound):
        errors = [t("console.lots.unknown", code=code[:40])]
        return _exports(request, t, regulator, today=today, errors=errors, f={"code": code}, status=404)
    if fmt not in EXPORT_FORMATS:
        errors = [t("console.exports.bad_format")]
        return _exports(request, t, regulator, today=today, errors=errors, f={"code": code}, status=400)
    if fmt == "jsonld":
        # The whole trace (back and forward), like the spreadsheets; GET /lots/{code}/epcis is the
        # public journey (the lot and its ancestors only).
        document = service.epcis(
            service.trace_events(code), created=state.clock(), base=state.settings.vocabulary_base
        )
        filename = f"farmtrace-trace-{code.replace('/', '_')}.jsonld"
        return Response(
            json.dumps(document, ensure_ascii=False).encode(),
            media_type="application/ld+json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )
    return RedirectResponse(f"/lots/{quote(code, safe='/')}/export.{fmt}?lang={t.lang}", status_code=303)


@router.get("/console/exports/flows")
def export_flows(
    request: Request,
    state: StateDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    party: str = "",
    since: str = "",
    until: str = "",
    fmt: str = "csv",
) -> Response:
    t = translator(request, lang)
    party = party.strip()
    start, end, errors = form_days(since, until, t)
    if not errors and (start is None or end is None):
        errors.append(t("console.exports.need_range"))
    elif start and end and end < start:
        errors.append(t("console.exports.bad_order"))
    elif start and end and (end - start).days >= MAX_DAYS:
        errors.append(t("console.exports.too_long"))
    if fmt not in ("csv", "xlsx"):
        errors.append(t("console.exports.bad_format"))
    status = 400
    try:
        check_party_id(party)
        state.service.party(party)
    except (InvalidEvent, NotFound):
        errors.append(t("console.exports.unknown_party", party=party[:40]))
        status = 404 if len(errors) == 1 else 400
    if errors:
        f = {"party": party, "since": since, "until": until}
        return _exports(request, t, regulator, today=cst_day(state.clock()), errors=errors, f=f, status=status)
    assert start is not None and end is not None
    first, last = cst_range(start, end)
    query = urlencode({"since": first.isoformat(), "until": last.isoformat(), "lang": t.lang})
    return RedirectResponse(f"/exports/parties/{party}/flows.{fmt}?{query}", status_code=303)


def _exports(
    request: Request,
    t: Translator,
    regulator: PartyState,
    *,
    today: date,
    errors: list[str],
    f: dict[str, Any],
    status: int = 200,
) -> Response:
    presets = []
    for days in (7, 30, 90):
        start = today - timedelta(days=days - 1)
        presets.append(
            {
                "label": t("console.exports.last_days", n=days),
                "since": start.isoformat(),
                "until": today.isoformat(),
                "links": {fmt: _range_url(start, today, fmt, t.lang) for fmt in EXPORT_FORMATS},
            }
        )
    return render(
        request,
        t,
        "console/exports.html",
        status=status,
        title=t("console.exports.title"),
        regulator=regulator,
        nav="exports",
        presets=presets,
        errors=errors,
        f={
            "since": f.get("since", (today - timedelta(days=89)).isoformat()),
            "until": f.get("until", today.isoformat()),
            "code": f.get("code", ""),
            "party": f.get("party", ""),
        },
    )


def _range_url(start: date, end: date, fmt: str, lang: str) -> str:
    """GET /exports/events.{fmt} for the CST days from `start` to `end`, both whole."""
    since, until = cst_range(start, end)
    return f"/exports/events.{fmt}?{urlencode({'since': since.isoformat(), 'until': until.isoformat(), 'lang': lang})}"
