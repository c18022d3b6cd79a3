"""The answers about the log and its events: receipts, batches, one signed event, recorded prices,
the full audit's runs and the ledger's health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from farmtrace.ledger.witnessing import WitnessStatus
from farmtrace.trace.reads.reports import PriceRow

from .problems import Problem, _Public

__all__ = [
    "AuditRunPublic",
    "AuditStatusPublic",
    "BatchPublic",
    "BatchResultPublic",
    "EventPublic",
    "LedgerHealthPublic",
    "PriceRowPublic",
    "ReceiptPublic",
    "WitnessStatusPublic",
    "price_row_public",
    "witness_status_public",
]


class ReceiptPublic(_Public):
    """POST /events (and each accepted entry of a batch): where the event is in the log, with an
    inclusion proof (base64 hashes) against the signed checkpoint of `size` entries."""

    event_id: str
    index: int
    leaf_hash: str
    size: int
    checkpoint: str
    proof: list[str]
    duplicate: bool = Field(description="true if the event was already recorded (the first receipt)")


class BatchResultPublic(_Public):
    """One entry of a batch, in order: accepted with its receipt, or refused with a problem."""

    ok: bool
    receipt: ReceiptPublic | None = None
    problem: Problem | None = None


class BatchPublic(_Public):
    """POST /events/batch."""

    accepted: int = Field(description="how many entries were recorded (or were already recorded)")
    results: list[BatchResultPublic]


class EventPublic(_Public):
    """GET /events/{id}: an accepted event, its ledger index and its signature (base64)."""

    id: str
    index: int
    event: dict[str, Any]
    signature: str


class PriceRowPublic(_Public):
    """GET /prices: the prices of one day, product, stage and unit."""

    day: str
    product: str
    stage: str
    unit: str
    count: int
    min: str
    mean: str
    max: str


class AuditRunPublic(_Public):
    id: int
    started_at: str
    finished_at: str | None
    requested_by: str
    done: int
    total: int
    ok: bool | None
    summary: str | None
    failures: list[Any]


class AuditStatusPublic(_Public):
    """GET/POST /ledger/audit: the running full audit, if any, and the last finished one."""

    running: AuditRunPublic | None
    last: AuditRunPublic | None


class WitnessStatusPublic(_Public):
    """One witness the log submits its checkpoints to (FARMTRACE_WITNESSES), as the submitter knows it."""

    name: str
    url: str
    cosigned_size: int | None = Field(
        description="the largest of our checkpoints it cosigned (null: none yet)"
    )
    cosigned_at: str | None = Field(description="the time its latest cosignature states, ISO 8601 UTC")
    behind: bool = Field(
        description="the log's latest checkpoint is over a minute old and this witness has not cosigned it"
    )
    last_error: str | None = Field(description="why the last submission failed, until one succeeds")


def witness_status_public(w: WitnessStatus) -> WitnessStatusPublic:
    """GET /ledger/witnesses (each) and GET /ledger/health's `witness_status`."""
    at = datetime.fromtimestamp(w.cosigned_at, UTC).isoformat(timespec="seconds") if w.cosigned_at else None
    return WitnessStatusPublic(
        name=w.name,
        url=w.url,
        cosigned_size=w.cosigned_size,
        cosigned_at=at,
        behind=w.behind,
        last_error=w.last_error,
    )


class LedgerHealthPublic(_Public):
    """GET /ledger/health: the latest checkpoint opened with the log's key and the trusted witnesses,
    each configured witness's state (`witness_status`: empty when FARMTRACE_WITNESSES is not set),
    and the audits."""

    origin: str
    size: int
    root: str
    signed_at: str
    checkpoint: str
    log_key: str
    witnesses: list[str]
    unverified_cosignatures: list[str]
    witness_status: list[WitnessStatusPublic]
    audit: AuditStatusPublic


def price_row_public(r: PriceRow) -> PriceRowPublic:
    """GET /prices (each)."""
    return PriceRowPublic(
        day=r.day,
        product=r.product,
        stage=r.stage,
        unit=r.unit,
        count=r.count,
        min=r.min,
        mean=r.mean,
        max=r.max,
    )
