"""The label scan book: what the pages of pre-printed labels ask of the domain, in one object.

`LabelScanBook(engine, policy=..., clock=...)` answers which lot a label is bound to (the
`trace_label` projection of label_activate events), counts a scan through its in-memory `ScanGate`
(trace/label_scans.py), and reads a label's record and the labels that warn. One book per app: its
gate is the rate limit, so two books would each allow the window's scans.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .clock import Clock
from .errors import NotFound
from .label_scans import Area, LabelScanRecord, ScanGate, ScanPolicy, ScanWarning, judge
from .store.label_bindings import LabelBinding, label_binding, label_count
from .store.label_scans import add_scan, create_scan_tables, scan_record, scanned_labels
from .store.queries import Engine

__all__ = ["LabelScanBook"]


class LabelScanBook:
    """Bindings, scans and warnings of pre-printed labels over one database (module docstring)."""

    def __init__(self, engine: Engine, *, policy: ScanPolicy, clock: Clock) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self.gate = ScanGate(policy)
        self._ready = False
        self._lock = threading.Lock()

    def _tables(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    create_scan_tables(self.engine)
                    self._ready = True

    def binding(self, gtin: str, serial: str) -> LabelBinding | None:
        """The lot label `serial` under `gtin` (14 digits) is bound to, or None: not activated."""
        with self.engine.connect() as conn:
            return label_binding(conn, gtin, serial)

    def bound_count(self, lot: str) -> int:
        """How many pre-printed labels name `lot`."""
        with self.engine.connect() as conn:
            return label_count(conn, lot)

    def scan(self, gtin: str, serial: str, *, area: Area | None = None) -> bool:
        """Record a scan of an activated label; True if it was counted.

        Without `area`: one scan, counted if the gate admits it. With `area` (the person chose to
        share it): the area only, not another scan, and only if the gate admits it. Raises NotFound
        for a label that is not activated: unbound codes are not counted (they would be a free
        table for anyone to fill).
        """
        bound = self.binding(gtin, serial)
        if bound is None:
            raise NotFound("activated label", f"{gtin}/21/{serial}")
        self._tables()
        now = self.clock()
        if not self.gate.admit(gtin, serial, now=now.timestamp()):
            return False
        add_scan(self.engine, gtin=gtin, serial=serial, lot=bound.lot, at=now, counted=area is None, area=area)
        return area is None

    def record(self, gtin: str, serial: str) -> LabelScanRecord | None:
        """The label's scan record, or None if it was never scanned."""
        self._tables()
        return scan_record(self.engine, gtin, serial)

    def warning(self, record: LabelScanRecord | None, sold: tuple[Area, ...]) -> ScanWarning | None:
        """The warning a record deserves under this book's policy (None for no record)."""
        return None if record is None else judge(record, self.policy, sold)

    def flagged(
        self, sold_of: Callable[[str], tuple[Area, ...]], *, limit: int = 200
    ) -> list[tuple[LabelScanRecord, ScanWarning]]:
        """The labels that warn, most scanned first; `sold_of(lot)` gives a lot's sale areas."""
        self._tables()
        out = []
        for record in scanned_labels(self.engine, min_count=self.policy.often, limit=limit):
            warned = judge(record, self.policy, sold_of(record.lot) if record.areas else ())
            if warned is not None:
                out.append((record, warned))
        return out
