"""The trace tables' rows: one definition of each table's columns, shared by both appliers.

The reference applier (`sql_state.Repository.apply`) and the bulk overlay (`bulk.BatchState.flush`)
MUST write the same rows (tests/trace/test_ingest.py compares every table). So the columns they
write, and the functions that turn domain state into a row in that order, are defined once, here:

    LOT_COLUMNS        lot_row(lot, created_event=…)      and back: lot_state(row, parents)
    TRANSIT_COLUMNS    transit_row(transit)                and back: transit_state(row)
    EVENT_COLUMNS      event_row(event, …)
    EVENT_LOT_COLUMNS  event_lot_rows(event, …)
    ANOMALY_COLUMNS    anomaly_row(signed, exc, at=…)
    NATIONAL_CODE_COLUMNS  subject_code_rows(record, …), tracing_code_rows(event, …)
                       key_state(public_key, active_from, revoked_at)

Column lists hold the tables' column *keys* (the names Python uses: `table.c[key]`); `stored_names`
gives the names the database stores, for statements written as text (the bulk driver). They differ
in one place: trace_event_lot's `ledger_index` is stored as `seq` (see tables.py).

Also `in_chunks`, the one helper for `col.in_(…)` over a caller's list of keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Table

from ..clock import parse_utc, to_utc_text
from ..errors import RuleViolation
from ..model.encoding import SignedEvent
from ..model.event import Event
from ..model.values import PartyRecord, Product
from ..rules.view import KeyState, LotState, Transit

T = TypeVar("T")

__all__ = [
    "ANOMALY_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_LOT_COLUMNS",
    "IN_CHUNK",
    "LOT_COLUMNS",
    "LOT_FLAGS",
    "NATIONAL_CODE_COLUMNS",
    "TRANSIT_COLUMNS",
    "anomaly_row",
    "event_lot_rows",
    "event_row",
    "in_chunks",
    "key_state",
    "lot_row",
    "lot_state",
    "product_from_json",
    "product_json",
    "row_values",
    "stored_names",
    "subject_code_rows",
    "tracing_code_rows",
    "transit_row",
    "transit_state",
]

IN_CHUNK = 500  # values per `IN (...)` list: well under SQLite's limit on bound parameters (999 before 3.32)


def in_chunks(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """`values` in order, as consecutive lists of at most `size` (none if `values` is empty).

    Every query that filters on a caller's list of keys (`col.in_(...)`) runs once per chunk, so
    the number of bound parameters stays bounded whatever the list's length.
    """
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def row_values(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """A row (values in the order of `columns`) as {column key: value}, for SQLAlchemy's insert()."""
    return dict(zip(columns, row, strict=True))


def stored_names(table: Table, keys: Sequence[str]) -> tuple[str, ...]:
    """The database's names of `table`'s columns with these keys, in order (for SQL text)."""
    return tuple(table.c[k].name for k in keys)


# --- columns -------------------------------------------------------------------------------------------

LOT_FLAGS = ("failed", "recalled", "rejected", "cleared")
LOT_COLUMNS = (
    "code", "unit", "product", "product_name", "created_by", "created_at", "created_event", "head",
    "head_time", "quantity", *LOT_FLAGS,
)  # fmt: skip
TRANSIT_COLUMNS = ("ship_event", "lot", "source", "destination", "quantity", "unit", "received")
EVENT_COLUMNS = (
    "id", "ledger_index", "kind", "party", "event_time", "at_utc", "location", "product_name",
    "price_amount", "price_unit", "price_stage",
)  # fmt: skip
EVENT_LOT_COLUMNS = ("event_id", "lot", "role", "quantity", "unit", "ledger_index")
ANOMALY_COLUMNS = ("at_utc", "party", "kind", "rule", "field", "message", "lots", "event_id", "event")
NATIONAL_CODE_COLUMNS = ("code", "scheme", "holder", "event_id")


