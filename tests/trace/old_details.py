"""The event model's value and detail classes as they were before they were declared once (commit
9ef46cd: trace/model/values.py and trace/model/details.py, hand-written `KEYS`, `_parse` and
`to_wire`), kept ONLY as the oracle of tests/trace/test_details.py: the declared classes must parse,
refuse and write exactly as these did. Not product code; do not import it from anywhere else.
"""

# ruff: noqa

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.ids import check_event_id, check_gln, check_gtin, check_key_id, key_id_for, party_id_type
from farmtrace.trace.model.reader import GEO, HEX64, TOKEN, URL, Obj, b64_text, parse_time, with_optional
from farmtrace.trace.model.units import format_decimal

# "veterinarian" was added since (issue 20 §5, docs/livestock.md): a new choice, not a new behaviour.
ROLES = ("producer", "inspector", "processor", "wholesaler", "retailer", "regulator", "veterinarian")
PRICE_STAGES = ("production", "wholesale", "retail")
SENSOR_UNITS = {"temperature": "Cel", "humidity": "%RH"}


@dataclass(frozen=True)
class Location:
    """Where something happened: a name, and optionally an address, a GS1 GLN and "lat,lon"."""

    name: str
    address: str | None = None
    gln: str | None = None
    geo: str | None = None

    KEYS: ClassVar = ("name", "address", "gln", "geo")

    @classmethod
    def _parse(cls, o: Obj) -> Location:
        gln = o.raw("gln", required=False)
        if gln is not None:
            check_gln(gln, field=o.field("gln"))
        geo = o.raw("geo", required=False)
        if geo is not None:
            m = GEO.fullmatch(geo) if isinstance(geo, str) else None
            if m is None or abs(Decimal(m.group(1))) > 90 or abs(Decimal(m.group(2))) > 180:
                raise InvalidEvent(
                    o.field("geo"), f'expected "lat,lon" in decimal degrees, found {str(geo)[:40]!r}'
                )
        return cls(
            name=o.text("name", max_len=200), address=o.text("address", required=False), gln=gln, geo=geo
        )

    def to_wire(self) -> dict[str, Any]:
        return with_optional({"name": self.name}, address=self.address, gln=self.gln, geo=self.geo)


@dataclass(frozen=True)
class Product:
    """What a lot is: a Chinese name, optionally an English name, GTIN, variety and category."""

    name_zh: str
    name_en: str | None = None
    gtin: str | None = None
    variety: str | None = None
    category: str | None = None

    KEYS: ClassVar = ("name_zh", "name_en", "gtin", "variety", "category")

    @classmethod
    def _parse(cls, o: Obj) -> Product:
        gtin = o.raw("gtin", required=False)
        if gtin is not None:
            check_gtin(gtin, field=o.field("gtin"))
        return cls(
            name_zh=o.text("name_zh", max_len=200),
            name_en=o.text("name_en", required=False, max_len=200),
            gtin=gtin,
            variety=o.text("variety", required=False, max_len=200),
            category=o.text("category", required=False, max_len=200),
        )

    def to_wire(self) -> dict[str, Any]:
        return with_optional(
            {"name_zh": self.name_zh},
            name_en=self.name_en,
            gtin=self.gtin,
            variety=self.variety,
            category=self.category,
        )


@dataclass(frozen=True)
class LotRef:
    """An input: `quantity` of `lot` in `unit`, following the lot's head event(s) `follows`."""

    lot: str
    quantity: Decimal
    unit: str
    follows: tuple[str, ...]

    KEYS: ClassVar = ("lot", "quantity", "unit", "follows")

    @classmethod
    def _parse(cls, o: Obj) -> LotRef:
        follows = []
        for f, item in o.items("follows", min_items=1, max_items=16):
            if not (type(item) is str and HEX64.fullmatch(item)):
                check_event_id(item, field=f)
            if item in follows:
                raise InvalidEvent(f, f"event {item} is listed twice")
            follows.append(item)
        return cls(
            lot=o.lot_code("lot"), quantity=o.decimal("quantity"), unit=o.unit("unit"), follows=tuple(follows)
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "lot": self.lot,
            "quantity": format_decimal(self.quantity),
            "unit": self.unit,
            "follows": list(self.follows),
        }


