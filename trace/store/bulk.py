"""The bulk applier: `BatchState`, a `MemoryState` over the trace tables of one connection, written
back in bulk through `driver.Driver` (COPY / `UPDATE … FROM unnest(…)` on PostgreSQL, `executemany`
on SQLite).

It is the write path's fast twin of the reference applier, `sql_state.Repository.apply`, beside it
in this package: what `Repository.apply` would write, `BatchState.flush` writes, row for row, from
the same column lists and row functions (trace/store/rows.py). The differential tests
(tests/trace/test_ingest.py, SQLite and PostgreSQL) replay random histories through both and compare
every table. The run logic that drives it (which events may stay in the overlay, the fallback) is
trace/ingest/runs.py.

Longer than 400 lines on purpose: the overlay's loaders, its `apply_effects` and its `flush` are
three views of the same rows, and splitting them would put the row shapes of one table in three
modules. The SQL writer is apart (driver.py); the row shapes are shared (rows.py).
"""
# size: three views of the same rows (loaders, apply_effects, flush): see the docstring

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from ..clock import parse_utc, to_utc_text
from ..errors import RuleViolation, TraceError
from ..model.details import CertifyDetail, DestroyDetail, ReceiveDetail, ShipDetail
from ..model.encoding import SignedEvent
from ..model.event import Event
from ..rules.effects import Effects
from ..rules.memory import MemoryState
from ..rules.view import PROPAGATED_FLAGS, KeyState, LivestockCertificate, LotState, PartyState, Transit
from .driver import Driver
from .label_bindings import label_lot
from .livestock import animal_lot, livestock_certificate, livestock_certificates, lot_animals, lot_live_weight
from .rows import (
    ANOMALY_COLUMNS,
    EVENT_COLUMNS,
    EVENT_LOT_COLUMNS,
    LOT_COLUMNS,
    LOT_FLAGS,
    NATIONAL_CODE_COLUMNS,
    TRANSIT_COLUMNS,
    anomaly_row,
    event_lot_rows,
    event_row,
    key_state,
    lot_row,
    lot_state,
    stored_names,
    tracing_code_rows,
    transit_row,
    transit_state,
)
from .tables import (
    TraceAnomaly,
    TraceCertificate,
    TraceDisposal,
    TraceEvent,
    TraceEventLot,
    TraceHolding,
    TraceLot,
    TraceLotParent,
    TraceNationalCode,
    TraceTransit,
)

__all__ = ["BatchState"]

_lot = TraceLot.__table__
_parent = TraceLotParent.__table__
_holding = TraceHolding.__table__
_transit = TraceTransit.__table__
_disposal = TraceDisposal.__table__
_event = TraceEvent.__table__
_event_lot = TraceEventLot.__table__
_anomaly = TraceAnomaly.__table__
_certificate = TraceCertificate.__table__
_national_code = TraceNationalCode.__table__
_TABLES = {"holding": _holding, "disposal": _disposal}  # the quantities `_upsert` writes


