"""JSON routes behind the regulator's console and the parties' portal.

GET  /ledger/health                 public: size, latest checkpoint, witnesses, last audit
POST /ledger/audit                  (regulator) start a full audit; GET /ledger/audit: progress
GET  /prices                        public: recorded prices by day, product and stage
GET  /exports/events.{csv,xlsx,jsonld}?since=&until=   (regulator) a date range
GET  /lots/{code}/export.{csv,xlsx}                      (regulator) a lot's whole trace
POST /parties/applications          public: apply with a key you hold (proof of possession)
GET  /parties/applications          (regulator) pending (or ?status=all) applications
POST /parties/applications/{id}/reject   (regulator)
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from farmtrace.trace.applications import Busy
from farmtrace.trace.audience import Audience
from farmtrace.trace.clock import bounded_time
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.exports import rows, write_csv, write_xlsx
from farmtrace.web.console import health as console_health

from ..deps import AudienceDep, RegulatorDep, ServiceDep, StateDep
from ..errors import problem
from ..schemas import (
    ApplicationPublic,
    AuditStatusPublic,
    LedgerHealthPublic,
    PartyPrivatePublic,
    PriceRowPublic,
    party_private_public,
    price_row_public,
    problems,
    witness_status_public,
)
from .trace import LotCode

router = APIRouter(tags=["console"])

MAX_RANGE = timedelta(days=366)
MAX_ID = 2**63 - 1  # SQL's BIGINT (SQLite's INTEGER): a larger id cannot be stored, and is 400 before any query
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonld": "application/ld+json",
}


def _aware(name: str, t: datetime | None) -> datetime | None:
    # Aware, and in the years trace/clock.py handles (an out-of-range year once overflowed to a 500).
    return bounded_time(name, t)


@router.get("/ledger/health", response_model=LedgerHealthPublic, response_model_exclude_unset=True)
def ledger_health(state: StateDep, audience: AudienceDep) -> dict[str, Any]:
    """The latest checkpoint opened with the log's key and the trusted witnesses, and the audits."""
    h = console_health.ledger_health(state.log, witnesses=state.settings.witnesses())
    return {
        "origin": h.origin,
        "size": h.size,
        "root": h.root,
        "signed_at": h.signed_at.isoformat(timespec="seconds"),
        "checkpoint": h.checkpoint,
        "log_key": h.log_key,
        "witnesses": h.witnesses,
        "unverified_cosignatures": h.unverified,
        "witness_status": [
            witness_status_public(w)
            for w in console_health.witness_status(state.witnessing, now=state.clock())
        ],
        "audit": audit_shown(state.audit_job.status(), audience),
    }


@router.post(
    "/ledger/audit", status_code=202, response_model=AuditStatusPublic, response_model_exclude_unset=True
)
def start_audit(state: StateDep, regulator: RegulatorDep, replay: bool = False) -> dict[str, Any]:
    """Start a full audit; `?replay=true`: the replay audit (docs/replay.md)."""
    return state.audit_job.start(requested_by=regulator.id, replay=replay)


@router.get("/ledger/audit", response_model=AuditStatusPublic, response_model_exclude_unset=True)
def audit_status(state: StateDep, audience: AudienceDep) -> dict[str, Any]:
    return audit_shown(state.audit_job.status(), audience)


REGULATORS_ONLY = "details are shown to regulators"


def audit_shown(status: dict[str, Any], audience: Audience) -> dict[str, Any]:
    """The audit status as `audience` is shown it. Anyone sees whether an audit passed, how far it
    got and at which entry each failure is; only a regulator reads the failures' words, which can
    quote a projection row the replay found wrong (a holding: custody, docs/visibility.md)."""
    if audience.regulator:
        return status
    shown = {}
    for key, run in status.items():
        if run is not None and run["ok"] is False:
            failures = [{**f, "message": REGULATORS_ONLY} for f in run["failures"]]
            at = ", ".join(str(f["index"]) for f in run["failures"] if f.get("index") is not None)
            summary = f"FAILED{f' at entry {at}' if at else ''}: {REGULATORS_ONLY}"
            run = {**run, "summary": summary, "failures": failures}
        shown[key] = run
    return shown


@router.get("/prices", response_model=list[PriceRowPublic], response_model_exclude_unset=True)
def prices(
    service: ServiceDep,
    product: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PriceRowPublic]:
    found = service.prices(product=product, since=_aware("since", since), until=_aware("until", until))
    return [price_row_public(r) for r in found]


