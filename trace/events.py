"""The event model, version 1: what a party signs.

An event is a JSON object. Field by field (every value a string unless said otherwise; optional
fields are *absent* when unused, never null and never an empty list, so each event has exactly one
wire form and the bytes a party signs are the bytes we re-encode):

    kind         one of KINDS
    event_time   RFC 3339, seconds precision, explicit offset or "Z": "2026-11-20T08:30:00+08:00"
    party        the recording party (ids.check_party_id)
    key_id       16 lowercase hex: ids.key_id_for(the Ed25519 public key that signs)
    location     {"name", "address"?, "gln"?, "geo"? ("lat,lon")}
    inputs       [{"lot", "quantity", "unit", "follows": [event id, ...]}]   lots acted on or consumed
    outputs      [{"lot", "quantity", "unit", "product": Product}]            lots created
    price?       {"amount" (≤ 2 decimals), "currency": "CNY", "unit", "stage"}
    sensors?     [{"type": "temperature"|"humidity", "value", "unit": "Cel"|"%RH", "time"}]
    documents?   [{"type", "id", "url"?}]
    detail       kind-specific object, see the `*Detail` classes

`follows` names the lot's current head event (its id is the SHA-256 of that event's canonical
bytes, `encoding.event_id`), which makes each lot's history a hash chain.

`Event.from_wire` is strict and all-or-nothing: unknown fields, wrong types, non-canonical numbers,
and fields a kind requires or forbids are refused with an `InvalidEvent` whose `field` is the dotted
path to the culprit. `Event.to_wire` is its exact inverse: `Event.from_wire(e.to_wire()) == e`.
Whether the event may be recorded *now* (custody, quantities, roles) is `rules.check_event`'s job.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any, ClassVar

from .canonical import wire_json
from .errors import InvalidEvent
from .frozen import frozen
from .ids import (
    check_event_id,
    check_gln,
    check_gtin,
    check_key_id,
    check_lot_code,
    check_party_id,
    is_valid_lot_code,
    is_valid_party_id,
    key_id_for,
    party_id_type,
)
from .units import UNITS, check_unit, format_decimal, parse_decimal

__all__ = [
    "COMMITMENTS",
    "DETAIL_TYPES",
    "KINDS",
    "LOT_KINDS",
    "MAX_EVENT_BYTES",
    "MAX_LOTS",
    "MAX_TEXT",
    "PARTY_KINDS",
    "ROLES",
    "STANDARD_RECALL_INSTRUCTIONS",
    "CertifyDetail",
    "DestroyDetail",
    "Detail",
    "Document",
    "EntryCheck",
    "Event",
    "HarvestDetail",
    "InspectDetail",
    "KeyAddDetail",
    "KeyRevokeDetail",
    "Location",
    "LotOut",
    "LotRef",
    "PartyKey",
    "PartyRecord",
    "PartyRegisterDetail",
    "PartySuspendDetail",
    "Price",
    "Product",
    "RecallDetail",
    "ReceiveDetail",
    "SellDetail",
    "Sensor",
    "ShipDetail",
    "TransformDetail",
    "key_id_for",
    "parse_party_key",
    "parse_party_record",
    "parse_time",
]

LOT_KINDS = ("harvest", "inspect", "certify", "transform", "ship", "receive", "sell", "recall", "destroy")
PARTY_KINDS = ("party.register", "party.key_add", "party.key_revoke", "party.suspend")
KINDS = LOT_KINDS + PARTY_KINDS
ROLES = ("producer", "inspector", "processor", "wholesaler", "retailer", "regulator")
COMMITMENTS = (
    "no_banned_substances",
    "withdrawal_period_observed",
    "residues_within_limits",
    "self_tested",
    "entrusted_tested",
    "internal_quality_control",
)
TRANSFORM_TYPES = ("split", "merge", "repack", "process")
PRICE_STAGES = ("production", "wholesale", "retail")
SENSOR_UNITS = {"temperature": "Cel", "humidity": "%RH"}

MAX_LOTS = 1000  # inputs, and separately outputs, per event
MAX_TEXT = 500  # characters in any string
MAX_LIST = 100  # sensors, documents, follows, keys, commitments
MAX_EVENT_BYTES = 256 * 1024  # the encoded event (encoding.encode_event)

# RFC 3339 §5.6 date-time, narrowed: upper-case T and Z, seconds precision, no "-00:00" (unknown
# offset). Offsets are limited to ±14:00, the range real time zones use (and EPCIS accepts).
# [0-9], never \d: \d also matches other scripts' digits, which int() would accept.
_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))"
)
_GEO = re.compile(r"(-?(?:0|[1-9][0-9]?)(?:\.[0-9]{1,7})?),(-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,7})?)")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(r"[a-z][a-z0-9_]{0,63}")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# C0 and C1 controls, and the line/paragraph separators; multi-line texts may contain "\n".
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LF = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ZONES: dict[str, timezone] = {}  # parse_time's accepted offsets (at most 2 × 14 × 60 + 1 of them)


def parse_time(text: str, *, field: str) -> datetime:
    """Parse an event time "2026-11-20T08:30:00+08:00" (or "...Z") into an aware datetime.

    Raises InvalidEvent(field) for anything else: no offset, fractional seconds, lower-case t/z,
    "-00:00", offsets beyond ±14:00, impossible dates, leap seconds.
    """
    if not isinstance(text, str):
        raise InvalidEvent(field, f"expected an RFC 3339 time string, found {_type(text)}")
    m = _TIME.fullmatch(text)
    if m is None:
        raise InvalidEvent(
            field,
            f'expected a time like "2026-11-20T08:30:00+08:00" (seconds, explicit offset), found {text[:40]!r}',
        )
    year, month, day, hour, minute, second, zulu, sign, oh, om = m.groups()
    zone = _ZONES.get(text[19:])  # the offset, "Z" or "+08:00": a few distinct ones, checked once
    if zone is None:
        if zulu:
            offset = timedelta(0)
        else:
            if sign == "-" and oh == "00" and om == "00":
                raise InvalidEvent(
                    field, 'offset "-00:00" means "unknown" (RFC 3339 §4.3); write "Z" or "+00:00"'
                )
            offset = timedelta(hours=int(oh), minutes=int(om))
            if int(om) > 59 or offset > timedelta(hours=14):
                raise InvalidEvent(field, f"offset must be within ±14:00, found {sign}{oh}:{om}")
            if sign == "-":
                offset = -offset
        zone = _ZONES[text[19:]] = timezone(offset)
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except ValueError as exc:
        raise InvalidEvent(field, f"not a valid date and time: {text!r}") from exc


def _type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


class _Obj:
    """A JSON object being parsed: refuses unknown keys up front, names fields by dotted path."""

    def __init__(self, value: object, path: str, keys: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            raise InvalidEvent(path or "event", f"expected an object, found {_type(value)}")
        for key in value:
            if key not in keys:
                raise InvalidEvent(self._join(path, str(key)), "unknown field")
        self.value = value
        self.path = path

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def field(self, key: str) -> str:
        return self._join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.value

    def raw(self, key: str, *, required: bool = True) -> Any:
        if key not in self.value:
            if required:
                raise InvalidEvent(self.field(key), "is required")
            return None
        v = self.value[key]
        if v is None:
            raise InvalidEvent(self.field(key), "must not be null (omit an optional field instead)")
        return v

    def text(self, key: str, *, required: bool = True, max_len: int = MAX_TEXT, lines: bool = False) -> Any:
        v = self.raw(key, required=required)
        if v is None or _text_ok(v, max_len, lines):
            return v
        return _text(v, self.field(key), max_len=max_len, lines=lines)  # raises, naming the field

    def choice(
        self, key: str, choices: tuple[str, ...] | frozenset[str] | dict, *, required: bool = True
    ) -> Any:
        v = self.raw(key, required=required)
        if v is None:
            return None
        if not isinstance(v, str) or v not in choices:
            raise InvalidEvent(
                self.field(key), f"expected one of {', '.join(choices)}, found {str(v)[:40]!r}"
            )
        return v

    def obj(self, key: str, keys: tuple[str, ...], *, required: bool = True) -> _Obj | None:
        v = self.raw(key, required=required)
        return None if v is None else _Obj(v, self.field(key), keys)

    def items(
        self, key: str, *, required: bool = True, min_items: int = 0, max_items: int = MAX_LIST
    ) -> Iterator[tuple[str, Any]]:
        v = self.raw(key, required=required)
        if v is None:
            return iter(())
        f = self.field(key)
        if not isinstance(v, list):
            raise InvalidEvent(f, f"expected a list, found {_type(v)}")
        if not required and not v:
            raise InvalidEvent(f, "must not be empty (omit the field instead)")
        if len(v) < min_items:
            raise InvalidEvent(f, f"expected at least {min_items} item(s), found {len(v)}")
        if len(v) > max_items:
            raise InvalidEvent(f, f"expected at most {max_items} items, found {len(v)}")
        return ((f"{f}[{i}]", item) for i, item in enumerate(v))

    # The checks below build the field's dotted path only when they fail: parsing is on the ingest
    # path, and most values are valid.

    def event_id(self, key: str, *, required: bool = True) -> Any:
        v = self.raw(key, required=required)
        if v is not None and not (type(v) is str and _HEX64.fullmatch(v)):
            check_event_id(v, field=self.field(key))
        return v

    def party_id(self, key: str) -> str:
        v = self.raw(key)
        if not is_valid_party_id(v):
            check_party_id(v, field=self.field(key))
        return v

    def decimal(self, key: str, **kw: Any) -> Decimal:
        v = self.raw(key)
        try:
            return _decimal(v, **kw) if type(v) is str else parse_decimal(v, field="", **kw)
        except InvalidEvent:
            return parse_decimal(v, field=self.field(key), **kw)

    def lot_code(self, key: str) -> str:
        v = self.raw(key)
        if not is_valid_lot_code(v):
            check_lot_code(v, field=self.field(key))
        return v

    def unit(self, key: str) -> str:
        v = self.raw(key)
        if type(v) is not str or v not in UNITS:
            check_unit(v, field=self.field(key))
        return v

    def public_key(self, key: str) -> bytes:
        return _b64_key(self.raw(key), self.field(key))


# Parsed values by (class, the JSON object's items): the products, places, prices and simple
# details of a batch of events repeat, and parsing them is a pure function of the object. Only
# objects that parsed are kept, so a hit never hides an error; and only objects of strings, which
# are equal only to the same strings (1, 1.0 and true are equal keys in Python, "1" is not).
_PARSED: dict[tuple, Any] = {}
_PARSED_MAX = 4096


def _known(cls: type, value: object) -> tuple[tuple | None, Any]:
    """(the memory's key for `value`, or None if it is not kept; what `cls._parse` made of an equal
    JSON object before, or None)."""
    if type(value) is not dict or not all(type(v) is str for v in value.values()):
        return None, None
    key = (cls, *value.items())
    return key, _PARSED.get(key)


def _remember(key: tuple | None, parsed: Any) -> Any:
    """Keep `parsed` under `key` (from `_known`; None keeps nothing); return it."""
    if key is not None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = parsed
    return parsed


@lru_cache(maxsize=4096)  # quantities and prices repeat; a Decimal is immutable; errors are not kept
def _decimal(text: str, **kw: Any) -> Decimal:
    return parse_decimal(text, field="", **kw)


def _text_ok(value: object, max_len: int, lines: bool) -> bool:
    """True if `_text` would accept `value` (the same checks, without building an error)."""
    if type(value) is not str or not value or len(value) > max_len or value != value.strip():
        return False
    if (_CONTROL_BUT_LF if lines else _CONTROL).search(value):
        return False
    return value.isascii() or _encodes(value)


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value: object, field: str, *, max_len: int = MAX_TEXT, lines: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidEvent(field, f"expected a string, found {_type(value)}")
    if not value:
        raise InvalidEvent(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidEvent(field, f"must be at most {max_len} characters, found {len(value)}")
    if value != value.strip():
        raise InvalidEvent(field, "must not begin or end with white space")
    if (_CONTROL_BUT_LF if lines else _CONTROL).search(value):
        raise InvalidEvent(field, "must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be signed as UTF-8
        raise InvalidEvent(field, "must be valid Unicode text (found a lone surrogate)") from exc
    return value


def _b64_key(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidEvent(field, f"expected base64 text, found {_type(value)}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEvent(field, "expected standard base64 with padding") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != value:
        raise InvalidEvent(field, "expected the canonical base64 of a 32-byte Ed25519 public key")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _opt(wire: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Add each field that is present (not None, not an empty tuple) to `wire`; return it."""
    for key, value in fields.items():
        if value is not None and value != ():
            wire[key] = value
    return wire


