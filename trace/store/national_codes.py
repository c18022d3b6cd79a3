"""The read side's SQL about the national platform's codes (docs/national-platform.md).

`trace_national_code` (tables.py) holds each 主体码 (scheme "subject", a party's) and 追溯码
("tracing", a lot's) a signed record gives; the appliers write it (rows.py). These functions read
it, and find the ledger indexes of one party's stock movements for the 来源/去向 export. Each takes an
open SQLAlchemy connection; lists of keys are queried in chunks (`in_chunks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from .rows import in_chunks
from .tables import TraceEvent, TraceLot, TraceNationalCode

__all__ = ["CodeRow", "code_rows", "codes_of", "flow_indexes", "lot_makers"]

_code = TraceNationalCode.__table__
_event = TraceEvent.__table__
_lot = TraceLot.__table__


@dataclass(frozen=True)
class CodeRow:
    """One code on record: `scheme` "subject" (a party's 主体码) or "tracing" (a lot's 追溯码),
    `holder` the party id or lot code, `event_id` the signed event that gave it."""

    code: str
    scheme: str
    holder: str
    event_id: str


def code_rows(conn: Connection, code: str) -> list[CodeRow]:
    """Every party and lot that carries `code`, subjects first, each by holder."""
    q = select(_code).where(_code.c.code == code).order_by(_code.c.scheme, _code.c.holder)
    return [CodeRow(r.code, r.scheme, r.holder, r.event_id) for r in conn.execute(q)]


def codes_of(conn: Connection, scheme: str, holders: Iterable[str]) -> dict[str, str]:
    """holder -> its code of `scheme`, for those of `holders` that have one (the first, by code, if
    several records gave one holder different codes)."""
    out: dict[str, str] = {}
    for chunk in in_chunks(sorted(set(holders))):
        q = (
            select(_code.c.holder, _code.c.code)
            .where(_code.c.scheme == scheme, _code.c.holder.in_(chunk))
            .order_by(_code.c.holder, _code.c.code)
        )
        for r in conn.execute(q):
            out.setdefault(r.holder, r.code)
    return out


def flow_indexes(conn: Connection, party: str, since_utc: str, until_utc: str) -> list[int]:
    """Ledger indexes of the events with event time in [since_utc, until_utc) that may move `party`'s
    stock: those it recorded, and every destroy (a regulator may destroy what a party holds; the
    caller reads the event's holder). In ledger order."""
    q = (
        select(_event.c.ledger_index)
        .where(
            _event.c.at_utc >= since_utc,
            _event.c.at_utc < until_utc,
            or_(_event.c.party == party, _event.c.kind == "destroy"),
        )
        .order_by(_event.c.ledger_index)
    )
    return [r.ledger_index for r in conn.execute(q)]


def lot_makers(conn: Connection, lots: Iterable[str]) -> dict[str, str]:
    """lot code -> the party that created it, for those of `lots` that are known."""
    out: dict[str, str] = {}
    for chunk in in_chunks(sorted(set(lots))):
        for r in conn.execute(select(_lot.c.code, _lot.c.created_by).where(_lot.c.code.in_(chunk))):
            out[r.code] = r.created_by
    return out
