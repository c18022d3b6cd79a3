"""All of the domain's SQL: the `StateReader` the rules read, applying `Effects`, and the queries.

`Repository(conn)` works on one SQLAlchemy connection. Inside the ledger's write transaction (the
service's `admit` hook) it sees every event applied before, including earlier ones of the same
batch. `apply` MUST leave the tables exactly as `rules.memory.MemoryState.apply` leaves its
dictionaries (tests/trace/test_repository.py replays random histories through both and compares).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import and_, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from .clock import parse_utc  # re-exported: stored times are read back with the clock's parser
from .errors import NotFound, TraceError
from .model.event import Event
from .model.values import PartyRecord, Product
from .rules import (
    PROPAGATED_FLAGS,
    Effects,
    KeyAdded,
    KeyRevoked,
    KeyState,
    LotState,
    PartyRegistered,
    PartyState,
    PartySuspended,
    Transit,
    inherited_flags,
)
from .store.tables import (
    TraceCertificate,
    TraceDisposal,
    TraceEvent,
    TraceEventLot,
    TraceHolding,
    TraceLot,
    TraceLotParent,
    TraceParty,
    TracePartyKey,
    TraceTransit,
    to_utc_text,
)

T = TypeVar("T")

__all__ = [
    "IN_CHUNK",
    "LOT_COLUMNS",
    "TRANSIT_COLUMNS",
    "Repository",
    "in_chunks",
    "key_state",
    "lot_state",
    "parse_utc",
    "product_from_json",
    "product_json",
    "transit_state",
]

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

IN_CHUNK = 500  # values per `IN (...)` list: well under SQLite's limit on bound parameters (999 before 3.32)


def in_chunks(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """`values` in order, as consecutive lists of at most `size` (none if `values` is empty).

    Every query that filters on a caller's list of keys (`col.in_(...)`) runs once per chunk, so
    the number of bound parameters stays bounded whatever the list's length.
    """
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


@lru_cache(maxsize=4096)  # a Product is immutable; lots of one product share the same text
def product_from_json(wire: str) -> Product:
    """A lot's `product` column as a Product."""
    d = json.loads(wire)
    return Product(**{k: d.get(k) for k in ("name_zh", "name_en", "gtin", "variety", "category")})