# --- values shared by several kinds ---------------------------------------------------------------


@frozen
class Location:
    """Where something happened: a name, and optionally an address, a GS1 GLN and "lat,lon"."""

    name: str
    address: str | None = None
    gln: str | None = None
    geo: str | None = None

    KEYS: ClassVar = ("name", "address", "gln", "geo")

    @classmethod
    def _parse(cls, o: _Obj) -> Location:
        gln = o.raw("gln", required=False)
        if gln is not None:
            check_gln(gln, field=o.field("gln"))
        geo = o.raw("geo", required=False)
        if geo is not None:
            m = _GEO.fullmatch(geo) if isinstance(geo, str) else None
            if m is None or abs(Decimal(m.group(1))) > 90 or abs(Decimal(m.group(2))) > 180:
                raise InvalidEvent(
                    o.field("geo"), f'expected "lat,lon" in decimal degrees, found {str(geo)[:40]!r}'
                )
        return cls(
            name=o.text("name", max_len=200), address=o.text("address", required=False), gln=gln, geo=geo
        )

    def to_wire(self) -> dict[str, Any]:
        return _opt({"name": self.name}, address=self.address, gln=self.gln, geo=self.geo)


@frozen
class Product:
    """What a lot is: a Chinese name, optionally an English name, GTIN, variety and category."""

    name_zh: str
    name_en: str | None = None
    gtin: str | None = None
    variety: str | None = None
    category: str | None = None

    KEYS: ClassVar = ("name_zh", "name_en", "gtin", "variety", "category")

    @classmethod
    def _parse(cls, o: _Obj) -> Product:
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
        return _opt(
            {"name_zh": self.name_zh},
            name_en=self.name_en,
            gtin=self.gtin,
            variety=self.variety,
            category=self.category,
        )


