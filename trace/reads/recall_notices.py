"""Recalls as their holders are told of them, and who has acknowledged them (docs/recall-notices.md).

    notices_for(engine, log, party)        -> [PartyNotice]  the recalls reaching what `party` holds or
                                              has on its way to it, with its own acknowledgements
    recall_acks(engine, log, recall_event) -> RecallAcks     every holder of what a recall reaches, what
                                              it holds, and whether it acknowledged (the console)
    stop_sale(engine, log, party)          -> [StopSaleLine] one line per recalled lot the party holds
                                              or awaits: its 停售清单 (stop-sale list)

A recall reaches its lot and every lot made from it (trace/reads/recalls.py). Who holds what is the
projection's word, rebuilt by the replay audit; the recall, and each acknowledgement's recall, lot
and note, are read from the signed entries themselves. An acknowledgement (recall_ack, 召回确认)
is a signed event of the holder's: who acknowledged is attributable and tamper-evident like every
event. A recall whose entry no longer decodes is still listed (reports.recent_recalls); an
acknowledgement that no longer decodes is left out, and the audit names its entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from farmtrace.ledger.log import Log

from ..errors import NotFound, TraceError
from ..model.details import RecallAckDetail
from ..model.encoding import decode_entry
from ..store import lot_queries as lq
from ..store.ack_queries import ack_rows
from ..store.party_queries import party_name_pairs
from ..store.queries import Engine
from ..store.sql_state import Repository
from .events import stored_entries
from .reports import RecallNotice, recent_recalls

__all__ = [
    "MAX_RECALLS",
    "Ack",
    "HeldLot",
    "HolderAcks",
    "PartyNotice",
    "RecallAcks",
    "StopSaleLine",
    "notices_for",
    "recall_acks",
    "stop_sale",
]

# Recalls are rare (a city's regulators record a few a month): the pages consider the latest this many.
MAX_RECALLS = 1000


@dataclass(frozen=True)
class Ack:
    """A recall_ack on the ledger: who signed it, for which recall and lot, what it says, when."""

    event_id: str
    index: int
    party: str
    recall_event: str
    lot: str
    note: str | None
    event_time: str


@dataclass(frozen=True)
class HeldLot:
    """What one party has of one lot a recall reaches: `quantity` held now, `on_road` still on its way."""

    lot: str
    product: dict[str, Any]
    quantity: str
    on_road: str
    unit: str


@dataclass(frozen=True)
class PartyNotice:
    """A recall as one holder is told of it: the recall, what it has of it, its acknowledgements."""

    recall: RecallNotice
    lots: tuple[HeldLot, ...]
    acks: tuple[Ack, ...]

    @property
    def acknowledged(self) -> bool:
        return bool(self.acks)


@dataclass(frozen=True)
class HolderAcks:
    """One party a recall must reach (or that acknowledged it): names, holdings, acknowledgements."""

    party: str
    name_zh: str | None
    name_en: str | None
    lots: tuple[HeldLot, ...]
    acks: tuple[Ack, ...]

    @property
    def acknowledged(self) -> bool:
        return bool(self.acks)


@dataclass(frozen=True)
class RecallAcks:
    """Who has acknowledged a recall and who has not: holders first unacknowledged, then by id."""

    recall: RecallNotice
    holders: tuple[HolderAcks, ...]

    @property
    def acknowledged(self) -> int:
        return sum(1 for h in self.holders if h.acknowledged)


@dataclass(frozen=True)
class StopSaleLine:
    """One line of a party's stop-sale list: a recalled lot it holds or awaits, and its recall."""

    lot: str
    product: dict[str, Any]
    quantity: str
    on_road: str
    unit: str
    recall_event: str
    recalled_lot: str
    reason: str | None
    instructions: str | None
    recalled_at: str
    acknowledged: bool


@dataclass(frozen=True)
class _Reach:
    held: dict[str, list[HeldLot]]  # party -> what it holds or awaits of the affected lots


def _reach(engine: Engine, lot: str) -> _Reach:
    """Who holds or awaits what of `lot` and every lot made from it."""
    with engine.connect() as conn:
        codes = sorted({lot} | Repository(conn).descendants(lot))
        holders = lq.holders_of(conn, codes)
        transits = lq.transits_of(conn, codes)
        rows = lq.lot_rows(conn, codes)
    amounts: dict[tuple[str, str], list[Decimal]] = {}
    for code, by_party in holders.items():
        for party, qty in by_party.items():
            amounts.setdefault((party, code), [Decimal(0), Decimal(0)])[0] += qty
    for t in transits:
        outstanding = Decimal(t.quantity) - Decimal(t.received)
        if outstanding > 0:
            amounts.setdefault((t.destination, t.lot), [Decimal(0), Decimal(0)])[1] += outstanding
    held: dict[str, list[HeldLot]] = {}
    for (party, code), (qty, road) in sorted(amounts.items()):
        row = rows.get(code)
        held.setdefault(party, []).append(
            HeldLot(
                lot=code,
                product=row.product if row else {},
                quantity=str(qty),
                on_road=str(road),
                unit=row.unit if row else "",
            )
        )
    return _Reach(held)


def _acks(engine: Engine, log: Log, *, party: str | None = None) -> list[Ack]:
    """Every acknowledgement (of `party`), read from the signed entries, in ledger order."""
    with engine.connect() as conn:
        rows = ack_rows(conn, party=party)
    if not rows:
        return []
    stored = dict(stored_entries(log, [r.index for r in rows]))
    out = []
    for r in rows:
        try:
            event = decode_entry(stored[r.index]).event
        except (KeyError, TraceError):
            continue  # the audit names an entry that no longer decodes
        detail = event.detail
        assert isinstance(detail, RecallAckDetail)
        out.append(
            Ack(r.id, r.index, event.party, detail.recall_event, detail.lot, detail.note, event.event_time)
        )
    return out


def _recalls(engine: Engine, log: Log) -> list[RecallNotice]:
    return recent_recalls(engine, log, limit=MAX_RECALLS)


def _reachable(engine: Engine, party: str) -> set[str]:
    """The lots a recall reaching `party`'s goods may have recalled: every recalled lot it holds or
    awaits, and their ancestors. The flags spread downstream (rules/view.py), so a party with no
    flagged lot in hand or on the road is reached by no recall, and costs two queries."""
    with engine.connect() as conn:
        flagged = {row.code for row, _ in lq.holdings_of(conn, party) if row.status.recalled}
        awaited = [
            t.lot for t, _, _ in lq.transits_to(conn, party) if Decimal(t.quantity) > Decimal(t.received)
        ]
        flagged |= {code for code, row in lq.lot_rows(conn, awaited).items() if row.status.recalled}
        repo = Repository(conn)
        return flagged.union(*(repo.ancestors(code) for code in flagged))


def notices_for(engine: Engine, log: Log, party: str) -> list[PartyNotice]:
    """The recalls that reach what `party` holds now or has on its way, or that it acknowledged,
    newest first; each with what it has of the recalled lots and its own acknowledgements."""
    acks = _acks(engine, log, party=party)
    reachable = _reachable(engine, party)
    if not reachable and not acks:
        return []
    acked = {a.recall_event for a in acks}
    out = []
    for recall in _recalls(engine, log):
        if recall.lot not in reachable and recall.event_id not in acked:
            continue
        lots = tuple(_reach(engine, recall.lot).held.get(party, ())) if recall.lot in reachable else ()
        mine = tuple(a for a in acks if a.recall_event == recall.event_id)
        if lots or mine:
            out.append(PartyNotice(recall=recall, lots=lots, acks=mine))
    return out


def recall_acks(engine: Engine, log: Log, recall_event: str) -> RecallAcks:
    """Every party holding or awaiting what `recall_event` reaches, and every party that
    acknowledged it, with their holdings and acknowledgements. Raises NotFound if it is no recall."""
    recall = next((r for r in _recalls(engine, log) if r.event_id == recall_event), None)
    if recall is None:
        raise NotFound("recall", recall_event)
    held = _reach(engine, recall.lot).held
    acks = [a for a in _acks(engine, log) if a.recall_event == recall_event]
    parties = sorted(held.keys() | {a.party for a in acks})
    with engine.connect() as conn:
        names = party_name_pairs(conn, parties)
    holders = [
        HolderAcks(
            party=p,
            name_zh=names.get(p, (None, None))[0],
            name_en=names.get(p, (None, None))[1],
            lots=tuple(held.get(p, ())),
            acks=tuple(a for a in acks if a.party == p),
        )
        for p in parties
    ]
    holders.sort(key=lambda h: (h.acknowledged, h.party))
    return RecallAcks(recall=recall, holders=tuple(holders))


def stop_sale(engine: Engine, log: Log, party: str) -> list[StopSaleLine]:
    """`party`'s stop-sale list: every recalled lot it holds or awaits (nothing left of it: no line)."""
    return _lines(notices_for(engine, log, party))


def _lines(notices: Sequence[PartyNotice]) -> list[StopSaleLine]:
    return [
        StopSaleLine(
            lot=h.lot,
            product=h.product,
            quantity=h.quantity,
            on_road=h.on_road,
            unit=h.unit,
            recall_event=n.recall.event_id,
            recalled_lot=n.recall.lot,
            reason=n.recall.reason,
            instructions=n.recall.instructions,
            recalled_at=n.recall.event_time,
            acknowledged=n.acknowledged,
        )
        for n in notices
        for h in n.lots
    ]
