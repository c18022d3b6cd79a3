"""The values events carry: places, products, lot references, prices, readings, documents, parties.

Each value is a frozen dataclass whose fields declare their wire form once (`reader.wire_form`):
its `KEYS`, `_parse(Obj)` (strict, naming the culprit field) and `to_wire()`, the exact inverse,
follow from the declaration. Optional fields are absent from the wire form when unused.
`PartyRecord` and `KeyRecord` are a party's public record on the ledger (no private contact
details, no private keys); `parse_party_record` and `parse_key_record` read them on their own (an
enrolment application).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import InvalidEvent
from .ids import (
    check_ear_tag,
    check_event_id,
    check_gln,
    check_gtin,
    check_key_id,
    check_national_code,
    key_id_for,
    party_id_type,
)
from .reader import (
    GEO,
    HEX64,
    TOKEN,
    URL,
    Obj,
    checked_field,
    choice_field,
    choice_item,
    decimal_field,
    items_field,
    lot_code_field,
    parse_time,
    party_id_field,
    public_key_field,
    text_field,
    unit_field,
    value_field,
    wire_form,
)

__all__ = [
    "MAX_ANIMALS",
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
    "check_key_pair",
    "key_id_field",
    "parse_key_record",
    "parse_party_record",
]

ROLES = ("producer", "inspector", "processor", "wholesaler", "retailer", "regulator", "veterinarian")
MAX_ANIMALS = 1000  # ear tags on one lot or one quarantine certificate
PRICE_STAGES = ("production", "wholesale", "retail")
SENSOR_UNITS = {"temperature": "Cel", "humidity": "%RH"}


# --- the checks the declarations below name -------------------------------------------------------


def _check_geo(geo: object, *, field: str) -> None:
    m = GEO.fullmatch(geo) if isinstance(geo, str) else None
    if m is None or abs(Decimal(m.group(1))) > 90 or abs(Decimal(m.group(2))) > 180:
        raise InvalidEvent(field, f'expected "lat,lon" in decimal degrees, found {str(geo)[:40]!r}')


def _check_token(kind: object, *, field: str) -> None:
    if not isinstance(kind, str) or not TOKEN.fullmatch(kind):
        raise InvalidEvent(field, f"expected a lower-case token like invoice, found {str(kind)[:40]!r}")


def _check_commitment(commitment: object, *, field: str) -> None:
    if not isinstance(commitment, str) or not HEX64.fullmatch(commitment):
        raise InvalidEvent(field, "expected 64 lower-case hex digits (a SHA-256)")


def _check_time(text: object, *, field: str) -> None:
    parse_time(text, field=field)  # type: ignore[arg-type]  # the text is kept; parse_time checks its type


def _check_url(o: Obj, url: str | None) -> None:
    if url is not None and not URL.fullmatch(url):
        raise InvalidEvent(o.field("url"), f"expected an http(s) URL, found {url[:40]!r}")


def _check_sensor_unit(o: Obj, unit: str) -> None:
    kind = o.value["type"]
    if unit != SENSOR_UNITS[kind]:
        raise InvalidEvent(o.field("unit"), f"a {kind} is measured in {SENSOR_UNITS[kind]}, found {unit}")


def check_key_pair(o: Obj, public_key: bytes) -> None:
    """Refuse a `public_key` whose key id is not the `key_id` read before it (naming key_id)."""
    if key_id_for(public_key) != o.value["key_id"]:
        raise InvalidEvent(o.field("key_id"), f"should be {key_id_for(public_key)} for this public_key")


def _check_id_type(o: Obj, id_type: str) -> None:
    pid = o.value["id"]
    if id_type != party_id_type(pid):
        raise InvalidEvent(o.field("id_type"), f"id {pid} is a {party_id_type(pid)}, not a {id_type}")


def _follow(item: object, f: str) -> str:
    if not (type(item) is str and HEX64.fullmatch(item)):
        check_event_id(item, field=f)
    return item  # type: ignore[return-value]


def _ear_tag(item: object, f: str) -> str:
    check_ear_tag(item, field=f)  # type: ignore[arg-type]
    return item  # type: ignore[return-value]


def _check_ear_tags(o: Obj, tags: tuple[str, ...] | None) -> None:
    """Live animals (unit head) list one ear tag per head; no other lot lists any."""
    unit, quantity = o.value["unit"], o.value["quantity"]
    if unit != "head":
        if tags is not None:
            raise InvalidEvent(
                o.field("ear_tags"), f"only live animals (unit head) carry ear tags, not a lot in {unit}"
            )
        return
    if tags is None:
        raise InvalidEvent(
            o.field("ear_tags"), "live animals (unit head) need their ear tag numbers, one per head"
        )
    if "." in quantity or int(quantity) != len(tags):
        raise InvalidEvent(
            o.field("ear_tags"), f"{quantity} head need {quantity} ear tags, found {len(tags)}"
        )


def _check_live_weight(o: Obj, weight: Decimal | None) -> None:
    if weight is not None and o.value["unit"] != "head":
        raise InvalidEvent(o.field("live_weight"), "only live animals (unit head) have a live weight")


def key_id_field() -> Any:
    """A key id (`ids.check_key_id`), checked before the other fields of its object."""
    return checked_field(check_key_id, first=True)


# --- the values -------------------------------------------------------------------------------------
# The `*_field` calls return `dataclasses.field`s; RUF009 cannot tell, hence its `noqa`s.


@wire_form
@dataclass(frozen=True)
class Location:
    """Where something happened: a name, and optionally an address, a GS1 GLN and "lat,lon"."""

    name: str = text_field(max_len=200)
    address: str | None = text_field(optional=True)
    gln: str | None = checked_field(check_gln, optional=True, first=True)
    geo: str | None = checked_field(_check_geo, optional=True, first=True)


@wire_form
@dataclass(frozen=True)
class Product:
    """What a lot is: a Chinese name, optionally an English name, GTIN, variety and category."""

    name_zh: str = text_field(max_len=200)
    name_en: str | None = text_field(max_len=200, optional=True)
    gtin: str | None = checked_field(check_gtin, optional=True, first=True)
    variety: str | None = text_field(max_len=200, optional=True)
    category: str | None = text_field(max_len=200, optional=True)


@wire_form
@dataclass(frozen=True)
class LotRef:
    """An input: `quantity` of `lot` in `unit`, following the lot's head event(s) `follows`."""

    lot: str = lot_code_field()
    quantity: Decimal = decimal_field()  # noqa: RUF009
    unit: str = unit_field()
    follows: tuple[str, ...] = items_field(
        _follow, max_items=16, twice=lambda item: f"event {item} is listed twice", first=True
    )


