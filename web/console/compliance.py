"""The console's compliance records (公共征信): every party's record at a glance, and one in full.

    GET /console/compliance               every party with the count of each kind of item, and what
                                          the public summary shows of it
    GET /console/compliance/{party_id}    the party's full record, each item with its evidence (the
                                          signed event and its ledger index, or the stored refused
                                          attempt), the public summary beside it, and the exports

What is on a record, who sees what and why is trace/compliance.py (docs/compliance-record.md); the
records are read through trace/reads/compliance.py, which reads each item from the signed log.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.audience import PUBLIC
from farmtrace.trace.compliance import CATEGORIES, ComplianceItem, ComplianceRecord, visible_record
from farmtrace.trace.model.ids import check_party_id
from farmtrace.trace.reads import compliance

from ..deps import RegulatorDep, ServiceDep
from ..i18n import Translator
from ..render import cst_text, name, translator
from .page import ConsoleRoute, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


def _public(record: ComplianceRecord) -> ComplianceRecord:
    """What the public summary shows of `record` (a regulator's, which holds every item)."""
    return visible_record(record.party, record.items, PUBLIC, log_size=record.log_size)


def _counts(record: ComplianceRecord) -> dict[str, int]:
    return {c: n for c, n in record.counts}


@router.get("/console/compliance")
def compliance_page(
    request: Request, service: ServiceDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    names = {p.id: name(asdict(p), t) for p in service.parties()}
    rows = []
    for record in compliance.compliance_book(service.engine, service.log):
        counts = _counts(record)
        rows.append(
            {
                "party": record.party,
                "name": names.get(record.party, record.party),
                "counts": counts,
                "total": sum(counts.values()),
                "public_total": sum(_counts(_public(record)).values()),
            }
        )
    rows.sort(key=lambda r: (-r["total"], r["party"]))
    return render(
        request,
        t,
        "console/compliance.html",
        title=t("console.compliance.title"),
        regulator=regulator,
        nav="compliance",
        categories=CATEGORIES,
        rows=rows,
        size=service.log.size,
    )


def _item_row(item: ComplianceItem, names: dict[str, str], t: Translator) -> dict[str, Any]:
    # A refusal's reference is "rule" or "rule (field)"; its message is the rules' English sentence,
    # so the page says what the rule means in the reader's words, as the anomalies page does.
    rule = item.reference.partition(" ")[0] if item.category == "refused" else ""
    return {
        **asdict(item),
        "rule_name": t(f"console.rule.{rule}") if t.has(f"console.rule.{rule}") else rule,
        "explained": t(f"console.rule_detail.{rule}") if t.has(f"console.rule_detail.{rule}") else None,
        "category_name": t(f"console.compliance.category.{item.category}"),
        "when": cst_text(item.at),
        "recorded_by_name": names.get(item.recorded_by, item.recorded_by),
        "on_ledger": item.on_ledger,
        "evidence": item.evidence,
    }


@router.get("/console/compliance/{party_id}")
def party_compliance_page(
    party_id: str, request: Request, service: ServiceDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    check_party_id(party_id, field="party_id")
    (record,) = compliance.compliance_book(service.engine, service.log, party=party_id)
    public = _public(record)
    names = {p.id: name(asdict(p), t) for p in service.parties()}
    shown = set(public.items)
    items = [{**_item_row(i, names, t), "public": i in shown} for i in record.items]
    return render(
        request,
        t,
        "console/compliance_party.html",
        title=t("console.compliance.party_title", name=names.get(party_id, party_id)),
        regulator=regulator,
        nav="compliance",
        party=party_id,
        categories=CATEGORIES,
        counts=_counts(record),
        public_counts=_counts(public),
        items=items,
        size=record.log_size,
    )
