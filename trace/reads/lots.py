"""A lot and its lineage: the regulator's and the API's lot reads (what a recall reaches: recalls.py).

lot(engine, code)                      -> LotSummary    product, quantity, flags, parents, children, holders, events
trace(engine, code, direction=)        -> TraceGraph    every ancestor (back), descendant (forward), or both
shipments(engine, codes)               -> [(lot, source, destination)]   who shipped these lots to whom

`lot` and `trace` answer everything the indexes hold (a regulator's view); trace/audience.py cuts
them down to what another reader is shown, with `shipments`. Each raises NotFound for an unknown lot. Quantities are decimal texts. Each answer's `to_wire()` is
its JSON form (GET /lots/{code}, .../trace), key for key and in the same order; the API validates it
against its `XPublic` model (api/schemas/lots.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidEvent, NotFound
from ..store import lot_queries as q
from ..store.lot_queries import LotStatus
from ..store.party_queries import party_names
from ..store.queries import Engine
from ..store.sql_state import Repository

__all__ = [
    "Holder",
    "LotEvent",
    "LotStatus",
    "LotSummary",
    "TraceEdge",
    "TraceGraph",
    "TraceNode",
    "lot",
    "shipments",
    "trace",
]


@dataclass(frozen=True)
class LotEvent:
    """An event naming a lot: its id, ledger index and the lot's role in it (input or output)."""

    id: str
    index: int
    role: str


@dataclass(frozen=True)
class LotSummary:
    """A lot's public state. `holders`: (party, quantity held) pairs, above zero."""

    code: str
    product: dict[str, Any]  # wire form: name_zh, name_en, gtin, variety, category
    quantity: str
    unit: str
    created_by: str
    created_at: str  # ISO 8601, UTC
    head: str  # the id of the last event on the lot
    status: LotStatus
    parents: tuple[str, ...]
    children: tuple[str, ...]
    holders: tuple[tuple[str, str], ...]
    events: tuple[LotEvent, ...]
    holders_complete: bool = True  # False: some holders are not shown to this reader (trace/audience.py)
    audience: str = "regulator"  # whose view this is: public, party or regulator

    def to_wire(self) -> dict[str, Any]:
        """GET /lots/{code}."""
        return {
            "code": self.code,
            "product": self.product,
            "quantity": self.quantity,
            "unit": self.unit,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "head": self.head,
            "status": self.status.to_wire(),
            "parents": list(self.parents),
            "children": list(self.children),
            "holders": dict(self.holders),
            "holders_complete": self.holders_complete,
            "events": [{"id": e.id, "index": e.index, "role": e.role} for e in self.events],
            "audience": self.audience,
        }


@dataclass(frozen=True)
class Holder:
    """Who holds how much of a lot; `name` is the party's Chinese name (None if unknown)."""

    party: str
    name: str | None
    quantity: str


@dataclass(frozen=True)
class TraceNode:
    """A lot of a lineage graph. `direction`: self, back (an ancestor) or forward (a descendant)."""

    lot: str
    product: str  # Chinese name
    product_en: str | None
    quantity: str
    unit: str
    created_by: str
    created_by_name: str | None
    created_at: str  # UTC text, as stored
    origin: bool  # made from no other lot
    status: LotStatus
    holders: tuple[Holder, ...]
    direction: str
    holders_complete: bool = True  # False: some holders are not shown to this reader (trace/audience.py)

    def to_wire(self) -> dict[str, Any]:
        return {
            "lot": self.lot,
            "product": self.product,
            "product_en": self.product_en,
            "quantity": self.quantity,
            "unit": self.unit,
            "created_by": self.created_by,
            "created_by_name": self.created_by_name,
            "created_at": self.created_at,
            "origin": self.origin,
            "status": self.status.to_wire(),
            "holders": [{"party": h.party, "name": h.name, "quantity": h.quantity} for h in self.holders],
            "holders_complete": self.holders_complete,
            "direction": self.direction,
        }


@dataclass(frozen=True)
class TraceEdge:
    """Parent lot -> child lot, with how much of the parent went into the child ("5 kg"), if known."""

    parent: str
    child: str
    quantity: str | None


