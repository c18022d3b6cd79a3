"""The console's recalls: who has acknowledged each, with quantities, and any party's stop-sale list.

    GET /console/recalls                  the latest recalls, each with how many of the parties it
                                          reaches have acknowledged it (recall_ack, 召回确认)
    GET /console/recalls/{event_id}       one recall: every holder of what it reaches (held, on its
                                          way), acknowledged or not, the acknowledgements' notes
    GET /console/stop-sale/{party}        a party's stop-sale list (停售清单), printable (zh or en);
                                          ?fmt=csv|xlsx downloads it

Every page is the regulator's (RegulatorDep): a party reads its own list in the portal
(web/portal/notices.py). docs/recall-notices.md.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.model.ids import check_event_id, check_party_id
from farmtrace.trace.reads.recall_notices import MAX_RECALLS, recall_acks, stop_sale
from farmtrace.trace.reads.reports import recent_recalls

from ..deps import RegulatorDep, ServiceDep
from ..portal.notices import STOP_SALE_COLUMNS, stop_sale_file, stop_sale_rows
from ..render import cst_text, instructions, name, translator, unit_name, url
from .page import ConsoleRoute, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

LISTED = 50  # recalls on the list page


@router.get("/console/recalls")
def recalls_page(
    request: Request, service: ServiceDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    rows = []
    for r in recent_recalls(service.engine, service.log, limit=min(LISTED, MAX_RECALLS)):
        acks = recall_acks(service.engine, service.log, r.event_id)
        rows.append(
            {
                "event_id": r.event_id,
                "lot": r.lot,
                "product": name(r.product, t) if r.product else "",
                "reason": r.reason or "",
                "event_time": cst_text(r.event_time),
                "acked": acks.acknowledged,
                "total": len(acks.holders),
            }
        )
    return render(
        request, t, "console/recalls.html", title=t("console.recalls.title"), regulator=regulator, nav="recalls",
        rows=rows,
        missing=None,
    )  # fmt: skip


@router.get("/console/recalls/{event_id}")
def recall_acks_page(
    event_id: str, request: Request, service: ServiceDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    try:
        check_event_id(event_id)
        acks = recall_acks(service.engine, service.log, event_id)
    except (InvalidEvent, NotFound):
        return render(
            request, t, "console/recalls.html", title=t("console.recalls.title"), regulator=regulator,
            nav="recalls", rows=[], missing=event_id, status=404,
        )  # fmt: skip
    r = acks.recall
    holders = [
        {
            "party": h.party,
            "name": (h.name_en if t.lang == "en" and h.name_en else h.name_zh) or h.party,
            "lots": [
                {"lot": x.lot, "quantity": x.quantity, "on_road": x.on_road, "unit": unit_name(x.unit, t)}
                for x in h.lots
            ],
            "acks": [
                {"event_id": a.event_id, "lot": a.lot, "note": a.note, "event_time": cst_text(a.event_time)}
                for a in h.acks
            ],
            "stop_sale": url(f"/console/stop-sale/{h.party}", t),
        }
        for h in acks.holders
    ]
    return render(
        request,
        t,
        "console/recall_acks.html",
        title=t("console.recall_acks.title", lot=r.lot),
        regulator=regulator,
        nav="recalls",
        recall={
            "event_id": r.event_id,
            "lot": r.lot,
            "product": name(r.product, t) if r.product else "",
            "reason": r.reason or "",
            "instructions": instructions(r.instructions, t) if r.instructions else "",
            "event_time": cst_text(r.event_time),
        },
        holders=holders,
        acked=acks.acknowledged,
    )


@router.get("/console/stop-sale/{party}")
def stop_sale_page(
    party: str,
    request: Request,
    service: ServiceDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    fmt: str = "",
) -> Response:
    t = translator(request, lang)
    try:
        check_party_id(party)
        record = service.party(party)
    except (InvalidEvent, NotFound):
        return render(
            request, t, "console/recalls.html", title=t("console.recalls.title"), regulator=regulator,
            nav="recalls", rows=[], missing=party, status=404,
        )  # fmt: skip
    lines = stop_sale(service.engine, service.log, party)
    if fmt in ("csv", "xlsx"):
        return stop_sale_file(lines, t, fmt, party)
    holder_name = name(asdict(record), t)
    return render(
        request,
        t,
        "console/stop_sale.html",
        title=t("stopsale.title", party=holder_name),
        regulator=regulator,
        nav="recalls",
        holder_name=holder_name,
        rows=stop_sale_rows(lines, t),
        columns=[(key, zh if t.lang == "zh" else en) for key, en, zh in STOP_SALE_COLUMNS],
        files={fmt_: url(f"/console/stop-sale/{party}", t, fmt=fmt_) for fmt_ in ("csv", "xlsx")},
    )