@frozen
class LotRef:
    """An input: `quantity` of `lot` in `unit`, following the lot's head event(s) `follows`."""

    lot: str
    quantity: Decimal
    unit: str
    follows: tuple[str, ...]

    KEYS: ClassVar = ("lot", "quantity", "unit", "follows")

    @classmethod
    def _parse(cls, o: _Obj) -> LotRef:
        follows = []
        for f, item in o.items("follows", min_items=1, max_items=16):
            if not (type(item) is str and _HEX64.fullmatch(item)):
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


@frozen
class LotOut:
    """An output: a new lot `lot` of `quantity` `unit` of `product`."""

    lot: str
    quantity: Decimal
    unit: str
    product: Product

    KEYS: ClassVar = ("lot", "quantity", "unit", "product")

    @classmethod
    def _parse(cls, o: _Obj) -> LotOut:
        raw = o.raw("product")
        key, product = _known(Product, raw)
        obj = None if product is not None else o.obj("product", Product.KEYS)
        lot, quantity, unit = o.lot_code("lot"), o.decimal("quantity"), o.unit("unit")
        if obj is not None:  # after the lot's own fields, so the first error named is as it was
            product = _remember(key, Product._parse(obj))
        return cls(lot=lot, quantity=quantity, unit=unit, product=product)

    def to_wire(self) -> dict[str, Any]:
        return {
            "lot": self.lot,
            "quantity": format_decimal(self.quantity),
            "unit": self.unit,
            "product": self.product.to_wire(),
        }