# --- state -> row --------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)  # every new lot's row holds one; a batch's lots share few products
def product_json(p: Product) -> str:
    """A Product as the `product` column stores it (sorted-key JSON of its wire form)."""
    return json.dumps(p.to_wire(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def lot_row(lot: LotState, *, created_event: str, flag: Callable[[bool], Any] = bool) -> tuple:
    """A new lot's trace_lot row (LOT_COLUMNS, in order). `flag` is how the writer binds a boolean."""
    return (
        lot.code, lot.unit, product_json(lot.product), lot.product.name_zh, lot.created_by,
        to_utc_text(lot.created_at), created_event, lot.head, to_utc_text(lot.head_time),
        str(lot.quantity), flag(lot.failed), flag(lot.recalled), flag(lot.rejected), flag(lot.cleared),
    )  # fmt: skip


def transit_row(t: Transit) -> tuple:
    """A shipment line's trace_transit row (TRANSIT_COLUMNS, in order)."""
    return (t.ship_event, t.lot, t.source, t.destination, str(t.quantity), t.unit, str(t.received))


def event_row(
    event: Event, event_id: str, *, at: datetime, ledger_index: int, product_name: str | None
) -> tuple:
    """An accepted event's trace_event row (EVENT_COLUMNS, in order). `product_name` is its first
    output's product, or else its first input lot's (the applier knows where to read that)."""
    price = event.price
    return (
        event_id, ledger_index, event.kind, event.party, event.event_time, to_utc_text(at),
        event.location.name, product_name, str(price.amount) if price else None,
        price.unit if price else None, price.stage if price else None,
    )  # fmt: skip


def event_lot_rows(event: Event, event_id: str, *, ledger_index: int) -> list[tuple]:
    """An accepted event's trace_event_lot rows (EVENT_LOT_COLUMNS): its inputs, then its outputs."""
    rows = [(event_id, r.lot, "input", str(r.quantity), r.unit, ledger_index) for r in event.inputs]
    rows += [(event_id, o.lot, "output", str(o.quantity), o.unit, ledger_index) for o in event.outputs]
    return rows


def subject_code_rows(record: PartyRecord, event_id: str) -> list[tuple]:
    """A registered party's trace_national_code row (NATIONAL_CODE_COLUMNS): its 主体码, if any."""
    return [] if record.subject_code is None else [(record.subject_code, "subject", record.id, event_id)]


def tracing_code_rows(event: Event, event_id: str) -> list[tuple]:
    """An accepted event's trace_national_code rows (NATIONAL_CODE_COLUMNS): each output's 追溯码."""
    return [(o.tracing_code, "tracing", o.lot, event_id) for o in event.outputs if o.tracing_code is not None]


def anomaly_row(signed: SignedEvent, exc: RuleViolation, *, at: datetime) -> tuple:
    """A refused attempt's trace_anomaly row (ANOMALY_COLUMNS, in order)."""
    e = signed.event
    lots = " ".join([r.lot for r in e.inputs] + [o.lot for o in e.outputs])
    return (
        to_utc_text(at), e.party, e.kind, exc.rule, exc.field, str(exc), lots, signed.id,
        signed.canonical.decode(),
    )  # fmt: skip


# --- row -> state --------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)  # a Product is immutable; lots of one product share the same text
def product_from_json(wire: str) -> Product:
    """A lot's `product` column as a Product."""
    d = json.loads(wire)
    return Product(**{k: d.get(k) for k in ("name_zh", "name_en", "gtin", "variety", "category")})


def lot_state(row: Sequence, parents: Sequence[str]) -> LotState:
    """A trace_lot row (LOT_COLUMNS, in order) and the lot's parents as a LotState."""
    code, unit, product, _, created_by, created_at, _, head, head_time, quantity, *flags = row
    failed, recalled, rejected, cleared = map(bool, flags)
    return LotState(
        code=code,
        unit=unit,
        product=product_from_json(product),
        created_by=created_by,
        created_at=parse_utc(created_at),
        head=head,
        head_time=parse_utc(head_time),
        quantity=Decimal(quantity),
        failed=failed,
        recalled=recalled,
        rejected=rejected,
        cleared=cleared,
        parents=tuple(sorted(parents)),
    )


def transit_state(row: Sequence) -> Transit:
    """A trace_transit row (TRANSIT_COLUMNS, in order) as a Transit."""
    ship_event, lot, source, destination, quantity, unit, received = row
    return Transit(ship_event, lot, source, destination, Decimal(quantity), unit, Decimal(received))


def key_state(public_key: bytes, active_from: str, revoked_at: str | None) -> KeyState:
    """A trace_party_key row's public key and times as a KeyState."""
    return KeyState(bytes(public_key), parse_utc(active_from), parse_utc(revoked_at) if revoked_at else None)