@dataclass(frozen=True)
class TraceGraph:
    """The lineage of `lot`: nodes, edges among them, and the origin lots it came from."""

    lot: str
    direction: str
    nodes: tuple[TraceNode, ...]
    edges: tuple[TraceEdge, ...]
    origins: tuple[str, ...]
    audience: str = "regulator"  # whose view this is: public, party or regulator

    def to_wire(self) -> dict[str, Any]:
        """GET /lots/{code}/trace."""
        return {
            "lot": self.lot,
            "direction": self.direction,
            "nodes": [n.to_wire() for n in self.nodes],
            "edges": [{"from": e.parent, "to": e.child, "quantity": e.quantity} for e in self.edges],
            "origins": list(self.origins),
            "audience": self.audience,
        }


def lot(engine: Engine, code: str) -> LotSummary:
    """A lot's public state. Raises NotFound."""
    with engine.connect() as conn:
        repo = Repository(conn)
        state = repo.lot(code)
        if state is None:
            raise NotFound("lot", code)
        return LotSummary(
            code=state.code,
            product=state.product.to_wire(),
            quantity=str(state.quantity),
            unit=state.unit,
            created_by=state.created_by,
            created_at=state.created_at.isoformat(),
            head=state.head,
            status=LotStatus(
                failed=state.failed, recalled=state.recalled, rejected=state.rejected, cleared=state.cleared
            ),
            parents=tuple(state.parents),
            children=tuple(repo.children_of(code)),
            holders=tuple((p, str(qty)) for p, qty in repo.holders(code).items()),
            events=tuple(LotEvent(id=e, index=i, role=r) for e, i, r in repo.lot_events(code)),
        )


def trace(engine: Engine, code: str, *, direction: str = "both") -> TraceGraph:
    """The lineage graph of a lot: every ancestor (back), every descendant (forward), or both.
    Raises InvalidEvent (field "direction") for another direction, NotFound for an unknown lot."""
    if direction not in ("back", "forward", "both"):
        raise InvalidEvent("direction", f"expected back, forward or both, found {direction!r}")
    with engine.connect() as conn:
        repo = Repository(conn)
        if repo.lot(code) is None:
            raise NotFound("lot", code)
        back = repo.ancestors(code) if direction in ("back", "both") else set()
        forward = repo.descendants(code) if direction in ("forward", "both") else set()
        codes = sorted({code} | back | forward)
        rows = q.lot_rows(conn, codes)
        holders = q.holders_of(conn, codes)
        all_edges = repo.edges(codes)
        has_parents = {c for _, c in all_edges}
        edges = [(p, c) for p, c in all_edges if p in rows and c in rows]
        quantities = q.edge_quantities(conn, edges)
        names = party_names(
            conn, {r.created_by for r in rows.values()} | {p for h in holders.values() for p in h}
        )
    nodes = tuple(
        TraceNode(
            lot=c,
            product=rows[c].product_name,
            product_en=rows[c].product.get("name_en"),
            quantity=rows[c].quantity,
            unit=rows[c].unit,
            created_by=rows[c].created_by,
            created_by_name=names.get(rows[c].created_by),
            created_at=rows[c].created_at,
            origin=c not in has_parents,
            status=rows[c].status,
            holders=tuple(
                Holder(party=p, name=names.get(p), quantity=str(qty))
                for p, qty in sorted(holders.get(c, {}).items())
            ),
            direction="self" if c == code else ("back" if c in back else "forward"),
        )
        for c in codes
    )
    return TraceGraph(
        lot=code,
        direction=direction,
        nodes=nodes,
        edges=tuple(TraceEdge(parent=p, child=c, quantity=quantities.get((p, c))) for p, c in edges),
        origins=tuple(sorted(n.lot for n in nodes if n.origin and n.direction != "forward")),
    )


def shipments(engine: Engine, codes: Sequence[str]) -> list[tuple[str, str, str]]:
    """(lot, source, destination) of every shipment of these lots: who traded each with whom."""
    with engine.connect() as conn:
        return [(t.lot, t.source, t.destination) for t in q.transits_of(conn, codes)]
