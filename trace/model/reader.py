"""The strict JSON reader the event model parses with, and its field checks.

`Obj` wraps one JSON object of a wire form: it refuses unknown keys up front and reads each field
with a check (`text`, `choice`, `decimal`, `lot_code`, ...) that raises `InvalidEvent` naming the
field by its dotted path ("outputs[0].product.name_zh"). Optional fields are *absent* when unused,
never null and never an empty list, so each value has exactly one wire form.

`parse_time` reads the RFC 3339 times events carry. The limits (`MAX_TEXT`, `MAX_LIST`,
`MAX_LOTS`) bound every string and list a wire form may hold.

A value type declares its wire form once, on its dataclass fields (`text_field`, `choice_field`,
`value_field`, `items_field`, ...), and `wire_form` derives the type's `KEYS`, `_parse(Obj)` and
`to_wire()` from that declaration: adding a field is one line.
"""

# size: `Obj`'s checks and the field declarations that name them (`text_field` is `Obj.text`
# declared once per field) are one vocabulary; the declarations and `wire_form`, about 300 lines, stay beside them.

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from operator import itemgetter, methodcaller
from typing import Any

from ..errors import InvalidEvent
from .ids import check_event_id, check_lot_code, check_party_id, is_valid_lot_code, is_valid_party_id
from .units import UNITS, check_unit, format_decimal, parse_decimal