@wire_form
@dataclass(frozen=True)
class LotOut:
    """An output: a new lot `lot` of `quantity` `unit` of `product`, optionally with the national
    platform's 追溯码 for it (`tracing_code`, `ids.check_national_code`; added after version 1's
    first events, absent from them, so their bytes are unchanged).

    Live animals (unit "head", 头) list their ear tags (`ear_tags`, `ids.check_ear_tag`), one per
    head, and may give the lot's total `live_weight` in kg (活重); no other lot has either. Both are
    optional fields, absent from every earlier event."""

    lot: str = lot_code_field()
    quantity: Decimal = decimal_field()  # noqa: RUF009
    unit: str = unit_field()
    product: Product = value_field(Product)  # noqa: RUF009
    tracing_code: str | None = checked_field(check_national_code, optional=True)
    ear_tags: tuple[str, ...] | None = items_field(
        _ear_tag, max_items=MAX_ANIMALS, twice=lambda tag: f"ear tag {tag} is listed twice", optional=True,
        check=_check_ear_tags,
    )  # fmt: skip
    live_weight: Decimal | None = decimal_field(optional=True, check=_check_live_weight)  # noqa: RUF009


@wire_form
@dataclass(frozen=True)
class Price:
    """A price of `amount` `currency` per `unit`, at a market `stage` (production, wholesale, retail)."""

    amount: Decimal = decimal_field(places=2, maximum=Decimal(10) ** 9)  # noqa: RUF009
    currency: str = choice_field(("CNY",))
    unit: str = unit_field()
    stage: str = choice_field(PRICE_STAGES)


@wire_form
@dataclass(frozen=True)
class Sensor:
    """A sensor reading: temperature in Cel or humidity in %RH, at `time` (RFC 3339 text)."""

    type: str = choice_field(SENSOR_UNITS, first=True)
    value: Decimal = decimal_field(places=3, negative=True, zero=True, maximum=Decimal(10) ** 6)  # noqa: RUF009
    unit: str = choice_field(tuple(SENSOR_UNITS.values()), check=_check_sensor_unit, first=True)
    time: str = checked_field(_check_time, first=True)


@wire_form
@dataclass(frozen=True)
class Document:
    """A supporting document: a `type` token ("inspection_report", "certificate", "invoice"), an id, a URL."""

    type: str = checked_field(_check_token, first=True)
    id: str = text_field(max_len=200)
    url: str | None = text_field(optional=True, check=_check_url, first=True)


@wire_form
@dataclass(frozen=True)
class KeyRecord:
    """A party's Ed25519 public key (32 raw bytes; base64 on the wire) and its key id."""

    key_id: str = key_id_field()
    public_key: bytes = public_key_field(check=check_key_pair, first=True)


@wire_form
@dataclass(frozen=True)
class PartyRecord:
    """A party as the public ledger knows it.

    No phone numbers or resident IDs: `contact_commitment` is the SHA-256 commitment (64 hex) to the
    private contact details the registration desk keeps off the ledger. `subject_code` is the
    national platform's 主体码 for the party, where it has one (`ids.check_national_code`; optional
    and absent from older records, whose bytes it leaves unchanged).
    """

    id: str = party_id_field(first=True)
    id_type: str = choice_field(("uscc", "farmer_reg"), check=_check_id_type, first=True)
    name_zh: str = text_field(max_len=200)
    roles: tuple[str, ...] = items_field(
        choice_item(ROLES), max_items=len(ROLES), twice=lambda item: f"{item} is listed twice", first=True
    )
    address: str = text_field(last=True)
    keys: tuple[KeyRecord, ...] = items_field(
        KeyRecord, max_items=16, twice=lambda key: f"key {key.key_id} is listed twice", same=lambda k: k.key_id,
        first=True,
    )  # fmt: skip
    contact_commitment: str = checked_field(_check_commitment, first=True)
    name_en: str | None = text_field(max_len=200, optional=True)
    subject_code: str | None = checked_field(check_national_code, optional=True)


def parse_party_record(obj: object, *, field: str = "record") -> PartyRecord:
    """Parse a PartyRecord wire form on its own (an enrollment application). Raises InvalidEvent."""
    return PartyRecord._parse(Obj(obj, field, PartyRecord.KEYS))


def parse_key_record(obj: object, *, field: str = "key") -> KeyRecord:
    """Parse a {key_id, public_key} wire form on its own. Raises InvalidEvent."""
    return KeyRecord._parse(Obj(obj, field, KeyRecord.KEYS))
