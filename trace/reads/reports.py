"""The regulator's reports and the public notices: prices by stage, recent recalls, what an
altered entry recorded, and the names a report prints.

prices(engine, *, product=, since=, until=)  -> [PriceRow]      by CST day, product, stage, unit
priced_products(engine)                      -> [str]           products with recorded prices
product_names_en(engine, names)              -> {name_zh: name_en}
lot_products(engine, codes)                  -> {lot: product name_zh}
recent_recalls(engine, log, *, limit=, since=) -> [RecallNotice]  newest first
entry_event(engine, index)                   -> EntryRecord | None   the tables' word on an entry
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from farmtrace.ledger.log import Log

from ..clock import cst_day, parse_utc, to_utc_text
from ..errors import TraceError
from ..model.encoding import decode_entry
from ..store import lot_queries, party_queries
from ..store import queries as q
from ..store.queries import Engine
from .events import stored_entries

__all__ = [
    "EntryRecord",
    "PriceRow",
    "RecallNotice",
    "entry_event",
    "lot_products",
    "priced_products",
    "prices",
    "product_names_en",
    "recent_recalls",
]


@dataclass(frozen=True)
class PriceRow:
    """Recorded prices of one CST day, product, stage (production / wholesale / retail) and unit:
    how many, and their min, mean (to the fen) and max, in CNY per `unit`."""

    day: str
    product: str
    stage: str
    unit: str
    count: int
    min: str
    mean: str
    max: str


@dataclass(frozen=True)
class RecallNotice:
    """A recall as the public is told of it (`recent_recalls`).

    `lot`, `reason`, `instructions`, `event_time` and `regulator` come from the signed recall event
    in the ledger; `product` (the lot's product, wire form: name_zh, name_en, gtin…) and
    `regulator_names` ({"name_zh", "name_en"}, empty if unknown) from the tables.
    When the stored entry no longer decodes, the recall is still listed, from the tables, with
    `reason` and `instructions` None: a recall must never vanish from view because its bytes were
    damaged (the audit names the entry).
    """

    event_id: str
    index: int
    lot: str
    product: dict[str, Any]
    reason: str | None
    instructions: str | None
    event_time: str  # as recorded, with its UTC offset
    regulator: str
    regulator_names: dict[str, str | None]


@dataclass(frozen=True)
class EntryRecord:
    """What the tables say ledger entry `index` recorded: for naming an entry an audit found
    altered (its bytes can no longer be trusted; the projection written when it was accepted
    still says what it was)."""

    index: int
    event_id: str
    kind: str
    party: str
    party_name: str | None
    event_time: str
    lots: tuple[str, ...]


def prices(
    engine: Engine,
    *,
    product: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PriceRow]:
    """Recorded prices by day, product and stage: min, mean, max, count; sorted by those keys.

    Days are China Standard Time calendar days; prices are CNY per the unit recorded with them.
    """
    with engine.connect() as conn:
        points = q.price_points(
            conn,
            product=product,
            since_utc=to_utc_text(since) if since else None,
            until_utc=to_utc_text(until) if until else None,
        )
    groups: dict[tuple[str, str, str, str], list[Decimal]] = {}
    for p in points:
        day = cst_day(parse_utc(p.at_utc)).isoformat()
        groups.setdefault((day, p.product_name or "", p.stage, p.unit), []).append(Decimal(p.amount))
    return [
        PriceRow(
            day=day,
            product=prod,
            stage=stage,
            unit=unit,
            count=len(v),
            min=str(min(v)),
            mean=str((sum(v) / len(v)).quantize(Decimal("0.01"))),
            max=str(max(v)),
        )
        for (day, prod, stage, unit), v in sorted(groups.items())
    ]


def priced_products(engine: Engine) -> list[str]:
    """The names of the products that have recorded prices, sorted (the price chart's picker)."""
    with engine.connect() as conn:
        return q.priced_products(conn)


def product_names_en(engine: Engine, names: Sequence[str]) -> dict[str, str]:
    """The English name (where one was recorded) of the product of the first lot named each of
    `names` (Chinese names, as `priced_products` lists them)."""
    with engine.connect() as conn:
        return lot_queries.product_names_en(conn, names)


def lot_products(engine: Engine, codes: Sequence[str]) -> dict[str, str]:
    """Product names (Chinese) of the given lots."""
    with engine.connect() as conn:
        return lot_queries.lot_products(conn, codes)


def recent_recalls(
    engine: Engine, log: Log, *, limit: int = 5, since: datetime | None = None
) -> list[RecallNotice]:
    """The latest `limit` recalls, newest (in ledger order) first; with `since`, only those whose
    event time is at or after it. Each names the recalled lot (the event's first input: the
    rules flag it and its descendants). See `RecallNotice` for where each field comes from.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    with engine.connect() as conn:
        rows = q.recall_rows(conn, since_utc=to_utc_text(since) if since is not None else None, limit=limit)
        if not rows:
            return []
        # The tables' word on each recall's lot: used only when the entry cannot be read.
        listed = q.input_lots_at(conn, [r.index for r in rows])
        names = party_queries.party_name_pairs(conn, {r.party for r in rows})
    stored = dict(stored_entries(log, sorted(r.index for r in rows)))
    found = []
    for r in rows:
        try:
            event = decode_entry(stored[r.index]).event
        except (KeyError, TraceError):
            event = None
        found.append((r, event, event.inputs[0].lot if event is not None else listed.get(r.index, "")))
    with engine.connect() as conn:
        products = {c: row.product for c, row in lot_queries.lot_rows(conn, {c for _, _, c in found}).items()}
    return [
        RecallNotice(
            event_id=r.id,
            index=r.index,
            lot=code,
            product=products.get(code, {}),
            reason=event.detail.reason if event is not None else None,
            instructions=event.detail.instructions if event is not None else None,
            event_time=event.event_time if event is not None else r.event_time,
            regulator=event.party if event is not None else r.party,
            regulator_names={"name_zh": names[r.party][0], "name_en": names[r.party][1]}
            if r.party in names
            else {},
        )
        for r, event, code in found
    ]


def entry_event(engine: Engine, index: int) -> EntryRecord | None:
    """What the tables say ledger entry `index` recorded (see `EntryRecord`); None if no event has it."""
    with engine.connect() as conn:
        r = q.event_at(conn, index)
        if r is None:
            return None
        lots = q.lots_at(conn, index)
        name = party_queries.party_names(conn, {r.party}).get(r.party)
    return EntryRecord(
        index=index,
        event_id=r.id,
        kind=r.kind,
        party=r.party,
        party_name=name,
        event_time=r.event_time,
        lots=tuple(lots),
    )