@dataclass(frozen=True)
class LotOut:
    """An output: a new lot `lot` of `quantity` `unit` of `product`."""

    lot: str
    quantity: Decimal
    unit: str
    product: Product

    KEYS: ClassVar = ("lot", "quantity", "unit", "product")

    @classmethod
    def _parse(cls, o: Obj) -> LotOut:
        obj = o.obj("product", Product.KEYS)
        assert obj is not None
        lot, quantity, unit = o.lot_code("lot"), o.decimal("quantity"), o.unit("unit")
        product = Product._parse(obj)  # after the lot's own fields: their errors are named first
        return cls(lot=lot, quantity=quantity, unit=unit, product=product)

    def to_wire(self) -> dict[str, Any]:
        return {
            "lot": self.lot,
            "quantity": format_decimal(self.quantity),
            "unit": self.unit,
            "product": self.product.to_wire(),
        }


@dataclass(frozen=True)
class Price:
    """A price of `amount` `currency` per `unit`, at a market `stage` (production, wholesale, retail)."""

    amount: Decimal
    currency: str
    unit: str
    stage: str

    KEYS: ClassVar = ("amount", "currency", "unit", "stage")

    @classmethod
    def _parse(cls, o: Obj) -> Price:
        return cls(
            amount=o.decimal("amount", places=2, maximum=Decimal(10) ** 9),
            currency=o.choice("currency", ("CNY",)),
            unit=o.unit("unit"),
            stage=o.choice("stage", PRICE_STAGES),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "amount": format_decimal(self.amount),
            "currency": self.currency,
            "unit": self.unit,
            "stage": self.stage,
        }


@dataclass(frozen=True)
class Sensor:
    """A sensor reading: temperature in Cel or humidity in %RH, at `time` (RFC 3339 text)."""

    type: str
    value: Decimal
    unit: str
    time: str

    KEYS: ClassVar = ("type", "value", "unit", "time")

    @classmethod
    def _parse(cls, o: Obj) -> Sensor:
        kind = o.choice("type", SENSOR_UNITS)
        unit = o.choice("unit", tuple(SENSOR_UNITS.values()))
        if unit != SENSOR_UNITS[kind]:
            raise InvalidEvent(o.field("unit"), f"a {kind} is measured in {SENSOR_UNITS[kind]}, found {unit}")
        time = o.raw("time")
        parse_time(time, field=o.field("time"))
        value = o.decimal("value", places=3, negative=True, zero=True, maximum=Decimal(10) ** 6)
        return cls(type=kind, value=value, unit=unit, time=time)

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "value": format_decimal(self.value), "unit": self.unit, "time": self.time}


@dataclass(frozen=True)
class Document:
    """A supporting document: a `type` token ("inspection_report", "certificate", "invoice"), an id, a URL."""

    type: str
    id: str
    url: str | None = None

    KEYS: ClassVar = ("type", "id", "url")

    @classmethod
    def _parse(cls, o: Obj) -> Document:
        kind = o.raw("type")
        if not isinstance(kind, str) or not TOKEN.fullmatch(kind):
            raise InvalidEvent(
                o.field("type"), f"expected a lower-case token like invoice, found {str(kind)[:40]!r}"
            )
        url = o.text("url", required=False)
        if url is not None and not URL.fullmatch(url):
            raise InvalidEvent(o.field("url"), f"expected an http(s) URL, found {url[:40]!r}")
        return cls(type=kind, id=o.text("id", max_len=200), url=url)

    def to_wire(self) -> dict[str, Any]:
        return with_optional({"type": self.type, "id": self.id}, url=self.url)


@dataclass(frozen=True)
class KeyRecord:
    """A party's Ed25519 public key (32 raw bytes; base64 on the wire) and its key id."""

    key_id: str
    public_key: bytes

    KEYS: ClassVar = ("key_id", "public_key")

    @classmethod
    def _parse(cls, o: Obj) -> KeyRecord:
        key_id = o.raw("key_id")
        check_key_id(key_id, field=o.field("key_id"))
        public_key = o.public_key("public_key")
        if key_id_for(public_key) != key_id:
            raise InvalidEvent(o.field("key_id"), f"should be {key_id_for(public_key)} for this public_key")
        return cls(key_id=key_id, public_key=public_key)

    def to_wire(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "public_key": b64_text(self.public_key)}