@lru_cache(maxsize=4096)  # every new lot's row holds one; a batch's lots share few products
def product_json(p: Product) -> str:
    """A Product as the `product` column stores it (sorted-key JSON of its wire form)."""
    return json.dumps(p.to_wire(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# The trace_lot and trace_transit columns, in the order `lot_state` and `transit_state` read them.
LOT_COLUMNS = (
    "code", "unit", "product", "product_name", "created_by", "created_at", "created_event", "head",
    "head_time", "quantity", "failed", "recalled", "rejected", "cleared",
)  # fmt: skip
TRANSIT_COLUMNS = ("ship_event", "lot", "source", "destination", "quantity", "unit", "received")


def lot_state(row: Sequence, parents: Sequence[str]) -> LotState:
    """A trace_lot row (LOT_COLUMNS, in order) and the lot's parents as a LotState."""
    code, unit, product, _, created_by, created_at, _, head, head_time, quantity, *flags = row
    failed, recalled, rejected, cleared = map(bool, flags)
    return LotState(
        code=code,
        unit=unit,
        product=product_from_json(product),
        created_by=created_by,
        created_at=parse_utc(created_at),
        head=head,
        head_time=parse_utc(head_time),
        quantity=Decimal(quantity),
        failed=failed,
        recalled=recalled,
        rejected=rejected,
        cleared=cleared,
        parents=tuple(sorted(parents)),
    )


def transit_state(row: Sequence) -> Transit:
    """A trace_transit row (TRANSIT_COLUMNS, in order) as a Transit."""
    ship_event, lot, source, destination, quantity, unit, received = row
    return Transit(ship_event, lot, source, destination, Decimal(quantity), unit, Decimal(received))


def key_state(public_key: bytes, active_from: str, revoked_at: str | None) -> KeyState:
    """A trace_party_key row's public key and times as a KeyState."""
    return KeyState(bytes(public_key), parse_utc(active_from), parse_utc(revoked_at) if revoked_at else None)


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
        rows = self.conn.execute(select(_certificate.c.lot).where(_certificate.c.certificate_no == certificate_no))
        return frozenset(r[0] for r in rows)

    def inspected_lot(self, event_id: str) -> str | None:
        # An inspect event's one input lot, from the event's index rows (trace_event, trace_event_lot).
        return self.conn.execute(
            select(_event_lot.c.lot)
            .join(_event, _event.c.id == _event_lot.c.event_id)
            .where(_event.c.id == event_id, _event.c.kind == "inspect", _event_lot.c.role == "input")
        ).scalar()

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

    # --- applying effects ----------------------------------------------------------------------------

    def apply(self, event: Event, event_id: str, fx: Effects, *, ledger_index: int) -> None:
        """Apply an accepted event's effects (the order of `Effects`' docstring) and index the event.

        Raises TraceError if the event was applied before, NotFound if the effects name a missing lot.
        Runs inside the caller's transaction; the caller rolls back on any exception.
        """
        if fx.event_id != event_id or fx.at != event.time:
            raise TraceError(f"the effects given are not those of event {event_id}")
        if self.known_event(event_id) is not None:
            raise TraceError(f"event {event_id} is already applied")
        at = to_utc_text(fx.at)
        conn = self.conn
        # 1. Parties.
        for change in fx.party_changes:
            if isinstance(change, PartyRegistered):
                self.register(change.record, at=change.at, event_id=event_id)
            elif isinstance(change, KeyAdded):
                conn.execute(
                    insert(_key).values(
                        key_id=change.key_id,
                        party_id=change.party_id,
                        public_key=change.public_key,
                        active_from=to_utc_text(change.at),
                        added_by_event=event_id,
                    )
                )
            elif isinstance(change, KeyRevoked):
                conn.execute(
                    update(_key)
                    .where(_key.c.key_id == change.key_id, _key.c.party_id == change.party_id)
                    .values(revoked_at=to_utc_text(change.at))
                )
            elif isinstance(change, PartySuspended):
                conn.execute(update(_party).where(_party.c.id == change.party_id).values(status="suspended"))
        # 2. New lots, with their inherited flags.
        for new in fx.new_lots:
            parents = []
            for code in new.parents:
                parent = self.lot(code)
                if parent is None:
                    raise NotFound("lot", code)
                parents.append(parent)
            conn.execute(
                insert(_lot).values(
                    code=new.code,
                    unit=new.unit,
                    product=product_json(new.product),
                    product_name=new.product.name_zh,
                    created_by=new.created_by,
                    created_at=to_utc_text(new.created_at),
                    created_event=event_id,
                    head=event_id,
                    head_time=at,
                    quantity=str(new.quantity),
                    **inherited_flags(parents),
                )
            )
            if new.parents:
                conn.execute(insert(_parent), [{"child": new.code, "parent": p} for p in new.parents])
        # 3. Heads.
        if fx.heads:
            conn.execute(
                update(_lot).where(_lot.c.code == bindparam("c")).values(head=event_id, head_time=at),
                [{"c": code} for code in fx.heads],
            )
        # 4. Holdings.
        for delta in fx.holdings:
            held = self.holding(delta.lot, delta.party)
            now = held + delta.delta
            if now < 0:
                raise TraceError(f"party {delta.party} would hold {now} of lot {delta.lot}")
            exists = conn.execute(
                select(_holding.c.lot).where(_holding.c.lot == delta.lot, _holding.c.party == delta.party)
            ).first()
            if exists:
                conn.execute(
                    update(_holding)
                    .where(_holding.c.lot == delta.lot, _holding.c.party == delta.party)
                    .values(quantity=str(now))
                )
            else:
                conn.execute(insert(_holding).values(lot=delta.lot, party=delta.party, quantity=str(now)))
        # 5. Shipments.
        for t in fx.transits:
            conn.execute(
                insert(_transit).values(
                    ship_event=t.ship_event,
                    lot=t.lot,
                    source=t.source,
                    destination=t.destination,
                    quantity=str(t.quantity),
                    unit=t.unit,
                    received=str(t.received),
                )
            )
        for r in fx.receipts:
            t = self.in_transit(r.ship_event, r.lot)
            if t is None:
                raise NotFound("shipment line", f"{r.ship_event}/{r.lot}")
            conn.execute(
                update(_transit)
                .where(and_(_transit.c.ship_event == r.ship_event, _transit.c.lot == r.lot))
                .values(received=str(t.received + r.quantity))
            )
        # 6. Flags, spreading downstream where the rules say so.
        for f in fx.flags:
            reach = {f.lot}
            if f.flag in PROPAGATED_FLAGS:
                reach |= self.descendants(f.lot)
            conn.execute(update(_lot).where(_lot.c.code.in_(sorted(reach))).values({f.flag: True}))
        # 7. Disposals, certificates and the event itself.
        for c in fx.certificates:
            if c.lot not in self.certificate_lots(c.certificate_no):
                conn.execute(insert(_certificate).values(certificate_no=c.certificate_no, lot=c.lot))
        for d in fx.disposals:
            q = conn.execute(
                select(_disposal.c.quantity).where(_disposal.c.lot == d.lot, _disposal.c.how == d.how)
            ).scalar()
            if q is None:
                conn.execute(insert(_disposal).values(lot=d.lot, how=d.how, quantity=str(d.quantity)))
            else:
                conn.execute(
                    update(_disposal)
                    .where(_disposal.c.lot == d.lot, _disposal.c.how == d.how)
                    .values(quantity=str(Decimal(q) + d.quantity))
                )
        self._index_event(event, event_id, at, ledger_index)

    def _index_event(self, event: Event, event_id: str, at: str, ledger_index: int) -> None:
        product = event.outputs[0].product.name_zh if event.outputs else None
        if product is None and event.inputs:
            product = self.conn.execute(
                select(_lot.c.product_name).where(_lot.c.code == event.inputs[0].lot)
            ).scalar()
        price = event.price
        self.conn.execute(
            insert(_event).values(
                id=event_id,
                ledger_index=ledger_index,
                kind=event.kind,
                party=event.party,
                event_time=event.event_time,
                at_utc=at,
                location=event.location.name,
                product_name=product,
                price_amount=str(price.amount) if price else None,
                price_unit=price.unit if price else None,
                price_stage=price.stage if price else None,
            )
        )
        rows = [
            {
                "event_id": event_id,
                "lot": r.lot,
                "role": "input",
                "quantity": str(r.quantity),
                "unit": r.unit,
                "seq": ledger_index,
            }
            for r in event.inputs
        ] + [
            {
                "event_id": event_id,
                "lot": o.lot,
                "role": "output",
                "quantity": str(o.quantity),
                "unit": o.unit,
                "seq": ledger_index,
            }
            for o in event.outputs
        ]
        if rows:
            self.conn.execute(insert(_event_lot), rows)

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

    # --- reads for the service -----------------------------------------------------------------------

    def lot_events(self, code: str) -> list[tuple[str, int, str]]:
        """(event id, ledger index, role) of every event that names lot `code`, in ledger order."""
        rows = self.conn.execute(
            select(_event_lot.c.event_id, _event_lot.c.seq, _event_lot.c.role)
            .where(_event_lot.c.lot == code)
            .order_by(_event_lot.c.seq)
        )
        return [(r.event_id, r.seq, r.role) for r in rows]

    def lots_rows(self, codes: Sequence[str]) -> dict[str, object]:
        out = {}
        for chunk in in_chunks(codes):
            for r in self.conn.execute(select(_lot).where(_lot.c.code.in_(chunk))):
                out[r.code] = r
        return out
