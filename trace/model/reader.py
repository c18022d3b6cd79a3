"""The strict JSON reader the event model parses with, and its field checks.

`Obj` wraps one JSON object of a wire form: it refuses unknown keys up front and reads each field
with a check (`text`, `choice`, `decimal`, `lot_code`, ...) that raises `InvalidEvent` naming the
field by its dotted path ("outputs[0].product.name_zh"). Optional fields are *absent* when unused,
never null and never an empty list, so each value has exactly one wire form.

`parse_time` reads the RFC 3339 times events carry. The limits (`MAX_TEXT`, `MAX_LIST`,
`MAX_LOTS`) bound every string and list a wire form may hold.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from ..errors import InvalidEvent
from .ids import check_event_id, check_lot_code, check_party_id, is_valid_lot_code, is_valid_party_id
from .units import UNITS, check_unit, parse_decimal

__all__ = [
    "GEO",
    "HEX64",
    "MAX_LIST",
    "MAX_LOTS",
    "MAX_TEXT",
    "TOKEN",
    "URL",
    "Obj",
    "b64_text",
    "check_text",
    "parse_public_key",
    "parse_time",
    "type_name",
    "with_optional",
    "zone",
]

MAX_LOTS = 1000  # inputs, and separately outputs, per event
MAX_TEXT = 500  # characters in any string
MAX_LIST = 100  # sensors, documents, follows, keys, commitments

# RFC 3339 §5.6 date-time, narrowed: upper-case T and Z, seconds precision, no "-00:00" (unknown
# offset). Offsets are limited to ±14:00, the range real time zones use (and EPCIS accepts).
# [0-9], never \d: \d also matches other scripts' digits, which int() would accept.
_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))"
)
GEO = re.compile(r"(-?(?:0|[1-9][0-9]?)(?:\.[0-9]{1,7})?),(-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,7})?)")
HEX64 = re.compile(r"[0-9a-f]{64}")
TOKEN = re.compile(r"[a-z][a-z0-9_]{0,63}")
URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# C0 and C1 controls, and the line/paragraph separators; multi-line texts may contain "\n".
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LF = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def parse_time(text: str, *, field: str) -> datetime:
    """Parse an event time "2026-11-20T08:30:00+08:00" (or "...Z") into an aware datetime.

    Raises InvalidEvent(field) for anything else: no offset, fractional seconds, lower-case t/z,
    "-00:00", offsets beyond ±14:00, impossible dates, leap seconds.
    """
    if not isinstance(text, str):
        raise InvalidEvent(field, f"expected an RFC 3339 time string, found {type_name(text)}")
    m = _TIME.fullmatch(text)
    if m is None:
        raise InvalidEvent(
            field,
            f'expected a time like "2026-11-20T08:30:00+08:00" (seconds, explicit offset), found {text[:40]!r}',
        )
    year, month, day, hour, minute, second = m.groups()[:6]
    tz = zone(text[19:], field)  # the offset, "Z" or "+08:00"
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz)
    except ValueError as exc:
        raise InvalidEvent(field, f"not a valid date and time: {text!r}") from exc


def zone(suffix: str, field: str) -> timezone:
    """The time zone of an event time's offset `suffix`, "Z" or "+08:00" (as `_TIME` matched it).
    Raises InvalidEvent(field) for "-00:00" and offsets beyond ±14:00."""
    if suffix == "Z":
        return timezone(timedelta(0))
    sign, oh, om = suffix[0], suffix[1:3], suffix[4:6]
    if sign == "-" and oh == "00" and om == "00":
        raise InvalidEvent(field, 'offset "-00:00" means "unknown" (RFC 3339 §4.3); write "Z" or "+00:00"')
    offset = timedelta(hours=int(oh), minutes=int(om))
    if int(om) > 59 or offset > timedelta(hours=14):
        raise InvalidEvent(field, f"offset must be within ±14:00, found {sign}{oh}:{om}")
    return timezone(-offset if sign == "-" else offset)


def type_name(value: object) -> str:
    """How an error names the JSON type of `value`: "an object", "a list", "null", ..."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


class Obj:
    """A JSON object being parsed: refuses unknown keys up front, names fields by dotted path."""

    def __init__(self, value: object, path: str, keys: tuple[str, ...]) -> None:
        if not isinstance(value, dict):
            raise InvalidEvent(path or "event", f"expected an object, found {type_name(value)}")
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
        return check_text(v, self.field(key), max_len=max_len, lines=lines)  # raises, naming the field

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

    def obj(self, key: str, keys: tuple[str, ...], *, required: bool = True) -> Obj | None:
        v = self.raw(key, required=required)
        return None if v is None else Obj(v, self.field(key), keys)

    def items(
        self, key: str, *, required: bool = True, min_items: int = 0, max_items: int = MAX_LIST
    ) -> Iterator[tuple[str, Any]]:
        v = self.raw(key, required=required)
        if v is None:
            return iter(())
        f = self.field(key)
        if not isinstance(v, list):
            raise InvalidEvent(f, f"expected a list, found {type_name(v)}")
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
        if v is not None and not (type(v) is str and HEX64.fullmatch(v)):
            check_event_id(v, field=self.field(key))
        return v

    def party_id(self, key: str) -> str:
        v = self.raw(key)
        if not is_valid_party_id(v):
            check_party_id(v, field=self.field(key))
        return v

    def decimal(self, key: str, **kw: Any) -> Decimal:
        return parse_decimal(self.raw(key), field=self.field(key), **kw)

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
        return parse_public_key(self.raw(key), self.field(key))


def _text_ok(value: object, max_len: int, lines: bool) -> bool:
    """True if `check_text` would accept `value` (the same checks, without building an error)."""
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


def check_text(value: object, field: str, *, max_len: int = MAX_TEXT, lines: bool = False) -> str:
    """Return `value` if it is a non-empty, trimmed string of at most `max_len` characters with no
    control characters (but LF where `lines`) that encodes as UTF-8; raise InvalidEvent(field)."""
    if not isinstance(value, str):
        raise InvalidEvent(field, f"expected a string, found {type_name(value)}")
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


def parse_public_key(value: object, field: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key written as canonical standard base64; raise
    InvalidEvent(field) for anything else. `b64_text` is the inverse."""
    if not isinstance(value, str):
        raise InvalidEvent(field, f"expected base64 text, found {type_name(value)}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEvent(field, "expected standard base64 with padding") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != value:
        raise InvalidEvent(field, "expected the canonical base64 of a 32-byte Ed25519 public key")
    return raw


def b64_text(raw: bytes) -> str:
    """Standard base64 with padding of `raw`, as text (how keys travel on the wire)."""
    return base64.b64encode(raw).decode("ascii")


def with_optional(wire: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Add each field that is present (not None, not an empty tuple) to `wire`; return it."""
    for key, value in fields.items():
        if value is not None and value != ():
            wire[key] = value
    return wire