@dataclass(frozen=True)
class PartyRecord:
    """A party as the public ledger knows it.

    No phone numbers or resident IDs: `contact_commitment` is the SHA-256 commitment (64 hex) to the
    private contact details the registration desk keeps off the ledger.
    """

    id: str
    id_type: str
    name_zh: str
    roles: tuple[str, ...]
    address: str
    keys: tuple[KeyRecord, ...]
    contact_commitment: str
    name_en: str | None = None

    KEYS: ClassVar = ("id", "id_type", "name_zh", "name_en", "roles", "address", "keys", "contact_commitment")

    @classmethod
    def _parse(cls, o: Obj) -> PartyRecord:
        pid = o.party_id("id")
        id_type = o.choice("id_type", ("uscc", "farmer_reg"))
        if id_type != party_id_type(pid):
            raise InvalidEvent(o.field("id_type"), f"id {pid} is a {party_id_type(pid)}, not a {id_type}")
        roles: list[str] = []
        for f, item in o.items("roles", min_items=1, max_items=len(ROLES)):
            if not isinstance(item, str) or item not in ROLES:
                raise InvalidEvent(f, f"expected one of {', '.join(ROLES)}, found {str(item)[:40]!r}")
            if item in roles:
                raise InvalidEvent(f, f"{item} is listed twice")
            roles.append(item)
        keys: list[KeyRecord] = []
        for f, item in o.items("keys", min_items=1, max_items=16):
            key = KeyRecord._parse(Obj(item, f, KeyRecord.KEYS))
            if any(k.key_id == key.key_id for k in keys):
                raise InvalidEvent(f, f"key {key.key_id} is listed twice")
            keys.append(key)
        commitment = o.raw("contact_commitment")
        if not isinstance(commitment, str) or not HEX64.fullmatch(commitment):
            raise InvalidEvent(o.field("contact_commitment"), "expected 64 lower-case hex digits (a SHA-256)")
        return cls(
            id=pid,
            id_type=id_type,
            name_zh=o.text("name_zh", max_len=200),
            name_en=o.text("name_en", required=False, max_len=200),
            roles=tuple(roles),
            address=o.text("address"),
            keys=tuple(keys),
            contact_commitment=commitment,
        )

    def to_wire(self) -> dict[str, Any]:
        return with_optional(
            {
                "id": self.id,
                "id_type": self.id_type,
                "name_zh": self.name_zh,
                "roles": list(self.roles),
                "address": self.address,
                "keys": [k.to_wire() for k in self.keys],
                "contact_commitment": self.contact_commitment,
            },
            name_en=self.name_en,
        )


def parse_party_record(obj: object, *, field: str = "record") -> PartyRecord:
    """Parse a PartyRecord wire form on its own (an enrollment application). Raises InvalidEvent."""
    return PartyRecord._parse(Obj(obj, field, PartyRecord.KEYS))


def parse_key_record(obj: object, *, field: str = "key") -> KeyRecord:
    """Parse a {key_id, public_key} wire form on its own. Raises InvalidEvent."""
    return KeyRecord._parse(Obj(obj, field, KeyRecord.KEYS))


# The constants and the `Detail` base did not change: they are the product's own.
from farmtrace.trace.model.details import COMMITMENTS, TRANSFORM_TYPES, Detail


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



@dataclass(frozen=True)
class RecallAckDetail(Detail):
    """recall_ack: the holder has received recall `recall_event` and acts on it for `lot`.

    Written by hand for this oracle when the kind was added (issue 20 §3), as the classes above were
    before the declarations: the declared class must parse, refuse and write as this one does.
    """

    recall_event: str
    lot: str
    note: str | None = None

    KEYS: ClassVar = ("recall_event", "lot", "note")

    @classmethod
    def _parse(cls, o: Obj) -> RecallAckDetail:
        return cls(
            recall_event=o.event_id("recall_event"),
            lot=o.lot_code("lot"),
            note=o.text("note", required=False, lines=True),
        )

    def to_wire(self) -> dict[str, Any]:
        return with_optional({"recall_event": self.recall_event, "lot": self.lot}, note=self.note)
