"""The read side's SQL about lots: their rows, holders, shipment lines, disposals and the events on them.

Each function takes an open SQLAlchemy connection and returns small typed records (`LotRow`,
`TransitRow`) or plain maps; `trace/reads/` shapes them into answers. Quantities stay the decimal
texts the tables hold. Lists of keys are queried in chunks (`in_chunks`), so no statement binds
more than 500 values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .rows import in_chunks
from .tables import TraceDisposal, TraceEvent, TraceEventLot, TraceHolding, TraceLot, TraceTransit

__all__ = [
    "LotRow",
    "LotStatus",
    "TransitRow",
    "disposals_of",
    "edge_quantities",
    "event_ids_of_lots",
    "holders_of",
    "holdings_of",
    "indexes_of_lots",
    "lot_gtins",
    "lot_products",
    "lot_rows",
    "product_names_en",
    "transits_from",
    "transits_of",
    "transits_to",
]

_lot = TraceLot.__table__
_holding = TraceHolding.__table__
_transit = TraceTransit.__table__
_disposal = TraceDisposal.__table__
_event = TraceEvent.__table__
_event_lot = TraceEventLot.__table__


@dataclass(frozen=True)
class LotStatus:
    """A lot's flags: failed a test, recalled, rejected at market entry, cleared by a re-test."""

    failed: bool
    recalled: bool
    rejected: bool
    cleared: bool

    def to_wire(self) -> dict[str, bool]:
        """The flags as the JSON answers and the pages' badges take them: {failed, recalled, rejected, cleared}."""
        return {
            "failed": self.failed,
            "recalled": self.recalled,
            "rejected": self.rejected,
            "cleared": self.cleared,
        }


@dataclass(frozen=True)
class LotRow:
    """A trace_lot row; `product` is the product's wire form (name_zh, name_en, gtin, ...)."""

    code: str
    product: dict[str, Any]
    product_name: str
    quantity: str
    unit: str
    created_by: str
    created_at: str  # UTC text, as stored
    created_event: str
    head: str
    status: LotStatus


@dataclass(frozen=True)
class TransitRow:
    """A trace_transit row: one shipment line, how much was shipped and how much received so far."""

    ship_event: str
    lot: str
    source: str
    destination: str
    quantity: str
    received: str
    unit: str


def _status(r) -> LotStatus:
    return LotStatus(
        failed=bool(r.failed), recalled=bool(r.recalled), rejected=bool(r.rejected), cleared=bool(r.cleared)
    )


def _lot_row(r) -> LotRow:
    return LotRow(
        code=r.code,
        product=json.loads(r.product),
        product_name=r.product_name,
        quantity=r.quantity,
        unit=r.unit,
        created_by=r.created_by,
        created_at=r.created_at,
        created_event=r.created_event,
        head=r.head,
        status=_status(r),
    )


def lot_rows(conn: Connection, codes: Iterable[str]) -> dict[str, LotRow]:
    """lot code -> its row, for those of `codes` that are known."""
    out = {}
    for chunk in in_chunks(sorted(set(codes))):
        for r in conn.execute(select(_lot).where(_lot.c.code.in_(chunk))):
            out[r.code] = _lot_row(r)
    return out


def holders_of(conn: Connection, codes: Sequence[str]) -> dict[str, dict[str, Decimal]]:
    """lot code -> {party -> quantity held}, holdings above zero only."""
    out: dict[str, dict[str, Decimal]] = {}
    for chunk in in_chunks(codes):
        for r in conn.execute(select(_holding).where(_holding.c.lot.in_(chunk))):
            q = Decimal(r.quantity)
            if q > 0:
                out.setdefault(r.lot, {})[r.party] = q
    return out


