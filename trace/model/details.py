"""The kind-specific `detail` object of each event kind: one frozen dataclass per kind.

Each class has `KEYS` (its wire fields), `_parse(Obj)` (strict, naming the culprit field) and
`to_wire()`, its exact inverse. Which class belongs to which kind, and what else a kind decides, is
the kind registry's business (`kinds.KIND_REGISTRY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from ..errors import InvalidEvent
from .ids import check_key_id
from .reader import Obj, b64_text, with_optional
from .units import format_decimal
from .values import KeyRecord, Location, PartyRecord

__all__ = [
    "COMMITMENTS",
    "STANDARD_RECALL_INSTRUCTIONS",
    "TRANSFORM_TYPES",
    "CertifyDetail",
    "DestroyDetail",
    "Detail",
    "EntryCheck",
    "HarvestDetail",
    "InspectDetail",
    "KeyAddDetail",
    "KeyRevokeDetail",
    "PartyRegisterDetail",
    "PartySuspendDetail",
    "RecallDetail",
    "ReceiveDetail",
    "SellDetail",
    "ShipDetail",
    "TransformDetail",
]

COMMITMENTS = (
    "no_banned_substances",
    "withdrawal_period_observed",
    "residues_within_limits",
    "self_tested",
    "entrusted_tested",
    "internal_quality_control",
)
TRANSFORM_TYPES = ("split", "merge", "repack", "process")


class Detail:
    """Base of the kind-specific `detail` objects."""

    KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _parse(cls, o: Obj) -> Detail:
        return cls()

    def to_wire(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class HarvestDetail(Detail):
    """harvest: the field or plot the lots come from (a Location; its GLN is optional too)."""

    origin: Location

    KEYS: ClassVar = ("origin",)

    @classmethod
    def _parse(cls, o: Obj) -> HarvestDetail:
        origin = o.obj("origin", Location.KEYS)
        assert origin is not None
        return cls(origin=Location._parse(origin))

    def to_wire(self) -> dict[str, Any]:
        return {"origin": self.origin.to_wire()}


@dataclass(frozen=True)
class InspectDetail(Detail):
    """inspect: one test of one analyte; `value` and `limit` in `unit`; `result` "pass" or "fail"."""

    analyte: str
    method: str
    value: Decimal
    limit: Decimal
    unit: str
    result: str
    report_no: str

    KEYS: ClassVar = ("analyte", "method", "value", "limit", "unit", "result", "report_no")

    @classmethod
    def _parse(cls, o: Obj) -> InspectDetail:
        return cls(
            analyte=o.text("analyte", max_len=200),
            method=o.text("method", max_len=200),
            value=o.decimal("value", places=6, zero=True),
            limit=o.decimal("limit", places=6, zero=True),
            unit=o.text("unit", max_len=50),
            result=o.choice("result", ("pass", "fail")),
            report_no=o.text("report_no", max_len=100),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "analyte": self.analyte,
            "method": self.method,
            "value": format_decimal(self.value),
            "limit": format_decimal(self.limit),
            "unit": self.unit,
            "result": self.result,
            "report_no": self.report_no,
        }


@dataclass(frozen=True)
class CertifyDetail(Detail):
    """certify: a 承诺达标合格证 for the input's quantity; the committing party is the event's party.

    `contact` is printed on the public certificate, so it is public by design.
    """

    certificate_no: str
    product_name: str
    origin: str
    commitments: tuple[str, ...]
    contact: str

    KEYS: ClassVar = ("certificate_no", "product_name", "origin", "commitments", "contact")

    @classmethod
    def _parse(cls, o: Obj) -> CertifyDetail:
        commitments: list[str] = []
        for f, item in o.items("commitments", min_items=1, max_items=len(COMMITMENTS)):
            if not isinstance(item, str) or item not in COMMITMENTS:
                raise InvalidEvent(f, f"expected one of {', '.join(COMMITMENTS)}, found {str(item)[:40]!r}")
            if item in commitments:
                raise InvalidEvent(f, f"{item} is listed twice")
            commitments.append(item)
        return cls(
            certificate_no=o.text("certificate_no", max_len=100),
            product_name=o.text("product_name", max_len=200),
            origin=o.text("origin", max_len=200),
            commitments=tuple(commitments),
            contact=o.text("contact", max_len=200),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "certificate_no": self.certificate_no,
            "product_name": self.product_name,
            "origin": self.origin,
            "commitments": list(self.commitments),
            "contact": self.contact,
        }


@dataclass(frozen=True)
class TransformDetail(Detail):
    """transform: "split" (1 input), "merge" (≥ 2 inputs, 1 output), "repack" or "process"."""

    type: str

    KEYS: ClassVar = ("type",)

    @classmethod
    def _parse(cls, o: Obj) -> TransformDetail:
        return cls(type=o.choice("type", TRANSFORM_TYPES))

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type}


@dataclass(frozen=True)
class ShipDetail(Detail):
    """ship: the inputs leave the party's custody for party `destination`."""

    destination: str

    KEYS: ClassVar = ("destination",)

    @classmethod
    def _parse(cls, o: Obj) -> ShipDetail:
        return cls(destination=o.party_id("destination"))

    def to_wire(self) -> dict[str, Any]:
        return {"destination": self.destination}


