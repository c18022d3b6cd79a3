"""The national platform's codes, read back: who carries a code, each lot's 追溯码, each party's
主体码, and one party's 来源/去向 record (docs/national-platform.md).

The codes come from signed records only: a party's 主体码 from the party.register record a regulator
signed, a lot's 追溯码 from the event that created the lot. `trace_national_code` is their index,
rebuilt on replay; these reads answer from it, typed:

    find_code(engine, code)                       CodeMatch: the parties and lots carrying `code`
    tracing_codes(engine, lots)                   lot -> 追溯码
    subject_codes(engine, parties)                party -> 主体码
    party_flows(engine, log, party, since, until) FlowReport: trace/stock_flows.py's flows of one party
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from farmtrace.ledger.log import Log

from ..clock import to_utc_text
from ..errors import NotFound
from ..model.encoding import decode_entry
from ..model.ids import check_national_code
from ..stock_flows import StockFlow, flow_subjects, stock_flows
from ..store import lot_queries, party_queries
from ..store import national_codes as q
from ..store.queries import Engine
from .events import LoggedEvent, stored_entries
from .parties import party as party_summary

__all__ = [
    "CodeMatch",
    "CodedLot",
    "CodedParty",
    "FlowReport",
    "find_code",
    "party_flows",
    "subject_codes",
    "tracing_codes",
]


@dataclass(frozen=True)
class CodedParty:
    """A party whose registration record carries the code as its 主体码."""

    id: str
    name_zh: str
    event_id: str  # the party.register event


@dataclass(frozen=True)
class CodedLot:
    """A lot whose creating event gives it the code as its 追溯码."""

    code: str
    product: str
    created_by: str
    event_id: str  # the event that created the lot


@dataclass(frozen=True)
class CodeMatch:
    """Everyone carrying national code `code`: parties (主体码) and lots (追溯码), each by id."""

    code: str
    parties: tuple[CodedParty, ...]
    lots: tuple[CodedLot, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON GET /national-codes/{code} serves."""
        return {
            "code": self.code,
            "parties": [{"id": p.id, "name_zh": p.name_zh, "event_id": p.event_id} for p in self.parties],
            "lots": [
                {"code": lot.code, "product": lot.product, "created_by": lot.created_by, "event_id": lot.event_id}
                for lot in self.lots
            ],
        }


@dataclass(frozen=True)
class FlowReport:
    """One party's 来源/去向 record over event times [since, until)."""

    party: str
    name_zh: str
    subject_code: str | None
    since: datetime
    until: datetime
    flows: tuple[StockFlow, ...]


def find_code(engine: Engine, code: str) -> CodeMatch:
    """The parties and lots carrying `code`. Raises InvalidEvent(field="code") for a code of the
    wrong shape, NotFound when no signed record gives it."""
    check_national_code(code, field="code")
    with engine.connect() as conn:
        rows = q.code_rows(conn, code)
        if not rows:
            raise NotFound("national platform code", code)
        names = party_queries.party_names(conn)
        lots = [r for r in rows if r.scheme == "tracing"]
        products = lot_queries.lot_products(conn, [r.holder for r in lots])
        makers = q.lot_makers(conn, [r.holder for r in lots])
    return CodeMatch(
        code=code,
        parties=tuple(
            CodedParty(r.holder, names.get(r.holder, ""), r.event_id) for r in rows if r.scheme == "subject"
        ),
        lots=tuple(
            CodedLot(r.holder, products.get(r.holder, ""), makers.get(r.holder, ""), r.event_id) for r in lots
        ),
    )


def tracing_codes(engine: Engine, lots: Sequence[str]) -> dict[str, str]:
    """lot code -> its 追溯码, for those of `lots` that have one."""
    with engine.connect() as conn:
        return q.codes_of(conn, "tracing", lots)


def subject_codes(engine: Engine, parties: Sequence[str]) -> dict[str, str]:
    """party id -> its 主体码, for those of `parties` that have one."""
    with engine.connect() as conn:
        return q.codes_of(conn, "subject", parties)


def party_flows(engine: Engine, log: Log, party: str, *, since: datetime, until: datetime) -> FlowReport:
    """`party`'s 来源/去向 record: every lot line that entered or left its stock with event time in
    [since, until), in ledger order (trace/stock_flows.py). Raises NotFound for an unknown party."""
    summary = party_summary(engine, party)
    with engine.connect() as conn:
        indexes = q.flow_indexes(conn, party, to_utc_text(since), to_utc_text(until))
    events = [
        LoggedEvent(signed.event, signed.id, i)
        for i, entry in stored_entries(log, indexes, max_gap=256)
        for signed in [decode_entry(entry)]
    ]
    lots, parties = flow_subjects(events, party)
    with engine.connect() as conn:
        names = party_queries.party_names(conn)
        subjects = q.codes_of(conn, "subject", parties)
        codes = q.codes_of(conn, "tracing", lots)
        products = lot_queries.lot_products(conn, lots)
    flows = stock_flows(
        events, party, names=names, subject_codes=subjects, tracing_codes=codes, products=products
    )
    return FlowReport(
        party=party,
        name_zh=summary.name_zh,
        subject_code=subjects.get(party),
        since=since,
        until=until,
        flows=tuple(flows),
    )

