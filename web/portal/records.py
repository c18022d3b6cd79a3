"""What the portal's pages show, read from the ledger: grouped holdings, entry-check evidence, certificates.

group_holdings(service, holdings) -> [group]      lots made by one event stay one row ("10 bags")
shipments_view(service, lines)    -> [shipment]   incoming lines by ship event, with their evidence
entry_evidence(service, lot)      -> {certificates, inspections}   on record for a lot's lineage
                                     (合格证, 动物检疫合格证明, 肉品品质检验合格证)
certificate_view(service, id)     -> the fields of a 承诺达标合格证 (raises NotFound if not one)
qr_svg(uri)                       -> an inline SVG of the QR code of `uri` (web/labels/qr.py's matrix)
"""

from __future__ import annotations

from typing import Any

from farmtrace.trace.errors import NotFound
from farmtrace.trace.model.details import CertifyDetail, InspectDetail, QuarantineDetail, TransformDetail
from farmtrace.trace.model.event import Event
from farmtrace.trace.reads import national
from farmtrace.trace.reads.portal import Holding, Incoming
from farmtrace.trace.service import TraceService

from ..labels.qr import qr_matrix
from ..templating import badges

__all__ = ["badges", "certificate_view", "entry_evidence", "group_holdings", "qr_svg", "shipments_view"]

GROUP_AT = 3  # this many sibling lots or more are shown as one row


def group_holdings(service: TraceService, holdings: list[Holding]) -> list[dict[str, Any]]:
    """Holdings as rows: lots created by the same event, of the same product, quantity and status
    (the 10 bags of one repack) form one group; others stay alone. Order is kept (newest first)."""
    groups: dict[tuple, dict[str, Any]] = {}
    for h in holdings:
        key = (h.head, h.product.get("name_zh"), h.unit, h.held, h.status)
        g = groups.setdefault(
            key,
            {
                "lots": [],
                "product": h.product,
                "unit": h.unit,
                "held": h.held,
                "status": h.status,
                "badges": badges(h.status),
                "parent": None,
            },
        )
        g["lots"].append(h.lot)
    out = []
    for g in groups.values():
        if len(g["lots"]) < GROUP_AT:
            out += [{**g, "lots": [lot]} for lot in g["lots"]]
            continue
        parents = service.lot_summary(g["lots"][0]).parents
        g["parent"] = parents[0] if len(parents) == 1 else None
        out.append(g)
    return out


def entry_evidence(service: TraceService, lot: str) -> dict[str, list[dict[str, Any]]]:
    """The certificates and passing inspections recorded for `lot` or any lot it was made from.

    A certificate's `form` says which it is: "certify" (承诺达标合格证, printable at
    /portal/certificate/{event}), a 动物检疫合格证明's form (animal_a ... product_b), or
    "meat_quality" (a slaughter's 肉品品质检验合格证); a receipt's entry check may name any of them."""
    lineage = {n.lot for n in service.trace_graph(lot, direction="back").nodes}
    certificates: list[dict[str, Any]] = []
    inspections: list[dict[str, Any]] = []
    for event, event_id, _ in service.trace_events(lot):
        if not event.inputs or event.inputs[0].lot not in lineage:
            continue
        detail = event.detail
        if isinstance(detail, CertifyDetail):
            certificates.append(
                _certificate(event, event_id, detail.certificate_no, "certify", detail.product_name)
            )
        elif isinstance(detail, QuarantineDetail):
            name = detail.product_name or detail.species
            certificates.append(_certificate(event, event_id, detail.certificate_no, detail.form, name))
        elif isinstance(detail, TransformDetail) and detail.certificate_no is not None:  # a slaughter's
            certificates.append(_certificate(event, event_id, detail.certificate_no, "meat_quality", None))
        elif isinstance(detail, InspectDetail) and detail.result == "pass":
            inspections.append(
                {
                    "event": event_id,
                    "lot": event.inputs[0].lot,
                    "report_no": detail.report_no,
                    "analyte": detail.analyte,
                    "date": event.event_time[:10],
                }
            )
    return {"certificates": certificates, "inspections": inspections}


def shipments_view(service: TraceService, lines: list[Incoming]) -> list[dict[str, Any]]:
    """Incoming lines grouped by ship event, each line with the certificates and passing inspections
    the ledger holds for its lot (or the lots it was made from): what the entry check compares against."""
    by_event: dict[str, dict[str, Any]] = {}
    for line in lines:
        s = by_event.setdefault(
            line.ship_event,
            {
                "ship_event": line.ship_event,
                "from": line.source,
                "from_name": line.source_name,
                "lines": [],
                "certificates": [],
                "inspections": [],
            },
        )
        s["lines"].append(line)
        evidence = entry_evidence(service, line.lot)
        for c in evidence["certificates"]:
            if c not in s["certificates"]:
                s["certificates"].append(c)
        for i in evidence["inspections"]:
            if i not in s["inspections"]:
                s["inspections"].append(i)
    return list(by_event.values())


def _certificate(event: Event, event_id: str, number: str, form: str, name: str | None) -> dict[str, Any]:
    return {
        "no": number,
        "form": form,
        "lot": event.inputs[0].lot,
        "product_name": name,
        "party": event.party,
        "date": event.event_time[:10],
        "event": event_id,
    }


def certificate_view(service: TraceService, event_id: str) -> dict[str, Any]:
    """The printed fields of the certificate recorded by certify event `event_id`. Raises NotFound."""
    signed, index = service.signed_event(event_id)
    event = signed.event
    detail = event.detail
    if not isinstance(detail, CertifyDetail):
        raise NotFound("certificate", event_id)
    ref = event.inputs[0]
    lot = service.lot_summary(ref.lot)
    party = service.party(event.party)
    # The national platform's codes, from the signed records that give them (docs/national-platform.md).
    subject = party.subject_code
    tracing = national.tracing_codes(service.engine, [ref.lot]).get(ref.lot)
    return {
        "event": event_id,
        "index": index,
        "certificate_no": detail.certificate_no,
        "product_name": detail.product_name,
        "quantity": str(ref.quantity),
        "unit": ref.unit,
        "origin": detail.origin,
        "commitments": detail.commitments,
        "contact": detail.contact,
        "date": event.event_time[:10],
        "time": event.event_time,
        "party_id": event.party,
        "party_name": party.name_zh,
        "party_name_en": party.name_en,
        "subject_code": subject,
        "lot": ref.lot,
        "tracing_code": tracing,
        "gtin": lot.product.get("gtin"),
        "status": lot.status,
    }


def qr_svg(uri: str) -> str:
    """An SVG drawing of the QR code of `uri`, one path of unit squares (quiet zone included).

    Only numbers and fixed markup: safe to insert into a page unescaped.
    """
    matrix = qr_matrix(uri)
    n = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" shape-rendering="crispEdges" '
        f'class="qr" aria-hidden="true"><rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )
