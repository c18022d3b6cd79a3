"""What accepting an event changes, as plain data: `effects(event, event_id) -> Effects`.

`effects` does not need the state: where the change depends on it (a new lot's inherited flags,
the descendants a recall reaches), the `Effects` docstring says what the repository MUST do, and
`memory.MemoryState.apply` is the executable reference the SQL appliers are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ..model.details import (
    CertifyDetail,
    DestroyDetail,
    InspectDetail,
    KeyAddDetail,
    KeyRevokeDetail,
    LabelActivateDetail,
    PartyRegisterDetail,
    PartySuspendDetail,
    QuarantineDetail,
    RecallDetail,
    ReceiveDetail,
    ShipDetail,
    TransformDetail,
)
from ..model.event import Event
from ..model.ids import gtin14
from ..model.kinds import KIND_REGISTRY
from ..model.values import PartyRecord, Product
from .view import LivestockCertificate, LotState, Transit

__all__ = [
    "AnimalsTagged",
    "CertificateRecorded",
    "Disposal",
    "Effects",
    "HoldingDelta",
    "KeyAdded",
    "KeyRevoked",
    "LabelBound",
    "LotFlag",
    "NewLot",
    "PartyChange",
    "PartyRegistered",
    "PartySuspended",
    "Received",
    "effects",
    "holder",
    "inherited_flags",
]


@dataclass(frozen=True)
class NewLot:
    """A lot created by the event. Its head is the event; its flags are `inherited_flags(parents)`."""

    code: str
    unit: str
    product: Product
    quantity: Decimal
    created_by: str
    created_at: datetime
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class HoldingDelta:
    """Add `delta` (negative to remove) to what `party` holds of `lot`, in the lot's unit."""

    lot: str
    party: str
    delta: Decimal


@dataclass(frozen=True)
class Received:
    """Add `quantity` to what has been received of `lot` from shipment `ship_event`."""

    ship_event: str
    lot: str
    quantity: Decimal


@dataclass(frozen=True)
class LotFlag:
    """Set `flag` (one of FLAGS) on `lot`; for PROPAGATED_FLAGS also on all its existing descendants."""

    lot: str
    flag: str


@dataclass(frozen=True)
class Disposal:
    """`quantity` of `lot` left the supply chain from `party`'s stock: `how` is "sold" or "destroyed"."""

    lot: str
    party: str
    quantity: Decimal
    how: str


@dataclass(frozen=True)
class CertificateRecorded:
    """A 合格证 numbered `certificate_no` is on record for `lot` (a set: recording it twice is once)."""

    lot: str
    certificate_no: str


@dataclass(frozen=True)
class AnimalsTagged:
    """The animals with these ear tags are in `lot` from now on (a harvest tags them; a split, merge or
    repack moves them to the lot it makes). `live_weight`, if the lot states one, is their weight
    together in kg: each animal is then reckoned at `live_weight / len(ear_tags)`; without one, each
    keeps the weight it was last reckoned at."""

    lot: str
    ear_tags: tuple[str, ...]
    live_weight: Decimal | None = None


@dataclass(frozen=True)
class LabelBound:
    """Pre-printed label `serial` under `gtin` (14 digits) names `lot` from now on (it binds once)."""

    gtin: str
    serial: str
    lot: str


@dataclass(frozen=True)
class PartyRegistered:
    """A new party, status active, its keys active from `at`."""

    record: PartyRecord
    at: datetime


@dataclass(frozen=True)
class KeyAdded:
    """Key `key_id` of `party_id` becomes usable from `at`."""

    party_id: str
    key_id: str
    public_key: bytes
    at: datetime


@dataclass(frozen=True)
class KeyRevoked:
    """Key `key_id` of `party_id` is unusable from `at` on."""

    party_id: str
    key_id: str
    at: datetime


@dataclass(frozen=True)
class PartySuspended:
    """`party_id` becomes suspended."""

    party_id: str


PartyChange = PartyRegistered | KeyAdded | KeyRevoked | PartySuspended