__all__ = [
    "GEO",
    "HEX64",
    "MAX_LIST",
    "MAX_LOTS",
    "MAX_TEXT",
    "TOKEN",
    "URL",
    "Obj",
    "WireField",
    "b64_text",
    "check_text",
    "checked_field",
    "choice_field",
    "choice_item",
    "decimal_field",
    "event_id_field",
    "items_field",
    "lot_code_field",
    "parse_public_key",
    "parse_time",
    "party_id_field",
    "public_key_field",
    "text_field",
    "type_name",
    "unit_field",
    "value_field",
    "wire_form",
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


# --- declared wire forms ----------------------------------------------------------------------------
# A field's declaration is a `dataclasses.field` whose metadata holds its `WireField`; the field's
# name is its wire key. `wire_form` turns the declarations of a dataclass into `KEYS`, a `_parse`
# classmethod and `to_wire`, built once per class as closures over the field list. Declaration
# order is the order of `KEYS` and of `to_wire`'s keys, and the order fields are checked in, except:
# a `first` field is checked before the others and a `last` one after them, and a nested value
# (`value_field`) is opened (present, an object, no unknown keys) before any field is checked and
# parsed after all of them. Which error is named first when several fields are wrong depends on
# that order, and version 1 of the event encoding fixes it (tests/trace/test_details.py).

_Reader = Callable[["Obj"], Any]
_Check = Callable[["Obj", Any], None]


@dataclasses.dataclass(frozen=True)
class WireField:
    """How one field travels. `reader(key)` makes the function that reads the field `key` of an
    `Obj`, returning its value or raising InvalidEvent naming it; `write` makes the wire form of a
    present value (None: the value is its own); `check(o, value)` refuses a value that contradicts
    a field checked before it (which is valid then, so its JSON value `o.value[name]` is its value)."""

    reader: Callable[[str], _Reader]
    write: Callable[[Any], Any] | None = None
    optional: bool = False
    nested: type | None = None
    rank: int = 0
    check: _Check | None = None


def _declare(spec: WireField, *, first: bool = False, last: bool = False) -> Any:
    spec = dataclasses.replace(spec, rank=-1 if first else 1 if last else 0)
    default = None if spec.optional else dataclasses.MISSING
    return dataclasses.field(default=default, metadata={"wire": spec})


# Each reader below accepts a valid value at once, and hands anything else (absent, null, wrong) to
# the `Obj` check of the same name, which returns None for an absent optional field or raises its
# error: the errors are `Obj`'s own, and a valid value costs one call instead of three.


def _fast(
    valid: Callable[[str], object], method: str, *, optional: bool = False, **options: Any
) -> Callable[[str], _Reader]:
    def reader(key: str) -> _Reader:
        def read(o: Obj) -> Any:
            v = o.value.get(key)
            if v is not None:
                if type(v) is str and valid(v):
                    return v
            elif optional and key not in o.value:
                return None
            return getattr(o, method)(key, **options)

        return read

    return reader


def _member(choices: Any) -> Callable[[str], bool]:
    return (choices if isinstance(choices, dict) else frozenset(choices)).__contains__


def _fast_text(max_len: int, lines: bool, optional: bool) -> Callable[[str], _Reader]:
    def reader(key: str) -> _Reader:
        def read(o: Obj) -> Any:  # `_fast`, calling `_text_ok` directly: most fields are texts
            v = o.value.get(key)
            if v is not None:
                if _text_ok(v, max_len, lines):
                    return v
            elif optional and key not in o.value:
                return None
            return o.text(key, required=not optional, max_len=max_len, lines=lines)

        return read

    return reader


def text_field(
    *, max_len: int = MAX_TEXT, lines: bool = False, optional: bool = False, check: _Check | None = None,
    first: bool = False, last: bool = False,
) -> Any:  # fmt: skip
    """A text (`Obj.text`: trimmed, no control characters but LF where `lines`, at most `max_len`)."""
    reader = _fast_text(max_len, lines, optional)
    return _declare(WireField(reader, optional=optional, check=check), first=first, last=last)


def choice_field(
    choices: tuple[str, ...] | dict,
    *,
    optional: bool = False,
    check: _Check | None = None,
    first: bool = False,
) -> Any:
    """One of `choices` (a dict: one of its keys)."""
    reader = _fast(_member(choices), "choice", optional=optional, choices=choices, required=not optional)
    return _declare(WireField(reader, optional=optional, check=check), first=first)


def decimal_field(*, optional: bool = False, check: _Check | None = None, **limits: Any) -> Any:
    """A decimal quantity written as text (`units.parse_decimal`'s `limits`), a Decimal in Python;
    an `optional` one may be absent (None), not null."""

    def reader(key: str) -> _Reader:
        # Always through `Obj.decimal`, which the ingest path's speed work replaces (ingest/speed.py).
        read = methodcaller("decimal", key, **limits)
        if not optional:
            return read
        return lambda o: read(o) if key in o.value else None

    return _declare(WireField(reader, write=format_decimal, optional=optional, check=check))


def party_id_field(*, optional: bool = False, first: bool = False) -> Any:
    """A party id (USCC or farmer registration number); an optional one may be absent, not null."""
    reader = _fast(is_valid_party_id, "party_id")
    if optional:
        required = reader

        def reader(key: str) -> _Reader:
            read = required(key)
            return lambda o: read(o) if key in o.value else None

    return _declare(WireField(reader, optional=optional), first=first)


def event_id_field(*, optional: bool = False) -> Any:
    """An event id (64 lower-case hex)."""
    reader = _fast(HEX64.fullmatch, "event_id", optional=optional, required=not optional)
    return _declare(WireField(reader, optional=optional))


def lot_code_field() -> Any:
    """A lot code."""
    return _declare(WireField(_fast(is_valid_lot_code, "lot_code")))


def unit_field() -> Any:
    """A unit of measure (`units.UNITS`)."""
    return _declare(WireField(_fast(_member(UNITS), "unit")))


def public_key_field(*, check: _Check | None = None, first: bool = False) -> Any:
    """An Ed25519 public key: 32 bytes in Python, canonical base64 on the wire."""
    return _declare(
        WireField(lambda key: lambda o: o.public_key(key), write=b64_text, check=check), first=first
    )


def checked_field(
    check_value: Callable[..., Any], *, optional: bool = False, first: bool = False, last: bool = False
) -> Any:
    """A JSON value kept as it is, once `check_value(value, field=dotted path)` has not raised."""

    def reader(key: str) -> _Reader:
        def read(o: Obj) -> Any:
            v = o.value.get(key)
            if v is None:
                if optional and key not in o.value:
                    return None
                return o.raw(key, required=not optional)  # raises: absent but required, or null
            check_value(v, field=o.field(key))
            return v

        return read

    return _declare(WireField(reader, optional=optional), first=first, last=last)


def value_field(value_type: type) -> Any:
    """A nested value of a `wire_form` type: opened first, parsed after the other fields."""
    return _declare(WireField(lambda key: _unread, nested=value_type, write=_to_wire))


def _unread(o: Obj) -> Any:
    raise AssertionError("a nested value is read by its own type's _parse")


def items_field(
    element: Callable[[Any, str], Any] | type, *, max_items: int, twice: Callable[[Any], str],
    same: Callable[[Any], Any] | None = None, first: bool = False, optional: bool = False,
    check: _Check | None = None,
) -> Any:  # fmt: skip
    """A list of 1 to `max_items` elements, a tuple in Python: values of a `wire_form` type, or what
    `element(item, path)` reads. Two elements whose `same` (default: themselves) are equal are
    refused with the message `twice(element)`. An `optional` list is absent (None), never empty."""
    of = element if isinstance(element, type) else None
    read_one: Callable[[Any, str], Any] = (
        (lambda item, f: of._parse(Obj(item, f, of.KEYS))) if of is not None else element  # type: ignore[attr-defined]
    )

    def reader(key: str) -> _Reader:
        def read(o: Obj) -> tuple[Any, ...] | None:
            if optional and key not in o.value:
                return None
            got: list[Any] = []
            seen: list[Any] = got if same is None else []
            for f, item in o.items(key, min_items=1, max_items=max_items):
                it = read_one(item, f)
                ident = it if same is None else same(it)
                if ident in seen:
                    raise InvalidEvent(f, twice(it))
                got.append(it)
                if same is not None:
                    seen.append(ident)
            return tuple(got)

        return read

    write = _values_wire if of is not None else list
    return _declare(WireField(reader, write=write, optional=optional, check=check), first=first)


def choice_item(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    """An `items_field` element that is one of `choices` (refused as `Obj.choice` refuses)."""

    def read(item: Any, f: str) -> str:
        if not isinstance(item, str) or item not in choices:
            raise InvalidEvent(f, f"expected one of {', '.join(choices)}, found {str(item)[:40]!r}")
        return item

    return read


def _to_wire(v: Any) -> Any:
    return v.to_wire()


def _values_wire(v: tuple[Any, ...]) -> list[Any]:
    return [x.to_wire() for x in v]


def wire_form(cls: type) -> type:
    """Class decorator, above `@dataclass(frozen=True)`: derive `KEYS`, `_parse(Obj)` (strict, in
    the order described above) and `to_wire()` (its exact inverse; optional fields absent when
    None) from the class's field declarations. Returns `cls`."""
    declared = [(f.name, f.metadata["wire"]) for f in dataclasses.fields(cls) if "wire" in f.metadata]
    names = tuple(key for key, _ in declared)
    flat = [
        i for _, i in sorted((spec.rank, i) for i, (_, spec) in enumerate(declared) if spec.nested is None)
    ]
    nested = [i for i, (_, spec) in enumerate(declared) if spec.nested is not None]
    readers = tuple(_checked(declared[i][1], names[i]) for i in flat)
    opens = tuple((names[i], declared[i][1].nested) for i in nested)
    at = flat + nested  # the field index of each value read, in the order read
    back = None if at == sorted(at) else itemgetter(*[at.index(i) for i in range(len(at))])

    if not opens and back is None and len(readers) <= 1:  # most details: one field, or none
        _parse = _one_or_none(readers)
    else:
        _parse = _any(readers, opens, back)
    writes = tuple((key, spec.write, spec.optional) for key, spec in declared)

    def to_wire(self: Any) -> dict[str, Any]:
        wire: dict[str, Any] = {}
        d = self.__dict__
        for key, write, optional in writes:
            v = d[key]
            if optional and v is None:
                continue
            wire[key] = v if write is None else write(v)
        return wire

    _parse.__qualname__ = f"{cls.__qualname__}._parse"
    to_wire.__qualname__ = f"{cls.__qualname__}.to_wire"
    cls.KEYS = names  # type: ignore[attr-defined]
    cls._parse = classmethod(_parse)  # type: ignore[attr-defined]
    cls.to_wire = to_wire  # type: ignore[attr-defined]
    return cls


def _one_or_none(readers: tuple[_Reader, ...]) -> Callable[[type, Obj], Any]:
    if not readers:
        return lambda c, o: c()
    read = readers[0]
    return lambda c, o: c(read(o))


def _any(readers: tuple[_Reader, ...], opens: tuple, back: Any) -> Callable[[type, Obj], Any]:
    def _parse(c: type, o: Obj) -> Any:
        # Nested objects are opened first and parsed last.
        if not opens:
            values = [read(o) for read in readers]
        elif len(opens) == 1:
            key, t = opens[0]
            sub = o.obj(key, t.KEYS)
            values = [read(o) for read in readers]
            values.append(t._parse(sub))
        else:
            subs = [o.obj(key, t.KEYS) for key, t in opens]
            values = [read(o) for read in readers]
            for (_, t), sub in zip(opens, subs, strict=True):
                values.append(t._parse(sub))
        return c(*values) if back is None else c(*back(values))

    return _parse


def _checked(spec: WireField, key: str) -> _Reader:
    read, check = spec.reader(key), spec.check
    if check is None:
        return read

    def read_and_check(o: Obj) -> Any:
        v = read(o)
        check(o, v)
        return v

    return read_and_check
