"""The kind-specific `detail` object of each event kind: one frozen dataclass per kind.

Each class declares its fields once, with their wire form (`reader.wire_form`): `KEYS`, `_parse(Obj)`
(strict, naming the culprit field) and `to_wire()`, its exact inverse, follow from the declaration.
Which class belongs to which kind, and what else a kind decides, is the kind registry's business
(`kinds.KIND_REGISTRY`): adding a kind is declaring its class here and registering it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from ..errors import InvalidEvent
from ..label_rolls import MAX_LABELS, check_serial
from .ids import check_gtin
from .reader import (
    Obj,
    checked_field,
    choice_field,
    choice_item,
    decimal_field,
    event_id_field,
    items_field,
    lot_code_field,
    party_id_field,
    public_key_field,
    text_field,
    value_field,
    wire_form,
)
from .values import Location, PartyRecord, check_key_pair, key_id_field

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
    "LabelActivateDetail",
    "PartyRegisterDetail",
    "PartySuspendDetail",
    "RecallAckDetail",
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


def _needs_certificate_no(o: Obj, source: str | None) -> None:
    if source is not None and "certificate_no" not in o.value:
        raise InvalidEvent(
            o.field("certificate_source"), "says where certificate_no was checked: it needs a certificate_no"
        )


# The `*_field` calls return `dataclasses.field`s; RUF009 cannot tell, hence its `noqa`s.


@wire_form
@dataclass(frozen=True)
class HarvestDetail(Detail):
    """harvest: the field or plot the lots come from (a Location; its GLN is optional too)."""

    origin: Location = value_field(Location)  # noqa: RUF009


@wire_form
@dataclass(frozen=True)
class InspectDetail(Detail):
    """inspect: one test of one analyte; `value` and `limit` in `unit`; `result` "pass" or "fail"."""

    analyte: str = text_field(max_len=200)
    method: str = text_field(max_len=200)
    value: Decimal = decimal_field(places=6, zero=True)  # noqa: RUF009
    limit: Decimal = decimal_field(places=6, zero=True)  # noqa: RUF009
    unit: str = text_field(max_len=50)
    result: str = choice_field(("pass", "fail"))
    report_no: str = text_field(max_len=100)


@wire_form
@dataclass(frozen=True)
class CertifyDetail(Detail):
    """certify: a 承诺达标合格证 for the input's quantity; the committing party is the event's party.

    `contact` is printed on the public certificate, so it is public by design.
    """

    certificate_no: str = text_field(max_len=100)
    product_name: str = text_field(max_len=200)
    origin: str = text_field(max_len=200)
    commitments: tuple[str, ...] = items_field(
        choice_item(COMMITMENTS),
        max_items=len(COMMITMENTS),
        twice=lambda item: f"{item} is listed twice",
        first=True,
    )
    contact: str = text_field(max_len=200)


@wire_form
@dataclass(frozen=True)
class TransformDetail(Detail):
    """transform: "split" (1 input), "merge" (≥ 2 inputs, 1 output), "repack" or "process"."""

    type: str = choice_field(TRANSFORM_TYPES)


@wire_form
@dataclass(frozen=True)
class ShipDetail(Detail):
    """ship: the inputs leave the party's custody for party `destination`."""

    destination: str = party_id_field()


@wire_form
@dataclass(frozen=True)
class EntryCheck:
    """Market-entry check (入市查验) at receipt: accepted or rejected, and the proof looked at.

    `certificate_no` names a 合格证 the ledger holds for the goods (recorded on the lot or on a lot
    it was made from: rules, market_entry); with `certificate_source` "paper" it is a paper
    certificate the market checked that the ledger does not hold, and pages say so. The field is
    optional and absent unless "paper", so events without it keep their version-1 bytes.
    """

    result: str = choice_field(("accepted", "rejected"))
    certificate_no: str | None = text_field(max_len=100, optional=True)
    certificate_source: str | None = choice_field(("paper",), optional=True, check=_needs_certificate_no)
    inspection_event: str | None = event_id_field(optional=True)
    note: str | None = text_field(lines=True, optional=True)


@wire_form
@dataclass(frozen=True)
class ReceiveDetail(Detail):
    """receive: the inputs arrive from `source`, sent by ship event `ship_event`, after `entry_check`."""

    source: str = party_id_field()
    ship_event: str = event_id_field()
    entry_check: EntryCheck = value_field(EntryCheck)  # noqa: RUF009


@wire_form
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


@wire_form
@dataclass(frozen=True)
class RecallDetail(Detail):
    """recall: why, and what consumers and shops should do."""

    reason: str = text_field(lines=True)
    instructions: str = text_field(lines=True)


@wire_form
@dataclass(frozen=True)
class RecallAckDetail(Detail):
    """recall_ack (召回确认): the party has received recall `recall_event` and acts on it for `lot`.

    `lot` is the recalled lot or a lot made from it that the party holds or held (rules); `note`
    is what the holder says it did (optional: "withdrawn from sale, 40 kg set aside").
    """

    recall_event: str = event_id_field()
    lot: str = lot_code_field()
    note: str | None = text_field(lines=True, optional=True)


@wire_form
@dataclass(frozen=True)
class DestroyDetail(Detail):
    """destroy: why; `holder` is whose stock is destroyed (absent: the recording party's own).

    Only a regulator may name another holder (supervised destruction, 监督销毁); see rules.
    """

    reason: str = text_field(lines=True)
    holder: str | None = party_id_field(optional=True, first=True)


def _serial_item(item: Any, f: str) -> str:
    check_serial(item, field=f)
    return item


@wire_form
@dataclass(frozen=True)
class LabelActivateDetail(Detail):
    """label_activate: pre-printed labels, serials `serials` (GS1 AI 21) under `gtin`, now name lot `lot`.

    The party must hold or have made the lot, and a label bound once is never bound again (rules);
    trace/label_rolls.py says what a serial is.
    """

    lot: str = lot_code_field()
    gtin: str = checked_field(check_gtin)
    serials: tuple[str, ...] = items_field(
        _serial_item, max_items=MAX_LABELS, twice=lambda item: f"label {item} is listed twice"
    )


@wire_form
@dataclass(frozen=True)
class PartyRegisterDetail(Detail):
    """party.register: a new party, with its first keys (active from the event's time)."""

    party: PartyRecord = value_field(PartyRecord)  # noqa: RUF009


@wire_form
@dataclass(frozen=True)
class KeyAddDetail(Detail):
    """party.key_add: `public_key` (id `key_id`) becomes a key of `party_id` from the event's time.

    `key_id` and `public_key` are checked first and together, as in a `KeyRecord`.
    """

    party_id: str = party_id_field()
    key_id: str = key_id_field()
    public_key: bytes = public_key_field(check=check_key_pair, first=True)


@wire_form
@dataclass(frozen=True)
class KeyRevokeDetail(Detail):
    """party.key_revoke: key `key_id` of `party_id` stops being valid at the event's time."""

    party_id: str = party_id_field()
    key_id: str = key_id_field()
    reason: str = text_field(lines=True)


@wire_form
@dataclass(frozen=True)
class PartySuspendDetail(Detail):
    """party.suspend: `party_id` may record nothing more and receive no shipments."""

    party_id: str = party_id_field()
    reason: str = text_field(lines=True)
