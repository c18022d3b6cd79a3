"""The ledger's health: one reading for GET /ledger/health (JSON) and the console's home page.

ledger_health(log, witnesses=...)  -> LedgerHealth: origin, key, the latest checkpoint opened
                                      (size, root, time, witnesses that cosigned, cosignatures
                                      from unknown witnesses)
witness_status(witnessing, now=)    -> [WitnessStatus]: each configured witness's last cosigned
                                      size and time, and whether it is behind (ledger/witnessing.py)
GET /console                       the page: that reading, the last full audit (result, time,
                                   first failure and the event the altered entry recorded)
                                   and the running one, with the button to start one
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureVerifier
from farmtrace.ledger.witnessing import Witnessing, WitnessStatus

from ..deps import RegulatorDep, StateDep, WitnessingDep
from ..render import cst_minute, cst_text, name, translator
from .page import ConsoleRoute, kind_name, render

__all__ = ["LedgerHealth", "ledger_health", "router", "witness_status"]

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerHealth:
    """The log's latest signed checkpoint as opened with the log's key and the trusted witnesses."""

    origin: str
    log_key: str  # the log's verifier key, name+keyid+base64
    size: int
    root: str  # hex
    signed_at: datetime  # aware, UTC
    checkpoint: str  # the C2SP note with its cosignatures, byte for byte
    witnesses: list[str]  # trusted witnesses whose cosignatures verify
    unverified: list[str]  # cosignatures by keys this server does not know


def ledger_health(log: Log, *, witnesses: Sequence[CosignatureVerifier]) -> LedgerHealth:
    """Open the latest checkpoint of `log`. Raises the ledger's error when it does not verify."""
    cp = log.checkpoint()
    note = cp.note_with_cosignatures()
    opened = open_checkpoint(note, log.verifier, witnesses=list(witnesses))
    return LedgerHealth(
        origin=log.origin,
        log_key=log.verifier.key_string(),
        size=cp.size,
        root=opened.checkpoint.root.hex(),
        signed_at=datetime.fromtimestamp(cp.signed_at, UTC),
        checkpoint=note,
        witnesses=[s.name for s in opened.cosignatures],
        unverified=[s.name for s in opened.note.unverified],
    )


def witness_status(witnessing: Witnessing, *, now: datetime) -> list[WitnessStatus]:
    """The submitter's view of each witness of FARMTRACE_WITNESSES at `now`; [] without any."""
    if not witnessing.endpoints:
        return []
    return witnessing.status(now=now.timestamp())


@router.get("/console")
def health_page(
    request: Request,
    state: StateDep,
    regulator: RegulatorDep,
    witnessing: WitnessingDep,
    lang: str | None = None,
) -> Response:
    t = translator(request, lang)
    service, log = state.service, state.log
    ledger: dict[str, Any] = {"origin": log.origin, "log_key": log.verifier.key_string()}
    try:
        health = ledger_health(log, witnesses=state.settings.witnesses())
        ledger |= {
            "size": health.size,
            "root": health.root,
            "signed_at": cst_minute(health.signed_at),
            "checkpoint": health.checkpoint,
            "witnesses": health.witnesses,
            "unverified": health.unverified,
            "error": None,
        }
    except Exception as exc:  # the page must still show the audit button when the checkpoint is bad
        _log.exception("the latest checkpoint cannot be opened")
        ledger |= {"size": log.size, "error": str(exc), "witnesses": [], "unverified": []}
    witnesses = [
        {
            "name": w.name,
            "url": w.url,
            "size": w.cosigned_size,
            "at": cst_minute(datetime.fromtimestamp(w.cosigned_at, UTC)) if w.cosigned_at else None,
            "behind": w.behind,
            "error": w.last_error,
        }
        for w in witness_status(witnessing, now=state.clock())
    ]
    status = state.audit_job.status()
    names = {p.id: name(asdict(p), t) for p in service.parties()}
    last = _audit_view(status.get("last"), names)
    running = _audit_view(status.get("running"), names)
    altered = None
    if last and last["first_failure"] and last["first_failure"].get("index") is not None:
        record = service.entry_event(last["first_failure"]["index"])
        if record is not None:
            altered = {
                **asdict(record),
                "kind_name": kind_name(record.kind, t),
                "party_name": names.get(record.party, record.party),
                "when": cst_text(record.event_time),
            }
    return render(
        request,
        t,
        "console/health.html",
        title=t("console.health.title"),
        regulator=regulator,
        nav="health",
        ledger=ledger,
        submitted=witnesses,
        last=last,
        running=running,
        altered=altered,
    )


def _audit_view(run: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, Any] | None:
    if not run:
        return None
    failures = run.get("failures") or []
    return {
        **run,
        "started": cst_text(run["started_at"]),
        "finished": cst_text(run["finished_at"]) if run.get("finished_at") else None,
        "by": names.get(run["requested_by"], run["requested_by"]),
        "first_failure": failures[0] if failures else None,
        "more_failures": max(len(failures) - 1, 0),
        "percent": int(100 * run["done"] / run["total"]) if run.get("total") else 0,
    }
