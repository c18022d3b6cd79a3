"""What the rules read: the `StateReader` protocol and the state types it returns.

`check_event` reads the ledger's current state only through a `StateReader`; the SQL repository
and `memory.MemoryState` implement it, and must answer alike for the same events (the differential
tests in tests/trace/test_repository.py and test_ingest.py hold them to that).

Status flags and lineage (decided here, relied on by repositories and pages):
- failed and recalled spread downstream: they are set on the lot *and every existing descendant*
  when recorded, and a new lot inherits them if *any* parent has them;
- cleared (a passing inspection or a 合格证) is set on the lot alone, and a new lot inherits it only
  if *all* its parents are cleared — mixing an untested lot into a merge must not launder it;
- rejected (refused at market entry) is set on the lot alone and not inherited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, runtime_checkable

from ..model.values import Product

__all__ = [
    "FLAGS",
    "PROPAGATED_FLAGS",
    "KeyState",
    "LivestockCertificate",
    "LotState",
    "PartyState",
    "StateReader",
    "Transit",
    "reckon_live_weight",
]

FLAGS = ("failed", "recalled", "rejected", "cleared")
PROPAGATED_FLAGS = frozenset({"failed", "recalled"})


@dataclass(frozen=True)
class KeyState:
    """A party's key: usable for an event at time t iff active_from <= t and it is not revoked.

    `revoked_at` is the time the revocation states; the key is unusable from the moment the
    revocation is recorded, whatever time it states (see `check_event`).
    """

    public_key: bytes
    active_from: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class PartyState:
    """A registered party: its roles, "active" or "suspended", and its keys by key id."""

    id: str
    roles: frozenset[str]
    status: str
    keys: Mapping[str, KeyState]


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class LivestockCertificate:
    """A livestock certificate on record for `lot`: a 动物检疫合格证明 (`form` animal_a, animal_b,
    product_a or product_b; a quarantine event, valid until `valid_until`) or a slaughterhouse's
    肉品品质检验合格证 (`form` "meat_quality"; a slaughter, on each lot it made; no end of validity).
    `issued_at` is the event's time, `event_id` the event that recorded it."""

    certificate_no: str
    lot: str
    form: str
    issued_at: datetime
    valid_until: datetime | None
    event_id: str


def reckon_live_weight(weighings: list[tuple[Decimal, int] | None]) -> Decimal | None:
    """The live weight in kg of animals each last weighed as (group kg, group heads); None if any of
    them was never weighed, or there are none. Summed as a fraction over the groups' common
    denominator, so SQL and memory, in any order, give the same Decimal."""
    if not weighings or any(w is None for w in weighings):
        return None
    total = sum((Fraction(kg) / heads for kg, heads in weighings), Fraction(0))  # type: ignore[misc]
    return (Decimal(total.numerator) / Decimal(total.denominator)).quantize(Decimal("0.001"))


@runtime_checkable
class StateReader(Protocol):
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

    def inspected_lot(self, event_id: str) -> str | None:
        """The lot an inspect event tested, or None if `event_id` is not a recorded inspect event.

        Not its result: a failed inspection marks the lot failed, and with it every lot made from
        it, so a lot whose lineage holds the tested lot and that is not failed was never failed by it.
        """
        ...

    def recalled_lot(self, event_id: str) -> str | None:
        """The lot a recall event recalled, or None if `event_id` is not a recorded recall event."""
        ...

    def has_held(self, code: str, party_id: str) -> bool:
        """True if `party_id` holds, or ever held, some of lot `code` (a holding, even one now 0)."""
        ...

    def label_lot(self, gtin: str, serial: str) -> str | None:
        """The lot pre-printed label `serial` under `gtin` (14 digits) is bound to, or None if unbound."""
        ...

    def animal_lot(self, ear_tag: str) -> str | None:
        """The lot the animal with this ear tag is in now (the last lot that listed it), or None."""
        ...

    def lot_animals(self, code: str) -> frozenset[str]:
        """The ear tags of the animals in lot `code` now (moved on by a split, merge or repack)."""
        ...

    def lot_live_weight(self, code: str) -> Decimal | None:
        """The recorded live weight in kg of the animals in lot `code` now: each animal at the weight of
        the group it was last weighed in, divided by the group's size; None if any was never weighed
        (or the lot has no animals)."""
        ...

    def livestock_certificates(self, code: str) -> tuple[LivestockCertificate, ...]:
        """The livestock certificates recorded on lot `code` itself (not its ancestors)."""
        ...

    def livestock_certificate(self, certificate_no: str) -> tuple[LivestockCertificate, ...]:
        """The livestock certificates with this number (one quarantine's, or a slaughter's lots)."""
        ...
