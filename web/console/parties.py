"""The console's parties: signing in, and the registry with its pending applications.

    GET /console/signin     sign in with a key file or the key this browser already holds (open to all)
    GET /console/parties    parties and pending applications: approve, reject, suspend, revoke keys

Approving, suspending and revoking are events the regulator signs in the browser (static/console.js);
rejecting an application goes to the JSON API with a token header.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.errors import NotFound
from farmtrace.trace.reads.parties import PartySummary
from farmtrace.trace.service import TraceService

from ..deps import PartyDep, RegulatorDep, StateDep
from ..render import cst_text, name, names, translator
from .page import ConsoleRoute, next_path, private_details, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


@router.get("/console/signin")
def signin_page(request: Request, who: PartyDep, lang: str | None = None, next: str = "") -> Response:
    t = translator(request, lang)
    return render(
        request, t, "console/signin.html", title=t("console.signin.title"), who=who, next=next_path(next, t)
    )


@router.get("/console/parties")
def parties_page(
    request: Request, state: StateDep, regulator: RegulatorDep, lang: str | None = None
) -> Response:
    t = translator(request, lang)
    service, desk = state.service, state.applications
    applications = []
    for a in desk.list(status="pending"):
        record = a["record"]
        applications.append(
            {
                **a,
                "name": name(record, t) if a["kind"] == "register" else None,
                "submitted": cst_text(a["submitted_at"]),
                "existing": _party_or_none(service, a["party_id"]) if a["kind"] == "key" else None,
                "payload": json.dumps({"kind": a["kind"], "record": record}, ensure_ascii=False),
                "private": private_details(a.get("private"), t),
            }
        )
    parties = []
    for p in service.parties():
        full = service.party(p.id)
        record = asdict(full)
        parties.append(
            {
                **record,
                "name": name(record, t),
                "other_name": names(record, t)[1],
                "registered": cst_text(full.registered_at),
                "private": private_details(desk.private(p.id), t),
                "keys": [
                    {
                        **asdict(k),
                        "from": cst_text(k.active_from),
                        "revoked": cst_text(k.revoked_at) if k.revoked_at else None,
                    }
                    for k in full.keys or ()
                ],
            }
        )
    return render(
        request,
        t,
        "console/parties.html",
        title=t("console.parties.title"),
        regulator=regulator,
        nav="parties",
        applications=applications,
        parties=parties,
    )


def _party_or_none(service: TraceService, party_id: str) -> PartySummary | None:
    try:
        return service.party(party_id)
    except NotFound:
        return None
