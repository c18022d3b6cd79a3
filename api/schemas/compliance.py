"""The answer GET /parties/{party_id}/compliance serves, built from trace/compliance.py's
`ComplianceRecord` (docs/compliance-record.md)."""

from __future__ import annotations

from pydantic import Field

from farmtrace.trace.compliance import ComplianceItem, ComplianceRecord

from .problems import _Public

__all__ = ["ComplianceItemPublic", "ComplianceRecordPublic", "compliance_record_public"]


class ComplianceItemPublic(_Public):
    category: str = Field(description="failed_test, recall, entry_rejected, suspension or refused")
    at: str = Field(description="the event time as signed; a refused attempt's UTC time")
    recorded_by: str = Field(description="the party that signed the event (a refusal: its sender)")
    lot: str
    reason: str
    reference: str = Field(
        description="a test's report number, the 合格证 checked at entry, a refusal's rule"
    )
    on_ledger: bool = Field(description="false for a refused attempt: the log does not hold it")
    event_id: str | None = None
    ledger_index: int | None = None
    anomaly_id: int | None = None
    evidence: str = Field(description="the path of the signed event, or of the stored refused attempt")


class ComplianceRecordPublic(_Public):
    """A party's compliance record as the reader is shown it."""

    party: str
    audience: str = Field(description="regulator, party (its own record) or public (the public summary)")
    counts: dict[str, int] = Field(description="per category, the items this reader may know of")
    complete: bool = Field(description="false where counted items are not listed (the public summary)")
    log_size: int = Field(description="the log's size the record was derived at")
    items: list[ComplianceItemPublic]


def _item(i: ComplianceItem) -> ComplianceItemPublic:
    return ComplianceItemPublic(
        category=i.category,
        at=i.at,
        recorded_by=i.recorded_by,
        lot=i.lot,
        reason=i.reason,
        reference=i.reference,
        on_ledger=i.on_ledger,
        event_id=i.event_id or None,
        ledger_index=i.ledger_index,
        anomaly_id=i.anomaly_id,
        evidence=i.evidence,
    )


def compliance_record_public(r: ComplianceRecord) -> ComplianceRecordPublic:
    return ComplianceRecordPublic(
        party=r.party,
        audience=r.audience,
        counts=dict(r.counts),
        complete=r.complete,
        log_size=r.log_size,
        items=[_item(i) for i in r.items],
    )
