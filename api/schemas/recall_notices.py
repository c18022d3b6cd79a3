"""The answer of GET /recall-notices: the recalls that reach the caller's goods, built from
trace/reads/recall_notices.py's `PartyNotice`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from farmtrace.trace.reads.recall_notices import PartyNotice

from .problems import _Public

__all__ = ["RecallNoticePublic", "recall_notice_public"]


class HeldLotPublic(_Public):
    lot: str
    product: dict[str, Any] = Field(description="the lot's product, wire form (name_zh, name_en, gtin, ...)")
    quantity: str = Field(description="held now, in `unit`")
    on_road: str = Field(description="shipped to the caller and not yet received, in `unit`")
    unit: str


class AckPublic(_Public):
    event_id: str = Field(description="the caller's recall_ack event")
    lot: str
    note: str | None
    event_time: str


class RecallNoticePublic(_Public):
    """A recall reaching what the caller holds or awaits, and the caller's acknowledgements of it."""

    recall_event: str
    recalled_lot: str
    product: dict[str, Any]
    reason: str | None
    instructions: str | None
    recalled_at: str
    lots: list[HeldLotPublic]
    acks: list[AckPublic]
    acknowledged: bool


def recall_notice_public(n: PartyNotice) -> RecallNoticePublic:
    r = n.recall
    return RecallNoticePublic(
        recall_event=r.event_id,
        recalled_lot=r.lot,
        product=r.product,
        reason=r.reason,
        instructions=r.instructions,
        recalled_at=r.event_time,
        lots=[
            HeldLotPublic(lot=h.lot, product=h.product, quantity=h.quantity, on_road=h.on_road, unit=h.unit)
            for h in n.lots
        ],
        acks=[
            AckPublic(event_id=a.event_id, lot=a.lot, note=a.note, event_time=a.event_time) for a in n.acks
        ],
        acknowledged=n.acknowledged,
    )
