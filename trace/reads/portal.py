"""A party's own view (the portal): what it holds, what is on its way to it, what it sent.

holdings(engine, party_id)        -> [Holding]    lots held now, newest lot first
incoming(engine, party_id)        -> [Incoming]   shipment lines to it not yet fully received
shipments_from(engine, party_id)  -> [Shipment]   shipment lines it sent, newest first
animals(engine, lots)             -> {lot: LotAnimals}   the live animals in each lot now, and their weight

Quantities are the decimal texts the tables hold; `outstanding` is shipped minus received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..model.units import format_decimal
from ..store.livestock import lot_animals, lot_live_weight
from ..store.lot_queries import LotStatus, holdings_of, transits_from, transits_to
from ..store.party_queries import party_names
from ..store.queries import Engine

__all__ = [
    "Holding",
    "Incoming",
    "LotAnimals",
    "Shipment",
    "animals",
    "holdings",
    "incoming",
    "shipments_from",
]


@dataclass(frozen=True)
class Holding:
    """A lot a party holds: `held` of the lot's `quantity`; `product` in its wire form; `head` the
    id of the last event on the lot (what a new event on it must follow)."""

    lot: str
    held: str
    quantity: str
    unit: str
    product: dict[str, Any]
    created_at: str  # UTC text, as stored
    head: str
    status: LotStatus


@dataclass(frozen=True)
class LotAnimals:
    """The live animals in a lot now: their ear tags, and their recorded live weight in kg (each animal
    at its last weighing, `rules.view.reckon_live_weight`), None if one was never weighed."""

    ear_tags: tuple[str, ...]
    live_weight: str | None


@dataclass(frozen=True)
class Incoming:
    """A shipment line sent to a party and not yet fully received (what its receive form offers)."""

    ship_event: str
    lot: str
    product: str  # the lot's product, Chinese name
    source: str
    source_name: str | None
    shipped: str
    received: str
    outstanding: str
    unit: str
    head: str


@dataclass(frozen=True)
class Shipment:
    """A shipment line a party sent, with how much the destination has received; `at` is the ship
    event's time (UTC text)."""

    ship_event: str
    lot: str
    product: str  # the lot's product, Chinese name
    to: str
    to_name: str | None
    shipped: str
    received: str
    outstanding: str
    unit: str
    at: str


def holdings(engine: Engine, party_id: str) -> list[Holding]:
    """The lots `party_id` holds now (above zero), newest lot first."""
    with engine.connect() as conn:
        rows = holdings_of(conn, party_id)
    return [
        Holding(
            lot=r.code,
            held=held,
            quantity=r.quantity,
            unit=r.unit,
            product=r.product,
            created_at=r.created_at,
            head=r.head,
            status=r.status,
        )
        for r, held in rows
    ]


def _outstanding(shipped: str, received: str) -> str:
    return str(Decimal(shipped) - Decimal(received))


def incoming(engine: Engine, party_id: str) -> list[Incoming]:
    """Shipment lines sent to `party_id` and not yet fully received."""
    with engine.connect() as conn:
        rows = transits_to(conn, party_id)
        names = party_names(conn, {t.source for t, _, _ in rows})
    return [
        Incoming(
            ship_event=t.ship_event,
            lot=t.lot,
            product=product,
            source=t.source,
            source_name=names.get(t.source),
            shipped=t.quantity,
            received=t.received,
            outstanding=_outstanding(t.quantity, t.received),
            unit=t.unit,
            head=head,
        )
        for t, product, head in rows
        if Decimal(t.quantity) > Decimal(t.received)
    ]


def shipments_from(engine: Engine, party_id: str) -> list[Shipment]:
    """Shipment lines `party_id` sent, newest first, with how much the destination has received."""
    with engine.connect() as conn:
        rows = transits_from(conn, party_id)
        names = party_names(conn, {t.destination for t, _, _ in rows})
    return [
        Shipment(
            ship_event=t.ship_event,
            lot=t.lot,
            product=product,
            to=t.destination,
            to_name=names.get(t.destination),
            shipped=t.quantity,
            received=t.received,
            outstanding=_outstanding(t.quantity, t.received),
            unit=t.unit,
            at=at,
        )
        for t, product, at in rows
    ]


def animals(engine: Engine, lots: Iterable[str]) -> dict[str, LotAnimals]:
    """The live animals in each of `lots` now; a lot with none is left out.

    From the trace_animal projection (store/livestock.py): what a form offers to pick from and to start
    from, which the rules check again against the same table when the event comes back signed."""
    found: dict[str, LotAnimals] = {}
    with engine.connect() as conn:
        for code in dict.fromkeys(lots):
            tags = lot_animals(conn, code)
            if tags:
                weight = lot_live_weight(conn, code)
                found[code] = LotAnimals(
                    tuple(sorted(tags)), None if weight is None else format_decimal(weight)
                )
    return found
