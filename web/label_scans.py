"""Pre-printed labels on the web: their Digital Link, the scan beacon, and the console's warnings.

    GET /01/{gtin}/21/{serial}     an activated label: the consumer page of its lot, served in place,
                                   with the label's scans and any warning; not activated: a page that
                                   says so, 404 (GS1 resolver C §5.8: nothing known for this key yet),
                                   in Simplified Chinese or English; problem+json for a JSON client
    POST /labels/scan              the page's beacon after load: {"gtin", "serial"} counts a scan;
                                   {"gtin", "serial", "area": "28.2,112.6"} adds the area a person
                                   chose to share (rounded to 0.1° in the browser). 204 either way
                                   (counted or not: the rate limit is not announced); 404 for a label
                                   not activated; 400 naming the field otherwise
    GET /console/labels            regulators: the labels that warn (scanned implausibly often, or
                                   far from where the lot was sold)

Counts are off the ledger and a signal, not proof (trace/label_scans.py, docs/labels-anti-copy.md).
The page sends its beacon with `navigator.sendBeacon` after load (static/label-scan.js), so counting
never delays the page; the server keeps no address, cookie or fingerprint of the scanner.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.label_rolls import is_valid_serial
from farmtrace.trace.label_scan_book import LabelScanBook
from farmtrace.trace.label_scans import Area, LabelScanRecord, ScanWarning, parse_area, sold_areas
from farmtrace.trace.model.ids import check_gtin, gtin14
from farmtrace.trace.reads.journeys import Journey

from .console.page import ConsoleRoute
from .console.page import render as console_render
from .consumer import SURFACE, lot_page
from .deps import RegulatorDep, ServiceDep, StateDep
from .i18n import Translator
from .render import cst_minute, render, translator
from .state import AppState, app_state

__all__ = ["book_of", "label_view", "router"]

router = APIRouter(include_in_schema=False)
console_router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_BEACON_BYTES = 512  # {"gtin": 14 digits, "serial": 20 characters, "area": 12}: far below
_books: weakref.WeakKeyDictionary[AppState, LabelScanBook] = weakref.WeakKeyDictionary()


def book_of(state: AppState) -> LabelScanBook:
    """The app's one label scan book (its rate limit lives in it), made on first use."""
    book = _books.get(state)
    if book is None:
        policy = state.settings.label_scan_policy()
        book = _books.setdefault(state, LabelScanBook(state.service.engine, policy=policy, clock=state.clock))
    return book


def label_view(
    record: LabelScanRecord | None, warning: ScanWarning | None, *, gtin: str, serial: str, t: Translator
) -> dict[str, Any]:
    """What the consumer page shows of a label's scans, in `t`'s language."""
    out: dict[str, Any] = {
        "gtin": gtin,
        "serial": serial,
        "count": 0 if record is None else record.count,
        "first_at": None if record is None else cst_minute(record.first_at),
        "first_area": None if record is None or record.first_area is None else str(record.first_area),
        "warnings": [],
    }
    if warning is not None:
        if warning.often:
            out["warnings"].append(t("labelscan.warn.often", n=warning.count))
        for area, km in warning.far:
            out["warnings"].append(t("labelscan.warn.far", area=str(area), km=km))
    return out


# --- the label's Digital Link ----------------------------------------------------------------------


@router.api_route("/01/{gtin}/21/{serial}", methods=["GET", "HEAD"])
def label_link(gtin: str, serial: str, request: Request, service: ServiceDep, lang: str | None = None) -> Response:
    t = translator(request, lang)
    serial = serial.removesuffix("/")  # GS1 resolver §2.13: a trailing slash is tolerated
    try:
        check_gtin(gtin)
    except InvalidEvent as exc:
        return render(request, t, "label_inactive.html", surface=SURFACE, status=400, message=exc.message, gtin=gtin[:20], serial="")
    gtin = gtin14(gtin)
    book = book_of(app_state(request))
    bound = book.binding(gtin, serial) if is_valid_serial(serial) else None
    if bound is None:
        if _wants_json(request):
            raise NotFound("activated label", f"/01/{gtin}/21/{serial[:20]}")
        return render(
            request, t, "label_inactive.html", surface=SURFACE, status=404,
            message=t("labelscan.inactive", serial=serial[:20], gtin=gtin), gtin=gtin, serial=serial[:20],
        )  # fmt: skip

    def scans(journey: Journey) -> dict[str, Any]:
        record = book.record(gtin, serial)
        sold = sold_areas((e.event for e in journey.events if e.event is not None), bound.lot)
        return label_view(record, book.warning(record, sold), gtin=gtin, serial=serial, t=t) | {
            "activation": bound.event_id,
            "sold_known": bool(sold),
        }

    return lot_page(request, service, t, bound.lot, gtin=None, label=scans)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


# --- the beacon ------------------------------------------------------------------------------------


@router.post("/labels/scan")
async def label_scan(request: Request, state: StateDep) -> Response:
    body = await request.body()
    if len(body) > _BEACON_BYTES:
        raise InvalidEvent("body", f"a scan is at most {_BEACON_BYTES} bytes, found {len(body)}")
    try:
        said = json.loads(body)
    except ValueError as exc:
        raise InvalidEvent("body", "a scan is a JSON object {gtin, serial[, area]}") from exc
    if not isinstance(said, dict) or not set(said) <= {"gtin", "serial", "area"}:
        raise InvalidEvent("body", "a scan is a JSON object with gtin, serial and optionally area")
    gtin, serial = said.get("gtin"), said.get("serial")
    if not isinstance(gtin, str):
        raise InvalidEvent("gtin", "expected the label's GTIN as text")
    check_gtin(gtin)
    if not is_valid_serial(serial):
        raise InvalidEvent("serial", "expected the label's serial (GS1 AI 21)")
    area: Area | None = None
    if "area" in said:
        area = parse_area(said["area"]) if isinstance(said["area"], str) else parse_area(str(said["area"]))
    book_of(state).scan(gtin14(gtin), serial, area=area)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


# --- the console -----------------------------------------------------------------------------------


@console_router.get("/console/labels")
def labels_page(
    request: Request, state: StateDep, service: ServiceDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    book = book_of(state)
    cache: dict[str, tuple[Area, ...]] = {}

    def sold_of(lot: str) -> tuple[Area, ...]:
        if lot not in cache:
            try:
                journey = service.journey_bundle(lot)
                cache[lot] = sold_areas((e.event for e in journey.events if e.event is not None), lot)
            except NotFound:
                cache[lot] = ()
        return cache[lot]

    rows = [
        label_view(record, warning, gtin=record.gtin, serial=record.serial, t=t)
        | {"lot": record.lot, "sold": [str(a) for a in warning.sold]}
        for record, warning in book.flagged(sold_of)
    ]
    return console_render(
        request, t, "console/labels.html", title=t("labelscan.console.title"), regulator=regulator,
        nav="labels", rows=rows, policy=book.policy,
    )  # fmt: skip


router.include_router(console_router)  # a console page: NotRegulator is answered with the 403 page
