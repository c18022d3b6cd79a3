"""A holder's recall notices in the portal, its acknowledgements, and its stop-sale list.

    GET /portal/notices                     the recalls that reach what the party holds or awaits:
                                            lot, product, reason, instructions, its quantities, the
                                            recall's link, and whether it acknowledged
    GET /portal/notices/{recall_event}      one notice, with the acknowledgement form: a recall_ack
                                            (召回确认) signed in this browser with the party's key
    GET /portal/stop-sale                   its own stop-sale list (停售清单), printable (zh or en)
    GET /portal/stop-sale.{csv,xlsx}        the same list as a file

Every page is the signed-in party's own (trace/audience.py: a party sees only its own custody);
without a valid token it redirects to the sign-in page. The regulator's view of any party's list
and of who acknowledged is the console's (web/console/recall_acks.py). docs/recall-notices.md.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.ids import check_event_id
from farmtrace.trace.reads.recall_notices import PartyNotice, StopSaleLine, notices_for, stop_sale
from farmtrace.trace.service import TraceService

from ..auth import current_party
from ..i18n import Translator
from ..render import cst_text, instructions, name, translator, unit_name, url
from ..state import app_state
from .routes import _party_view, _render

__all__ = ["STOP_SALE_COLUMNS", "router", "stop_sale_file", "stop_sale_rows"]

router = APIRouter(prefix="/portal", include_in_schema=False)

# (key, English header, Chinese header): trace/exports.py's column form.
STOP_SALE_COLUMNS = (
    ("lot", "Lot", "批次号"),
    ("product", "Product", "产品"),
    ("quantity", "Quantity held", "在库数量"),
    ("on_road", "Quantity on its way", "在途数量"),
    ("unit", "Unit", "单位"),
    ("recalled_lot", "Recalled lot", "召回批次"),
    ("reason", "Reason", "召回原因"),
    ("instructions", "What to do", "处置要求"),
    ("recalled_at", "Recalled at", "召回时间"),
    ("recall_event", "Recall event ID", "召回事件编号"),
    ("acknowledged", "Acknowledged", "已确认"),
)
_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def stop_sale_rows(lines: list[StopSaleLine], t: Translator) -> list[dict[str, Any]]:
    """The stop-sale lines as rows by column key, in `t`'s language (the files' and the page's)."""
    return [
        {
            "lot": x.lot,
            "product": name(x.product, t) if x.product else "",
            "quantity": x.quantity,
            "on_road": x.on_road,
            "unit": unit_name(x.unit, t),
            "recalled_lot": x.recalled_lot,
            "reason": x.reason or "",
            "instructions": instructions(x.instructions, t) if x.instructions else "",
            "recalled_at": cst_text(x.recalled_at),
            "recall_event": x.recall_event,
            "acknowledged": t("notice.yes") if x.acknowledged else t("notice.no"),
        }
        for x in lines
    ]


def stop_sale_file(lines: list[StopSaleLine], t: Translator, fmt: str, party: str) -> Response:
    """The list as a CSV or XLSX download (`fmt`), headers in `t`'s language."""
    from farmtrace.trace.exports import write_csv, write_xlsx

    out = io.BytesIO()
    rows = stop_sale_rows(lines, t)
    if fmt == "csv":
        write_csv(rows, out, lang=t.lang, columns=STOP_SALE_COLUMNS)
    else:
        write_xlsx(
            rows, out, lang=t.lang, columns=STOP_SALE_COLUMNS, sheet="停售 Stop sale", table_name="StopSale"
        )
    disposition = f'attachment; filename="stop-sale-{party}.{fmt}"'
    return Response(out.getvalue(), media_type=_TYPES[fmt], headers={"Content-Disposition": disposition})


def _service(request: Request) -> TraceService:
    return app_state(request).service


def _signed_in(request: Request, t: Translator):
    state = current_party(request)
    if state is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return None, RedirectResponse(url("/portal", t, next=target), status_code=303)
    return state, None


def notice_view(n: PartyNotice, t: Translator) -> dict[str, Any]:
    """What a notice card shows, in `t`'s language."""
    r = n.recall
    return {
        "recall_event": r.event_id,
        "lot": r.lot,
        "product": name(r.product, t) if r.product else r.lot,
        "reason": r.reason,
        "instructions": instructions(r.instructions, t) if r.instructions else None,
        "event_time": cst_text(r.event_time),
        "lots": [
            {
                "lot": h.lot,
                "product": name(h.product, t) if h.product else "",
                "quantity": h.quantity,
                "on_road": h.on_road,
                "unit": unit_name(h.unit, t),
            }
            for h in n.lots
        ],
        "acks": [
            {"event_id": a.event_id, "lot": a.lot, "note": a.note, "event_time": cst_text(a.event_time)}
            for a in n.acks
        ],
        "acknowledged": n.acknowledged,
    }


@router.get("/notices")
def notices(request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    state, away = _signed_in(request, t)
    if away is not None:
        return away
    service = _service(request)
    found = notices_for(service.engine, service.log, state.id)
    return _render(
        request,
        t,
        "portal/notices.html",
        page="notices",
        party=_party_view(service, state),
        notices=[notice_view(n, t) for n in found],
    )


@router.get("/notices/{recall_event}")
def notice(recall_event: str, request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    state, away = _signed_in(request, t)
    if away is not None:
        return away
    service = _service(request)
    party = _party_view(service, state)
    try:
        check_event_id(recall_event)
    except InvalidEvent:
        return _render(
            request, t, "portal/missing.html", page="notices", party=party, status=404, what=recall_event
        )
    found = next(
        (n for n in notices_for(service.engine, service.log, state.id) if n.recall.event_id == recall_event),
        None,
    )
    if found is None:
        return _render(
            request, t, "portal/missing.html", page="notices", party=party, status=404, what=recall_event
        )
    return _render(
        request,
        t,
        "portal/notice.html",
        page="notices",
        party=party,
        n=notice_view(found, t),
        config={"kind": "recall_ack", "location": {"name": party["name_zh"], "address": party["address"]}},
    )


@router.get("/stop-sale")
def stop_sale_page(request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    state, away = _signed_in(request, t)
    if away is not None:
        return away
    service = _service(request)
    lines = stop_sale(service.engine, service.log, state.id)
    return _render(
        request,
        t,
        "portal/stop_sale.html",
        page="stop-sale",
        party=_party_view(service, state),
        rows=stop_sale_rows(lines, t),
        columns=[(key, zh if t.lang == "zh" else en) for key, en, zh in STOP_SALE_COLUMNS],
        files={fmt: url(f"/portal/stop-sale.{fmt}", t) for fmt in _TYPES},
    )


@router.get("/stop-sale.{fmt}")
def stop_sale_download(fmt: str, request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    state, away = _signed_in(request, t)
    if away is not None:
        return away
    if fmt not in _TYPES:
        return _render(
            request, t, "portal/missing.html", page="stop-sale", status=404, what=f"stop-sale.{fmt}"
        )
    service = _service(request)
    return stop_sale_file(stop_sale(service.engine, service.log, state.id), t, fmt, state.id)
