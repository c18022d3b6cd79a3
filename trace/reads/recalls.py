"""What a recall of a lot reaches (GET /lots/{code}/recall, the console's lot page).

recall_report(engine, code) -> RecallReach: every affected lot (the lot and its descendants) with
what was sold or destroyed of it, every party holding some of them or awaiting some on the road,
and each shipment line's shipped, received and outstanding quantities. Raises NotFound.

`RecallReach.to_wire()` is the JSON form, key for key and in the same order; a party's
`in_transit` key is present only when something is still on its way to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import NotFound
from ..store import lot_queries as q
from ..store.party_queries import party_names
from ..store.queries import Engine
from ..store.sql_state import Repository

__all__ = ["AffectedLot", "LotQuantity", "RecallParty", "RecallReach", "ShipmentLine", "recall_report"]


@dataclass(frozen=True)
class AffectedLot:
    """A lot the recall reaches, with how much of it was sold and destroyed ("0" if none)."""

    lot: str
    product: str  # Chinese name
    product_en: str | None
    quantity: str
    unit: str
    recalled: bool
    sold: str
    destroyed: str


@dataclass(frozen=True)
class LotQuantity:
    lot: str
    quantity: str
    unit: str


@dataclass(frozen=True)
class RecallParty:
    """A party that must be told: what it holds of the affected lots, and what is still on its way
    to it (`in_transit` None when nothing is)."""

    party: str
    name: str | None
    lots: tuple[LotQuantity, ...]
    in_transit: tuple[LotQuantity, ...] | None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"party": self.party, "name": self.name, "lots": [_wire(x) for x in self.lots]}
        if self.in_transit is not None:
            out["in_transit"] = [_wire(x) for x in self.in_transit]
        return out


@dataclass(frozen=True)
class ShipmentLine:
    """A shipment line of an affected lot: from `source` to `destination`, shipped vs received."""

    ship_event: str
    lot: str
    source: str
    source_name: str | None
    destination: str
    destination_name: str | None
    shipped: str
    received: str
    outstanding: str
    unit: str


@dataclass(frozen=True)
class RecallReach:
    lot: str
    affected_lots: tuple[AffectedLot, ...]
    parties: tuple[RecallParty, ...]  # by party id
    shipments: tuple[ShipmentLine, ...]

    def to_wire(self) -> dict[str, Any]:
        """GET /lots/{code}/recall."""
        return {
            "lot": self.lot,
            "affected_lots": [vars(a).copy() for a in self.affected_lots],
            "parties": [p.to_wire() for p in self.parties],
            "shipments": [
                {
                    "ship_event": s.ship_event,
                    "lot": s.lot,
                    "from": s.source,
                    "from_name": s.source_name,
                    "to": s.destination,
                    "to_name": s.destination_name,
                    "shipped": s.shipped,
                    "received": s.received,
                    "outstanding": s.outstanding,
                    "unit": s.unit,
                }
                for s in self.shipments
            ],
        }


def _wire(x: LotQuantity) -> dict[str, str]:
    return {"lot": x.lot, "quantity": x.quantity, "unit": x.unit}


def recall_report(engine: Engine, code: str) -> RecallReach:
    """Everything a recall of `code` reaches (see the module docstring). Raises NotFound."""
    with engine.connect() as conn:
        repo = Repository(conn)
        if repo.lot(code) is None:
            raise NotFound("lot", code)
        codes = sorted({code} | repo.descendants(code))
        holders = q.holders_of(conn, codes)
        transits = q.transits_of(conn, codes)
        disposals = q.disposals_of(conn, codes)
        rows = q.lot_rows(conn, codes)
        names = party_names(
            conn,
            {p for h in holders.values() for p in h}
            | {t.destination for t in transits}
            | {t.source for t in transits},
        )
    held: dict[str, list[LotQuantity]] = {}
    for lot_code, by_party in holders.items():
        for p, qty in by_party.items():
            held.setdefault(p, []).append(
                LotQuantity(lot=lot_code, quantity=str(qty), unit=rows[lot_code].unit)
            )
    lines, on_road = [], {}
    for t in transits:
        shipped, received = Decimal(t.quantity), Decimal(t.received)
        line = ShipmentLine(
            ship_event=t.ship_event,
            lot=t.lot,
            source=t.source,
            source_name=names.get(t.source),
            destination=t.destination,
            destination_name=names.get(t.destination),
            shipped=str(shipped),
            received=str(received),
            outstanding=str(shipped - received),
            unit=t.unit,
        )
        lines.append(line)
        if shipped > received:  # still on the road: the destination must be told too
            on_road.setdefault(t.destination, []).append(LotQuantity(t.lot, line.outstanding, t.unit))
    parties = tuple(
        RecallParty(
            party=p,
            name=names.get(p),
            lots=tuple(held.get(p, ())),
            in_transit=tuple(on_road[p]) if p in on_road else None,
        )
        for p in sorted(held.keys() | on_road.keys())
    )
    affected = tuple(
        AffectedLot(
            lot=c,
            product=rows[c].product_name,
            product_en=rows[c].product.get("name_en"),
            quantity=rows[c].quantity,
            unit=rows[c].unit,
            recalled=rows[c].status.recalled,
            sold=disposals.get(c, {}).get("sold", "0"),
            destroyed=disposals.get(c, {}).get("destroyed", "0"),
        )
        for c in codes
    )
    return RecallReach(lot=code, affected_lots=affected, parties=parties, shipments=tuple(lines))
