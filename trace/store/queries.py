"""The read side's SQL about recorded events: indexes, prices, recalls, and when the ledger recorded them.

With `lot_queries` (lots, holdings, shipment lines) and `party_queries` (parties, keys, anomalies)
this module holds every read `trace/reads/` makes; nothing above `trace/store` writes a `select()`.
Each function takes an open SQLAlchemy connection and returns small typed records or plain values.
`Engine` is re-exported so the reads and `TraceService` can name the type without importing
SQLAlchemy; `create_tables` creates every trace table on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from farmtrace.ledger.sqlstore import LedgerCheckpoint

from .rows import in_chunks
from .tables import TABLES, TraceEvent, TraceEventLot

__all__ = [
    "Connection",
    "Engine",
    "EventRow",
    "PricePoint",
    "checkpoint_times",
    "create_tables",
    "event_at",
    "events_with_ids",
    "indexes_between",
    "input_lots_at",
    "lots_at",
    "price_points",
    "priced_products",
    "recall_rows",
]

_event = TraceEvent.__table__
_event_lot = TraceEventLot.__table__
_checkpoint = LedgerCheckpoint.__table__


@dataclass(frozen=True)
class EventRow:
    """What trace_event says of a recorded event: id, ledger index, kind, signer and event time."""

    id: str
    index: int
    kind: str
    party: str
    event_time: str  # as recorded, with its UTC offset


@dataclass(frozen=True)
class PricePoint:
    """One recorded price: when (UTC text), which product, the amount (CNY) per `unit`, at which stage."""

    at_utc: str
    product_name: str | None
    amount: str
    unit: str
    stage: str


def create_tables(engine: Engine) -> None:
    """Create every trace table that does not exist yet (trace/store/tables.py `TABLES`)."""
    SQLModel.metadata.create_all(engine, tables=TABLES)


def _event_row(r) -> EventRow:
    return EventRow(id=r.id, index=r.ledger_index, kind=r.kind, party=r.party, event_time=r.event_time)


_EVENT_COLUMNS = (_event.c.id, _event.c.ledger_index, _event.c.kind, _event.c.party, _event.c.event_time)


def events_with_ids(conn: Connection, ids: Iterable[str]) -> list[EventRow]:
    """The recorded events with these ids (unknown ids left out), in no particular order."""
    out = []
    for chunk in in_chunks(sorted(set(ids))):
        out += [_event_row(r) for r in conn.execute(select(*_EVENT_COLUMNS).where(_event.c.id.in_(chunk)))]
    return out


def event_at(conn: Connection, index: int) -> EventRow | None:
    """The recorded event at ledger index `index`, or None if no event has it."""
    r = conn.execute(select(*_EVENT_COLUMNS).where(_event.c.ledger_index == index)).first()
    return _event_row(r) if r is not None else None


def lots_at(conn: Connection, index: int) -> list[str]:
    """The lots the event at ledger index `index` names (inputs and outputs), sorted."""
    q = select(_event_lot.c.lot).where(_event_lot.c.ledger_index == index).order_by(_event_lot.c.lot)
    return [r.lot for r in conn.execute(q)]


def input_lots_at(conn: Connection, indexes: Iterable[int]) -> dict[int, str]:
    """ledger index -> an input lot of the event there (for a recall: its one input)."""
    out = {}
    for chunk in in_chunks(sorted(set(indexes))):
        q = select(_event_lot.c.ledger_index, _event_lot.c.lot).where(
            _event_lot.c.ledger_index.in_(chunk), _event_lot.c.role == "input"
        )
        out |= {r.ledger_index: r.lot for r in conn.execute(q)}
    return out


def indexes_between(conn: Connection, since_utc: str, until_utc: str) -> list[int]:
    """Ledger indexes of the events whose event time (UTC text) is in [since_utc, until_utc), in order."""
    q = (
        select(_event.c.ledger_index)
        .where(_event.c.at_utc >= since_utc, _event.c.at_utc < until_utc)
        .order_by(_event.c.ledger_index)
    )
    return [r.ledger_index for r in conn.execute(q)]


def recall_rows(conn: Connection, *, since_utc: str | None, limit: int) -> list[EventRow]:
    """The latest `limit` recall events, newest (in ledger order) first; with `since_utc`, only
    those whose event time is at or after it."""
    q = select(*_EVENT_COLUMNS).where(_event.c.kind == "recall")
    if since_utc is not None:
        q = q.where(_event.c.at_utc >= since_utc)
    return [_event_row(r) for r in conn.execute(q.order_by(_event.c.ledger_index.desc()).limit(limit))]


def price_points(
    conn: Connection, *, product: str | None, since_utc: str | None, until_utc: str | None
) -> list[PricePoint]:
    """Every recorded price (of `product`, in [since_utc, until_utc) when given), in the database's order."""
    q = select(
        _event.c.at_utc,
        _event.c.product_name,
        _event.c.price_amount,
        _event.c.price_unit,
        _event.c.price_stage,
    ).where(_event.c.price_amount.is_not(None))
    if product:
        q = q.where(_event.c.product_name == product)
    if since_utc:
        q = q.where(_event.c.at_utc >= since_utc)
    if until_utc:
        q = q.where(_event.c.at_utc < until_utc)
    return [
        PricePoint(
            at_utc=r.at_utc,
            product_name=r.product_name,
            amount=r.price_amount,
            unit=r.price_unit,
            stage=r.price_stage,
        )
        for r in conn.execute(q)
    ]


def priced_products(conn: Connection) -> list[str]:
    """The names of the products that have recorded prices, sorted."""
    q = (
        select(_event.c.product_name)
        .where(_event.c.price_amount.is_not(None), _event.c.product_name.is_not(None))
        .distinct()
        .order_by(_event.c.product_name)
    )
    return [r.product_name for r in conn.execute(q)]


def checkpoint_times(conn: Connection, lo: int, hi: int) -> list[tuple[int, float]]:
    """(size, signed_at) of the ledger's checkpoints from the first that includes index `lo` to the
    first that includes index `hi` (or to the last checkpoint, if none does yet), by size."""
    cp = _checkpoint
    last = conn.execute(select(func.min(cp.c.size)).where(cp.c.size > hi)).scalar()
    upper = last if last is not None else hi
    q = select(cp.c.size, cp.c.signed_at).where(cp.c.size > lo, cp.c.size <= upper).order_by(cp.c.size)
    return [(r.size, r.signed_at) for r in conn.execute(q)]