@frozen
class Price:
    """A price of `amount` `currency` per `unit`, at a market `stage` (production, wholesale, retail)."""

    amount: Decimal
    currency: str
    unit: str
    stage: str

    KEYS: ClassVar = ("amount", "currency", "unit", "stage")

    @classmethod
    def _parse(cls, o: _Obj) -> Price:
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


@frozen
class Sensor:
    """A sensor reading: temperature in Cel or humidity in %RH, at `time` (RFC 3339 text)."""

    type: str
    value: Decimal
    unit: str
    time: str

    KEYS: ClassVar = ("type", "value", "unit", "time")

    @classmethod
    def _parse(cls, o: _Obj) -> Sensor:
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


@frozen
class Document:
    """A supporting document: a `type` token ("inspection_report", "certificate", "invoice"), an id, a URL."""

    type: str
    id: str
    url: str | None = None

    KEYS: ClassVar = ("type", "id", "url")

    @classmethod
    def _parse(cls, o: _Obj) -> Document:
        kind = o.raw("type")
        if not isinstance(kind, str) or not _TOKEN.fullmatch(kind):
            raise InvalidEvent(
                o.field("type"), f"expected a lower-case token like invoice, found {str(kind)[:40]!r}"
            )
        url = o.text("url", required=False)
        if url is not None and not _URL.fullmatch(url):
            raise InvalidEvent(o.field("url"), f"expected an http(s) URL, found {url[:40]!r}")
        return cls(type=kind, id=o.text("id", max_len=200), url=url)

    def to_wire(self) -> dict[str, Any]:
        return _opt({"type": self.type, "id": self.id}, url=self.url)


