"""The ledger's public, read-only HTTP interface.

GET /ledger/checkpoint                      latest signed checkpoint (note text, with cosignatures)
GET /ledger/checkpoint/{size}               the signed checkpoint of exactly that size, if the log signed one
GET /ledger/key                             the log's verifier key string
GET /ledger/proof/inclusion?index=I&size=N  RFC 9162 audit path, leaf to root
GET /ledger/proof/consistency?from=M&to=N   RFC 9162 consistency proof
GET /ledger/entries?start=S&limit=L         entries with index and leaf hash
GET /ledger/witnesses                       each configured witness's last cosigned size and time, and
                                            whether it is behind (docs/witness.md); GET /ledger/health
                                            (api/routes/console.py) carries the same list
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from farmtrace.ledger.errors import NotFoundError
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.merkle import MAX_SIZE
from farmtrace.web.console.health import witness_status
from farmtrace.web.deps import WitnessingDep

from ..deps import ClockDep, LogDep
from ..schemas import WitnessStatusPublic, problems, witness_status_public

router = APIRouter(prefix="/ledger", tags=["ledger"])

NOTE = "text/plain; charset=utf-8"
Index = Annotated[int, Query(ge=0, le=MAX_SIZE, description="0-based entry index")]
Size = Annotated[int, Query(ge=0, le=MAX_SIZE, description="tree size")]


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


class InclusionProof(BaseModel):
    index: int
    size: int
    leaf_hash: str
    hashes: list[str]


class Entry(BaseModel):
    index: int
    leaf_hash: str
    entry: str


class EntryPage(BaseModel):
    start: int
    size: int
    entries: list[Entry]
    next: int | None


@router.get("/checkpoint", response_class=PlainTextResponse, responses={200: {"content": {NOTE: {}}}})
def latest_checkpoint(log: LogDep) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint note), byte for byte, with witness cosignatures."""
    return PlainTextResponse(log.checkpoint().note_with_cosignatures(), media_type=NOTE)


@router.get("/checkpoint/{size}", response_class=PlainTextResponse, responses={200: {"content": {NOTE: {}}}})
def checkpoint_at(log: LogDep, size: Annotated[int, Path(ge=0, le=MAX_SIZE)]) -> PlainTextResponse:
    cp = log.checkpoint_at(size)  # NotFoundError (404) if the log signed none at that size
    return PlainTextResponse(cp.note_with_cosignatures(), media_type=NOTE)


@router.get("/key", response_class=PlainTextResponse, responses={200: {"content": {NOTE: {}}}})
def log_key(log: LogDep) -> PlainTextResponse:
    """The log's verifier key (C2SP signed-note key string)."""
    return PlainTextResponse(log.verifier.key_string() + "\n", media_type=NOTE)


@router.get("/proof/inclusion", response_model=InclusionProof, responses=problems(404))
def inclusion_proof(log: LogDep, index: Index, size: Size) -> InclusionProof:
    if index >= size:
        raise NotFoundError(f"index {index} is not in a tree of size {size}")
    hashes = log.prove_inclusion(index, size)
    return InclusionProof(
        index=index, size=size, leaf_hash=_b64(log.leaf_hash(index)), hashes=[_b64(h) for h in hashes]
    )


@router.get("/proof/consistency", responses=problems(404))
def consistency_proof(
    log: LogDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_SIZE)],
    to: Annotated[int, Query(ge=1, le=MAX_SIZE)],
) -> dict:
    if from_ > to:
        raise NotFoundError(f"from ({from_}) must not exceed to ({to})")
    hashes = log.prove_consistency(from_, to)
    return {"from": from_, "to": to, "hashes": [_b64(h) for h in hashes]}


@router.get("/entries", response_model=EntryPage, responses=problems(404))
def entries(
    log: LogDep,
    start: Annotated[int, Query(ge=0, le=MAX_SIZE)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntryPage:
    size = log.size
    if start > size:
        raise NotFoundError(f"start {start} is beyond the log's size {size}")
    rows = log.entries(start, limit)
    nxt = rows[-1][0] + 1 if rows and rows[-1][0] + 1 < size else None
    return EntryPage(
        start=start,
        size=size,
        entries=[Entry(index=i, leaf_hash=_b64(leaf_hash(e)), entry=_b64(e)) for i, e in rows],
        next=nxt,
    )


@router.get("/witnesses", response_model=list[WitnessStatusPublic])
def witnesses(witnessing: WitnessingDep, clock: ClockDep) -> list[WitnessStatusPublic]:
    """Each configured witness's last cosigned size and time; `behind` warns of one falling behind."""
    return [witness_status_public(w) for w in witness_status(witnessing, now=clock())]
