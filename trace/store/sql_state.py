"""The trace state over SQL: the `StateReader` the rules read, and `apply(Effects)`, the reference applier.

`Repository(conn)` works on one SQLAlchemy connection. Inside the ledger's write transaction (the
write path's `select` hook, trace/ingest/runs.py) it sees every event applied before, including
earlier ones of the same batch. `apply` MUST leave the tables exactly as
`rules.memory.MemoryState.apply` leaves its dictionaries (tests/trace/test_repository.py replays
random histories through both and compares), and exactly as the bulk overlay's `flush` writes them
(trace/store/bulk.py; tests/trace/test_ingest.py). The rows both write are defined once, in
trace/store/rows.py.

Besides the reader, a few reads the write path and the lot pages share: lineage by recursive query,
holders, a lot's events, the registered keys.
"""
# size: one StateReader and its reference applier over the same tables; split, each half would
# need the other's table shapes

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from ..clock import parse_utc, to_utc_text
from ..errors import NotFound, TraceError
from ..model.event import Event
from ..model.values import PartyRecord
from ..rules.effects import (
    CertificateRecorded,
    Disposal,
    Effects,
    HoldingDelta,
    KeyAdded,
    KeyRevoked,
    NewLot,
    PartyRegistered,
    PartySuspended,
    Received,
    inherited_flags,
)
from ..rules.view import PROPAGATED_FLAGS, LivestockCertificate, LotState, PartyState, Transit
from .label_bindings import bind_labels, label_lot
from .livestock import (
    animal_lot,
    livestock_certificate,
    livestock_certificates,
    lot_animals,
    lot_live_weight,
    record_livestock,
)
from .rows import (
    EVENT_COLUMNS,
    EVENT_LOT_COLUMNS,
    LOT_COLUMNS,
    NATIONAL_CODE_COLUMNS,
    TRANSIT_COLUMNS,
    event_lot_rows,
    event_row,
    in_chunks,
    key_state,
    lot_row,
    lot_state,
    row_values,
    subject_code_rows,
    tracing_code_rows,
    transit_row,
    transit_state,
)
from .tables import (
    TraceCertificate,
    TraceDisposal,
    TraceEvent,
    TraceEventLot,
    TraceHolding,
    TraceLot,
    TraceLotParent,
    TraceNationalCode,
    TraceParty,
    TracePartyKey,
    TraceTransit,
)

__all__ = ["Repository"]

_lot = TraceLot.__table__
_parent = TraceLotParent.__table__
_holding = TraceHolding.__table__
_transit = TraceTransit.__table__
_disposal = TraceDisposal.__table__
_event = TraceEvent.__table__
_event_lot = TraceEventLot.__table__
_party = TraceParty.__table__
_key = TracePartyKey.__table__
_certificate = TraceCertificate.__table__
_national_code = TraceNationalCode.__table__

# Descendants and ancestors by recursive query: one round trip however deep the lineage is.
_DESCENDANTS = text(
    "WITH RECURSIVE d(code) AS (SELECT child FROM trace_lot_parent WHERE parent = :lot "
    "UNION SELECT p.child FROM trace_lot_parent p JOIN d ON p.parent = d.code) SELECT code FROM d"
)
_ANCESTORS = text(
    "WITH RECURSIVE a(code) AS (SELECT parent FROM trace_lot_parent WHERE child = :lot "
    "UNION SELECT p.parent FROM trace_lot_parent p JOIN a ON p.child = a.code) SELECT code FROM a"
)


