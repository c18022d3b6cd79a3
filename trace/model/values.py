"""The values events carry: places, products, lot references, prices, readings, documents, parties.

Each value is a frozen dataclass with `KEYS` (its wire fields), `_parse(Obj)` (strict, naming the
culprit field) and `to_wire()`, its exact inverse. Optional fields are absent from the wire form
when unused. `PartyRecord` and `KeyRecord` are a party's public record on the ledger (no private
contact details, no private keys); `parse_party_record` and `parse_key_record` read them on their own
(an enrolment application).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from ..errors import InvalidEvent
from .ids import check_event_id, check_gln, check_gtin, check_key_id, key_id_for, party_id_type
from .reader import GEO, HEX64, TOKEN, URL, Obj, b64_text, parse_time, with_optional
from .units import format_decimal

__all__ = [
    "PRICE_STAGES",
    "ROLES",
    "SENSOR_UNITS",
    "Document",
    "KeyRecord",
    "Location",
    "LotOut",
    "LotRef",
    "PartyRecord",
    "Price",
    "Product",
    "Sensor",
    "parse_key_record",
    "parse_party_record",
]

ROLES = ("producer", "inspector", "processor", "wholesaler", "retailer", "regulator")
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
