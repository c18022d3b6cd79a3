"""May this event be recorded now? `check_event(event, view, *, now)` and its numbered steps.

`check_event` reads the ledger's current state through a `StateReader` (view.py) and returns None
or raises `RuleViolation` with one of the codes in `RULES`. (One code is not `check_event`'s:
`check_genesis` decides the one event recorded while the ledger has no party, the first regulator
registering itself; code genesis.) It checks in this order, so the first failure is the most
meaningful:

    1. party and key     party_unknown, party_suspended, key_unknown, key_inactive
    2. role              role (ROLES_FOR); for party.* kinds also party_exists, key_exists, ...
    3. lots              lot_unknown (an input), lot_exists (an output)
    4. hash chain        follows: each input follows exactly [the lot's current head]
    5. time              time_order (before a followed or shipped event), future (beyond now + skew)
    6. units             unit
    7. destination       destination (ship)
    8. custody           custody                                              (goods.py)
    9. quantities        quantity, mass_balance                               (goods.py)
    9b. livestock        ear_tag, quarantine, quantity (animals move whole), mass_balance (a
                         slaughter's yield), unit, role (slaughter)            (livestock.py)
   10. clearance         market_entry (市场准入: and a certificate named must be a 合格证 or a
                         livestock certificate on the lineage, unless checked on paper), blocked,
                         origin_exit (产地准出)

A recall_ack (召回确认) moves no goods: after steps 1-2 it is checked against its recall
(recall_unknown: the event named is no recorded recall; lot_unknown; not_affected: the lot is not
the recalled lot or made from it, or the party never held any of it) and the clock (future).

A label_activate binds pre-printed labels to a lot its detail names: after steps 1-2 it is checked
by labels.py (lot_unknown, custody, label_gtin, label_bound) and the clock (future).

Which kinds each step concerns is read from the kind registry (`model.kinds.KIND_REGISTRY`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from ..errors import RuleViolation
from ..model.details import (
    DestroyDetail,
    KeyAddDetail,
    KeyRevokeDetail,
    LabelActivateDetail,
    PartyRegisterDetail,
    PartySuspendDetail,
    RecallAckDetail,
    ReceiveDetail,
    ShipDetail,
    TransformDetail,
)
from ..model.event import Event
from ..model.kinds import KIND_REGISTRY, PARTY_KINDS, RECEIVING_ROLES
from ..model.units import MASS_UNITS, same_dimension
from .goods import check_clearance, check_custody, check_quantities
from .labels import check_label_activate
from .livestock import check_livestock
from .view import LotState, PartyState, StateReader

__all__ = ["RECEIVING_ROLES", "ROLES_FOR", "RULES", "check_event", "check_genesis"]

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
    "label_gtin",
    "label_bound",
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
    "recall_unknown",
    "not_affected",
    "ear_tag",
    "quarantine",
)

# Who may record what (the kind registry's `roles`). destroy is open to any holder of the lot
# (checked as custody) or a regulator.
ROLES_FOR: dict[str, frozenset[str] | None] = {kind: spec.roles for kind, spec in KIND_REGISTRY.items()}


def check_event(
    event: Event, view: StateReader, *, now: datetime, max_skew: timedelta = timedelta(minutes=5)
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
    if isinstance(event.detail, LabelActivateDetail):  # no inputs: its own checks (labels.py)
        check_label_activate(event, event.detail, view)
        _check_future(at, now=now, max_skew=max_skew)
        return
    if event.kind in PARTY_KINDS:
        _check_party_admin(event, view)
        _check_future(at, now=now, max_skew=max_skew)
        return
    if isinstance(event.detail, RecallAckDetail):
        _check_recall_ack(event, event.detail, view)
        _check_future(at, now=now, max_skew=max_skew)
        return
    # 3. Lots: inputs exist, outputs are new.
    lots = _check_lots(event, view)
    # 4. The hash chain: each input follows its lot's current head.
    _check_follows(event, lots)
    # 5. Time.
    _check_time_order(event, lots, view)
    _check_future(at, now=now, max_skew=max_skew)
    # 6-10.
    _check_units(event, lots)
    if isinstance(event.detail, ShipDetail):
        _check_destination(event, event.detail, view)
    transits = check_custody(event, lots, view)
    check_quantities(event, lots, view, transits)
    check_livestock(event, lots, party, view)
    check_clearance(event, lots, party, view)


def _check_lots(event: Event, view: StateReader) -> list[LotState]:
    """Step 3: every input lot exists (returned in order), every output lot is new."""
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
    return lots


def _check_follows(event: Event, lots: Sequence[LotState]) -> None:
    """Step 4: each input follows exactly [its lot's current head]."""
    for i, (ref, lot) in enumerate(zip(event.inputs, lots, strict=True)):
        if ref.follows != (lot.head,):
            raise RuleViolation(
                "follows",
                f"lot {lot.code} is at head event {lot.head}; the event follows {', '.join(ref.follows)} "
                f"(fetch the lot's head and sign again)",
                f"inputs[{i}].follows",
            )


def _check_time_order(event: Event, lots: Sequence[LotState], view: StateReader) -> None:
    """Step 5, first half: the event is not dated before a lot's head event or the shipment it receives."""
    at = event.time
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
        "genesis",
        f"the ledger has no regulator yet, and party {event.party} may not become the first: {why}",
        "key_id",
    )


def _check_party_and_key(event: Event, view: StateReader, *, at: datetime) -> PartyState:
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


def _check_party_admin(event: Event, view: StateReader) -> None:
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


def _check_recall_ack(event: Event, detail: RecallAckDetail, view: StateReader) -> None:
    """A recall_ack names a recorded recall, and a lot it reaches that the party holds or held."""
    recalled = view.recalled_lot(detail.recall_event)
    if recalled is None:
        raise RuleViolation(
            "recall_unknown", f"event {detail.recall_event} is not a recorded recall", "detail.recall_event"
        )
    lot = view.lot(detail.lot)
    if lot is None:
        raise RuleViolation("lot_unknown", f"lot {detail.lot} does not exist", "detail.lot")
    # Walk up from the lot: the recall reaches it iff the recalled lot is the lot or an ancestor.
    seen, todo = set(), [lot]
    while todo and recalled not in seen:
        here = todo.pop()
        if here.code not in seen:
            seen.add(here.code)
            todo.extend(p for code in here.parents if (p := view.lot(code)) is not None)
    if recalled not in seen:
        raise RuleViolation(
            "not_affected",
            f"lot {detail.lot} is not lot {recalled}, which recall {detail.recall_event} recalled, nor made from it",
            "detail.lot",
        )
    if not view.has_held(detail.lot, event.party):
        raise RuleViolation(
            "not_affected",
            f"party {event.party} holds no {detail.lot} and never held any: only a holder acknowledges a recall",
            "detail.lot",
        )


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
    if isinstance(event.detail, TransformDetail) and event.detail.type != "slaughter":  # livestock.py
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
        live = event.price.unit in MASS_UNITS  # live animals are priced by head or by live weight (活重)
        for i, r in enumerate(event.inputs or event.outputs):
            if not same_dimension(event.price.unit, r.unit) and not (live and r.unit == "head"):
                name = "inputs" if event.inputs else "outputs"
                raise RuleViolation(
                    "unit",
                    f"the price is per {event.price.unit}, which cannot measure lot {r.lot} in {r.unit}",
                    f"{name}[{i}].unit",
                )


def _check_destination(event: Event, detail: ShipDetail, view: StateReader) -> None:
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
