"""The answers about lots: a lot (GET /lots/{code}), its lineage graph (.../trace) and what a
recall of it reaches (.../recall); each model with the function that builds it from the typed
answer of trace/reads/lots.py."""

from __future__ import annotations

from pydantic import Field

from farmtrace.trace.reads.lots import LotSummary, TraceGraph
from farmtrace.trace.reads.recalls import RecallReach

from .problems import _Public

__all__ = [
    "AffectedLotPublic",
    "HolderPublic",
    "LotEventPublic",
    "LotPublic",
    "LotStatusPublic",
    "ProductPublic",
    "QuantityOfLotPublic",
    "RecallPartyPublic",
    "RecallReportPublic",
    "ShipmentLinePublic",
    "TraceEdgePublic",
    "TraceGraphPublic",
    "TraceNodePublic",
    "lot_public",
    "recall_report_public",
    "trace_graph_public",
]


class LotStatusPublic(_Public):
    """A lot's status flags (rules: failed inspection, recalled, rejected at receipt, cleared)."""

    failed: bool
    recalled: bool
    rejected: bool
    cleared: bool


class ProductPublic(_Public):
    """What a lot is: its product as recorded (the optional fields only when recorded)."""

    name_zh: str
    name_en: str | None = None
    gtin: str | None = None
    variety: str | None = None
    category: str | None = None


class LotEventPublic(_Public):
    """An event naming a lot: its id, ledger index and the lot's role in it (input or output)."""

    id: str
    index: int
    role: str


class LotPublic(_Public):
    """GET /lots/{code}: a lot's public state."""

    code: str
    product: ProductPublic
    quantity: str
    unit: str
    created_by: str
    created_at: str
    head: str = Field(description="id of the last event on the lot")
    status: LotStatusPublic
    parents: list[str]
    children: list[str]
    holders: dict[str, str] = Field(description="party id -> quantity held, of the holders this reader is shown")
    holders_complete: bool = Field(description="false if some holders are not shown to this reader")
    events: list[LotEventPublic]
    audience: str = Field(description="whose view this is: public, party or regulator (docs/visibility.md)")


class HolderPublic(_Public):
    party: str
    name: str | None
    quantity: str


class TraceNodePublic(_Public):
    """A lot in a lineage graph."""

    lot: str
    product: str
    product_en: str | None
    quantity: str
    unit: str
    created_by: str
    created_by_name: str | None
    created_at: str
    origin: bool = Field(description="true if the lot was made from no other lot")
    status: LotStatusPublic
    holders: list[HolderPublic]
    holders_complete: bool = Field(description="false if some holders are not shown to this reader")
    direction: str = Field(description="self, back (an ancestor) or forward (a descendant)")


class TraceEdgePublic(_Public):
    """Parent lot -> child lot, with how much of the parent went into the child."""

    from_: str = Field(alias="from")
    to: str
    quantity: str | None


class TraceGraphPublic(_Public):
    """GET /lots/{code}/trace: the lineage graph."""

    lot: str
    direction: str
    nodes: list[TraceNodePublic]
    edges: list[TraceEdgePublic]
    origins: list[str]
    audience: str = Field(description="whose view this is: public, party or regulator (docs/visibility.md)")


class AffectedLotPublic(_Public):
    lot: str
    product: str
    product_en: str | None
    quantity: str
    unit: str
    recalled: bool
    sold: str
    destroyed: str


class QuantityOfLotPublic(_Public):
    lot: str
    quantity: str
    unit: str


class RecallPartyPublic(_Public):
    """A party a recall reaches: what it holds and, if any, what is still on its way to it."""

    party: str
    name: str | None
    lots: list[QuantityOfLotPublic]
    in_transit: list[QuantityOfLotPublic] | None = None


class ShipmentLinePublic(_Public):
    ship_event: str
    lot: str
    from_: str = Field(alias="from")
    from_name: str | None
    to: str
    to_name: str | None
    shipped: str
    received: str
    outstanding: str
    unit: str


class RecallReportPublic(_Public):
    """GET /lots/{code}/recall: everything a recall of the lot reaches."""

    lot: str
    affected_lots: list[AffectedLotPublic]
    parties: list[RecallPartyPublic]
    shipments: list[ShipmentLinePublic]


# The JSON form of these answers is written once, by each typed answer's `to_wire()` (trace/reads/):
# the service's `lot`/`trace` serve the same documents to scripts. The models validate it.


def lot_public(lot: LotSummary) -> LotPublic:
    """GET /lots/{code}."""
    return LotPublic.model_validate(lot.to_wire())


def trace_graph_public(graph: TraceGraph) -> TraceGraphPublic:
    """GET /lots/{code}/trace."""
    return TraceGraphPublic.model_validate(graph.to_wire())


def recall_report_public(report: RecallReach) -> RecallReportPublic:
    """GET /lots/{code}/recall; a party's `in_transit` stays unset (absent) unless goods are on the road."""
    return RecallReportPublic.model_validate(report.to_wire())
