"""The console's lots: look one up, and see its trace, its recall report and the recall button.

    GET /console/lots             look a lot up (?code= redirects to its page); a national platform
                                  code (追溯码, 主体码) that is no lot code lists what carries it, or
                                  redirects to the one lot that does
    GET /console/lots/{code}      the lot's trace as a graph (?direction=both|back|forward), with
                                  quantities and holders; its recall report; one-click recall

Every party, product and holder is named in the reader's language (English where registered with
one). A trace of more than MAX_GRAPH_NODES lots is listed instead of drawn.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.model.ids import check_lot_code
from farmtrace.trace.model.units import UNITS
from farmtrace.trace.reads import national
from farmtrace.trace.reads.lots import TraceGraph
from farmtrace.trace.reads.recalls import RecallReach

from ..deps import RegulatorDep, ServiceDep
from ..i18n import Translator
from ..render import cst_text, instructions, name, translator, unit_name, url
from .graph import format_svg, layout_trace
from .page import ConsoleRoute, render

__all__ = ["MAX_GRAPH_NODES", "router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_log = logging.getLogger(__name__)
MAX_GRAPH_NODES = 1500  # beyond this the page lists the lots instead of drawing them
DIRECTIONS = ("both", "back", "forward")


@router.get("/console/lots")
def lot_lookup(
    request: Request, service: ServiceDep, regulator: RegulatorDep, lang: str | None = None, code: str = ""
) -> Response:
    t = translator(request, lang)
    code = code.strip()
    match = _national_match(service, code) if code else None
    target = code if match is None else match.lots[0].code if len(match.lots) == 1 and not match.parties else ""
    if target:
        return RedirectResponse(url(f"/console/lots/{quote(target, safe='')}", t), status_code=303)
    return render(
        request,
        t,
        "console/lookup.html",
        title=t("console.lots.title"),
        regulator=regulator,
        nav="lots",
        error=None,
        match=match,
        party_names={p.id: name(asdict(service.party(p.id)), t) for p in match.parties} if match else {},
    )


def _national_match(service: ServiceDep, code: str) -> national.CodeMatch | None:
    """What carries national platform code `code`, unless `code` is a lot's own code (a lot code may
    have a national code's shape) or nothing carries it."""
    try:
        check_lot_code(code)
        service.lot_summary(code)
        return None
    except (InvalidEvent, NotFound):
        pass
    try:
        return national.find_code(service.engine, code)
    except (InvalidEvent, NotFound):
        return None


@router.get("/console/lots/{code:path}")
def lot_page(
    code: str,
    request: Request,
    service: ServiceDep,
    regulator: RegulatorDep,
    lang: str | None = None,
    direction: str = "both",
) -> Response:
    t = translator(request, lang)
    if direction not in DIRECTIONS:
        direction = "both"
    try:
        check_lot_code(code)
        lot = service.lot_summary(code)
    except (InvalidEvent, NotFound):
        return render(
            request,
            t,
            "console/lookup.html",
            status=404,
            title=t("console.lots.title"),
            regulator=regulator,
            nav="lots",
            error=t("console.lots.unknown", code=code[:40]),
        )
    trace = service.trace_graph(code, direction=direction)
    recalls = []
    if lot.status.recalled:
        try:  # the recall events on the lot or its ancestors: why, and what to do
            recalls = [
                {**asdict(r), "when": cst_text(r.time), "instructions": instructions(r.instructions, t)}
                for r in service.journey_bundle(code).recalls
            ]
        except Exception:  # a damaged ledger entry must not hide the page; the flag still shows
            _log.exception("the recalls of lot %r cannot be read", code)
    names = {p.id: name(asdict(p), t) for p in service.parties()}
    report = _named_report(service.recall_report(code), names, t)
    trace = _named_trace(trace, names, t)
    return render(
        request,
        t,
        "console/lot.html",
        title=t("console.lot.title", lot=code),
        regulator=regulator,
        nav="lots",
        lot=lot,
        code=code,
        quoted=quote(code, safe="/"),
        product_name=name(lot.product, t),
        creator=names.get(lot.created_by, lot.created_by),
        list_sep=t("console.list.sep"),
        created=cst_text(lot.created_at),
        holders=[(names.get(p, p), q) for p, q in lot.holders],
        direction=direction,
        graph=_graph(trace, code, t),
        node_count=len(trace.nodes),
        edge_count=len(trace.edges),
        origins=trace.origins,
        recalls=recalls,
        report=report,
        holders_by_lot=_holders_by_lot(report, t),
        unit=lambda u: unit_name(u, t),
        recall_target={"lot": code, "quantity": lot.quantity, "unit": lot.unit},
    )


def _named_report(report: RecallReach, names: dict[str, str], t: Translator) -> RecallReach:
    """The recall report with its parties and products named in `t`'s language."""
    return replace(
        report,
        parties=tuple(replace(p, name=names.get(p.party, p.name)) for p in report.parties),
        shipments=tuple(
            replace(
                s,
                source_name=names.get(s.source, s.source_name),
                destination_name=names.get(s.destination, s.destination_name),
            )
            for s in report.shipments
        ),
        affected_lots=tuple(
            replace(a, product=name({"name_zh": a.product, "name_en": a.product_en}, t))
            for a in report.affected_lots
        ),
    )


def _named_trace(trace: TraceGraph, names: dict[str, str], t: Translator) -> TraceGraph:
    """The trace with its parties and products named in `t`'s language."""
    nodes = tuple(
        replace(
            n,
            product=name({"name_zh": n.product, "name_en": n.product_en}, t),
            created_by_name=names.get(n.created_by, n.created_by_name),
            holders=tuple(replace(h, name=names.get(h.party, h.name)) for h in n.holders),
        )
        for n in trace.nodes
    )
    return replace(trace, nodes=nodes)


def _holders_by_lot(report: RecallReach, t: Translator) -> dict[str, list[str]]:
    """For each lot of a recall report, who holds how much of it: "name 12 kg"."""
    out: dict[str, list[str]] = {}
    for p in report.parties:
        for held in p.lots:
            out.setdefault(held.lot, []).append(
                f"{p.name or p.party} {held.quantity} {unit_name(held.unit, t)}"
            )
    return out


def _graph(trace: TraceGraph, code: str, t: Translator) -> str | None:
    """The trace drawn as SVG (web/console/graph.py), or None when it is too large to draw."""
    if len(trace.nodes) > MAX_GRAPH_NODES:
        return None
    labels = {
        "recalled": t("console.graph.recalled"),
        "failed": t("console.graph.failed"),
        "rejected": t("console.graph.rejected"),
        "selected": t("console.graph.selected"),
        # Units in the reader's words (3 头, not 3 head), as the page around the graph names them.
        **{f"unit.{u}": unit_name(u, t) for u in UNITS},
    }
    return format_svg(
        layout_trace(trace),
        labels=labels,
        href=lambda c: url(f"/console/lots/{quote(c, safe='/')}", t),
        title=t("console.graph.title", lot=code, n=len(trace.nodes)),
    )