class BatchState(MemoryState):
    """A MemoryState over the tables of one connection (inside the ledger's write transaction).

    Reads fall through to the tables the first time a row is asked for (or `prefetch` loads many at
    once); `apply` changes the dictionaries only and remembers what changed; `flush` writes it.
    What `Repository.apply` would write, `flush` writes, row for row. Only events whose effects
    neither change parties nor spread a flag to existing descendants may be applied here (`spreads`).
    """

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self._sql = Driver(conn)
        self._reset_tracking()

    def _reset_tracking(self) -> None:
        # What was looked up and is not in the tables (so it is not looked up again).
        self._absent: set[tuple[str, Any]] = set()
        # Lots and shipments whose holdings / lines / disposals are all loaded; certificate numbers
        # whose lots are.
        self._certificates_of: set[str] = set()
        self._holdings_of: set[str] = set()
        self._lines_of: set[str] = set()
        self._disposals_of: set[str] = set()
        # Rows that exist in the tables (a change to them is an UPDATE, else an INSERT).
        self._stored: set[tuple[str, Any]] = set()
        self._new_lots: dict[str, str] = {}  # code -> the event that created it
        self._changed: dict[str, set[Any]] = {
            "lot": set(),
            "holding": set(),
            "transit": set(),
            "disposal": set(),
        }
        self._rows: dict[str, list[tuple]] = {
            "parent": [], "event": [], "event_lot": [], "anomaly": [], "certificate": [],
            "national_code": [],
        }  # fmt: skip

    def reset(self) -> None:
        """Forget everything loaded (after the tables were changed behind the overlay). Flush first."""
        if any(self._changed.values()) or any(self._rows.values()) or self._new_lots:
            raise TraceError("the overlay has unwritten changes")
        MemoryState.__init__(self)
        self._reset_tracking()

    # --- LotView, loading on a miss ------------------------------------------------------------------

    def party(self, party_id: str) -> PartyState | None:
        if party_id not in self.parties and ("party", party_id) not in self._absent:
            self._load_parties([party_id])
        return self.parties.get(party_id)

    def lot(self, code: str) -> LotState | None:
        if code not in self.lots and ("lot", code) not in self._absent:
            self._load_lots([code])
        return self.lots.get(code)

    def holding(self, code: str, party_id: str) -> Decimal:
        if code not in self._holdings_of:
            self._load_holdings([code])
        return self.holdings.get((code, party_id), Decimal(0))

    def in_transit(self, ship_event: str, lot: str) -> Transit | None:
        if ship_event not in self._lines_of:
            self._load_lines([ship_event])
        return self.transits.get((ship_event, lot))

    def event_time(self, event_id: str) -> datetime | None:
        if event_id not in self.events and ("event", event_id) not in self._absent:
            self._load_event_times([event_id])
        return self.events.get(event_id)

    def label_lot(self, gtin: str, serial: str) -> str | None:
        # Never cached: label_activate goes through the repository (`spreads`), straight to the table.
        return label_lot(self._sql.conn, gtin, serial)

    # Animals and livestock certificates are read from the tables: the events that write them go
    # through Repository (`spreads`), so the overlay never holds any.

    def animal_lot(self, ear_tag: str) -> str | None:
        return animal_lot(self._sql.conn, ear_tag)

    def lot_animals(self, code: str) -> frozenset[str]:
        return lot_animals(self._sql.conn, code)

    def lot_live_weight(self, code: str) -> Decimal | None:
        return lot_live_weight(self._sql.conn, code)

    def livestock_certificates(self, code: str) -> tuple[LivestockCertificate, ...]:
        return livestock_certificates(self._sql.conn, code)

    def livestock_certificate(self, certificate_no: str) -> tuple[LivestockCertificate, ...]:
        return livestock_certificate(self._sql.conn, certificate_no)

    def certificate_lots(self, certificate_no: str) -> frozenset[str]:
        if certificate_no not in self._certificates_of:
            self._load_certificates([certificate_no])
        return self.certificates.get(certificate_no, frozenset())

    def inspected_lot(self, event_id: str) -> str | None:
        if event_id not in self.inspections and ("inspection", event_id) not in self._absent:
            self._load_inspections([event_id])
        return self.inspections.get(event_id)

    def recalled_lot(self, event_id: str) -> str | None:
        if event_id not in self.recalls and ("recall", event_id) not in self._absent:
            for eid, lot in self._sql.fetch_in(
                "SELECT e.id, l.lot FROM trace_event e JOIN trace_event_lot l ON l.event_id = e.id "
                "WHERE e.kind = 'recall' AND l.role = 'input' AND e.id IN ({})",
                {event_id},
            ):
                self.recalls[eid] = lot
            if event_id not in self.recalls:
                self._absent.add(("recall", event_id))
        return self.recalls.get(event_id)

    def has_held(self, code: str, party_id: str) -> bool:
        if code not in self._holdings_of:
            self._load_holdings([code])
        return (code, party_id) in self.holdings

    def known_events(self, ids: Iterable[str]) -> dict[str, int]:
        """Ledger index by event id, for the ids already in the tables."""
        return dict(self._sql.fetch_in("SELECT id, ledger_index FROM trace_event WHERE id IN ({})", set(ids)))

    def spreads(self, fx: Effects) -> bool:
        """True if the effects change parties, bind labels, move animals, record livestock certificates,
        or set a flag that spreads to descendants
        the lot has (Repository applies those). A failed inspection of a lot nothing was made from
        yet, the usual case, stays in the overlay."""
        if fx.party_changes or fx.labels or fx.animals or fx.livestock_certificates:
            return True
        return any(f.flag in PROPAGATED_FLAGS and self._has_children(f.lot) for f in fx.flags)

    def _has_children(self, code: str) -> bool:
        if self.children.get(code):  # made in this overlay, not written yet
            return True
        return bool(self._sql.fetch("SELECT 1 FROM trace_lot_parent WHERE parent = ? LIMIT 1", (code,)))

    # --- bulk loading ----------------------------------------------------------------------------------

    def prefetch(self, events: Iterable[Event]) -> None:
        """Load in bulk every row the rules and effects of `events` will read."""
        lots: set[str] = set()
        parties: set[str] = set()
        ships: set[str] = set()
        times: set[str] = set()
        numbers: set[str] = set()
        inspections: set[str] = set()
        for e in events:
            parties.add(e.party)
            lots.update(r.lot for r in e.inputs)
            lots.update(o.lot for o in e.outputs)
            d = e.detail
            if isinstance(d, ShipDetail):
                parties.add(d.destination)
            elif isinstance(d, ReceiveDetail):
                ships.add(d.ship_event)
                times.add(d.ship_event)
                if d.entry_check.inspection_event is not None:
                    times.add(d.entry_check.inspection_event)
                    inspections.add(d.entry_check.inspection_event)
                if d.entry_check.certificate_no is not None:
                    numbers.add(d.entry_check.certificate_no)
            elif isinstance(d, CertifyDetail):
                numbers.add(d.certificate_no)
            elif isinstance(d, DestroyDetail) and d.holder is not None:
                parties.add(d.holder)
        self._load_parties(p for p in parties if p not in self.parties and ("party", p) not in self._absent)
        self._load_lots(c for c in lots if c not in self.lots and ("lot", c) not in self._absent)
        self._load_holdings(c for c in lots if c not in self._holdings_of)
        self._load_disposals(c for c in lots if c not in self._disposals_of)
        self._load_lines(s for s in ships if s not in self._lines_of)
        self._load_event_times(t for t in times if t not in self.events and ("event", t) not in self._absent)
        self._load_certificates(n for n in numbers if n not in self._certificates_of)
        self._load_inspections(
            i for i in inspections if i not in self.inspections and ("inspection", i) not in self._absent
        )

    def _load_parties(self, ids: Iterable[str]) -> None:
        ids = set(ids)
        if not ids:
            return
        keys: dict[str, dict[str, KeyState]] = {}
        for key_id, party_id, public, active_from, revoked_at in self._sql.fetch_in(
            "SELECT key_id, party_id, public_key, active_from, revoked_at FROM trace_party_key "
            "WHERE party_id IN ({})",
            ids,
        ):
            keys.setdefault(party_id, {})[key_id] = key_state(public, active_from, revoked_at)
        for pid, roles, status in self._sql.fetch_in(
            "SELECT id, roles, status FROM trace_party WHERE id IN ({})", ids
        ):
            self.parties[pid] = PartyState(
                id=pid, roles=frozenset(roles.split()), status=status, keys=keys.get(pid, {})
            )
        self._absent.update(("party", p) for p in ids if p not in self.parties)

    def _load_lots(self, codes: Iterable[str]) -> None:
        codes = set(codes)
        if not codes:
            return
        parents: dict[str, list[str]] = {}
        for child, parent in self._sql.fetch_in(
            "SELECT child, parent FROM trace_lot_parent WHERE child IN ({})", codes
        ):
            parents.setdefault(child, []).append(parent)
        for r in self._sql.fetch_in(
            f"SELECT {','.join(stored_names(_lot, LOT_COLUMNS))} FROM trace_lot WHERE code IN ({{}})", codes
        ):
            self.lots[r[0]] = lot_state(r, parents.get(r[0], ()))
        self._absent.update(("lot", c) for c in codes if c not in self.lots)

    def _load_holdings(self, codes: Iterable[str]) -> None:
        codes = set(codes)
        for lot, party, quantity in self._sql.fetch_in(
            "SELECT lot, party, quantity FROM trace_holding WHERE lot IN ({})", codes
        ):
            self.holdings[(lot, party)] = Decimal(quantity)
            self._stored.add(("holding", (lot, party)))
        self._holdings_of |= codes

    def _load_disposals(self, codes: Iterable[str]) -> None:
        codes = set(codes)
        for lot, how, quantity in self._sql.fetch_in(
            "SELECT lot, how, quantity FROM trace_disposal WHERE lot IN ({})", codes
        ):
            self.disposed[(lot, how)] = Decimal(quantity)
            self._stored.add(("disposal", (lot, how)))
        self._disposals_of |= codes

    def _load_lines(self, ship_events: Iterable[str]) -> None:
        ship_events = set(ship_events)
        for r in self._sql.fetch_in(
            f"SELECT {','.join(stored_names(_transit, TRANSIT_COLUMNS))} FROM trace_transit "
            "WHERE ship_event IN ({})",
            ship_events,
        ):
            self.transits[(r[0], r[1])] = transit_state(r)
            self._stored.add(("transit", (r[0], r[1])))
        self._lines_of |= ship_events

    def _load_certificates(self, numbers: Iterable[str]) -> None:
        numbers = set(numbers)
        found: dict[str, set[str]] = {}
        for number, lot in self._sql.fetch_in(
            "SELECT certificate_no, lot FROM trace_certificate WHERE certificate_no IN ({})", numbers
        ):
            found.setdefault(number, set()).add(lot)
        for number, lots in found.items():
            self.certificates[number] = frozenset(lots)
        self._certificates_of |= numbers

    def _load_inspections(self, ids: Iterable[str]) -> None:
        """The lot each inspect event tested, from its index rows (as `Repository.inspected_lot`)."""
        ids = set(ids)
        if not ids:
            return
        for eid, lot in self._sql.fetch_in(
            "SELECT e.id, l.lot FROM trace_event e JOIN trace_event_lot l ON l.event_id = e.id "
            "WHERE e.kind = 'inspect' AND l.role = 'input' AND e.id IN ({})",
            ids,
        ):
            self.inspections[eid] = lot
        self._absent.update(("inspection", e) for e in ids if e not in self.inspections)

    def _load_event_times(self, ids: Iterable[str]) -> None:
        ids = set(ids)
        for eid, at in self._sql.fetch_in("SELECT id, at_utc FROM trace_event WHERE id IN ({})", ids):
            self.events[eid] = parse_utc(at)
        self._absent.update(("event", e) for e in ids if e not in self.events)

    # --- applying and writing --------------------------------------------------------------------------

    def apply_effects(self, event: Event, event_id: str, fx: Effects, *, ledger_index: int) -> None:
        """Apply an accepted event's effects to the overlay (`flush` writes them).

        Raises TraceError for effects this overlay must not apply (see the class docstring).
        """
        if fx.party_changes or (fx.flags and self.spreads(fx)):
            raise TraceError(
                f"event {event_id} changes parties or spreads a flag: apply it through Repository"
            )
        # MemoryState._apply reads its dictionaries directly: load every row it will touch first
        # (after `prefetch`, all are there: these loops only look).
        lots, holdings_of = self.lots, self._holdings_of
        for code in fx.heads:
            if code not in lots:
                self.lot(code)
        for new in fx.new_lots:
            for code in new.parents:
                if code not in lots:
                    self.lot(code)
        for d in fx.holdings:
            if d.lot not in holdings_of:
                self._load_holdings([d.lot])
        for r in fx.receipts:
            if r.ship_event not in self._lines_of:
                self._load_lines([r.ship_event])
        for d in fx.disposals:
            if d.lot not in self._disposals_of:
                self._load_disposals([d.lot])
        new_certificates = [
            c for c in fx.certificates if c.lot not in self.certificate_lots(c.certificate_no)
        ]
        self._apply(event_id, fx)
        self._rows["certificate"] += [(c.certificate_no, c.lot) for c in dict.fromkeys(new_certificates)]
        changed = self._changed
        if fx.new_lots:
            parents = self._rows["parent"]
            for new in fx.new_lots:
                self._new_lots[new.code] = event_id
                parents += [(new.code, p) for p in new.parents]
        changed["lot"].update(fx.heads)
        if fx.flags:
            changed["lot"].update([f.lot for f in fx.flags])
        changed["holding"].update([(d.lot, d.party) for d in fx.holdings])
        if fx.transits:
            changed["transit"].update([(t.ship_event, t.lot) for t in fx.transits])
        if fx.receipts:
            changed["transit"].update([(r.ship_event, r.lot) for r in fx.receipts])
        if fx.disposals:
            changed["disposal"].update([(d.lot, d.how) for d in fx.disposals])
        self._index_event(event, event_id, fx.at, ledger_index)

    def _index_event(self, event: Event, event_id: str, at: datetime, ledger_index: int) -> None:
        """The trace_event and trace_event_lot rows, as `Repository._index_event` writes them."""
        if event.outputs:
            product: str | None = event.outputs[0].product.name_zh
        elif event.inputs:
            product = self.lots[event.inputs[0].lot].product.name_zh
        else:
            product = None
        self._rows["event"].append(
            event_row(event, event_id, at=at, ledger_index=ledger_index, product_name=product)
        )
        self._rows["event_lot"] += event_lot_rows(event, event_id, ledger_index=ledger_index)
        self._rows["national_code"] += tracing_code_rows(event, event_id)

    def add_anomaly(self, signed: SignedEvent, exc: RuleViolation, *, at: datetime) -> None:
        """Keep a refused attempt for regulators (written by `flush`, with the run)."""
        self._rows["anomaly"].append(anomaly_row(signed, exc, at=at))

    def flush(self) -> None:
        """Write every change since the last flush, in bulk."""
        sql, changed, stored = self._sql, self._changed, self._stored
        flag = sql.flag
        new_lots = self._new_lots
        sql.insert(
            _lot,
            LOT_COLUMNS,
            [lot_row(self.lots[code], created_event=event, flag=flag) for code, event in new_lots.items()],
        )
        sql.update(
            _lot,
            ("head", "head_time", *LOT_FLAGS),
            ("code",),
            [
                (
                    lot.head,
                    to_utc_text(lot.head_time),
                    flag(lot.failed),
                    flag(lot.recalled),
                    flag(lot.rejected),
                    flag(lot.cleared),
                    code,
                )
                for code in changed["lot"]
                if code not in new_lots
                for lot in (self.lots[code],)
            ],
            flags=LOT_FLAGS,
        )
        sql.insert(_parent, ("child", "parent"), self._rows["parent"])
        self._upsert("holding", ("lot", "party"), lambda k: (str(self.holdings[k]), *k))
        new_lines = [k for k in changed["transit"] if ("transit", k) not in stored]
        sql.insert(_transit, TRANSIT_COLUMNS, [transit_row(self.transits[k]) for k in new_lines])
        sql.update(
            _transit,
            ("received",),
            ("ship_event", "lot"),
            [(str(self.transits[k].received), *k) for k in changed["transit"] if ("transit", k) in stored],
        )
        stored.update(("transit", k) for k in new_lines)
        self._upsert("disposal", ("lot", "how"), lambda k: (str(self.disposed[k]), *k))
        sql.insert(_event, EVENT_COLUMNS, self._rows["event"])
        sql.insert(_event_lot, EVENT_LOT_COLUMNS, self._rows["event_lot"])
        sql.insert(_anomaly, ANOMALY_COLUMNS, self._rows["anomaly"])
        sql.insert(_certificate, ("certificate_no", "lot"), self._rows["certificate"])
        sql.insert(_national_code, NATIONAL_CODE_COLUMNS, self._rows["national_code"])
        for rows in self._rows.values():
            rows.clear()
        for keys in changed.values():
            keys.clear()
        new_lots.clear()

    def _upsert(self, table: str, keys: tuple[str, str], row: Callable[[Any], tuple]) -> None:
        """Write trace_<table>'s changed quantities; `row(key)` is (quantity, *key)."""
        changed = self._changed[table]
        new = [k for k in changed if (table, k) not in self._stored]
        self._sql.insert(_TABLES[table], ("quantity", *keys), [row(k) for k in new])
        self._sql.update(
            _TABLES[table], ("quantity",), keys, [row(k) for k in changed if (table, k) in self._stored]
        )
        self._stored.update((table, k) for k in new)
