"""The kind registry: every event kind, and what each decides, in one table.

`KIND_REGISTRY[kind]` is a `KindSpec`: the kind's detail class, the roles that may record it, its
shape (how many inputs and outputs), the catalogue key of its name on pages, and the flags the
rules read instead of spelling out lists of kinds. `KINDS`, `LOT_KINDS`, `PARTY_KINDS`,
`DETAIL_TYPES` and `rules.ROLES_FOR` are all derived from it; `farmtrace.trace.model`'s docstring
has the checklist for adding a kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from .details import (
    CertifyDetail,
    DestroyDetail,
    Detail,
    HarvestDetail,
    InspectDetail,
    KeyAddDetail,
    KeyRevokeDetail,
    LabelActivateDetail,
    PartyRegisterDetail,
    PartySuspendDetail,
    QuarantineDetail,
    RecallAckDetail,
    RecallDetail,
    ReceiveDetail,
    SellDetail,
    ShipDetail,
    TransformDetail,
)
from .reader import MAX_LOTS

__all__ = [
    "DETAIL_TYPES",
    "KINDS",
    "KIND_REGISTRY",
    "LOT_KINDS",
    "NON_EPCIS_KINDS",
    "PARTY_KINDS",
    "RECEIVING_ROLES",
    "TRADERS",
    "TRANSFORM_SHAPES",
    "KindSpec",
]

TRADERS = frozenset({"producer", "processor", "wholesaler", "retailer"})
RECEIVING_ROLES = frozenset({"processor", "wholesaler", "retailer"})
_REGULATOR = frozenset({"regulator"})


@dataclass(frozen=True)
class KindSpec:
    """What one event kind is and what the rules make of it.

    kind             the wire name ("harvest", "party.register")
    detail           the class of its `detail` object
    roles            the roles that may record it; None: anyone, checked otherwise (destroy: a holder
                     of the lot, by custody, or a regulator)
    shape            (min inputs, max inputs, min outputs, max outputs); a transform's type narrows it
                     (TRANSFORM_SHAPES)
    label_key        the key of the kind's name in web's catalogues ("kind.harvest" in web/i18n/common.py;
                     party kinds, which only the console lists, "console.kind.party.register")
    about            "lot" (acts on lots) or "party" (changes the register of parties)
    priced           it may carry a price (production, trade or sale; `event.check_price`)
    custody          the holder must hold every input (rules step 8)
    bounded          its one input may not exceed the quantity the lot was created with (step 9)
    uses             the verb for inputs leaving the holder's stock, or None if they stay (step 9; effects)
    refuses_blocked  a failed, recalled or rejected input is refused (step 10)
    disposal         "sold" or "destroyed": its inputs leave the supply chain (effects)
    epcis            it has an EPCIS form (trace/epcis.py); party kinds, recall_ack and label_activate
                     have none: they move no goods
    """

    kind: str
    detail: type[Detail]
    roles: frozenset[str] | None
    shape: tuple[int, int, int, int]
    label_key: str
    about: str = "lot"
    priced: bool = False
    custody: bool = False
    bounded: bool = False
    uses: str | None = None
    refuses_blocked: bool = False
    disposal: str | None = None
    epcis: bool = True


def _lot(kind: str, detail: type[Detail], roles: frozenset[str] | None, shape, **flags) -> KindSpec:
    return KindSpec(kind, detail, roles, shape, f"kind.{kind}", **flags)


def _party(kind: str, detail: type[Detail]) -> KindSpec:
    return KindSpec(
        kind, detail, _REGULATOR, (0, 0, 0, 0), f"console.kind.{kind}", about="party", epcis=False
    )


_SPECS = (
    _lot("harvest", HarvestDetail, frozenset({"producer"}), (0, 0, 1, MAX_LOTS), priced=True),
    _lot("inspect", InspectDetail, frozenset({"inspector"}), (1, 1, 0, 0), bounded=True),
    _lot(
        "certify",
        CertifyDetail,
        frozenset({"producer"}),
        (1, 1, 0, 0),
        custody=True,
        bounded=True,
        refuses_blocked=True,
    ),
    _lot(
        "transform",
        TransformDetail,
        TRADERS,
        (1, MAX_LOTS, 1, MAX_LOTS),
        custody=True,
        uses="use",
        refuses_blocked=True,
    ),
    _lot(
        "ship",
        ShipDetail,
        TRADERS,
        (1, MAX_LOTS, 0, 0),
        priced=True,
        custody=True,
        uses="ship",
        refuses_blocked=True,
    ),
    _lot("receive", ReceiveDetail, RECEIVING_ROLES, (1, MAX_LOTS, 0, 0), priced=True),
    _lot(
        "sell",
        SellDetail,
        frozenset({"wholesaler", "retailer"}),
        (1, MAX_LOTS, 0, 0),
        priced=True,
        custody=True,
        uses="sell",
        refuses_blocked=True,
        disposal="sold",
    ),
    # A 动物检疫合格证明: an official veterinarian certifies live animals or animal products they do
    # not hold (rules/livestock.py: the ear tags are the lot's, the number is new).
    _lot("quarantine", QuarantineDetail, frozenset({"veterinarian"}), (1, 1, 0, 0), bounded=True),
    _lot("recall", RecallDetail, _REGULATOR, (1, 1, 0, 0), bounded=True),
    _lot(
        "destroy",
        DestroyDetail,
        None,
        (1, MAX_LOTS, 0, 0),
        custody=True,
        uses="destroy",
        disposal="destroyed",
    ),
    # A holder's acknowledgement of a recall names its lot in `detail`, not as an input: it moves
    # no lot's head, so acknowledging never races the lot's own events (rules: a holder's only).
    _lot("recall_ack", RecallAckDetail, None, (0, 0, 0, 0), epcis=False),
    # Binds pre-printed labels to a lot it names in its detail: no inputs, so the lot's chain is
    # untouched (trace/label_rolls.py; rules: the binder holds or made the lot, labels bind once).
    _lot("label_activate", LabelActivateDetail, TRADERS, (0, 0, 0, 0), epcis=False),
    _party("party.register", PartyRegisterDetail),
    _party("party.key_add", KeyAddDetail),
    _party("party.key_revoke", KeyRevokeDetail),
    _party("party.suspend", PartySuspendDetail),
)

KIND_REGISTRY: dict[str, KindSpec] = {spec.kind: spec for spec in _SPECS}
KINDS = tuple(KIND_REGISTRY)
LOT_KINDS = tuple(k for k, spec in KIND_REGISTRY.items() if spec.about == "lot")
PARTY_KINDS = tuple(k for k, spec in KIND_REGISTRY.items() if spec.about == "party")
NON_EPCIS_KINDS = frozenset(k for k, spec in KIND_REGISTRY.items() if not spec.epcis)
DETAIL_TYPES: dict[str, type[Detail]] = {k: spec.detail for k, spec in KIND_REGISTRY.items()}
# A split takes one lot, a merge gives one; repack and process keep the kind's shape.
TRANSFORM_SHAPES = {"split": (1, 1, 1, MAX_LOTS), "merge": (2, MAX_LOTS, 1, 1)}