@dataclass(frozen=True)
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
    7. record `disposals` (sold / destroyed), `certificates`, the event's time under `event_id` and,
       for an inspect event, `inspected`: the lot it tested (what a market-entry check that names the
       event is matched against; the SQL appliers read it from the event's index rows), and
       `labels`: pre-printed labels bound to a lot (label_activate; none of them bound before);
    8. move the `animals` to their lots (an ear tag's lot is replaced) and record the
       `livestock_certificates` (quarantine; a slaughter's 肉品品质检验合格证 on each lot it made).
    """

    event_id: str
    at: datetime
    heads: tuple[str, ...] = ()
    new_lots: tuple[NewLot, ...] = ()
    holdings: tuple[HoldingDelta, ...] = ()
    transits: tuple[Transit, ...] = ()
    receipts: tuple[Received, ...] = ()
    flags: tuple[LotFlag, ...] = ()
    disposals: tuple[Disposal, ...] = ()
    party_changes: tuple[PartyChange, ...] = ()
    certificates: tuple[CertificateRecorded, ...] = ()
    inspected: str | None = None
    labels: tuple[LabelBound, ...] = ()
    animals: tuple[AnimalsTagged, ...] = ()
    livestock_certificates: tuple[LivestockCertificate, ...] = ()


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


def holder(event: Event) -> str:
    """Whose stock `event` acts on: the recording party, or for a destroy the `holder` it names."""
    if isinstance(event.detail, DestroyDetail) and event.detail.holder is not None:
        return event.detail.holder
    return event.party


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
    receipts: tuple[Received, ...] = ()
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

    spec = KIND_REGISTRY[event.kind]
    if spec.uses is not None:  # the inputs leave the holder's stock
        owner = holder(event)
        holdings += [HoldingDelta(r.lot, owner, -r.quantity) for r in event.inputs]
    if isinstance(detail, ShipDetail):
        transits = tuple(
            Transit(event_id, r.lot, party, detail.destination, r.quantity, r.unit, Decimal(0))
            for r in event.inputs
        )
    elif isinstance(detail, ReceiveDetail):
        receipts = tuple(Received(detail.ship_event, r.lot, r.quantity) for r in event.inputs)
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
    elif isinstance(detail, RecallDetail):
        flags.append(LotFlag(event.inputs[0].lot, "recalled"))
    elif isinstance(detail, QuarantineDetail):  # a 动物检疫合格证明 clears its lot to leave (产地准出)
        flags.append(LotFlag(event.inputs[0].lot, "cleared"))
    if spec.disposal is not None:  # sold or destroyed: out of the supply chain
        disposals = tuple(Disposal(r.lot, holder(event), r.quantity, spec.disposal) for r in event.inputs)
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
        inspected=event.inputs[0].lot if isinstance(detail, InspectDetail) else None,
        labels=_labels(detail),
        animals=tuple(
            AnimalsTagged(o.lot, o.ear_tags, o.live_weight) for o in event.outputs if o.ear_tags is not None
        ),
        livestock_certificates=_livestock_certificates(event, event_id),
    )


def _livestock_certificates(event: Event, event_id: str) -> tuple[LivestockCertificate, ...]:
    detail, at = event.detail, event.time
    if isinstance(detail, QuarantineDetail):
        try:
            until = at + timedelta(days=int(detail.valid_days))
        except OverflowError:  # an event dated at the end of time: the rules refuse it (future), effects stay total
            until = datetime.max.replace(tzinfo=at.tzinfo)
        return (
            LivestockCertificate(
                detail.certificate_no, event.inputs[0].lot, detail.form, at, until, event_id
            ),
        )
    if isinstance(detail, TransformDetail) and detail.certificate_no is not None:  # a slaughter
        return tuple(
            LivestockCertificate(detail.certificate_no, o.lot, "meat_quality", at, None, event_id)
            for o in event.outputs
        )
    return ()


def _labels(detail: object) -> tuple[LabelBound, ...]:
    if not isinstance(detail, LabelActivateDetail):
        return ()
    gtin = gtin14(detail.gtin)
    return tuple(LabelBound(gtin, serial, detail.lot) for serial in detail.serials)


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
