"""The bytes that are hashed and signed, and the ledger entry that carries them.

Canonical event bytes (version 1) are the RFC 8785 (JCS) serialization of the object
{"v": 1, <the event's wire fields>}, where the fields are taken from an explicit list for the
version (`event.EVENT_FIELDS`), so a field added in a later version can never change an old event's hash.

    event id          = lowercase hex SHA-256(canonical)
    signing message   = b"farmtrace/event/v1\\n" ‖ canonical          (domain separation)
    signature         = Ed25519(private key, signing message)         (RFC 8032, 64 bytes)

A ledger entry (the opaque bytes appended to the Merkle log) is three lines, each ending in LF:

    farmtrace/entry/v1
    <canonical event bytes, verbatim>
    <standard base64, with padding, of the 64-byte signature>

JCS escapes every control character inside strings and puts no white space between tokens, so the
canonical bytes never contain LF and the entry splits unambiguously: `split_entry` is the one
splitter (`decode_entry` = `split_entry` + `decode_event`). The entry carries the signed
bytes verbatim (nothing to re-canonicalize before checking a signature, in Python or in a browser),
stays readable, and gives the event id as SHA-256 of its second line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..crypto import verify_ed25519
from ..errors import InvalidEvent, SignatureRefused
from .canonical import wire_json
from .event import ENTRY_OVERHEAD, EVENT_FIELDS, MAX_EVENT_BYTES, Event
from .ids import key_id_for

__all__ = [
    "ENCODING_VERSION",
    "ENTRY_HEADER",
    "SIGNATURE_SIZE",
    "SIGNING_PREFIX",
    "SignedEvent",
    "decode_entry",
    "decode_event",
    "encode_entry",
    "encode_event",
    "event_id",
    "sign_event",
    "signing_message",
    "split_entry",
    "verify_signed_event",
]

ENCODING_VERSION = 1
SIGNING_PREFIX = b"farmtrace/event/v1\n"
ENTRY_HEADER = b"farmtrace/entry/v1"
SIGNATURE_SIZE = 64



@dataclass(frozen=True)
class SignedEvent:
    """An event with its canonical bytes, its Ed25519 signature over `signing_message(canonical)`, its id."""

    canonical: bytes
    signature: bytes
    event: Event
    id: str


def encode_event(event: Event) -> bytes:
    """Return the canonical version-1 bytes of `event` (RFC 8785 JSON of {"v": 1, ...fields}).

    The event is re-validated first (`Event.from_wire(event.to_wire()) == event`), so hand-built
    events cannot bypass the parser's checks. Raises InvalidEvent if it does not validate or if
    the bytes would exceed MAX_EVENT_BYTES.
    """
    wire = event.to_wire()
    if Event.from_wire(wire) != event:
        raise InvalidEvent("event", "does not survive a round trip through its wire form")
    return _encode(wire)


def _encode(wire: dict[str, Any]) -> bytes:
    extra = set(wire) - set(EVENT_FIELDS)
    if extra:  # a field added to the model without a new encoding version
        raise InvalidEvent(sorted(extra)[0], f"is not a field of encoding version {ENCODING_VERSION}")
    obj: dict[str, Any] = {"v": ENCODING_VERSION}
    obj.update((name, wire[name]) for name in EVENT_FIELDS if name in wire)
    data = wire_json(obj)
    if len(data) > MAX_EVENT_BYTES:
        raise InvalidEvent("event", f"encodes to {len(data)} bytes, more than the limit of {MAX_EVENT_BYTES}")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise InvalidEvent(key, "appears twice in the same object")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise InvalidEvent("event", f"{name} is not JSON")


def decode_event(data: bytes) -> Event:
    """Parse canonical version-1 event bytes back into an Event.

    Strict: the bytes must be UTF-8 JSON of an object with "v": 1 and a valid event, and must be
    exactly the bytes `encode_event` would produce (re-encoded and compared), so white space, key
    order, escapes and duplicate keys are all refused. Raises InvalidEvent.
    """
    if not isinstance(data, bytes):
        raise InvalidEvent("event", f"expected bytes, found {type(data).__name__}")
    if len(data) > MAX_EVENT_BYTES:
        raise InvalidEvent("event", f"is {len(data)} bytes, more than the limit of {MAX_EVENT_BYTES}")
    # Fast path: a plain parse, accepted only if the bytes are exactly the event's encoding. Byte
    # equality also rules out what the strict parse below refuses by name (duplicate keys, NaN):
    # an encoding never contains them. Anything else takes the strict path for its precise error.
    #
    # The parse is faithful: for every wire form `from_wire` accepts, `to_wire()` gives it back
    # (tests/trace/test_events.py checks it on every kind and on Hypothesis-mutated forms). So the
    # event's encoding is the canonical JSON of what the bytes parsed to, and that is compared
    # instead of rebuilding the wire form. An accepted form holds no numbers but "v" and only ASCII
    # keys, the subset `wire_json` writes exactly.
    try:
        obj = orjson.loads(data)
        if type(obj) is dict and obj.get("v") == ENCODING_VERSION and type(obj["v"]) is int:
            del obj["v"]
            event = Event.from_wire_unsized(obj)
            obj["v"] = ENCODING_VERSION
            if wire_json(obj) == data:
                return event
    except (InvalidEvent, UnicodeDecodeError, ValueError, TypeError, RecursionError):
        pass
    return _decode_strict(data)


def _decode_strict(data: bytes) -> Event:
    try:
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except InvalidEvent:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: also huge integers
        raise InvalidEvent("event", f"is not UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise InvalidEvent("event", "expected a JSON object")
    version = obj.pop("v", None)
    if type(version) is not int or version != ENCODING_VERSION:
        raise InvalidEvent("v", f"expected encoding version {ENCODING_VERSION}, found {version!r}")
    event = Event.from_wire(obj)
    if _encode(event.to_wire()) != data:
        raise InvalidEvent("event", "is not in canonical form (RFC 8785); re-encode it and sign those bytes")
    return event


def event_id(canonical: bytes) -> str:
    """Return the event id: lowercase hex SHA-256 of the canonical event bytes."""
    return hashlib.sha256(canonical).hexdigest()


def signing_message(canonical: bytes) -> bytes:
    """Return the bytes an Ed25519 key signs: b"farmtrace/event/v1\\n" followed by the canonical bytes."""
    return SIGNING_PREFIX + canonical


def encode_entry(canonical: bytes, signature: bytes) -> bytes:
    """Return the ledger entry for a signed event (format in the module docstring).

    Raises InvalidEvent if `signature` is not 64 bytes or `canonical` contains a newline (it cannot
    be canonical then). The bytes are not re-parsed here: `decode_entry` is the strict side.
    """
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidEvent("sig", f"an Ed25519 signature is {SIGNATURE_SIZE} bytes, found {len(signature)}")
    if b"\n" in canonical:
        raise InvalidEvent("event", "canonical event bytes never contain a newline")
    return b"%s\n%s\n%s\n" % (ENTRY_HEADER, canonical, base64.b64encode(signature))


def split_entry(entry: bytes) -> tuple[bytes, bytes]:
    """Split a ledger entry into (canonical event bytes, 64-byte signature), without parsing the event.

    The entry must be exactly b"farmtrace/entry/v1\\n" ‖ canonical ‖ b"\\n" ‖ base64(signature) ‖ b"\\n",
    the base64 standard, padded and canonical for 64 bytes. The canonical bytes are returned as
    they are: `decode_event` is the strict parse of them. Raises InvalidEvent ("entry" or "sig").
    """
    if not isinstance(entry, bytes) or len(entry) > MAX_EVENT_BYTES + ENTRY_OVERHEAD:
        raise InvalidEvent("entry", "expected bytes of at most the event size limit plus the signature")
    lines = entry.split(b"\n")
    if len(lines) != 4 or lines[3] != b"" or lines[0] != ENTRY_HEADER:
        raise InvalidEvent("entry", "expected three lines: farmtrace/entry/v1, the event, base64(signature)")
    canonical, sig_text = lines[1], lines[2]
    try:
        signature = base64.b64decode(sig_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEvent("sig", "expected standard base64 with padding") from exc
    if len(signature) != SIGNATURE_SIZE or base64.b64encode(signature) != sig_text:
        raise InvalidEvent("sig", f"expected the canonical base64 of a {SIGNATURE_SIZE}-byte signature")
    return canonical, signature


def decode_entry(entry: bytes) -> SignedEvent:
    """Parse a ledger entry into a SignedEvent (canonical bytes, signature, event, id).

    `split_entry`, then `decode_event` of the canonical bytes. It does not check the signature
    (that needs the party's key: `verify_signed_event`). Raises InvalidEvent.
    """
    canonical, signature = split_entry(entry)
    return SignedEvent(
        canonical=canonical, signature=signature, event=decode_event(canonical), id=event_id(canonical)
    )


def sign_event(event: Event, private_key: Ed25519PrivateKey) -> SignedEvent:
    """Encode `event` and sign it with `private_key`.

    Raises InvalidEvent(field="key_id") if the event's key_id is not the id of this key's public
    half, and whatever `encode_event` raises.
    """
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if key_id_for(public) != event.key_id:
        raise InvalidEvent(
            "key_id", f"the signing key's id is {key_id_for(public)}, the event names {event.key_id}"
        )
    canonical = encode_event(event)
    signature = private_key.sign(signing_message(canonical))
    return SignedEvent(canonical=canonical, signature=signature, event=event, id=event_id(canonical))


def verify_signed_event(signed: SignedEvent, public_key: bytes) -> None:
    """Check that `signed` is internally consistent and that `public_key` (32 raw bytes) signed it.

    1. the key is 32 bytes and its id is the event's key_id;
    2. the canonical bytes are the event's encoding and hash to the id;
    3. the Ed25519 signature verifies over signing_message(canonical).
    Returns None or raises SignatureRefused.
    """
    # 1. The key must be the one the event names: a valid signature by another key is no proof.
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise SignatureRefused("an Ed25519 public key is 32 raw bytes")
    if key_id_for(public_key) != signed.event.key_id:
        raise SignatureRefused(
            f"the event names key {signed.event.key_id} but the key offered has id {key_id_for(public_key)}"
        )
    # 2. The parts must agree, or a caller could pair a verified signature with another event.
    try:
        consistent = encode_event(signed.event) == signed.canonical
    except InvalidEvent as exc:
        raise SignatureRefused(f"the event does not encode: {exc}") from exc
    if not consistent or event_id(signed.canonical) != signed.id:
        raise SignatureRefused("the signed bytes, the event and the event id do not agree")
    # 3. RFC 8032 Ed25519 over the domain-separated message.
    try:
        verify_ed25519(public_key, signed.signature, signing_message(signed.canonical))
    except SignatureRefused as exc:
        raise SignatureRefused(
            f"the signature of event {signed.id} does not verify with key {signed.event.key_id}"
        ) from exc