# --- kind-specific details -------------------------------------------------------------------------


class Detail:
    """Base of the kind-specific `detail` objects."""

    KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _parse(cls, o: _Obj) -> Detail:
        return cls()

    def to_wire(self) -> dict[str, Any]:
        return {}


@frozen
class HarvestDetail(Detail):
    """harvest: the field or plot the lots come from (a Location; its GLN is optional too)."""

    origin: Location

    KEYS: ClassVar = ("origin",)

    @classmethod
    def _parse(cls, o: _Obj) -> HarvestDetail:
        origin = o.obj("origin", Location.KEYS)
        assert origin is not None
        return cls(origin=Location._parse(origin))

    def to_wire(self) -> dict[str, Any]:
        return {"origin": self.origin.to_wire()}


@frozen
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
    def _parse(cls, o: _Obj) -> InspectDetail:
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


@frozen
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
    def _parse(cls, o: _Obj) -> CertifyDetail:
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


@frozen
class TransformDetail(Detail):
    """transform: "split" (1 input), "merge" (≥ 2 inputs, 1 output), "repack" or "process"."""

    type: str

    KEYS: ClassVar = ("type",)

    @classmethod
    def _parse(cls, o: _Obj) -> TransformDetail:
        return cls(type=o.choice("type", TRANSFORM_TYPES))

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type}


@frozen
class ShipDetail(Detail):
    """ship: the inputs leave the party's custody for party `destination`."""

    destination: str

    KEYS: ClassVar = ("destination",)

    @classmethod
    def _parse(cls, o: _Obj) -> ShipDetail:
        return cls(destination=o.party_id("destination"))

    def to_wire(self) -> dict[str, Any]:
        return {"destination": self.destination}


@frozen
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
    def _parse(cls, o: _Obj) -> EntryCheck:
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
        return _opt(
            {"result": self.result},
            certificate_no=self.certificate_no,
            certificate_source=self.certificate_source,
            inspection_event=self.inspection_event,
            note=self.note,
        )


@frozen
class ReceiveDetail(Detail):
    """receive: the inputs arrive from `source`, sent by ship event `ship_event`, after `entry_check`."""

    source: str
    ship_event: str
    entry_check: EntryCheck

    KEYS: ClassVar = ("source", "ship_event", "entry_check")

    @classmethod
    def _parse(cls, o: _Obj) -> ReceiveDetail:
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


@frozen
class SellDetail(Detail):
    """sell: an empty object; the event's `price` (stage retail or wholesale) is required."""


# The instructions a recall carries unless the regulator writes its own, as (Simplified Chinese,
# English): a recall records one text in one language, and pages that find either of these texts
# show the reader's language instead (web/i18n.py, "recall.standard_instructions").
STANDARD_RECALL_INSTRUCTIONS = (
    "请立即停止销售和食用，退回购买处。",
    "Stop selling and eating it at once, and return it to where it was bought.",
)


@frozen
class RecallDetail(Detail):
    """recall: why, and what consumers and shops should do."""

    reason: str
    instructions: str

    KEYS: ClassVar = ("reason", "instructions")

    @classmethod
    def _parse(cls, o: _Obj) -> RecallDetail:
        return cls(reason=o.text("reason", lines=True), instructions=o.text("instructions", lines=True))

    def to_wire(self) -> dict[str, Any]:
        return {"reason": self.reason, "instructions": self.instructions}


