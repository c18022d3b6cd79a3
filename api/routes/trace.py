"""The domain's HTTP interface: signed events in; lots, traces, recalls, parties and anomalies out.

    POST /events                    record one signed event        {"entry": base64(ledger entry)}
    POST /events/batch              record many (group-committed)  {"entries": [base64, …]}
    GET  /events/{id}               a recorded event, its entry and ledger position
    GET  /events/{id}/epcis         the event as an EPCIS 2.0 document
    GET  /events/{id}/proof.tlog-proof  offline proof of the event's entry (C2SP tlog-proof; a receipt's too)
    GET  /lots/{code}               a lot's public state and its events
    GET  /lots/{code}/trace         lineage graph: ?direction=back|forward|both
    GET  /lots/{code}/journey       everything a browser needs to verify the lot on its own
    GET  /lots/{code}/epcis         the lot's trace as an EPCIS 2.0 document
    GET  /lots/{code}/recall        (regulator) everything a recall of the lot reaches
    GET  /parties, /parties/{id}    public party information
    GET  /anomalies                 (regulator) refused attempts, filterable

Regulator-only routes take `Authorization: FarmTrace <token>` (see trace/auth.py).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import unquote

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from farmtrace.ledger.entry_bundles import check_entry_size
from farmtrace.ledger.errors import EntryTooLargeError
from farmtrace.ledger.tlog_proof import MEDIA_TYPE as TLOG_PROOF_TYPE
from farmtrace.ledger.tlog_proof import format_tlog_proof, prove_entry
from farmtrace.trace.audience import CUSTODY_ONLY, sees_epcis_event
from farmtrace.trace.clock import bounded_time
from farmtrace.trace.errors import Forbidden, InvalidEvent, NotFound, TraceError
from farmtrace.trace.model.encoding import decode_entry
from farmtrace.trace.model.ids import check_lot_code
from farmtrace.trace.model.kinds import NON_EPCIS_KINDS
from farmtrace.trace.service import Receipt

from ..deps import AudienceDep, ClockDep, RegulatorDep, ServiceDep
from ..errors import problem, problem_body
from ..schemas import (
    AnomalyPublic,
    BatchPublic,
    EventPublic,
    JourneyPublic,
    LotPublic,
    PartyPublic,
    RecallReportPublic,
    ReceiptPublic,
    TraceGraphPublic,
    anomaly_public,
    journey_public,
    lot_public,
    party_public,
    problems,
    recall_report_public,
    trace_graph_public,
)

router = APIRouter(tags=["trace"])


def lot_code(request: Request, code: Annotated[str, Path(max_length=200)]) -> str:
    """The `{code}` of a /lots/{code:path}… route, checked: InvalidEvent (400) naming "code" if it is
    not a lot code (`ids.check_lot_code`).

    Routes match the percent-decoded path, so /lots/X%2Fjourney would reach lot X's journey. A
    route's own words after the code must be spelled out in the raw path; when one holds %2F, the
    request names the lot "X/journey" (which no lot code can be: it is refused, or not found).
    """
    route = request.scope.get("route")
    suffix = getattr(route, "path_format", "").partition("{code}")[2]
    raw = request.scope.get("raw_path")
    if suffix and raw is not None:
        path = raw.decode("latin-1")
        if "%2f" in "".join(path.rsplit("/", suffix.count("/"))[1:]).lower():
            whole = unquote(path.partition("/lots/")[2])
            check_lot_code(whole, field="code")
            raise NotFound("lot", whole)
    check_lot_code(code, field="code")
    return code


LotCode = Annotated[str, Depends(lot_code)]
EventId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
MAX_BATCH = 5000


class EntryIn(BaseModel):
    entry: str = Field(
        description="base64 of the ledger entry: farmtrace/entry/v1, canonical event, signature"
    )


class BatchIn(BaseModel):
    # Counted in the route, not here: a longer list is 413 (too large), not a malformed request.
    entries: list[str] = Field(description=f"at most {MAX_BATCH} entries (more: 413)")


def _b64(s: str, field: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEvent(field, "expected standard base64") from exc


def receipt_json(r: Receipt, encoded: dict[bytes, str] | None = None) -> dict[str, Any]:
    """A receipt as JSON types. `encoded` remembers the base64 of hashes across the receipts of one
    batch: the proofs of nearby entries share most of their hashes."""
    if encoded is None:
        encoded = {}

    def b64(h: bytes) -> str:
        text = encoded.get(h)
        if text is None:
            text = encoded[h] = base64.b64encode(h).decode()
        return text

    return {
        "event_id": r.event_id,
        "index": r.index,
        "leaf_hash": b64(r.leaf_hash),
        "size": r.size,
        "checkpoint": r.checkpoint,
        "proof": [b64(h) for h in r.proof],
        "duplicate": r.duplicate,
    }


@router.post(
    "/events",
    status_code=201,
    response_model=ReceiptPublic,
    responses={
        200: {"description": "already recorded (idempotent)", "model": ReceiptPublic},
        **problems(401, 409, 413, 422, 503),
    },
)
def record_event(body: EntryIn, service: ServiceDep) -> JSONResponse:
    """Record one signed event. 201 with its receipt; 200 with the same receipt if it was already recorded."""
    entry = _b64(body.entry, "entry")
    check_entry_size(entry, field="entry")  # 413 before anything is decoded or stored
    receipt = service.record(entry)
    return JSONResponse(receipt_json(receipt), status_code=200 if receipt.duplicate else 201)


@router.post("/events/batch", response_model=BatchPublic, responses=problems(409, 413, 503))
def record_events(body: BatchIn, service: ServiceDep) -> Response:
    """Record many signed events; each gets its own receipt or problem, in order. More than
    MAX_BATCH entries: 413, nothing recorded."""
    if len(body.entries) > MAX_BATCH:
        return problem(
            413,
            "http-413",
            "Too many entries",
            f"a batch holds at most {MAX_BATCH} entries, found {len(body.entries)}; send them in parts",
            field="entries",
        )
    entries, results = [], []
    for i, text in enumerate(body.entries):
        try:
            entry = _b64(text, f"entries[{i}]")
            check_entry_size(entry, index=i, field=f"entries[{i}]")
            entries.append(entry)
        except (InvalidEvent, EntryTooLargeError) as exc:  # that entry's own problem, not the batch's
            entries.append(exc)
    todo = [e for e in entries if isinstance(e, bytes)]
    done = iter(service.record_many(todo))
    encoded: dict[bytes, str] = {}
    for e in entries:
        outcome = next(done) if isinstance(e, bytes) else e
        if isinstance(outcome, TraceError | EntryTooLargeError):
            results.append({"ok": False, "problem": problem_body(outcome)})
        else:
            results.append({"ok": True, "receipt": receipt_json(outcome, encoded)})
    # Plain JSON types already: skip FastAPI's per-value encoder, which costs more than the ingest
    # of a large batch's receipts (thousands of proofs), and render them with orjson (the same
    # compact JSON as JSONResponse's, about 15 times faster).
    body = {"accepted": sum(r["ok"] for r in results), "results": results}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/events/{event_id}", response_model=EventPublic, response_model_exclude_unset=True)
def get_event(event_id: EventId, service: ServiceDep) -> dict[str, Any]:
    signed, index = service.signed_event(event_id)
    return {
        "id": signed.id,
        "index": index,
        "event": signed.event.to_wire(),
        "signature": base64.b64encode(signed.signature).decode(),
    }


@router.get(
    "/events/{event_id}/proof.tlog-proof",
    response_class=Response,
    responses={200: {"content": {TLOG_PROOF_TYPE: {}}}, **problems(404)},
)
def get_event_proof(event_id: EventId, service: ServiceDep) -> Response:
    """The event's entry, its inclusion proof and the latest checkpoint with its cosignatures, as a
    C2SP tlog-proof file (docs/tlog-proof.md): a farm or a market keeps it as offline proof."""
    _, index = service.signed_event(event_id)
    text = format_tlog_proof(prove_entry(service.log, index))
    disposition = f'attachment; filename="farmtrace-{event_id[:16]}.tlog-proof"'
    return Response(text, media_type=TLOG_PROOF_TYPE, headers={"Content-Disposition": disposition})


@router.get("/events/{event_id}/epcis")
def get_event_epcis(
    event_id: EventId, request: Request, service: ServiceDep, clock: ClockDep, audience: AudienceDep
) -> JSONResponse:
    signed, index = service.signed_event(event_id)
    if signed.event.kind in NON_EPCIS_KINDS:
        raise InvalidEvent(
            "event_id", f"a {signed.event.kind} event has no EPCIS form (party administration, acknowledgements, labels)"
        )
    base = request.app.state.settings.vocabulary_base
    doc = service.epcis([(signed.event, signed.id, index)], created=clock(), base=base)
    if not all(sees_epcis_event(audience, e) for e in doc["epcisBody"]["eventList"]):
        raise Forbidden(CUSTODY_ONLY)
    return JSONResponse(doc, media_type="application/ld+json")


@router.get("/lots/{code:path}/trace", response_model=TraceGraphPublic, response_model_exclude_unset=True)
def get_trace(
    code: LotCode,
    service: ServiceDep,
    audience: AudienceDep,
    direction: Annotated[str, Query(pattern="^(back|forward|both)$")] = "both",
) -> TraceGraphPublic:
    return trace_graph_public(service.trace_for(code, audience, direction=direction))


@router.get("/lots/{code:path}/journey", response_model=JourneyPublic, response_model_exclude_unset=True)
def get_journey(code: LotCode, service: ServiceDep) -> JourneyPublic:
    return journey_public(service.journey_bundle(code))


@router.get("/lots/{code:path}/epcis")
def get_lot_epcis(
    code: LotCode, request: Request, service: ServiceDep, clock: ClockDep, audience: AudienceDep
) -> JSONResponse:
    """The lot's history as EPCIS events: of its shipments and receipts, those this reader is shown
    (trace/audience.py); the whole signed history stays at .../journey, for verification."""
    events = []
    for e in service.journey_bundle(code).events:
        signed = decode_entry(e.proven.entry)  # as stored; a damaged entry is refused (TraceError)
        events.append((signed.event, signed.id, e.proven.index))
    base = request.app.state.settings.vocabulary_base
    doc = service.epcis(events, created=clock(), base=base)
    body = doc["epcisBody"]
    body["eventList"] = [e for e in body["eventList"] if sees_epcis_event(audience, e)]
    return JSONResponse(doc, media_type="application/ld+json")


@router.get("/lots/{code:path}/recall", response_model=RecallReportPublic, response_model_exclude_unset=True)
def get_recall_report(code: LotCode, service: ServiceDep, _: RegulatorDep) -> RecallReportPublic:
    return recall_report_public(service.recall_report(code))


@router.get("/parties", response_model=list[PartyPublic], response_model_exclude_unset=True)
def list_parties(service: ServiceDep) -> list[PartyPublic]:
    return [party_public(p) for p in service.parties()]


@router.get("/parties/{party_id}", response_model=PartyPublic, response_model_exclude_unset=True)
def get_party(party_id: Annotated[str, Path(max_length=32)], service: ServiceDep) -> PartyPublic:
    return party_public(service.party(party_id))


@router.get("/anomalies", response_model=list[AnomalyPublic], response_model_exclude_unset=True)
def list_anomalies(
    service: ServiceDep,
    _: RegulatorDep,
    rule: Annotated[str | None, Query(max_length=40)] = None,
    party: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AnomalyPublic]:
    since, until = bounded_time("since", since), bounded_time("until", until)  # aware, sane years
    found = service.anomalies(rule=rule, party=party, since=since, until=until, limit=limit)
    return [anomaly_public(a) for a in found]


# The bare lot route matches any path below /lots/ (lot codes may contain "/"), so it lives on its
# own router, mounted after every other /lots/{code}/... route.
lot_router = APIRouter(tags=["trace"])


@lot_router.get("/lots/{code:path}", response_model=LotPublic, response_model_exclude_unset=True)
def get_lot(code: LotCode, service: ServiceDep, audience: AudienceDep) -> LotPublic:
    return lot_public(service.lot_for(code, audience))
