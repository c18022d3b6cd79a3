"""The head index's format (v1): map keys, the values of a lot head and of a key state, the index entry.

The head index (issue 17 §2; the format is written down in docs/index.md) is a verifiable map
(ledger/verifiable_map.py) derived deterministically from the log. Its keys and values:

  lot      key   SHA-256(b"farmtrace/index/v1/lot\\n" ‖ UTF-8 lot code)
           value {"count": n, "head": "<event id>", "lot": "<code>"}                     RFC 8785
  signing  key   SHA-256(b"farmtrace/index/v1/key\\n" ‖ ASCII key id)
  key      value {"key_id", "party", "public_key" (std base64), "registered", "registered_at",
                  "revoked", "revoked_at"}  (the last two absent while the key is active)  RFC 8785
  value_hash = SHA-256(value bytes)

The log commits the map's root in an *index entry*, sitting at ledger index `size` exactly and
committing the state after entries [0, size):

  b"farmtrace/index/v1\\n" ‖ {"keys": k, "lots": l, "root": "<std base64 of 32 bytes>", "size": N,
                             "time": <POSIX seconds>} ‖ b"\\n"

`time` is the keeper's clock when it committed the entry (whole seconds, rounded down): a page
refuses an index entry older than its policy allows against the checkpoint's witnesses (a server
showing an old entry would widen the unindexed window), and the replay audit checks that the times
never decrease and never run ahead of the witnesses' cosignatures (trace/index_audit.py).

Every parser here is strict: it re-encodes what it parsed and compares the bytes, so anything not
exactly canonical is refused with InvalidEvent (field "index" or "index.<name>").

  lot_map_key(code) / key_map_key(key_id)                     -> 32-byte map key
  LotHead.value() / LotHead.parse(value)                      a lot's value, and back
  KeyState.value() / KeyState.parse(value)                    a signing key's value, and back
  encode_index_entry(IndexEntry) / decode_index_entry(bytes)  the log entry, and back
  is_index_entry(bytes)                                       the header test every reader uses
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidEvent
from .model.canonical import canonical_json, wire_json

__all__ = [
    "INDEX_HEADER",
    "IndexEntry",
    "KeyState",
    "LotHead",
    "decode_index_entry",
    "encode_index_entry",
    "is_index_entry",
    "key_map_key",
    "lot_map_key",
    "value_hash",
]

INDEX_HEADER = b"farmtrace/index/v1\n"
LOT_DOMAIN = b"farmtrace/index/v1/lot\n"
KEY_DOMAIN = b"farmtrace/index/v1/key\n"
MAX_INDEX_ENTRY = 256  # bytes: the header, five small fields and a newline fit in far less
MAX_VALUE = 1024  # bytes of a map value (a lot code and a party id are short)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


def lot_map_key(code: str) -> bytes:
    """The map key of lot `code`: SHA-256(b"farmtrace/index/v1/lot\\n" ‖ UTF-8 code)."""
    return hashlib.sha256(LOT_DOMAIN + code.encode()).digest()


def key_map_key(key_id: str) -> bytes:
    """The map key of signing key `key_id` (16 hex): SHA-256(b"farmtrace/index/v1/key\\n" ‖ key id)."""
    return hashlib.sha256(KEY_DOMAIN + key_id.encode("ascii")).digest()


def value_hash(value: bytes) -> bytes:
    """SHA-256 of a map value's bytes: what the map's leaf commits to."""
    return hashlib.sha256(value).digest()


def _fail(field: str, message: str) -> InvalidEvent:
    return InvalidEvent(f"index.{field}" if field else "index", message)


def _object(text: bytes, fields: set[str], optional: set[str] = frozenset(), *, what: str) -> dict[str, Any]:
    """The JSON object in `text` with exactly `fields` (plus any of `optional`); InvalidEvent otherwise."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            raise _fail("", f"{what} repeats a member")
        return obj

    try:
        obj = json.loads(text.decode("utf-8"), object_pairs_hook=pairs)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, InvalidEvent):
            raise
        raise _fail("", f"{what} is not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise _fail("", f"{what} is a JSON object")
    if not fields <= obj.keys() <= fields | optional:
        raise _fail("", f"{what} has exactly the members {', '.join(sorted(fields | optional))}")
    return obj


def _count(obj: dict[str, Any], name: str) -> int:
    v = obj[name]
    if type(v) is not int or not 0 <= v < 1 << 53:
        raise _fail(name, f"expected a whole number from 0 to 2^53 - 1, found {v!r}")
    return v


def _text(obj: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str:
    v = obj[name]
    if not isinstance(v, str) or not v or (pattern is not None and not pattern.fullmatch(v)):
        raise _fail(name, f"expected {pattern.pattern if pattern else 'a non-empty string'}, found {v!r}")
    return v


def _b64(obj: dict[str, Any], name: str) -> bytes:
    v = obj[name]
    try:
        raw = base64.b64decode(v, validate=True) if isinstance(v, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32 or base64.b64encode(raw).decode() != v:
        raise _fail(name, f"expected the standard base64 of 32 bytes, found {v!r}")
    return raw


def _canonical(parsed: bytes, text: bytes, what: str) -> None:
    if parsed != text:
        raise _fail("", f"{what} is not in its canonical form (RFC 8785): expected {parsed!r}")


@dataclass(frozen=True)
class LotHead:
    """A lot's value: `count` accepted events name it (as input or output), the latest being `head`."""

    lot: str
    count: int
    head: str

    def map_key(self) -> bytes:
        return lot_map_key(self.lot)

    def value(self) -> bytes:
        """RFC 8785 JSON {"count", "head", "lot"}."""
        # ASCII keys, a small integer and strings: orjson's sorted output is RFC 8785 (model/canonical.py)
        return wire_json({"count": self.count, "head": self.head, "lot": self.lot})

    @classmethod
    def parse(cls, value: bytes) -> LotHead:
        """The LotHead of canonical `value`; InvalidEvent for anything else."""
        obj = _object(value[:MAX_VALUE], {"count", "head", "lot"}, what="a lot head")
        head = cls(_text(obj, "lot"), _count(obj, "count"), _text(obj, "head", _HEX64))
        _canonical(head.value(), value, "the lot head")
        return head


@dataclass(frozen=True)
class KeyState:
    """A signing key's value: whose it is, the entry (index and event time) that put it on record,
    and the one that revoked it (None while it is active)."""

    key_id: str
    party: str
    public_key: bytes
    registered: int
    registered_at: str
    revoked: int | None = None
    revoked_at: str | None = None

    def map_key(self) -> bytes:
        return key_map_key(self.key_id)

    def value(self) -> bytes:
        """RFC 8785 JSON of the members above; `revoked` and `revoked_at` only once revoked."""
        obj: dict[str, Any] = {
            "key_id": self.key_id,
            "party": self.party,
            "public_key": base64.b64encode(self.public_key).decode(),
            "registered": self.registered,
            "registered_at": self.registered_at,
        }
        if self.revoked is not None:
            obj |= {"revoked": self.revoked, "revoked_at": self.revoked_at}
        return canonical_json(obj)

    @classmethod
    def parse(cls, value: bytes) -> KeyState:
        """The KeyState of canonical `value`; InvalidEvent for anything else."""
        fields = {"key_id", "party", "public_key", "registered", "registered_at"}
        obj = _object(value[:MAX_VALUE], fields, {"revoked", "revoked_at"}, what="a key state")
        if ("revoked" in obj) != ("revoked_at" in obj):
            raise _fail("revoked", "revoked and revoked_at come together")
        revoked = "revoked" in obj
        state = cls(
            _text(obj, "key_id", _KEY_ID),
            _text(obj, "party"),
            _b64(obj, "public_key"),
            _count(obj, "registered"),
            _text(obj, "registered_at"),
            _count(obj, "revoked") if revoked else None,
            _text(obj, "revoked_at") if revoked else None,
        )
        _canonical(state.value(), value, "the key state")
        return state


@dataclass(frozen=True)
class IndexEntry:
    """An index entry: at ledger index `size`, the map root of the state after entries [0, size),
    how many lot and key leaves the map holds, and `time`, when the keeper committed it (POSIX
    seconds). Equality is that of the state committed (size, root, lots, keys): a state recomputed
    by replaying the log (`time` 0, unknown) equals the entry that committed it; the times are
    checked apart (trace/index_audit.py)."""

    size: int
    root: bytes
    lots: int
    keys: int
    time: int = field(default=0, compare=False)


def is_index_entry(entry: bytes) -> bool:
    """True if `entry` claims to be an index entry (its first line is farmtrace/index/v1)."""
    return entry[: len(INDEX_HEADER)] == INDEX_HEADER


def encode_index_entry(entry: IndexEntry) -> bytes:
    """The log entry of `entry` (format in the module docstring)."""
    if len(entry.root) != 32:
        raise _fail("root", f"a map root is 32 bytes, found {len(entry.root)}")
    body = {
        "keys": entry.keys,
        "lots": entry.lots,
        "root": base64.b64encode(entry.root).decode(),
        "size": entry.size,
        "time": entry.time,
    }
    return INDEX_HEADER + canonical_json(body) + b"\n"


def decode_index_entry(entry: bytes) -> IndexEntry:
    """The IndexEntry of `entry`, which must be exactly `encode_index_entry`'s output for it.
    Raises InvalidEvent (field "index" or "index.<member>") otherwise."""
    if not isinstance(entry, bytes) or len(entry) > MAX_INDEX_ENTRY:
        raise _fail("", f"an index entry is bytes, at most {MAX_INDEX_ENTRY}")
    if not is_index_entry(entry) or not entry.endswith(b"\n") or entry.count(b"\n") != 2:
        raise _fail("", "expected two lines: farmtrace/index/v1, then the JSON object")
    body = entry[len(INDEX_HEADER) : -1]
    obj = _object(body, {"keys", "lots", "root", "size", "time"}, what="an index entry")
    parsed = IndexEntry(
        _count(obj, "size"), _b64(obj, "root"), _count(obj, "lots"), _count(obj, "keys"), _count(obj, "time")
    )
    _canonical(encode_index_entry(parsed), entry, "the index entry")
    return parsed