@frozen
class DestroyDetail(Detail):
    """destroy: why; `holder` is whose stock is destroyed (absent: the recording party's own).

    Only a regulator may name another holder (supervised destruction, 监督销毁); see rules.
    """

    reason: str
    holder: str | None = None

    KEYS: ClassVar = ("reason", "holder")

    @classmethod
    def _parse(cls, o: _Obj) -> DestroyDetail:
        holder = o.party_id("holder") if o.has("holder") else None
        return cls(reason=o.text("reason", lines=True), holder=holder)

    def to_wire(self) -> dict[str, Any]:
        return _opt({"reason": self.reason}, holder=self.holder)


@frozen
class PartyKey:
    """A party's Ed25519 public key (32 raw bytes; base64 on the wire) and its key id."""

    key_id: str
    public_key: bytes

    KEYS: ClassVar = ("key_id", "public_key")

    @classmethod
    def _parse(cls, o: _Obj) -> PartyKey:
        key_id = o.raw("key_id")
        check_key_id(key_id, field=o.field("key_id"))
        public_key = o.public_key("public_key")
        if key_id_for(public_key) != key_id:
            raise InvalidEvent(o.field("key_id"), f"should be {key_id_for(public_key)} for this public_key")
        return cls(key_id=key_id, public_key=public_key)

    def to_wire(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "public_key": _b64(self.public_key)}


