"""The portal's record-book import: a spreadsheet (台账) becomes signed events, signed in the browser.

    GET  /portal/import                       the page: templates to download, a file to choose, progress
    GET  /portal/import/template.{csv,xlsx}   the blank record book, ?lang=zh (Chinese headers) or en
    POST /portal/import/drafts                the file's rows as unsigned events (FarmTrace token; body: the file)

The server reads the file and drafts one unsigned event per row (trace/sheet_drafts.py, the same
function `farmtrace import` runs on the party's machine); it signs nothing and never holds a key.
The browser (static/sheet-import.js) signs each draft with the key in IndexedDB, sends them to
POST /events/batch in parts, with a progress bar, and lists every refused row by row and column, with
the rule and the reason in the page's language. A draft's `event_id` is the id its signed event must
have; the page checks it, so the server cannot have it sign anything else than what it shows.

A refused row is worded by web/sheet_problems.py, for the page and for the CLI alike.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from farmtrace.trace.errors import Forbidden, NotFound
from farmtrace.trace.model.event import Event
from farmtrace.trace.service import TraceService
from farmtrace.trace.sheet_drafts import draft_sheet
from farmtrace.trace.sheet_files import read_sheet, template_csv, template_xlsx

from ..auth import authenticate, current_party, request_token
from ..i18n import Translator
from ..render import translator, url
from ..sheet_problems import field_columns, problem_view
from ..state import app_state
from .routes import _party_view, _render

__all__ = ["ServiceLots", "router"]

router = APIRouter(prefix="/portal/import", include_in_schema=False)

_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ServiceLots:
    """trace/sheet_drafts.py's LotHistory over the service: a lot's head and the events naming it."""

    def __init__(self, service: TraceService) -> None:
        self.service = service

    def head(self, lot: str) -> str | None:
        try:
            return self.service.lot_summary(lot).head
        except NotFound:
            return None

    def events(self, lot: str) -> list[tuple[str, Event]]:
        return [
            (logged.id, logged.event)
            for logged in self.service.trace_events(lot)
            if any(r.lot == lot for r in logged.event.inputs)
            or any(o.lot == lot for o in logged.event.outputs)
        ]


@router.get("")
def import_page(request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    state = current_party(request)
    if state is None:
        return RedirectResponse(url("/portal", t, next=request.url.path), status_code=303)
    party = _party_view(app_state(request).service, state)
    templates = [
        {
            "href": f"/portal/import/template.{fmt}?lang={lang_}",
            "text": t(f"sheet.page.template_{lang_}_{fmt}"),
        }
        for lang_ in ("zh", "en")
        for fmt in ("xlsx", "csv")
    ]
    config = {"messages": {**t.catalogue("portal.", "unit."), **t.catalogue("sheet.")}}
    return _render(
        request, t, "portal/import.html", page="import", party=party, templates=templates, config=config
    )


@router.get("/template.{fmt}")
def template(fmt: str, lang: str = "zh") -> Response:
    """The blank record book (public: a farm may look before it enrolls)."""
    if fmt not in _TYPES or lang not in ("zh", "en"):
        raise NotFound("template", f"template.{fmt}?lang={lang}")
    body = template_csv(lang) if fmt == "csv" else template_xlsx(lang)
    name = f"farmtrace-{'taizhang' if lang == 'zh' else 'records'}.{fmt}"
    return Response(
        body, media_type=_TYPES[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/drafts")
async def drafts(request: Request, lang: str | None = None) -> dict[str, Any]:
    """The file's rows as unsigned events of the party the token authenticates, signed with the
    token's key; the problems of the rows refused, in the page's language. The reading and drafting
    (a second or two for 10,000 rows) run on a worker thread, not on the event loop."""
    t = translator(request, lang)
    state = authenticate(request)
    token = request_token(request) or ""
    key_id = token.split(".")[2] if token.count(".") == 4 else ""
    if key_id not in state.keys:
        raise Forbidden("the token names no key of its party")
    data = await request.body()
    return await run_in_threadpool(_drafts, app_state(request).service, t, state.id, key_id, data)


def _drafts(service: TraceService, t: Translator, party: str, key_id: str, data: bytes) -> dict[str, Any]:
    record = service.party(party)
    location = {"name": record.name_zh, "address": record.address}
    sheet = read_sheet(data)
    result = draft_sheet(sheet, party=party, key_id=key_id, location=location, history=ServiceLots(service))
    return {
        "party": party,
        "key_id": key_id,
        "rows": len(sheet.rows),
        "headers": sheet.headers,
        "ignored": list(sheet.ignored),
        "drafts": [{"row": d.row, "event_id": d.event_id, "wire": d.wire} for d in result.drafts],
        "problems": [problem_view(t, p, sheet.headers) for p in result.problems],
        "field_columns": field_columns([d.wire for d in result.drafts]),
    }
