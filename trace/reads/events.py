"""The signed events themselves, read back from the ledger: by id, by time, by a lot's lineage,
and as an EPCIS 2.0 document.

signed_event(engine, log, event_id)        -> (SignedEvent, ledger index); raises NotFound
events_between(engine, log, since, until)  -> [LoggedEvent]   event time in [since, until), ledger order
trace_events(engine, log, code)            -> [LoggedEvent]   the lot, its ancestors and descendants
epcis(engine, events, created=, base=)     -> the EPCIS document (a JSON-LD dict) of LoggedEvents
record_times(engine, indexes)              -> {index: when the ledger recorded it (UTC)}
lot_gtins(engine, codes)                   -> {lot: GTIN}
stored_entries(log, indexes, max_gap=)     -> [(index, entry bytes)]   clustered range reads

The tables only find the indexes; each event is decoded from its ledger entry, so what an export
presents is what was signed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from farmtrace.ledger.log import Log

from ..clock import to_utc_text
from ..epcis import epcis_document
from ..errors import NotFound
from ..model.encoding import SignedEvent, decode_entry
from ..model.event import Event
from ..store import lot_queries
from ..store.queries import Engine, checkpoint_times, indexes_between
from ..store.sql_state import Repository

__all__ = [
    "LoggedEvent",
    "entry_at",
    "epcis",
    "events_between",
    "lot_gtins",
    "record_times",
    "signed_event",
    "stored_entries",
    "trace_events",
]


class LoggedEvent(NamedTuple):
    """A decoded event, its id and its ledger index (a named triple: exports unpack it)."""

    event: Event
    id: str
    index: int


def signed_event(engine: Engine, log: Log, event_id: str) -> tuple[SignedEvent, int]:
    """The signed event with this id and its ledger index. Raises NotFound."""
    with engine.connect() as conn:
        index = Repository(conn).known_event(event_id)
    if index is None:
        raise NotFound("event", event_id)
    (entry,) = [e for _, e in log.read_entries(index, index + 1)]
    return decode_entry(entry), index


def events_between(engine: Engine, log: Log, since: datetime, until: datetime) -> list[LoggedEvent]:
    """Every event with event time in [since, until), in ledger order."""
    with engine.connect() as conn:
        indexes = indexes_between(conn, to_utc_text(since), to_utc_text(until))
    return _decode_at(log, indexes)


def trace_events(engine: Engine, log: Log, code: str) -> list[LoggedEvent]:
    """Every event on the lot, its ancestors and its descendants, in ledger order. Raises NotFound."""
    with engine.connect() as conn:
        repo = Repository(conn)
        if repo.lot(code) is None:
            raise NotFound("lot", code)
        lots = sorted({code} | repo.ancestors(code) | repo.descendants(code))
        indexes = lot_queries.indexes_of_lots(conn, lots)
    return _decode_at(log, sorted(indexes))


def _decode_at(log: Log, indexes: Sequence[int]) -> list[LoggedEvent]:
    """Decode the entries at these indexes (an export's: dense, so read in long ranges)."""
    out = []
    for index, entry in stored_entries(log, indexes, max_gap=256):
        signed = decode_entry(entry)
        out.append(LoggedEvent(signed.event, signed.id, index))
    return out


def epcis(
    engine: Engine, events: Sequence[tuple[Event, str, int]], *, created: datetime, base: str
) -> dict[str, Any]:
    """The EPCIS 2.0 document of these (event, id, ledger index) triples, in the given order.

    Every lot the events name gets its one identifier (trace/epcis.py: the GTIN its product was
    created with, from the tables), whether or not the document holds the event that created it;
    recordTime is when the ledger recorded each event (`record_times`). `base`: the vocabulary
    base URI. `created` must be timezone-aware.
    """
    lots = sorted({r.lot for e, _, _ in events for r in (*e.inputs, *e.outputs)})
    times = record_times(engine, [i for _, _, i in events])
    return epcis_document(
        [(e, eid) for e, eid, _ in events],
        created=created,
        base=base,
        recorded={eid: times[i] for _, eid, i in events if i in times},
        gtins=lot_gtins(engine, lots),
    )


def lot_gtins(engine: Engine, codes: Sequence[str]) -> dict[str, str]:
    """lot code -> the GTIN of its product, for those of `codes` that are known and have one."""
    with engine.connect() as conn:
        return lot_queries.lot_gtins(conn, codes)


def record_times(engine: Engine, indexes: Sequence[int]) -> dict[int, datetime]:
    """ledger index -> when the ledger recorded that entry (UTC): the signing time of the first
    checkpoint that includes it, the moment its batch became durable. Indexes beyond the log are
    left out. Reads only the checkpoints from the first index's to the last one's.
    """
    if not indexes:
        return {}
    with engine.connect() as conn:
        rows = checkpoint_times(conn, min(indexes), max(indexes))
    sizes = [size for size, _ in rows]
    out = {}
    for index in set(indexes):
        k = bisect_right(sizes, index)  # the first checkpoint whose size exceeds the index
        if k < len(rows):
            out[index] = datetime.fromtimestamp(rows[k][1], UTC)
    return out


def entry_at(log: Log, index: int) -> bytes | None:
    """The stored entry at `index`, or None if there is none."""
    rows = log.read_entries(index, index + 1)
    return rows[0][1] if rows else None


def stored_entries(log: Log, indexes: Sequence[int], *, max_gap: int = 8) -> list[tuple[int, bytes]]:
    """The stored entries at these sorted indexes (missing rows are left out).

    Indexes at most `max_gap` apart are read as one range: one query per cluster, without
    reading long stretches of other entries between far-apart events.
    """
    out: list[tuple[int, bytes]] = []
    start = 0
    while start < len(indexes):
        end = start
        while end + 1 < len(indexes) and indexes[end + 1] - indexes[end] <= max_gap:
            end += 1
        wanted = set(indexes[start : end + 1])
        out += [(i, e) for i, e in log.read_entries(indexes[start], indexes[end] + 1) if i in wanted]
        start = end + 1
    return out
