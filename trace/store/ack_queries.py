"""The SQL of recall acknowledgements (trace/reads/recall_notices.py): which recall_ack events exist.

A recall_ack names its recall and its lot in its signed `detail`, which the tables do not copy:
these rows only say which ledger entries to read (trace_event, kind "recall_ack"), and the reads
take the recall and the lot from the entries themselves.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .queries import EventRow
from .tables import TraceEvent

__all__ = ["ack_rows"]

_event = TraceEvent.__table__  # type: ignore[attr-defined]


def ack_rows(conn: Connection, *, party: str | None = None) -> list[EventRow]:
    """Every recall_ack event (of `party` when given), in ledger order."""
    q = select(_event.c.id, _event.c.ledger_index, _event.c.party, _event.c.event_time).where(
        _event.c.kind == "recall_ack"
    )
    if party is not None:
        q = q.where(_event.c.party == party)
    return [
        EventRow(id=r.id, index=r.ledger_index, kind="recall_ack", party=r.party, event_time=r.event_time)
        for r in conn.execute(q.order_by(_event.c.ledger_index))
    ]