@dataclass(frozen=True)
class EntryCheck:
    """Market-entry check (入市查验) at receipt: accepted or rejected, and the proof looked at.

    `certificate_no` names a 合格证 the ledger holds for the goods (recorded on the lot or on a lot
    it was made from: rules, market_entry); with `certificate_source` "paper" it is a paper
    certificate the market checked that the ledger does not hold, and pages say so. The field is
    optional and absent unless "paper", so events without it keep their version-1 bytes.
    """

    result: str
    certificate_no: str | None = None
    inspection_event: str | None = None
    note: str | None = None
    certificate_source: str | None = None

    KEYS: ClassVar = ("result", "certificate_no", "certificate_source", "inspection_event", "note")

    @classmethod
    def _parse(cls, o: Obj) -> EntryCheck:
        result = o.choice("result", ("accepted", "rejected"))
        certificate_no = o.text("certificate_no", required=False, max_len=100)
        source = o.choice("certificate_source", ("paper",), required=False)
        if source is not None and certificate_no is None:
            raise InvalidEvent(
                o.field("certificate_source"), "says where certificate_no was checked: it needs a certificate_no"
            )
        return cls(
            result=result,
            certificate_no=certificate_no,
            inspection_event=o.event_id("inspection_event", required=False),
            note=o.text("note", required=False, lines=True),
            certificate_source=source,
        )

    def to_wire(self) -> dict[str, Any]:
        return with_optional(
            {"result": self.result},
            certificate_no=self.certificate_no,
            certificate_source=self.certificate_source,
            inspection_event=self.inspection_event,
            note=self.note,
        )


@dataclass(frozen=True)
class ReceiveDetail(Detail):
    """receive: the inputs arrive from `source`, sent by ship event `ship_event`, after `entry_check`."""

    source: str
    ship_event: str
    entry_check: EntryCheck

    KEYS: ClassVar = ("source", "ship_event", "entry_check")

    @classmethod
    def _parse(cls, o: Obj) -> ReceiveDetail:
        check = o.obj("entry_check", EntryCheck.KEYS)
        assert check is not None
        return cls(
            source=o.party_id("source"),
            ship_event=o.event_id("ship_event"),
            entry_check=EntryCheck._parse(check),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ship_event": self.ship_event,
            "entry_check": self.entry_check.to_wire(),
        }


@dataclass(frozen=True)
class SellDetail(Detail):
    """sell: an empty object; the event's `price` (stage retail or wholesale) is required."""


