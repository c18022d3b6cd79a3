"""Parties' compliance records (公共征信) as the platform serves them, and the check that they are the
records the log gives (trace/compliance.py says what is on a record and who sees what).

    served_items(engine, log)                 -> ([ComplianceItem], log size)   every on-ledger item
    party_record(engine, log, party, audience) -> ComplianceRecord             raises NotFound
    compliance_book(engine, log)              -> [ComplianceRecord]            every party, in full
    refusal(engine, anomaly_id)               -> Anomaly                       raises NotFound
    check_records(engine, log)                -> None: raises ComplianceDivergence

How a served record is made, and why it can be trusted: the tables only find the entries
(trace/store/compliance_queries.py: the events that may carry an item, and each lot's creating
event); every item is then read from the signed entries themselves, and so is its attribution (a
lot's maker is the signer of the entry that created it, read from the log, not the table's
`created_by`). A table row that points at an entry saying something else raises
ComplianceDivergence. A row edited to hide an item (a flag cleared, a kind changed) is not seen
here: `check_records` recomputes every record from the log alone (`fold_items`) and compares, and
the replay audit (`farmtrace verify --replay`) finds the edited row itself.

Refusals come from trace_anomaly, which the log does not hold: they are read as stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from farmtrace.ledger.log import Log

from ..audience import Audience
from ..compliance import (
    ComplianceDivergence,
    ComplianceItem,
    ComplianceRecord,
    fold_items,
    items_of,
    visible_record,
)
from ..errors import NotFound
from ..model.encoding import SignedEvent, decode_entry
from ..store import compliance_queries as q
from ..store.party_queries import AnomalyRow
from ..store.queries import Engine
from .events import stored_entries
from .parties import Anomaly, parties
from .parties import party as party_summary

__all__ = ["check_records", "compliance_book", "party_record", "refusal", "served_items"]

REGULATOR = Audience(regulator=True)
_CHUNK = 10_000  # entries read at a time by check_records


def _signed(log: Log, wanted: Sequence[tuple[int, str]]) -> dict[int, SignedEvent]:
    """The signed events at these (index, event id) pairs; ComplianceDivergence if an entry is
    missing or is another event than the table says."""
    ids = dict(wanted)
    found = {i: decode_entry(entry) for i, entry in stored_entries(log, sorted(ids), max_gap=64)}
    for index, event_id in sorted(ids.items()):
        got = found.get(index)
        if got is None or got.id != event_id:
            raise ComplianceDivergence(
                f"the tables name event {event_id} at ledger index {index}, but the log holds "
                f"{'no entry' if got is None else 'event ' + got.id} there",
                expected=event_id,
                found=None if got is None else got.id,
                index=index,
            )
    return found


def served_items(engine: Engine, log: Log) -> tuple[list[ComplianceItem], int]:
    """Every on-ledger item of every record, in ledger order, and the log size it was read at (see
    the module docstring). Raises ComplianceDivergence where a table contradicts the log."""
    size = log.size
    with engine.connect() as conn:
        candidates = [(i, e) for i, e in q.candidate_events(conn) if i < size]
    events = _signed(log, candidates)
    lots = {ref.lot for s in events.values() for ref in s.event.inputs}
    with engine.connect() as conn:
        origins = q.lot_origins(conn, lots)
    creators = _signed(log, sorted({(index, event_id) for event_id, index in origins.values()}))
    makers: dict[str, str] = {}
    for lot, (_, index) in origins.items():
        creator = creators[index]
        if lot not in {out.lot for out in creator.event.outputs}:
            raise ComplianceDivergence(
                f"trace_lot says event {creator.id} (ledger index {index}) created lot {lot}, but that "
                "event does not output it",
                expected=lot,
                found=[out.lot for out in creator.event.outputs],
                index=index,
            )
        makers[lot] = creator.event.party
    items = [item for index in sorted(events) for item in items_of(index, events[index], makers.get)]
    return items, size


def _refusal_item(row: AnomalyRow) -> ComplianceItem:
    rule = row.rule if row.field is None else f"{row.rule} ({row.field})"
    return ComplianceItem(
        "refused",
        row.party,
        at=row.at_utc,
        recorded_by=row.party,
        lot=" ".join(row.lots),
        reason=row.message,
        reference=rule,
        anomaly_id=row.id,
    )


def party_record(engine: Engine, log: Log, party: str, audience: Audience) -> ComplianceRecord:
    """`party`'s record as `audience` is shown it (trace/compliance.py `visible_record`); its
    refusals are read only for a reader who may see them. Raises NotFound for an unknown party."""
    party_summary(engine, party)  # NotFound
    items, size = served_items(engine, log)
    if audience.regulator or audience.party == party:
        with engine.connect() as conn:
            items += [_refusal_item(r) for r in q.refusal_rows(conn, party=party)]
    return visible_record(party, items, audience, log_size=size)


def compliance_book(engine: Engine, log: Log, *, party: str | None = None) -> list[ComplianceRecord]:
    """Every registered party's full record (a regulator's view), by party id; only `party`'s if
    given (NotFound if it is not registered)."""
    ids = [party_summary(engine, party).id] if party is not None else [p.id for p in parties(engine)]
    items, size = served_items(engine, log)
    with engine.connect() as conn:
        items += [_refusal_item(r) for r in q.refusal_rows(conn, party=party)]
    return [visible_record(p, items, REGULATOR, log_size=size) for p in ids]


def refusal(engine: Engine, anomaly_id: int) -> Anomaly:
    """The stored refused attempt `anomaly_id`: who sent it, the rule and field that refused it,
    and the event as sent. Raises NotFound."""
    with engine.connect() as conn:
        r = q.refusal_row(conn, anomaly_id)
    if r is None:
        raise NotFound("refused attempt", str(anomaly_id))
    return Anomaly(
        id=r.id,
        at=r.at_utc,
        party=r.party,
        kind=r.kind,
        rule=r.rule,
        field=r.field,
        message=r.message,
        lots=r.lots,
        event_id=r.event_id,
        event=json.loads(r.event),
    )


def check_records(engine: Engine, log: Log) -> None:
    """Recompute every party's on-ledger record from the log's entries alone (`fold_items`) and
    compare it with the served one, item by item. Returns None, or raises ComplianceDivergence
    naming the first item that differs (`expected` from the log, `found` served)."""
    served, size = served_items(engine, log)
    expected = fold_items(
        entry
        for start in range(0, size, _CHUNK)
        for entry in log.read_entries(start, min(start + _CHUNK, size))
    )
    for n in range(max(len(expected), len(served))):
        want = expected[n] if n < len(expected) else None
        got = served[n] if n < len(served) else None
        if want != got:
            where = want or got
            assert where is not None
            raise ComplianceDivergence(
                f"the served compliance records differ from the log's at item {n} (ledger index "
                f"{where.ledger_index}): the log gives {want}, the tables give {got}",
                expected=want,
                found=got,
                index=where.ledger_index,
            )
