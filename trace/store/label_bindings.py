"""Pre-printed labels bound to lots, over SQL: the `trace_label` projection table's reads and writes.

`bind_labels` is step 7 of `Repository.apply` for a label_activate's `Effects.labels`, and the
only writer of the table; `label_lot` is the `StateReader` read the rules use (a label binds
once), `labels_of` and `label_binding` what the resolver and pages read. Like every projection,
the table is rebuilt by the replay audit from the signed events and compared row by row
(trace/store/compare.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ..rules.effects import LabelBound
from .tables import TraceLabel

__all__ = ["LabelBinding", "bind_labels", "label_binding", "label_count", "label_lot"]

_label = TraceLabel.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LabelBinding:
    """Label `serial` under `gtin` names `lot`, since label_activate event `event_id`."""

    gtin: str
    serial: str
    lot: str
    event_id: str


def bind_labels(conn: Connection, labels: Sequence[LabelBound], *, event_id: str) -> None:
    """Insert the bindings of one accepted label_activate (the rules found none of them bound)."""
    if labels:
        conn.execute(
            insert(_label),
            [{"gtin": b.gtin, "serial": b.serial, "lot": b.lot, "event_id": event_id} for b in labels],
        )


def label_lot(conn: Connection, gtin: str, serial: str) -> str | None:
    """The lot label `serial` under `gtin` (14 digits) names, or None if it is not bound."""
    return conn.execute(select(_label.c.lot).where(_label.c.gtin == gtin, _label.c.serial == serial)).scalar()


def label_binding(conn: Connection, gtin: str, serial: str) -> LabelBinding | None:
    """The binding of label `serial` under `gtin` (14 digits), or None if it is not bound."""
    row = conn.execute(select(_label).where(_label.c.gtin == gtin, _label.c.serial == serial)).first()
    return None if row is None else LabelBinding(row.gtin, row.serial, row.lot, row.event_id)


def label_count(conn: Connection, lot: str) -> int:
    """How many pre-printed labels are bound to `lot`."""
    return conn.execute(select(func.count()).select_from(_label).where(_label.c.lot == lot)).scalar() or 0