@frozen
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
    keys: tuple[PartyKey, ...]
    contact_commitment: str
    name_en: str | None = None

    KEYS: ClassVar = ("id", "id_type", "name_zh", "name_en", "roles", "address", "keys", "contact_commitment")

    @classmethod
    def _parse(cls, o: _Obj) -> PartyRecord:
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
        keys: list[PartyKey] = []
        for f, item in o.items("keys", min_items=1, max_items=16):
            key = PartyKey._parse(_Obj(item, f, PartyKey.KEYS))
            if any(k.key_id == key.key_id for k in keys):
                raise InvalidEvent(f, f"key {key.key_id} is listed twice")
            keys.append(key)
        commitment = o.raw("contact_commitment")
        if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment):
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
        return _opt(
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


@frozen
class PartyRegisterDetail(Detail):
    """party.register: a new party, with its first keys (active from the event's time)."""

    party: PartyRecord

    KEYS: ClassVar = ("party",)

    @classmethod
    def _parse(cls, o: _Obj) -> PartyRegisterDetail:
        record = o.obj("party", PartyRecord.KEYS)
        assert record is not None
        return cls(party=PartyRecord._parse(record))

    def to_wire(self) -> dict[str, Any]:
        return {"party": self.party.to_wire()}


@frozen
class KeyAddDetail(Detail):
    """party.key_add: `public_key` (id `key_id`) becomes a key of `party_id` from the event's time."""

    party_id: str
    key_id: str
    public_key: bytes

    KEYS: ClassVar = ("party_id", "key_id", "public_key")

    @classmethod
    def _parse(cls, o: _Obj) -> KeyAddDetail:
        key = PartyKey._parse(o)  # reads this object's key_id and public_key
        return cls(party_id=o.party_id("party_id"), key_id=key.key_id, public_key=key.public_key)

    def to_wire(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "key_id": self.key_id, "public_key": _b64(self.public_key)}


@frozen
class KeyRevokeDetail(Detail):
    """party.key_revoke: key `key_id` of `party_id` stops being valid at the event's time."""

    party_id: str
    key_id: str
    reason: str

    KEYS: ClassVar = ("party_id", "key_id", "reason")

    @classmethod
    def _parse(cls, o: _Obj) -> KeyRevokeDetail:
        key_id = o.raw("key_id")
        check_key_id(key_id, field=o.field("key_id"))
        return cls(party_id=o.party_id("party_id"), key_id=key_id, reason=o.text("reason", lines=True))

    def to_wire(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "key_id": self.key_id, "reason": self.reason}


@frozen
class PartySuspendDetail(Detail):
    """party.suspend: `party_id` may record nothing more and receive no shipments."""

    party_id: str
    reason: str

    KEYS: ClassVar = ("party_id", "reason")

    @classmethod
    def _parse(cls, o: _Obj) -> PartySuspendDetail:
        return cls(party_id=o.party_id("party_id"), reason=o.text("reason", lines=True))

    def to_wire(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "reason": self.reason}


DETAIL_TYPES: dict[str, type[Detail]] = {
    "harvest": HarvestDetail,
    "inspect": InspectDetail,
    "certify": CertifyDetail,
    "transform": TransformDetail,
    "ship": ShipDetail,
    "receive": ReceiveDetail,
    "sell": SellDetail,
    "recall": RecallDetail,
    "destroy": DestroyDetail,
    "party.register": PartyRegisterDetail,
    "party.key_add": KeyAddDetail,
    "party.key_revoke": KeyRevokeDetail,
    "party.suspend": PartySuspendDetail,
}

# (min inputs, max inputs, min outputs, max outputs) per kind; transform's types narrow it further.
_SHAPE: dict[str, tuple[int, int, int, int]] = {
    "harvest": (0, 0, 1, MAX_LOTS),
    "inspect": (1, 1, 0, 0),
    "certify": (1, 1, 0, 0),
    "transform": (1, MAX_LOTS, 1, MAX_LOTS),
    "ship": (1, MAX_LOTS, 0, 0),
    "receive": (1, MAX_LOTS, 0, 0),
    "sell": (1, MAX_LOTS, 0, 0),
    "recall": (1, 1, 0, 0),
    "destroy": (1, MAX_LOTS, 0, 0),
} | dict.fromkeys(PARTY_KINDS, (0, 0, 0, 0))
_TRANSFORM_SHAPE = {"split": (1, 1, 1, MAX_LOTS), "merge": (2, MAX_LOTS, 1, 1)}
# A price is a production price on a harvest, a trade price on ship/receive, and required on sell.
_PRICED = ("harvest", "ship", "receive", "sell")

_EVENT_KEYS = (
    "kind",
    "event_time",
    "party",
    "key_id",
    "location",
    "inputs",
    "outputs",
    "price",
    "sensors",
    "documents",
    "detail",
)


@frozen
class Event:
    """One signed statement by one party about lots (or, for party.* kinds, about parties).

    `event_time` keeps the original text (it is what was signed); `time` is its parsed value.
    """

    kind: str
    event_time: str
    party: str
    key_id: str
    location: Location
    inputs: tuple[LotRef, ...]
    outputs: tuple[LotOut, ...]
    detail: Detail
    price: Price | None = None
    sensors: tuple[Sensor, ...] = ()
    documents: tuple[Document, ...] = ()

    @cached_property
    def time(self) -> datetime:
        """The event time as an aware datetime (parsed once: the rules ask for it often)."""
        return parse_time(self.event_time, field="event_time")

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Event:
        """Parse the wire form (a JSON object as Python dict). Raises InvalidEvent naming the field."""
        event = cls.from_wire_unsized(obj)
        size = len(wire_json({"v": 1, **event.to_wire()}))
        if size > MAX_EVENT_BYTES:
            raise InvalidEvent("event", f"encodes to {size} bytes, more than the limit of {MAX_EVENT_BYTES}")
        return event

    @classmethod
    def from_wire_unsized(cls, obj: dict[str, Any]) -> Event:
        """`from_wire` without the encoded size limit, for a caller that checks the encoded bytes itself."""
        o = _Obj(obj, "", _EVENT_KEYS)
        kind = o.choice("kind", KINDS)
        event_time = o.raw("event_time")
        time = parse_time(event_time, field="event_time")
        party = o.party_id("party")
        key_id = o.raw("key_id")
        check_key_id(key_id, field="key_id")
        location_raw = o.raw("location")
        location_key, location = _known(Location, location_raw)
        location_obj = None if location is not None else o.obj("location", Location.KEYS)

        inputs = tuple(
            LotRef._parse(_Obj(v, f, LotRef.KEYS)) for f, v in o.items("inputs", max_items=MAX_LOTS)
        )
        outputs = tuple(
            LotOut._parse(_Obj(v, f, LotOut.KEYS)) for f, v in o.items("outputs", max_items=MAX_LOTS)
        )
        _check_distinct("inputs", [r.lot for r in inputs])
        _check_distinct("outputs", [r.lot for r in outputs])
        consumed = {r.lot for r in inputs}
        for i, out in enumerate(outputs):
            if out.lot in consumed:
                raise InvalidEvent(
                    f"outputs[{i}].lot", f"lot {out.lot} is also an input; an output lot must be new"
                )

        detail_type = DETAIL_TYPES[kind]
        detail_raw = o.raw("detail")
        detail_key, detail = _known(detail_type, detail_raw)
        if detail is None:
            detail_obj = o.obj("detail", detail_type.KEYS)
            assert detail_obj is not None
            detail = _remember(detail_key, detail_type._parse(detail_obj))
        shape = _SHAPE[kind]
        if isinstance(detail, TransformDetail):
            shape = _TRANSFORM_SHAPE.get(detail.type, shape)
        _check_shape(kind, detail, shape, len(inputs), len(outputs))

        price_raw = o.raw("price", required=False)
        price_key, price = _known(Price, price_raw)
        if price is None and price_raw is not None:
            price_obj = o.obj("price", Price.KEYS)
            assert price_obj is not None
            price = _remember(price_key, Price._parse(price_obj))
        _check_price(kind, price)
        if kind in PARTY_KINDS and o.has("sensors"):
            raise InvalidEvent("sensors", f"a {kind} event carries no sensor readings")
        sensors = tuple(Sensor._parse(_Obj(v, f, Sensor.KEYS)) for f, v in o.items("sensors", required=False))
        documents = tuple(
            Document._parse(_Obj(v, f, Document.KEYS)) for f, v in o.items("documents", required=False)
        )

        event = cls(
            kind=kind,
            event_time=event_time,
            party=party,
            key_id=key_id,
            location=location or _remember(location_key, Location._parse(location_obj)),
            inputs=inputs,
            outputs=outputs,
            detail=detail,
            price=price,
            sensors=sensors,
            documents=documents,
        )
        event.__dict__["time"] = time  # the cached_property, already parsed
        return event

    def to_wire(self) -> dict[str, Any]:
        """Return the wire form: a dict of JSON types (str, list, dict) such that from_wire inverts it."""
        wire = {
            "kind": self.kind,
            "event_time": self.event_time,
            "party": self.party,
            "key_id": self.key_id,
            "location": self.location.to_wire(),
            "inputs": [r.to_wire() for r in self.inputs],
            "outputs": [r.to_wire() for r in self.outputs],
            "detail": self.detail.to_wire(),
        }
        if self.price is not None:
            wire["price"] = self.price.to_wire()
        if self.sensors:
            wire["sensors"] = [s.to_wire() for s in self.sensors]
        if self.documents:
            wire["documents"] = [d.to_wire() for d in self.documents]
        return wire


def _check_distinct(name: str, lots: list[str]) -> None:
    seen: set[str] = set()
    for i, lot in enumerate(lots):
        if lot in seen:
            raise InvalidEvent(f"{name}[{i}].lot", f"lot {lot} appears twice among the {name}")
        seen.add(lot)


def _check_shape(kind: str, detail: Detail, shape: tuple[int, int, int, int], n_in: int, n_out: int) -> None:
    what = f"a {detail.type} transform" if isinstance(detail, TransformDetail) else f"a {kind} event"
    for name, n, lo, hi in (("inputs", n_in, shape[0], shape[1]), ("outputs", n_out, shape[2], shape[3])):
        if lo <= n <= hi:
            continue
        if hi == 0:
            want = "no"
        elif lo == hi:
            want = f"exactly {lo}"
        else:
            want = f"at least {lo}" if n < lo else f"at most {hi}"
        raise InvalidEvent(name, f"{what} has {want} {name}, found {n}")


def _check_price(kind: str, price: Price | None) -> None:
    if kind == "sell":
        if price is None:
            raise InvalidEvent("price", "a sell event must state its price")
        if price.stage not in ("retail", "wholesale"):
            raise InvalidEvent("price.stage", f"a sale is at stage retail or wholesale, found {price.stage}")
    elif price is not None and kind not in _PRICED:
        raise InvalidEvent("price", f"a {kind} event carries no price")


def parse_party_record(obj: object, *, field: str = "record") -> PartyRecord:
    """Parse a PartyRecord wire form on its own (an enrollment application). Raises InvalidEvent."""
    return PartyRecord._parse(_Obj(obj, field, PartyRecord.KEYS))


def parse_party_key(obj: object, *, field: str = "key") -> PartyKey:
    """Parse a {key_id, public_key} wire form on its own. Raises InvalidEvent."""
    return PartyKey._parse(_Obj(obj, field, PartyKey.KEYS))
