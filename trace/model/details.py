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
from .ids import check_ear_tag, check_gtin
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
from .values import MAX_ANIMALS, Location, PartyRecord, check_key_pair, key_id_field

__all__ = [
    "COMMITMENTS",
    "QUARANTINE_FORMS",
    "STANDARD_RECALL_INSTRUCTIONS",
    "TRANSFORM_TYPES",
    "TRANSPORT_MODES",
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
    "QuarantineDetail",
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
TRANSFORM_TYPES = ("split", "merge", "repack", "process", "slaughter")
# The 动物检疫合格证明 forms (《动物检疫管理办法》, 农业农村部令2022年第7号, and the certificate
# forms the ministry issued with it): 动物A / 产品A for goods leaving the province, 动物B / 产品B
# for goods staying in it (docs/livestock.md).
QUARANTINE_FORMS = ("animal_a", "animal_b", "product_a", "product_b")
TRANSPORT_MODES = ("road", "rail", "water", "air")


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


def _ear_tag_item(item: Any, f: str) -> str:
    check_ear_tag(item, field=f)
    return item


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


def _slaughter_only(name: str, what: str) -> Any:
    def check(o: Obj, value: object) -> None:
        slaughter = o.value["type"] == "slaughter"
        if slaughter and value is None:
            raise InvalidEvent(o.field(name), f"a slaughter states {what}")
        if not slaughter and value is not None:
            raise InvalidEvent(o.field(name), f"only a slaughter states {what}")

    return check


@wire_form
@dataclass(frozen=True)
class TransformDetail(Detail):
    """transform: "split" (1 input), "merge" (≥ 2 inputs, 1 output), "repack", "process", or
    "slaughter" (屠宰: live animals in head to carcasses and cuts in kg, by a designated slaughterhouse).

    A slaughter, and only a slaughter, states the animals' `live_weight` in kg as weighed before
    slaughter (宰前活重; the yield tolerance is checked against it, rules/livestock.py) and the
    number of the slaughterhouse's 肉品品质检验合格证 for its outputs (`certificate_no`). Both are
    absent from every other transform, whose bytes they leave unchanged.
    """

    type: str = choice_field(TRANSFORM_TYPES, first=True)
    live_weight: Decimal | None = decimal_field(  # noqa: RUF009
        optional=True, check=_slaughter_only("live_weight", "the animals' live weight in kg")
    )
    certificate_no: str | None = text_field(
        max_len=100, optional=True, check=_slaughter_only("certificate_no", "its 肉品品质检验合格证 number")
    )


def _animal_forms_only(o: Obj, tags: tuple[str, ...] | None) -> None:
    animals = o.value["form"].startswith("animal")
    if animals and tags is None:
        raise InvalidEvent(
            o.field("ear_tags"), "a certificate for live animals lists their ear tags (牲畜耳标号)"
        )
    if not animals and tags is not None:
        raise InvalidEvent(o.field("ear_tags"), "a certificate for animal products lists no ear tags")


def _product_forms_only(o: Obj, name: str | None) -> None:
    products = o.value["form"].startswith("product")
    if products and name is None:
        raise InvalidEvent(o.field("product_name"), "a certificate for animal products names them (产品名称)")
    if not products and name is not None:
        raise InvalidEvent(o.field("product_name"), "a certificate for live animals names their species only")


def _animal_purpose(o: Obj, purpose: str | None) -> None:
    if o.value["form"].startswith("animal") and purpose is None:
        raise InvalidEvent(
            o.field("purpose"), "a certificate for live animals states their use (用途), e.g. 屠宰"
        )


@wire_form
@dataclass(frozen=True)
class QuarantineDetail(Detail):
    """quarantine: a 动物检疫合格证明 an official veterinarian (官方兽医) issues for the input lot.

    The fields are the form's own (docs/livestock.md maps each to its box): `form` which of the four
    forms; `certificate_no` (编号); `owner` (货主); `species` (动物种类, e.g. 猪); for products
    `product_name` (产品名称); for animals `purpose` (用途, e.g. 屠宰) and `ear_tags` (牲畜耳标号),
    which must be exactly the animals in the lot (rules); `origin` (启运地点) and `destination`
    (到达地点); the carriage: `carrier` (承运人), `transport` (运载方式), `vehicle` (运载工具牌号),
    `disinfection` (装运前经…消毒); `valid_days` (本批…应于 N 日内到达有效; from the event's time);
    `official_vet` (官方兽医 who signed it, a public official acting in office); `marks` (检疫标志号,
    product forms); `note` (备注). The form's phone numbers are personal data and stay off the ledger.
    """

    form: str = choice_field(QUARANTINE_FORMS, first=True)
    certificate_no: str = text_field(max_len=100)
    owner: str = text_field(max_len=200)
    species: str = text_field(max_len=50)
    origin: str = text_field(max_len=300)
    destination: str = text_field(max_len=300)
    valid_days: Decimal = decimal_field(places=0, maximum=Decimal(30))  # noqa: RUF009
    official_vet: str = text_field(max_len=100)
    product_name: str | None = text_field(max_len=200, optional=True, check=_product_forms_only)
    purpose: str | None = text_field(max_len=50, optional=True, check=_animal_purpose)
    ear_tags: tuple[str, ...] | None = items_field(
        _ear_tag_item, max_items=MAX_ANIMALS, twice=lambda tag: f"ear tag {tag} is listed twice", optional=True,
        check=_animal_forms_only,
    )  # fmt: skip
    carrier: str | None = text_field(max_len=200, optional=True)
    transport: str | None = choice_field(TRANSPORT_MODES, optional=True)
    vehicle: str | None = text_field(max_len=50, optional=True)
    disinfection: str | None = text_field(max_len=200, optional=True)
    marks: str | None = text_field(max_len=200, optional=True)
    note: str | None = text_field(lines=True, optional=True)


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
