"""The entries and proofs of a journey, as `check_journey` (trace/verify_journey.py) reads them.

A journey (GET /lots/{code}/journey) carries each event and each key's registration as a ledger
entry in base64, with its index and inclusion proof. These are the pieces both steps 3 (keys) and
4 (events) of the check use, each answering None (or False) instead of raising, because the check
collects every failure rather than stopping at the first:

  decode_b64        strict standard base64 with padding, as verify.js accepts it
  is_index          an int a JavaScript number holds exactly (a ledger index)
  parse_entry       step 4a: the entry's three lines, RFC 8785 JSON and the fields the checks use
  registers         step 3c: whether an event is the party.register or party.key_add of a key
  inclusion_failure step 4d (and 3d): whether the entry is proven in the checkpoint (RFC 9162)

verify.js has the same pieces (codec.js's `b64decode`, `isIndex`, `parseEntry`, `registers`,
`inclusion`); a change here is a change there, and tests/web/test_journey_checks.py runs both over
the same tampered journeys.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from farmtrace.ledger.checkpoint import Checkpoint
from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.hashing import HASH_SIZE, leaf_hash
from farmtrace.ledger.merkle import check_inclusion

from .errors import InvalidEvent
from .model.encoding import ENCODING_VERSION, event_id, split_entry

__all__ = ["ParsedEntry", "decode_b64", "inclusion_failure", "is_index", "parse_entry", "registers"]


@dataclass(frozen=True)
class ParsedEntry:
    """An entry that passed step 4a: its canonical bytes, signature, id and event object."""

    canonical: bytes
    signature: bytes
    id: str
    event: dict[str, Any]


_STRICT_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")  # codec.js's STRICT_B64


def decode_b64(text: object) -> bytes | None:
    """Strict standard base64 with padding (what codec.js's b64decode accepts, no more), else None.

    Python's `b64decode(validate=True)` alone also takes padding after a whole quantum ("0000==",
    "0000===="), which atob refuses: the pattern keeps the two twins to one language."""
    if not isinstance(text, str) or len(text) % 4 or not _STRICT_B64.fullmatch(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def is_index(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**53  # what a JavaScript number holds exactly


def parse_entry(entry: bytes) -> ParsedEntry | None:
    """Step 4a: the entry's three lines (`encoding.split_entry`), canonical JSON (RFC 8785) and the
    fields the checks use. None if any of it fails."""
    try:
        canonical, signature = split_entry(entry)
    except InvalidEvent:
        return None
    try:
        obj = json.loads(canonical.decode("utf-8"))
        if not isinstance(obj, dict) or rfc8785.dumps(obj) != canonical:
            return None
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError, rfc8785.CanonicalizationError):
        return None
    if type(obj.get("v")) is not int or obj["v"] != ENCODING_VERSION:
        return None
    if not all(isinstance(obj.get(k), str) for k in ("kind", "party", "key_id")):
        return None
    inputs, outputs = obj.get("inputs"), obj.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        return None
    for ref in inputs:
        follows = ref.get("follows") if isinstance(ref, dict) else None
        if not isinstance(ref, dict) or not isinstance(ref.get("lot"), str) or not isinstance(follows, list):
            return None
        if not all(isinstance(f, str) for f in follows):
            return None
    if not all(isinstance(o, dict) and isinstance(o.get("lot"), str) for o in outputs):
        return None
    return ParsedEntry(canonical=canonical, signature=signature, id=event_id(canonical), event=obj)


def registers(event: dict[str, Any], *, party: str, key_id: str, public_key: str) -> bool:
    """Step 3c: whether `event` is the party.register or party.key_add that records this key."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return False
    if event["kind"] == "party.register":
        record = detail.get("party")
        if (
            not isinstance(record, dict)
            or record.get("id") != party
            or not isinstance(record.get("keys"), list)
        ):
            return False
        return any(
            isinstance(k, dict) and k.get("key_id") == key_id and k.get("public_key") == public_key
            for k in record["keys"]
        )
    if event["kind"] == "party.key_add":
        return (
            detail.get("party_id") == party
            and detail.get("key_id") == key_id
            and detail.get("public_key") == public_key
        )
    return False


def inclusion_failure(item: Mapping[str, Any], entry: bytes, cp: Checkpoint) -> str | None:
    """Step 4d (and 3d): None if the entry is proven in `cp`, else "leaf" or "invalid"."""
    leaf = leaf_hash(entry)
    if decode_b64(item.get("leaf_hash")) != leaf:
        return "leaf"
    index, proof = item.get("index"), item.get("proof")
    if not is_index(index) or not isinstance(proof, list):
        return "invalid"
    hashes = [decode_b64(p) for p in proof]
    if any(h is None or len(h) != HASH_SIZE for h in hashes):
        return "invalid"
    try:
        check_inclusion(hashes, index=index, leaf=leaf, size=cp.size, root=cp.root)
    except LedgerError:
        return "invalid"
    return None
