"""The domain rules at capture: may this event be recorded now, and what does recording it change?

`check_event(event, view, *, now)` reads the ledger's current state through `LotView` (the SQL
repository and `state.MemoryState` implement it) and returns None or raises `RuleViolation` with one
of the codes in `RULES`. (One code is not `check_event`'s: `check_genesis` decides the one event
recorded while the ledger has no party, the first regulator registering itself; code genesis.)
It checks in this order, so the first failure is the most meaningful:

    1. party and key     party_unknown, party_suspended, key_unknown, key_inactive
    2. role              role (ROLES_FOR); for party.* kinds also party_exists, key_exists, ...
    3. lots              lot_unknown (an input), lot_exists (an output)
    4. hash chain        follows: each input follows exactly [the lot's current head]
    5. time              time_order (before a followed or shipped event), future (beyond now + skew)
    6. units             unit
    7. destination       destination (ship)
    8. custody           custody
    9. quantities        quantity, mass_balance
   10. clearance         market_entry (市场准入: and a certificate named must be a 合格证 on
                         the lineage, unless checked on paper), blocked, origin_exit (产地准出)

`effects(event, event_id)` then describes, as plain data, what accepting the event changes. It does
not need the view: where the change depends on the state (a new lot's inherited flags, the
descendants a recall reaches), the `Effects` docstring says what the repository MUST do.
`state.MemoryState.apply` is the executable reference.

Status flags and lineage (decided here, relied on by repositories and pages):
- failed and recalled spread downstream: they are set on the lot *and every existing descendant*
  when recorded, and a new lot inherits them if *any* parent has them;
- cleared (a passing inspection or a 合格证) is set on the lot alone, and a new lot inherits it only
  if *all* its parents are cleared — mixing an untested lot into a merge must not launder it;
- rejected (refused at market entry) is set on the lot alone and not inherited.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

from .errors import RuleViolation
from .events import (
    PARTY_KINDS,
    CertifyDetail,
    DestroyDetail,
    Event,
    InspectDetail,
    KeyAddDetail,
    KeyRevokeDetail,
    PartyRecord,
    PartyRegisterDetail,
    PartySuspendDetail,
    Product,
    ReceiveDetail,
    ShipDetail,
    TransformDetail,
)
from .frozen import frozen
from .units import format_decimal, same_dimension, to_base

__all__ = [
    "FLAGS",
    "PROPAGATED_FLAGS",
    "RECEIVING_ROLES",
    "ROLES_FOR",
    "RULES",
    "TOLERANCE",
    "CertificateRecorded",
    "Disposal",
    "Effects",
    "HoldingDelta",
    "KeyAdded",
    "KeyRevoked",
    "KeyState",
    "LotFlag",
    "LotState",
    "LotView",
    "NewLot",
    "PartyRegistered",
    "PartyState",
    "PartySuspended",
    "Receipt",
    "Transit",
    "check_event",
    "check_genesis",
    "effects",
    "inherited_flags",
]

RULES = (
    "party_unknown",
    "party_suspended",
    "party_exists",
    "key_unknown",
    "key_inactive",
    "key_exists",
    "role",
    "lot_unknown",
    "lot_exists",
    "follows",
    "time_order",
    "future",
    "unit",
    "quantity",
    "custody",
    "mass_balance",
    "origin_exit",
    "market_entry",
    "blocked",
    "destination",
    "genesis",
)

_TRADERS = frozenset({"producer", "processor", "wholesaler", "retailer"})
RECEIVING_ROLES = frozenset({"processor", "wholesaler", "retailer"})
# Who may record what. destroy is open to any holder of the lot (checked as custody) or a regulator.
ROLES_FOR: dict[str, frozenset[str] | None] = {
    "harvest": frozenset({"producer"}),
    "certify": frozenset({"producer"}),
    "inspect": frozenset({"inspector"}),
    "transform": _TRADERS,
    "ship": _TRADERS,
    "receive": RECEIVING_ROLES,
    "sell": frozenset({"wholesaler", "retailer"}),
    "recall": frozenset({"regulator"}),
    "destroy": None,
} | dict.fromkeys(PARTY_KINDS, frozenset({"regulator"}))

# Largest allowed *gain* of a transform, as a fraction of its inputs in base units. Loss (trimming,
# moisture, spoilage) is always allowed; gain never is, whatever the type. Kept per type so a
# documented exception (e.g. soaking dried produce) would be one line here.
TOLERANCE: dict[str, Decimal] = {
    "split": Decimal(0),
    "merge": Decimal(0),
    "repack": Decimal(0),
    "process": Decimal(0),
}

FLAGS = ("failed", "recalled", "rejected", "cleared")
PROPAGATED_FLAGS = frozenset({"failed", "recalled"})


# --- what the view returns -------------------------------------------------------------------------


@frozen
class KeyState:
    """A party's key: usable for an event at time t iff active_from <= t and it is not revoked.

    `revoked_at` is the time the revocation states; the key is unusable from the moment the
    revocation is recorded, whatever time it states (see `check_event`).
    """

    public_key: bytes
    active_from: datetime
    revoked_at: datetime | None = None


@frozen
class PartyState:
    """A registered party: its roles, "active" or "suspended", and its keys by key id."""

    id: str
    roles: frozenset[str]
    status: str
    keys: Mapping[str, KeyState]


@frozen
class LotState:
    """A lot as the ledger knows it now: what it is, who made it, its head event and its flags.

    `quantity` is the quantity created, in `unit`; `head` is the id of the last event on the lot and
    `head_time` its event time. Flags follow the module docstring's lineage rules.
    """

    code: str
    unit: str
    product: Product
    created_by: str
    created_at: datetime
    head: str
    head_time: datetime
    quantity: Decimal
    failed: bool = False
    recalled: bool = False
    rejected: bool = False
    cleared: bool = False
    parents: tuple[str, ...] = ()  # sorted: the lots it was made from, as a set


@frozen
class Transit:
    """What ship event `ship_event` sent of `lot`, from `source` to `destination`, and how much of it
    (in `unit`) has been `received` (accepted or rejected) so far."""

    ship_event: str
    lot: str
    source: str
    destination: str
    quantity: Decimal
    unit: str
    received: Decimal = Decimal(0)


@runtime_checkable
class LotView(Protocol):
    """The read-only state `check_event` needs. Implementations MUST reflect every applied event."""

    def party(self, party_id: str) -> PartyState | None:
        """The party, or None if it was never registered."""
        ...

    def lot(self, code: str) -> LotState | None:
        """The lot, or None if no event created it."""
        ...

    def holding(self, code: str, party_id: str) -> Decimal:
        """The quantity of lot `code` (in the lot's unit) that `party_id` holds now; 0 if none."""
        ...

    def in_transit(self, ship_event: str, lot: str) -> Transit | None:
        """What `ship_event` sent of `lot` and how much is received; None if it sent none of it."""
        ...

    def event_time(self, event_id: str) -> datetime | None:
        """The event time of a recorded event, or None if there is no such event."""
        ...

    def certificate_lots(self, certificate_no: str) -> frozenset[str]:
        """The lots a 合格证 with this number was recorded on (certify events); empty if none."""
        ...


# --- what accepting an event changes -------------------------------------------------------------


@frozen
class NewLot:
    """A lot created by the event. Its head is the event; its flags are `inherited_flags(parents)`."""

    code: str
    unit: str
    product: Product
    quantity: Decimal
    created_by: str
    created_at: datetime
    parents: tuple[str, ...] = ()


@frozen
class HoldingDelta:
    """Add `delta` (negative to remove) to what `party` holds of `lot`, in the lot's unit."""

    lot: str
    party: str
    delta: Decimal


@frozen
class Receipt:
    """Add `quantity` to what has been received of `lot` from shipment `ship_event`."""

    ship_event: str
    lot: str
    quantity: Decimal


@frozen
class LotFlag:
    """Set `flag` (one of FLAGS) on `lot`; for PROPAGATED_FLAGS also on all its existing descendants."""

    lot: str
    flag: str


@frozen
class Disposal:
    """`quantity` of `lot` left the supply chain from `party`'s stock: `how` is "sold" or "destroyed"."""

    lot: str
    party: str
    quantity: Decimal
    how: str


@frozen
class CertificateRecorded:
    """A 合格证 numbered `certificate_no` is on record for `lot` (a set: recording it twice is once)."""

    lot: str
    certificate_no: str


@frozen
class PartyRegistered:
    """A new party, status active, its keys active from `at`."""

    record: PartyRecord
    at: datetime


@frozen
class KeyAdded:
    """Key `key_id` of `party_id` becomes usable from `at`."""

    party_id: str
    key_id: str
    public_key: bytes
    at: datetime


@frozen
class KeyRevoked:
    """Key `key_id` of `party_id` is unusable from `at` on."""

    party_id: str
    key_id: str
    at: datetime


@frozen
class PartySuspended:
    """`party_id` becomes suspended."""

    party_id: str


PartyChange = PartyRegistered | KeyAdded | KeyRevoked | PartySuspended


@frozen
class Effects:
    """Everything accepting event `event_id` (at event time `at`) changes, as plain data.

    A repository applying it MUST, in one transaction:
    1. apply `party_changes`;
    2. create `new_lots`, each with head `event_id`, head_time `at`, and the flags
       `inherited_flags(<the parents' states>)`;
    3. set head = `event_id`, head_time = `at` on every lot in `heads` (every input lot);
    4. add `holdings` deltas (no holding may go negative; `check_event` guarantees it);
    5. open `transits` (received 0) and add `receipts` to them;
    6. set `flags`, and for a flag in PROPAGATED_FLAGS also on every existing descendant of the lot;
    7. record `disposals` (sold / destroyed), `certificates` and the event's time under `event_id`.
    """

    event_id: str
    at: datetime
    heads: tuple[str, ...] = ()
    new_lots: tuple[NewLot, ...] = ()
    holdings: tuple[HoldingDelta, ...] = ()
    transits: tuple[Transit, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    flags: tuple[LotFlag, ...] = ()
    disposals: tuple[Disposal, ...] = ()
    party_changes: tuple[PartyChange, ...] = ()
    certificates: tuple[CertificateRecorded, ...] = ()


def inherited_flags(parents: Sequence[LotState]) -> dict[str, bool]:
    """Return the flags a new lot starts with, given its parents' states (none for a harvest).

    failed / recalled if any parent has it; cleared if there are parents and all are cleared;
    rejected never.
    """
    return {
        "failed": any(p.failed for p in parents),
        "recalled": any(p.recalled for p in parents),
        "rejected": False,
        "cleared": bool(parents) and all(p.cleared for p in parents),
    }


# --- check_event ---------------------------------------------------------------------------------


def _q(quantity: Decimal, unit: str) -> str:
    return f"{format_decimal(quantity)} {unit}"


def check_event(
    event: Event, view: LotView, *, now: datetime, max_skew: timedelta = timedelta(minutes=5)
) -> None:
    """Check that `event` may be recorded against the current state `view` at wall-clock time `now`.

    `now` must be timezone-aware. Returns None or raises RuleViolation (see RULES and the order in
    the module docstring); the message names the lot, party, quantities and units involved.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    at = event.time
    # 1-2. Who is speaking, with which key, in which role.
    party = _check_party_and_key(event, view, at=at)
    _check_role(event, party)
    if event.kind in PARTY_KINDS:
        _check_party_admin(event, view)
        _check_future(at, now=now, max_skew=max_skew)
        return
    # 3. Lots: inputs exist, outputs are new.
    lots = []
    for i, ref in enumerate(event.inputs):
        lot = view.lot(ref.lot)
        if lot is None:
            raise RuleViolation("lot_unknown", f"lot {ref.lot} does not exist", f"inputs[{i}].lot")
        lots.append(lot)
    for i, out in enumerate(event.outputs):
        if view.lot(out.lot) is not None:
            raise RuleViolation(
                "lot_exists", f"lot code {out.lot} is already in use; choose a new one", f"outputs[{i}].lot"
            )
    # 4. The hash chain: each input follows its lot's current head.
    for i, (ref, lot) in enumerate(zip(event.inputs, lots, strict=True)):
        if ref.follows != (lot.head,):
            raise RuleViolation(
                "follows",
                f"lot {lot.code} is at head event {lot.head}; the event follows {', '.join(ref.follows)} "
                f"(fetch the lot's head and sign again)",
                f"inputs[{i}].follows",
            )
    # 5. Time.
    for i, lot in enumerate(lots):
        if at < lot.head_time:
            raise RuleViolation(
                "time_order",
                f"event time {event.event_time} is before {lot.head_time.isoformat()}, the time of "
                f"lot {lot.code}'s head event",
                f"inputs[{i}]",
            )
    if isinstance(event.detail, ReceiveDetail):
        shipped = view.event_time(event.detail.ship_event)
        if shipped is not None and at < shipped:
            raise RuleViolation(
                "time_order",
                f"event time {event.event_time} is before the shipment's time {shipped.isoformat()}",
                "event_time",
            )
    _check_future(at, now=now, max_skew=max_skew)
    # 6-10.
    _check_units(event, lots)
    if isinstance(event.detail, ShipDetail):
        _check_destination(event, event.detail, view)
    transits = _check_custody(event, lots, view)
    _check_quantities(event, lots, view, transits)
    _check_clearance(event, lots, party, view)


def check_genesis(
    event: Event, *, public_key: bytes, bootstrap_keys: Collection[bytes], operator: bool = False
) -> None:
    """Check the genesis entry: the first regulator registering itself while the ledger has no party.

    No party exists to vouch for it, so only the operator may let it in: on the machine itself
    (`operator`, as `farmtrace init --regulator-id` does), or by naming beforehand the key that
    signs it (`bootstrap_keys`, raw Ed25519 public keys: the FARMTRACE_BOOTSTRAP_KEY setting).
    `public_key` is the key that signed `event` (one of the registered record's own). Returns None or
    raises RuleViolation("genesis"): never from the network on its own say-so.
    """
    if operator or bytes(public_key) in bootstrap_keys:
        return
    if not bootstrap_keys:
        why = (
            "the operator registers the first one on the server (farmtrace init --regulator-id), or names "
            "its key beforehand (FARMTRACE_BOOTSTRAP_KEY); no bootstrap key is configured"
        )
    else:
        why = f"its registration must be signed with the bootstrap key the operator named, not key {event.key_id}"
    raise RuleViolation(
        "genesis", f"the ledger has no regulator yet, and party {event.party} may not become the first: {why}", "key_id"
    )


def _check_party_and_key(event: Event, view: LotView, *, at: datetime) -> PartyState:
    party = view.party(event.party)
    if party is None:
        raise RuleViolation("party_unknown", f"party {event.party} is not registered", "party")
    if party.status != "active":
        raise RuleViolation(
            "party_suspended", f"party {event.party} is {party.status} and may record nothing", "party"
        )
    key = party.keys.get(event.key_id)
    if key is None:
        raise RuleViolation("key_unknown", f"party {event.party} has no key {event.key_id}", "key_id")
    if at < key.active_from:
        raise RuleViolation(
            "key_inactive",
            f"key {event.key_id} of party {event.party} is valid from {key.active_from.isoformat()}, "
            f"the event is dated {event.event_time}",
            "key_id",
        )
    # A revoked key records nothing more, even events dated before the revocation (a stolen key
    # must not be able to backdate), and from the moment the revocation is recorded: one dated a few
    # minutes ahead (within the clock skew) must not leave a lost key usable until then.
    if key.revoked_at is not None:
        raise RuleViolation(
            "key_inactive",
            f"key {event.key_id} of party {event.party} was revoked at {key.revoked_at.isoformat()} "
            "(a revocation takes effect when it is recorded)",
            "key_id",
        )
    return party


def _check_role(event: Event, party: PartyState) -> None:
    allowed = ROLES_FOR[event.kind]
    if allowed is not None and not (party.roles & allowed):
        raise RuleViolation(
            "role",
            f"party {party.id} (roles: {', '.join(sorted(party.roles)) or 'none'}) may not record a {event.kind} "
            f"event; that needs the role {' or '.join(sorted(allowed))}",
            "kind",
        )
    if isinstance(event.detail, DestroyDetail):
        holder = event.detail.holder
        if holder is not None and holder != party.id and "regulator" not in party.roles:
            raise RuleViolation(
                "role", f"only a regulator may destroy another party's stock ({holder})", "detail.holder"
            )


def _check_party_admin(event: Event, view: LotView) -> None:
    detail = event.detail
    if isinstance(detail, PartyRegisterDetail):
        if view.party(detail.party.id) is not None:
            raise RuleViolation(
                "party_exists", f"party {detail.party.id} is already registered", "detail.party.id"
            )
        return
    assert isinstance(detail, KeyAddDetail | KeyRevokeDetail | PartySuspendDetail)
    target = view.party(detail.party_id)
    if target is None:
        raise RuleViolation("party_unknown", f"party {detail.party_id} is not registered", "detail.party_id")
    if isinstance(detail, KeyAddDetail) and detail.key_id in target.keys:
        raise RuleViolation(
            "key_exists", f"party {target.id} already has key {detail.key_id}", "detail.key_id"
        )
    if isinstance(detail, KeyRevokeDetail):
        key = target.keys.get(detail.key_id)
        if key is None:
            raise RuleViolation(
                "key_unknown", f"party {target.id} has no key {detail.key_id}", "detail.key_id"
            )
        if key.revoked_at is not None:
            raise RuleViolation(
                "key_inactive",
                f"key {detail.key_id} of party {target.id} is already revoked",
                "detail.key_id",
            )
    if isinstance(detail, PartySuspendDetail) and target.status == "suspended":
        raise RuleViolation("party_suspended", f"party {target.id} is already suspended", "detail.party_id")


def _check_future(at: datetime, *, now: datetime, max_skew: timedelta) -> None:
    if at > now + max_skew:
        raise RuleViolation(
            "future",
            f"event time {at.isoformat()} is later than now ({now.isoformat()}) plus the allowed clock skew "
            f"of {int(max_skew.total_seconds())} s",
            "event_time",
        )


def _check_units(event: Event, lots: Sequence[LotState]) -> None:
    for i, (ref, lot) in enumerate(zip(event.inputs, lots, strict=True)):
        if ref.unit != lot.unit:
            raise RuleViolation(
                "unit",
                f"lot {lot.code} is measured in {lot.unit}, the event says {ref.unit}",
                f"inputs[{i}].unit",
            )
    if isinstance(event.detail, TransformDetail):
        first = event.inputs[0].unit
        for name, refs in (("inputs", event.inputs), ("outputs", event.outputs)):
            for i, r in enumerate(refs):
                if not same_dimension(first, r.unit):
                    raise RuleViolation(
                        "unit",
                        f"a transform cannot turn {first} into {r.unit}: mass converts only to mass, and a "
                        f"count unit only to itself",
                        f"{name}[{i}].unit",
                    )
    if event.price is not None:
        for i, r in enumerate(event.inputs or event.outputs):
            if not same_dimension(event.price.unit, r.unit):
                name = "inputs" if event.inputs else "outputs"
                raise RuleViolation(
                    "unit",
                    f"the price is per {event.price.unit}, which cannot measure lot {r.lot} in {r.unit}",
                    f"{name}[{i}].unit",
                )


def _check_destination(event: Event, detail: ShipDetail, view: LotView) -> None:
    dest = view.party(detail.destination)
    where = "detail.destination"
    if detail.destination == event.party:
        raise RuleViolation("destination", f"party {event.party} cannot ship to itself", where)
    if dest is None:
        raise RuleViolation("destination", f"destination party {detail.destination} is not registered", where)
    if dest.status != "active":
        raise RuleViolation("destination", f"destination party {dest.id} is {dest.status}", where)
    if not dest.roles & RECEIVING_ROLES:
        raise RuleViolation(
            "destination",
            f"destination party {dest.id} (roles: {', '.join(sorted(dest.roles))}) cannot receive goods",
            where,
        )


def _holder(event: Event) -> str:
    if isinstance(event.detail, DestroyDetail) and event.detail.holder is not None:
        return event.detail.holder
    return event.party


def _check_custody(event: Event, lots: Sequence[LotState], view: LotView) -> list[Transit]:
    """Custody of each input; for a receive, return the matching shipment line of each input."""
    kind = event.kind
    if kind in ("certify", "transform", "ship", "sell", "destroy"):
        holder = _holder(event)
        for i, lot in enumerate(lots):
            if view.holding(lot.code, holder) <= 0:
                raise RuleViolation(
                    "custody", f"party {holder} does not hold lot {lot.code}", f"inputs[{i}].lot"
                )
        return []
    if not isinstance(event.detail, ReceiveDetail):
        return []  # inspect and recall: stations and regulators act on lots they do not hold
    detail = event.detail
    if view.event_time(detail.ship_event) is None:
        raise RuleViolation("custody", f"ship event {detail.ship_event} is not recorded", "detail.ship_event")
    transits = []
    for i, lot in enumerate(lots):
        t = view.in_transit(detail.ship_event, lot.code)
        if t is None:
            raise RuleViolation(
                "custody", f"ship event {detail.ship_event} did not send lot {lot.code}", f"inputs[{i}].lot"
            )
        if t.destination != event.party:
            raise RuleViolation(
                "custody",
                f"ship event {detail.ship_event} sent lot {lot.code} to {t.destination}, not to {event.party}",
                "detail.ship_event",
            )
        if t.source != detail.source:
            raise RuleViolation(
                "custody",
                f"ship event {detail.ship_event} came from {t.source}, not {detail.source}",
                "detail.source",
            )
        transits.append(t)
    return transits


_VERB = {"ship": "ship", "sell": "sell", "destroy": "destroy", "transform": "use"}


def _check_quantities(
    event: Event, lots: Sequence[LotState], view: LotView, transits: Sequence[Transit]
) -> None:
    kind = event.kind
    if kind in ("inspect", "certify", "recall"):
        ref, lot = event.inputs[0], lots[0]
        if ref.quantity > lot.quantity:
            raise RuleViolation(
                "quantity",
                f"cannot {kind} {_q(ref.quantity, ref.unit)} of lot {lot.code}: it was created with "
                f"{_q(lot.quantity, lot.unit)}",
                "inputs[0].quantity",
            )
    if kind in _VERB:
        holder = _holder(event)
        for i, (ref, lot) in enumerate(zip(event.inputs, lots, strict=True)):
            held = view.holding(lot.code, holder)
            if ref.quantity > held:
                raise RuleViolation(
                    "mass_balance",
                    f"cannot {_VERB[kind]} {_q(ref.quantity, ref.unit)} of lot {lot.code}: party {holder} holds "
                    f"{_q(held, lot.unit)}",
                    f"inputs[{i}].quantity",
                )
    if isinstance(event.detail, TransformDetail):
        total_in = sum((to_base(r.quantity, r.unit)[0] for r in event.inputs), Decimal(0))
        total_out = sum((to_base(r.quantity, r.unit)[0] for r in event.outputs), Decimal(0))
        base = to_base(Decimal(1), event.inputs[0].unit)[1]
        limit = total_in * (1 + TOLERANCE[event.detail.type])
        if total_out > limit:
            raise RuleViolation(
                "mass_balance",
                f"a {event.detail.type} of {_q(total_in, base)} cannot yield {_q(total_out, base)}: "
                "outputs may not exceed inputs",
                "outputs",
            )
    for i, (ref, t) in enumerate(zip(event.inputs, transits, strict=False)):
        open_quantity = t.quantity - t.received
        if ref.quantity > open_quantity:
            raise RuleViolation(
                "mass_balance",
                f"cannot receive {_q(ref.quantity, ref.unit)} of lot {t.lot} from shipment {t.ship_event}: "
                f"{_q(open_quantity, t.unit)} of the {_q(t.quantity, t.unit)} sent is still unreceived",
                f"inputs[{i}].quantity",
            )


def _why_blocked(lot: LotState, *, rejected_counts: bool = True) -> str | None:
    if lot.recalled:
        return f"lot {lot.code} is recalled (itself or a lot it was made from)"
    if lot.failed:
        return f"lot {lot.code} failed an inspection (itself or a lot it was made from)"
    if lot.rejected and rejected_counts:
        return f"lot {lot.code} was rejected at market entry"
    return None


def _in_lineage(lot: LotState, codes: Collection[str], view: LotView) -> bool:
    """True if `lot` or one of its ancestors is among `codes` (walking parents through `view`)."""
    todo, seen = [lot.code], {lot.code}
    while todo:
        code = todo.pop()
        if code in codes:
            return True
        state = lot if code == lot.code else view.lot(code)
        for parent in state.parents if state is not None else ():
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return False


def _check_clearance(event: Event, lots: Sequence[LotState], party: PartyState, view: LotView) -> None:
    kind = event.kind
    detail = event.detail
    accepted = isinstance(detail, ReceiveDetail) and detail.entry_check.result == "accepted"
    # 市场准入: a market or shop accepts goods only against a certificate or an inspection. A
    # rejection is always recordable: it is the entry check doing its job.
    if accepted and party.roles & {"wholesaler", "retailer"}:
        check = detail.entry_check
        if check.certificate_no is None and check.inspection_event is None:
            raise RuleViolation(
                "market_entry",
                f"party {party.id} accepts goods at market entry only against a certificate_no or an "
                "inspection_event in detail.entry_check",
                "detail.entry_check",
            )
        if check.inspection_event is not None and view.event_time(check.inspection_event) is None:
            raise RuleViolation(
                "market_entry",
                f"inspection event {check.inspection_event} is not recorded",
                "detail.entry_check.inspection_event",
            )
    # A certificate named at entry is one the ledger holds for these goods — a 合格证 recorded on
    # the lot or on a lot it was made from — or the check says it was a paper one: a consumer page
    # tells the two apart, and never calls a made-up number checked.
    if accepted and detail.entry_check.certificate_no is not None and detail.entry_check.certificate_source is None:
        number = detail.entry_check.certificate_no
        certified = view.certificate_lots(number)
        for lot in lots:
            if not (certified and _in_lineage(lot, certified, view)):
                raise RuleViolation(
                    "market_entry",
                    f"certificate {number} is not a 合格证 recorded on lot {lot.code} or on a lot it was made "
                    'from; name one the ledger holds, or record a paper certificate (certificate_source "paper")',
                    "detail.entry_check.certificate_no",
                )
    # Blocked lots move nowhere but to destruction; certifying one would be a false commitment, and
    # accepting one at entry would let it back into circulation.
    # (A rejection at one market says nothing about the same lot's safety at another, so receipts
    # are blocked only by failed and recalled.)
    if kind in ("ship", "transform", "sell", "certify") or accepted:
        for i, lot in enumerate(lots):
            why = _why_blocked(lot, rejected_counts=kind != "receive")
            if why is not None:
                verb = "accepted" if kind == "receive" else f"used in a {kind} event"
                raise RuleViolation("blocked", f"{why} and cannot be {verb}", f"inputs[{i}].lot")
    # 产地准出: nothing leaves its holder without a passing inspection or a certificate upstream.
    if kind == "ship":
        for i, lot in enumerate(lots):
            if not lot.cleared:
                raise RuleViolation(
                    "origin_exit",
                    f"lot {lot.code} has no passing inspection or compliance certificate (on it or on the lots "
                    "it was made from) and cannot be shipped",
                    f"inputs[{i}].lot",
                )


# --- effects ---------------------------------------------------------------------------------------


def effects(event: Event, event_id: str) -> Effects:
    """Return what accepting `event` (whose id is `event_id`) changes. Pure; see `Effects`.

    Assumes `check_event` passed. A receive with entry_check "rejected" returns the goods to the
    shipper's holding (so they stay accounted for, blocked, until destroyed) and flags the lot.
    """
    at = event.time
    party = event.party
    detail = event.detail
    heads = parents = tuple([r.lot for r in event.inputs])
    holdings: list[HoldingDelta] = []
    flags: list[LotFlag] = []
    transits: tuple[Transit, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    disposals: tuple[Disposal, ...] = ()
    changes: tuple[PartyChange, ...] = ()
    certificates: tuple[CertificateRecorded, ...] = ()
    new_lots = tuple(
        NewLot(
            code=o.lot,
            unit=o.unit,
            product=o.product,
            quantity=o.quantity,
            created_by=party,
            created_at=at,
            parents=parents,
        )
        for o in event.outputs
    )
    holdings += [HoldingDelta(o.lot, party, o.quantity) for o in event.outputs]

    if event.kind in ("transform", "ship", "sell", "destroy"):
        holder = _holder(event)
        holdings += [HoldingDelta(r.lot, holder, -r.quantity) for r in event.inputs]
    if isinstance(detail, ShipDetail):
        transits = tuple(
            Transit(event_id, r.lot, party, detail.destination, r.quantity, r.unit, Decimal(0))
            for r in event.inputs
        )
    elif isinstance(detail, ReceiveDetail):
        receipts = tuple(Receipt(detail.ship_event, r.lot, r.quantity) for r in event.inputs)
        if detail.entry_check.result == "accepted":
            holdings += [HoldingDelta(r.lot, party, r.quantity) for r in event.inputs]
        else:
            holdings += [HoldingDelta(r.lot, detail.source, r.quantity) for r in event.inputs]
            flags += [LotFlag(r.lot, "rejected") for r in event.inputs]
    elif isinstance(detail, InspectDetail):
        flags.append(LotFlag(event.inputs[0].lot, "cleared" if detail.result == "pass" else "failed"))
    elif isinstance(detail, CertifyDetail):
        flags.append(LotFlag(event.inputs[0].lot, "cleared"))
        certificates = (CertificateRecorded(event.inputs[0].lot, detail.certificate_no),)
    elif event.kind == "recall":
        flags.append(LotFlag(event.inputs[0].lot, "recalled"))
    if event.kind in ("sell", "destroy"):
        how = "sold" if event.kind == "sell" else "destroyed"
        disposals = tuple(Disposal(r.lot, _holder(event), r.quantity, how) for r in event.inputs)
    changes = _party_changes(event, at)
    return Effects(
        event_id=event_id,
        at=at,
        heads=heads,
        new_lots=new_lots,
        holdings=tuple(holdings),
        transits=transits,
        receipts=receipts,
        flags=tuple(flags),
        disposals=disposals,
        party_changes=changes,
        certificates=certificates,
    )


def _party_changes(event: Event, at: datetime) -> tuple[PartyChange, ...]:
    detail = event.detail
    if isinstance(detail, PartyRegisterDetail):
        return (PartyRegistered(detail.party, at),)
    if isinstance(detail, KeyAddDetail):
        return (KeyAdded(detail.party_id, detail.key_id, detail.public_key, at),)
    if isinstance(detail, KeyRevokeDetail):
        return (KeyRevoked(detail.party_id, detail.key_id, at),)
    if isinstance(detail, PartySuspendDetail):
        return (PartySuspended(detail.party_id),)
    return ()