class Repository:
    """The domain's tables over one connection (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- StateReader -------------------------------------------------------------------------------

    def party(self, party_id: str) -> PartyState | None:
        row = self.conn.execute(
            select(_party.c.id, _party.c.roles, _party.c.status).where(_party.c.id == party_id)
        ).first()
        if row is None:
            return None
        keys = {
            k.key_id: key_state(k.public_key, k.active_from, k.revoked_at)
            for k in self.conn.execute(select(_key).where(_key.c.party_id == party_id))
        }
        return PartyState(id=row.id, roles=frozenset(row.roles.split()), status=row.status, keys=keys)

    def lot(self, code: str) -> LotState | None:
        row = self.conn.execute(select(*(_lot.c[c] for c in LOT_COLUMNS)).where(_lot.c.code == code)).first()
        if row is None:
            return None
        return lot_state(row, self.parents_of(code))

    def holding(self, code: str, party_id: str) -> Decimal:
        q = self.conn.execute(
            select(_holding.c.quantity).where(_holding.c.lot == code, _holding.c.party == party_id)
        ).scalar()
        return Decimal(q) if q is not None else Decimal(0)

    def in_transit(self, ship_event: str, lot: str) -> Transit | None:
        r = self.conn.execute(
            select(*(_transit.c[c] for c in TRANSIT_COLUMNS)).where(
                _transit.c.ship_event == ship_event, _transit.c.lot == lot
            )
        ).first()
        return None if r is None else transit_state(r)

    def event_time(self, event_id: str) -> datetime | None:
        t = self.conn.execute(select(_event.c.at_utc).where(_event.c.id == event_id)).scalar()
        return parse_utc(t) if t is not None else None

    def certificate_lots(self, certificate_no: str) -> frozenset[str]:
        rows = self.conn.execute(
            select(_certificate.c.lot).where(_certificate.c.certificate_no == certificate_no)
        )
        return frozenset(r[0] for r in rows)

    def inspected_lot(self, event_id: str) -> str | None:
        # An inspect event's one input lot, from the event's index rows (trace_event, trace_event_lot).
        return self.conn.execute(
            select(_event_lot.c.lot)
            .join(_event, _event.c.id == _event_lot.c.event_id)
            .where(_event.c.id == event_id, _event.c.kind == "inspect", _event_lot.c.role == "input")
        ).scalar()

    def recalled_lot(self, event_id: str) -> str | None:
        # A recall event's one input lot, as `inspected_lot` finds an inspection's.
        return self.conn.execute(
            select(_event_lot.c.lot)
            .join(_event, _event.c.id == _event_lot.c.event_id)
            .where(_event.c.id == event_id, _event.c.kind == "recall", _event_lot.c.role == "input")
        ).scalar()

    def has_held(self, code: str, party_id: str) -> bool:
        # A holding row stays, at 0, once the party has shipped, sold or destroyed all of it.
        where = (_holding.c.lot == code, _holding.c.party == party_id)
        return self.conn.execute(select(_holding.c.lot).where(*where)).first() is not None

    def label_lot(self, gtin: str, serial: str) -> str | None:
        return label_lot(self.conn, gtin, serial)

    def animal_lot(self, ear_tag: str) -> str | None:
        return animal_lot(self.conn, ear_tag)

    def lot_animals(self, code: str) -> frozenset[str]:
        return lot_animals(self.conn, code)

    def lot_live_weight(self, code: str) -> Decimal | None:
        return lot_live_weight(self.conn, code)

    def livestock_certificates(self, code: str) -> tuple[LivestockCertificate, ...]:
        return livestock_certificates(self.conn, code)

    def livestock_certificate(self, certificate_no: str) -> tuple[LivestockCertificate, ...]:
        return livestock_certificate(self.conn, certificate_no)

    # --- lineage -------------------------------------------------------------------------------------

    def parents_of(self, code: str) -> tuple[str, ...]:
        return tuple(
            r[0]
            for r in self.conn.execute(
                select(_parent.c.parent).where(_parent.c.child == code).order_by(_parent.c.parent)
            )
        )

    def children_of(self, code: str) -> tuple[str, ...]:
        return tuple(
            r[0]
            for r in self.conn.execute(
                select(_parent.c.child).where(_parent.c.parent == code).order_by(_parent.c.child)
            )
        )

    def descendants(self, code: str) -> set[str]:
        return {r[0] for r in self.conn.execute(_DESCENDANTS, {"lot": code})}

    def ancestors(self, code: str) -> set[str]:
        return {r[0] for r in self.conn.execute(_ANCESTORS, {"lot": code})}

    def edges(self, codes: Iterable[str]) -> list[tuple[str, str]]:
        """(parent, child) pairs among the given lots and their direct links."""
        out: list[tuple[str, str]] = []
        for chunk in in_chunks(codes):
            rows = self.conn.execute(
                select(_parent.c.parent, _parent.c.child).where(
                    _parent.c.child.in_(chunk) | _parent.c.parent.in_(chunk)
                )
            )
            out.extend((r.parent, r.child) for r in rows)
        return sorted(set(out))

    def holders(self, code: str) -> dict[str, Decimal]:
        rows = self.conn.execute(select(_holding.c.party, _holding.c.quantity).where(_holding.c.lot == code))
        return {r.party: Decimal(r.quantity) for r in rows if Decimal(r.quantity) > 0}

    def known_event(self, event_id: str) -> int | None:
        """The ledger index of an accepted event, or None."""
        return self.conn.execute(select(_event.c.ledger_index).where(_event.c.id == event_id)).scalar()

    def party_count(self) -> int:
        return self.conn.execute(text("SELECT COUNT(*) FROM trace_party")).scalar() or 0

    def registered_keys(self, key_ids: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        """key id -> (party id, raw public key) for those of `key_ids` on record, revoked or not."""
        out: dict[str, tuple[str, bytes]] = {}
        for chunk in in_chunks(key_ids):
            rows = self.conn.execute(
                select(_key.c.key_id, _key.c.party_id, _key.c.public_key).where(_key.c.key_id.in_(chunk))
            )
            out.update((key_id, (party_id, bytes(public))) for key_id, party_id, public in rows)
        return out

    # --- applying effects ----------------------------------------------------------------------------

    def apply(self, event: Event, event_id: str, fx: Effects, *, ledger_index: int) -> None:
        """Apply an accepted event's effects (the order of `Effects`' docstring) and index the event.

        Raises TraceError if the event was applied before, NotFound if the effects name a missing lot
        or shipment line. Runs inside the caller's transaction; the caller rolls back on any exception.
        """
        if fx.event_id != event_id or fx.at != event.time:
            raise TraceError(f"the effects given are not those of event {event_id}")
        if self.known_event(event_id) is not None:
            raise TraceError(f"event {event_id} is already applied")
        # 1. Parties.
        for change in fx.party_changes:
            self._change_party(change, event_id)
        # 2. New lots, with their inherited flags.
        for new in fx.new_lots:
            self._add_lot(new, event_id, fx.at)
        # 3. Heads.
        if fx.heads:
            self.conn.execute(
                update(_lot)
                .where(_lot.c.code == bindparam("c"))
                .values(head=event_id, head_time=to_utc_text(fx.at)),
                [{"c": code} for code in fx.heads],
            )
        # 4. Holdings.
        for delta in fx.holdings:
            self._add_holding(delta)
        # 5. Shipments.
        if fx.transits:
            self.conn.execute(
                insert(_transit), [row_values(TRANSIT_COLUMNS, transit_row(t)) for t in fx.transits]
            )
        for r in fx.receipts:
            self._receive(r)
        # 6. Flags, spreading downstream where the rules say so.
        for f in fx.flags:
            reach = {f.lot}
            if f.flag in PROPAGATED_FLAGS:
                reach |= self.descendants(f.lot)
            self.conn.execute(update(_lot).where(_lot.c.code.in_(sorted(reach))).values({f.flag: True}))
        # 7. Certificates, disposals and the event itself.
        for c in fx.certificates:
            self._add_certificate(c)
        bind_labels(self.conn, fx.labels, event_id=event_id)
        for d in fx.disposals:
            self._add_disposal(d)
        # 8. Animals and livestock certificates.
        record_livestock(self.conn, fx)
        self._index_event(event, event_id, fx.at, ledger_index)

    def _change_party(self, change: object, event_id: str) -> None:
        if isinstance(change, PartyRegistered):
            self.register(change.record, at=change.at, event_id=event_id)
        elif isinstance(change, KeyAdded):
            self.conn.execute(
                insert(_key).values(
                    key_id=change.key_id,
                    party_id=change.party_id,
                    public_key=change.public_key,
                    active_from=to_utc_text(change.at),
                    added_by_event=event_id,
                )
            )
        elif isinstance(change, KeyRevoked):
            self.conn.execute(
                update(_key)
                .where(_key.c.key_id == change.key_id, _key.c.party_id == change.party_id)
                .values(revoked_at=to_utc_text(change.at))
            )
        elif isinstance(change, PartySuspended):
            self.conn.execute(update(_party).where(_party.c.id == change.party_id).values(status="suspended"))

    def _add_lot(self, new: NewLot, event_id: str, at: datetime) -> None:
        parents = []
        for code in new.parents:
            parent = self.lot(code)
            if parent is None:
                raise NotFound("lot", code)
            parents.append(parent)
        lot = LotState(
            code=new.code,
            unit=new.unit,
            product=new.product,
            created_by=new.created_by,
            created_at=new.created_at,
            head=event_id,
            head_time=at,
            quantity=new.quantity,
            **inherited_flags(parents),
        )
        self.conn.execute(insert(_lot).values(row_values(LOT_COLUMNS, lot_row(lot, created_event=event_id))))
        if new.parents:
            self.conn.execute(insert(_parent), [{"child": new.code, "parent": p} for p in new.parents])

    def _add_holding(self, delta: HoldingDelta) -> None:
        held = self.holding(delta.lot, delta.party)
        now = held + delta.delta
        if now < 0:
            raise TraceError(f"party {delta.party} would hold {now} of lot {delta.lot}")
        where = (_holding.c.lot == delta.lot, _holding.c.party == delta.party)
        if self.conn.execute(select(_holding.c.lot).where(*where)).first():
            self.conn.execute(update(_holding).where(*where).values(quantity=str(now)))
        else:
            self.conn.execute(insert(_holding).values(lot=delta.lot, party=delta.party, quantity=str(now)))

    def _receive(self, r: Received) -> None:
        t = self.in_transit(r.ship_event, r.lot)
        if t is None:
            raise NotFound("shipment line", f"{r.ship_event}/{r.lot}")
        self.conn.execute(
            update(_transit)
            .where(and_(_transit.c.ship_event == r.ship_event, _transit.c.lot == r.lot))
            .values(received=str(t.received + r.quantity))
        )

    def _add_certificate(self, c: CertificateRecorded) -> None:
        if c.lot not in self.certificate_lots(c.certificate_no):
            self.conn.execute(insert(_certificate).values(certificate_no=c.certificate_no, lot=c.lot))

    def _add_disposal(self, d: Disposal) -> None:
        where = (_disposal.c.lot == d.lot, _disposal.c.how == d.how)
        q = self.conn.execute(select(_disposal.c.quantity).where(*where)).scalar()
        if q is None:
            self.conn.execute(insert(_disposal).values(lot=d.lot, how=d.how, quantity=str(d.quantity)))
        else:
            self.conn.execute(update(_disposal).where(*where).values(quantity=str(Decimal(q) + d.quantity)))

    def _index_event(self, event: Event, event_id: str, at: datetime, ledger_index: int) -> None:
        product = event.outputs[0].product.name_zh if event.outputs else None
        if product is None and event.inputs:
            product = self.conn.execute(
                select(_lot.c.product_name).where(_lot.c.code == event.inputs[0].lot)
            ).scalar()
        row = event_row(event, event_id, at=at, ledger_index=ledger_index, product_name=product)
        self.conn.execute(insert(_event).values(row_values(EVENT_COLUMNS, row)))
        lots = event_lot_rows(event, event_id, ledger_index=ledger_index)
        if lots:
            self.conn.execute(insert(_event_lot), [row_values(EVENT_LOT_COLUMNS, r) for r in lots])
        self._add_national_codes(tracing_code_rows(event, event_id))

    def _add_national_codes(self, rows: list[tuple]) -> None:
        if rows:
            self.conn.execute(insert(_national_code), [row_values(NATIONAL_CODE_COLUMNS, r) for r in rows])

    def register(self, record: PartyRecord, *, at: datetime, event_id: str) -> None:
        """Insert a party and its keys (used by party.register effects and by the genesis event)."""
        if self.conn.execute(select(_party.c.id).where(_party.c.id == record.id)).first():
            raise TraceError(f"party {record.id} is already registered")
        self.conn.execute(
            insert(_party).values(
                id=record.id,
                id_type=record.id_type,
                name_zh=record.name_zh,
                name_en=record.name_en,
                roles=" ".join(record.roles),
                address=record.address,
                status="active",
                contact_commitment=record.contact_commitment,
                registered_at=to_utc_text(at),
                registered_event=event_id,
            )
        )
        self.conn.execute(
            insert(_key),
            [
                {
                    "key_id": k.key_id,
                    "party_id": record.id,
                    "public_key": k.public_key,
                    "active_from": to_utc_text(at),
                    "revoked_at": None,
                    "added_by_event": event_id,
                }
                for k in record.keys
            ],
        )
        self._add_national_codes(subject_code_rows(record, event_id))

    # --- reads for the lot pages ---------------------------------------------------------------------

    def lot_events(self, code: str) -> list[tuple[str, int, str]]:
        """(event id, ledger index, role) of every event that names lot `code`, in ledger order."""
        rows = self.conn.execute(
            select(_event_lot.c.event_id, _event_lot.c.ledger_index, _event_lot.c.role)
            .where(_event_lot.c.lot == code)
            .order_by(_event_lot.c.ledger_index)
        )
        return [(r.event_id, r.ledger_index, r.role) for r in rows]