def edge_quantities(conn: Connection, edges: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """(parent, child) -> how much of the parent went into the child ("<quantity> <unit>"), from the
    event that created the child: a split or repack gives each child its own output quantity, a
    merge takes each parent's input quantity. None when the event's lines do not say."""
    children = sorted({c for _, c in edges})
    created = {}
    for chunk in in_chunks(children):
        for r in conn.execute(select(_lot.c.code, _lot.c.created_event).where(_lot.c.code.in_(chunk))):
            created[r.code] = r.created_event
    lines: dict[str, list] = {}
    for chunk in in_chunks(sorted(set(created.values()))):
        for r in conn.execute(select(_event_lot).where(_event_lot.c.event_id.in_(chunk))):
            lines.setdefault(r.event_id, []).append(r)
    out = {}
    for p, c in edges:
        rows = lines.get(created.get(c, ""), [])
        ins = [r for r in rows if r.role == "input"]
        outs = [r for r in rows if r.role == "output"]
        # A split or repack (one input): each child got its own output quantity; a merge: each
        # parent gave its input quantity.
        mine = [r for r in outs if r.lot == c] if len(ins) == 1 else [r for r in ins if r.lot == p]
        out[(p, c)] = f"{mine[0].quantity} {mine[0].unit}" if mine else None
    return out


def _transit_row(r) -> TransitRow:
    return TransitRow(
        ship_event=r.ship_event,
        lot=r.lot,
        source=r.source,
        destination=r.destination,
        quantity=r.quantity,
        received=r.received,
        unit=r.unit,
    )


def transits_of(conn: Connection, codes: Sequence[str]) -> list[TransitRow]:
    """Every shipment line of these lots, chunk by chunk in the database's order."""
    out = []
    q = select(_transit)
    for chunk in in_chunks(codes):
        out += [_transit_row(r) for r in conn.execute(q.where(_transit.c.lot.in_(chunk)))]
    return out


def disposals_of(conn: Connection, codes: Sequence[str]) -> dict[str, dict[str, str]]:
    """lot code -> {"sold" | "destroyed" -> quantity}, for the lots with any disposal."""
    out: dict[str, dict[str, str]] = {}
    for chunk in in_chunks(codes):
        for r in conn.execute(select(_disposal).where(_disposal.c.lot.in_(chunk))):
            out.setdefault(r.lot, {})[r.how] = r.quantity
    return out


def holdings_of(conn: Connection, party_id: str) -> list[tuple[LotRow, str]]:
    """(lot row, quantity held) of every lot `party_id` holds above zero, newest lot first."""
    rows = conn.execute(
        select(_holding.c.quantity.label("held"), _lot)
        .join(_lot, _lot.c.code == _holding.c.lot)
        .where(_holding.c.party == party_id)
        .order_by(_lot.c.created_at.desc(), _holding.c.lot)
    ).all()
    return [(_lot_row(r), r.held) for r in rows if Decimal(r.held) > 0]


def transits_to(conn: Connection, party_id: str) -> list[tuple[TransitRow, str, str]]:
    """(shipment line, the lot's product name, the lot's head event) of every line sent to
    `party_id`, in the database's order."""
    rows = conn.execute(
        select(_transit, _lot.c.product_name, _lot.c.head)
        .join(_lot, _lot.c.code == _transit.c.lot)
        .where(_transit.c.destination == party_id)
    ).all()
    return [(_transit_row(r), r.product_name, r.head) for r in rows]


def transits_from(conn: Connection, party_id: str) -> list[tuple[TransitRow, str, str]]:
    """(shipment line, the lot's product name, UTC time of its ship event) of every line `party_id`
    sent, newest first."""
    rows = conn.execute(
        select(_transit, _lot.c.product_name, _event.c.at_utc.label("shipped_at"))
        .join(_lot, _lot.c.code == _transit.c.lot)
        .join(_event, _event.c.id == _transit.c.ship_event)
        .where(_transit.c.source == party_id)
        .order_by(_event.c.at_utc.desc(), _transit.c.lot)
    ).all()
    return [(_transit_row(r), r.product_name, r.shipped_at) for r in rows]


def indexes_of_lots(conn: Connection, codes: Sequence[str]) -> set[int]:
    """The ledger indexes of every event naming any of these lots (as input or output)."""
    out: set[int] = set()
    for chunk in in_chunks(codes):
        out |= {
            r.ledger_index
            for r in conn.execute(select(_event_lot.c.ledger_index).where(_event_lot.c.lot.in_(chunk)))
        }
    return out


def event_ids_of_lots(conn: Connection, codes: Sequence[str]) -> set[str]:
    """The ids of every event naming any of these lots (as input or output)."""
    out: set[str] = set()
    for chunk in in_chunks(codes):
        q = select(_event_lot.c.event_id).where(_event_lot.c.lot.in_(chunk))
        out |= {r.event_id for r in conn.execute(q)}
    return out


def lot_gtins(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """lot code -> the GTIN of its product, for those of `codes` that are known and have one."""
    out = {}
    for chunk in in_chunks(sorted(set(codes))):
        for r in conn.execute(select(_lot.c.code, _lot.c.product).where(_lot.c.code.in_(chunk))):
            gtin = json.loads(r.product).get("gtin")
            if gtin is not None:
                out[r.code] = gtin
    return out


def lot_products(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """lot code -> its product's Chinese name, for those of `codes` that are known."""
    out = {}
    for chunk in in_chunks(sorted(set(codes))):
        for r in conn.execute(select(_lot.c.code, _lot.c.product_name).where(_lot.c.code.in_(chunk))):
            out[r.code] = r.product_name
    return out


def product_names_en(conn: Connection, names: Iterable[str]) -> dict[str, str]:
    """Chinese product name -> the English name recorded with the first lot of that name, where one was."""
    out = {}
    for name in names:
        row = conn.execute(select(_lot.c.product).where(_lot.c.product_name == name).limit(1)).first()
        en = json.loads(row.product).get("name_en") if row else None
        if en:
            out[name] = en
    return out