def _export(service, events, fmt: str, lang: str, filename: str, base: str = "") -> Response:
    if fmt == "jsonld":
        return JSONResponse(
            service.epcis(events, created=service.clock(), base=base),
            media_type=_MEDIA["jsonld"],
            headers={"Content-Disposition": f'attachment; filename="{filename}.jsonld"'},
        )
    lots = {r.lot for e, _, _ in events for r in e.inputs}
    data = rows(events, service.party_names(), service.lot_products(sorted(lots)))
    buf = io.BytesIO()
    (write_csv if fmt == "csv" else write_xlsx)(data, buf, lang=lang)
    return Response(
        buf.getvalue(),
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'},
    )


@router.get("/exports/events.{fmt}")
def export_range(
    fmt: Literal["csv", "xlsx", "jsonld"],
    state: StateDep,
    service: ServiceDep,
    _: RegulatorDep,
    since: datetime,
    until: datetime,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    _aware("since", since)
    _aware("until", until)
    if until <= since:
        raise InvalidEvent("until", "must be later than since")
    if until - since > MAX_RANGE:
        raise InvalidEvent("until", "a range spans at most 366 days; export in parts")
    events = service.events_between(since, until)
    name = f"farmtrace-events-{since.date().isoformat()}-{until.date().isoformat()}"
    return _export(service, events, fmt, lang, name, state.settings.vocabulary_base)


@router.get("/lots/{code:path}/export.{fmt}")
def export_trace(
    code: LotCode,
    fmt: Literal["csv", "xlsx"],
    service: ServiceDep,
    _: RegulatorDep,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    return _export(
        service, service.trace_events(code), fmt, lang, f"farmtrace-trace-{code.replace('/', '_')}"
    )


class ApplicationIn(BaseModel):
    kind: Literal["register", "key"]
    record: dict[str, Any]
    proof: str = Field(description="base64 Ed25519 signature by the applying key (see trace/applications.py)")
    private: dict[str, Any] | None = Field(
        default=None, description="{details: {...}, salt: hex}: the contact details behind contact_commitment"
    )


class PrivateIn(BaseModel):
    details: dict[str, str]
    salt: str


class RejectIn(BaseModel):
    note: str = Field(min_length=1, max_length=500)


@router.post(
    "/parties/applications",
    status_code=201,
    response_model=ApplicationPublic,
    response_model_exclude_unset=True,
    responses=problems(401, 429),
)
def apply(body: ApplicationIn, request: Request, state: StateDep, service: ServiceDep) -> Any:
    """File an application (anyone may). Too many from this address, or pending at the desk:
    429 problem+json with Retry-After (trace/applications.py)."""
    client = request.client.host if request.client else "unknown"
    try:
        return state.applications.submit(
            body.kind, body.record, body.proof, now=service.clock(), client=client, private=body.private
        )
    except Busy as exc:
        refused = problem(429, "http-429", "Too many applications", str(exc))
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused


@router.get(
    "/parties/applications", response_model=list[ApplicationPublic], response_model_exclude_unset=True
)
def list_applications(
    state: StateDep,
    _: RegulatorDep,
    status: Annotated[str, Query(pattern="^(pending|approved|rejected|all)$")] = "pending",
) -> list[dict[str, Any]]:
    return state.applications.list(status=None if status == "all" else status)


@router.post(
    "/parties/applications/{application_id}/reject",
    response_model=ApplicationPublic,
    response_model_exclude_unset=True,
)
def reject_application(
    application_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: RejectIn,
    state: StateDep,
    service: ServiceDep,
    regulator: RegulatorDep,
) -> dict[str, Any]:
    return state.applications.reject(
        application_id, by=regulator.id, note=body.note, now=service.clock()
    )


@router.get(
    "/parties/{party_id}/private", response_model=PartyPrivatePublic, response_model_exclude_unset=True
)
def party_private(
    party_id: Annotated[str, Path(max_length=32)], state: StateDep, service: ServiceDep, _: RegulatorDep
) -> PartyPrivatePublic:
    """(regulator) The party's full details: the public record plus the contact details the desk keeps."""
    return party_private_public(service.party(party_id), state.applications.private(party_id))


@router.put("/parties/{party_id}/private", status_code=204)
def put_party_private(
    party_id: Annotated[str, Path(max_length=32)], body: PrivateIn, state: StateDep, _: RegulatorDep
) -> Response:
    """(regulator) Keep a party's contact details; they must match the commitment on the ledger."""
    state.applications.store_private(party_id, body.details, body.salt)
    return Response(status_code=204)