# The instructions a recall carries unless the regulator writes its own, as (Simplified Chinese,
# English): a recall records one text in one language, and pages that find either of these texts
# show the reader's language instead (web/i18n/common.py, "recall.standard_instructions").
STANDARD_RECALL_INSTRUCTIONS = (
    "请立即停止销售和食用，退回购买处。",
    "Stop selling and eating it at once, and return it to where it was bought.",
)


@dataclass(frozen=True)
class RecallDetail(Detail):
    """recall: why, and what consumers and shops should do."""

    reason: str
    instructions: str

    KEYS: ClassVar = ("reason", "instructions")

    @classmethod
    def _parse(cls, o: Obj) -> RecallDetail:
        return cls(reason=o.text("reason", lines=True), instructions=o.text("instructions", lines=True))

    def to_wire(self) -> dict[str, Any]:
        return {"reason": self.reason, "instructions": self.instructions}


@dataclass(frozen=True)
class DestroyDetail(Detail):
    """destroy: why; `holder` is whose stock is destroyed (absent: the recording party's own).

    Only a regulator may name another holder (supervised destruction, 监督销毁); see rules.
    """

    reason: str
    holder: str | None = None

    KEYS: ClassVar = ("reason", "holder")

    @classmethod
    def _parse(cls, o: Obj) -> DestroyDetail:
        holder = o.party_id("holder") if o.has("holder") else None
        return cls(reason=o.text("reason", lines=True), holder=holder)

    def to_wire(self) -> dict[str, Any]:
        return with_optional({"reason": self.reason}, holder=self.holder)


@dataclass(frozen=True)
class PartyRegisterDetail(Detail):
    """party.register: a new party, with its first keys (active from the event's time)."""

    party: PartyRecord

    KEYS: ClassVar = ("party",)

    @classmethod
    def _parse(cls, o: Obj) -> PartyRegisterDetail:
        record = o.obj("party", PartyRecord.KEYS)
        assert record is not None
        return cls(party=PartyRecord._parse(record))

    def to_wire(self) -> dict[str, Any]:
        return {"party": self.party.to_wire()}


@dataclass(frozen=True)
class KeyAddDetail(Detail):
    """party.key_add: `public_key` (id `key_id`) becomes a key of `party_id` from the event's time."""

    party_id: str
    key_id: str
    public_key: bytes

    KEYS: ClassVar = ("party_id", "key_id", "public_key")

    @classmethod
    def _parse(cls, o: Obj) -> KeyAddDetail:
        key = KeyRecord._parse(o)  # reads this object's key_id and public_key
        return cls(party_id=o.party_id("party_id"), key_id=key.key_id, public_key=key.public_key)

    def to_wire(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "key_id": self.key_id, "public_key": b64_text(self.public_key)}


@dataclass(frozen=True)
class KeyRevokeDetail(Detail):
    """party.key_revoke: key `key_id` of `party_id` stops being valid at the event's time."""

    party_id: str
    key_id: str
    reason: str

    KEYS: ClassVar = ("party_id", "key_id", "reason")

    @classmethod
    def _parse(cls, o: Obj) -> KeyRevokeDetail:
        key_id = o.raw("key_id")
        check_key_id(key_id, field=o.field("key_id"))
        return cls(party_id=o.party_id("party_id"), key_id=key_id, reason=o.text("reason", lines=True))

    def to_wire(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "key_id": self.key_id, "reason": self.reason}


@dataclass(frozen=True)
class PartySuspendDetail(Detail):
    """party.suspend: `party_id` may record nothing more and receive no shipments."""

    party_id: str
    reason: str

    KEYS: ClassVar = ("party_id", "reason")

    @classmethod
    def _parse(cls, o: Obj) -> PartySuspendDetail:
        return cls(party_id=o.party_id("party_id"), reason=o.text("reason", lines=True))

    def to_wire(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "reason": self.reason}

