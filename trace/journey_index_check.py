"""Step 6 of `check_journey` (trace/verify_journey.py): the journey is complete, by the head index.

Issue 17 §2; the format is docs/index.md. Its twin is web/static/completeness.js (same checks, same
order, same reason codes). This reads the bytes the format defines; it shares no code with the
server's index (trace/head_index.py, trace/index_state.py), only the map proof check of
ledger/verifiable_map.py (whose JavaScript twin is web/static/vmap.js).

The journey's "index" section (trace/reads/journey_index.py) holds an index entry, proven in the
checkpoint, and for each lot and key a value (or null) with a map proof. In the order failures are
reported:

  a. the section is there, with its entry, lots and keys                          index.missing
     (nothing more is checked when it is not)
  b. the entry is b"farmtrace/index/v1\\n" ‖ RFC 8785 JSON {"keys", "lots",        index.entry
     "root" (std base64 of 32 bytes), "size", "time"} ‖ b"\\n", and `size` is its own
     ledger index N (it commits the state after entries [0, N))
  c. its inclusion proof leads to the checkpoint's root                           index.inclusion
     (nothing more is checked when b or c fails, or the checkpoint did not verify)
  c2. with an index age policy (`Freshness`): the entry is the latest, or near     index.stale
     enough: the checkpoint's size S is N + 1 (nothing after it), or W - time <=
     max age, W being the newest valid witness cosignature on the checkpoint (no
     witnesses: the reader's clock); a stale entry's outcome is "stale", and the
     checks below still run (docs/index.md §4 step 1b)
  d. for each lot of the lineage (sorted), then each key that signed an event     index.missing
     (sorted): an item is there; its value is null or a well-formed value for    index.proof
     that lot or key (a key's: the journey's public key and party), and its map
     proof leads from SHA-256 of the value's RFC 8785 bytes to the entry's root
  e. for each lineage lot whose item was proven (sorted): the journey's events    chain.hidden_tail
     at ledger indexes below N naming the lot are exactly `count` events, the
     latest being `head` (a null value: none)
  f. for each event signed by a key whose proven value has `revoked`, in order:   key.revoked
     the event's ledger index is not after `revoked` (the write path refuses
     every event of a revoked key from the moment its revocation is recorded,
     whatever time either states: trace/rules/check.py); a key proven absent
     while an indexed event is signed by it                                      index.missing

Events at ledger indexes N and above are checked as before (steps 3-5) and listed in the outcome
as recorded, not yet indexed; they are not failures.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from farmtrace.ledger.checkpoint import Checkpoint
from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.verifiable_map import MapProof, check_key

from .journey_entries import ParsedEntry, decode_b64, inclusion_failure, is_index

__all__ = ["Freshness", "IndexOutcome", "check_index"]

ENTRY_HEADER = b"farmtrace/index/v1\n"
LOT_DOMAIN = b"farmtrace/index/v1/lot\n"
KEY_DOMAIN = b"farmtrace/index/v1/key\n"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_KEY_FIELDS = {"key_id", "party", "public_key", "registered", "registered_at"}

Fail = Callable[..., None]
Events = list[tuple[int | None, ParsedEntry]]


@dataclass(frozen=True)
class IndexOutcome:
    """What step 6 found: `state` is "missing" (no index section), "unproven" (its entry did not
    parse or is not proven), "stale" (proven, but older than the age policy allows: a later entry
    may exist), "complete" (every event is indexed) or "pending" (events at ledger index `size` and
    above, `unindexed`, are recorded but not yet indexed); with failures in the report the journey
    is not verified whatever the state."""

    state: str
    size: int | None = None
    unindexed: tuple[int, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {"state": self.state, "size": self.size, "unindexed": list(self.unindexed)}


@dataclass(frozen=True)
class Freshness:
    """The index age policy of step c2: an entry may be at most `max_age` seconds older than `at`
    (POSIX seconds), the newest valid witness cosignature on the checkpoint (`witnessed`) or, with
    none, the reader's clock."""

    max_age: int
    at: int
    witnessed: bool


def _whole(v: object) -> bool:
    return is_index(v)


def _hash32(text: object) -> bytes | None:
    raw = decode_b64(text)
    return raw if raw is not None and len(raw) == 32 else None


def parse_index_entry(entry: bytes) -> dict[str, Any] | None:
    """Step b: the entry's JSON object (size, root as bytes, lots, keys, time), or None."""
    if not entry.startswith(ENTRY_HEADER) or not entry.endswith(b"\n") or entry.count(b"\n") != 2:
        return None
    body = entry[len(ENTRY_HEADER) : -1]
    try:
        obj = json.loads(body.decode("utf-8"))
        if not isinstance(obj, dict) or rfc8785.dumps(obj) != body:
            return None
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError, rfc8785.CanonicalizationError):
        return None
    if sorted(obj) != ["keys", "lots", "root", "size", "time"]:
        return None
    if not all(_whole(obj[k]) for k in ("keys", "lots", "size", "time")):
        return None
    root = _hash32(obj["root"])
    return {**obj, "root": root} if root is not None else None


def _value_hash(value: dict[str, Any]) -> bytes | None:
    try:
        return hashlib.sha256(rfc8785.dumps(value)).digest()
    except (TypeError, ValueError, RecursionError, rfc8785.CanonicalizationError):
        return None


def _lot_value_ok(value: object, code: str) -> bool:
    return (
        isinstance(value, dict)
        and sorted(value) == ["count", "head", "lot"]
        and _whole(value["count"])
        and isinstance(value["head"], str)
        and _HEX64.fullmatch(value["head"]) is not None
        and value["lot"] == code
    )


def _key_value_ok(value: object, kid: str, key: object) -> bool:
    if not isinstance(value, dict):
        return False
    revoked = "revoked" in value
    if set(value) != (_KEY_FIELDS | {"revoked", "revoked_at"} if revoked else _KEY_FIELDS):
        return False
    # The journey's own copy of the key, when it has one (key.unknown names it when it has none).
    key = key if isinstance(key, dict) else {}
    return (
        value["key_id"] == kid
        and _KEY_ID.fullmatch(kid) is not None
        and isinstance(value["party"], str)
        and value["party"] == key.get("party", value["party"])
        and _hash32(value["public_key"]) is not None
        and value["public_key"] == key.get("public_key", value["public_key"])
        and _whole(value["registered"])
        and isinstance(value["registered_at"], str)
        and (not revoked or (_whole(value["revoked"]) and isinstance(value["revoked_at"], str)))
    )


def _proven(root: bytes, map_key: bytes, item: object, well_formed: Callable[[object], bool]) -> bool:
    """Step d for one item: a null or well-formed value whose map proof leads to `root`."""
    if not isinstance(item, dict) or sorted(item) != ["proof", "value"]:
        return False
    value = item["value"]
    if value is not None and not well_formed(value):
        return False
    vh = _value_hash(value) if value is not None else None
    if value is not None and vh is None:
        return False
    try:
        check_key(root, map_key, vh, MapProof.from_wire(item["proof"]))
    except LedgerError:
        return False
    return True


def lineage_of(target: str, events: Events) -> list[str]:
    """The lot and every lot it was made from, as step 5c walks it (the first creator of each)."""
    creator: dict[str, ParsedEntry] = {}
    for _, p in events:
        for out in p.event["outputs"]:
            creator.setdefault(out["lot"], p)
    lineage: list[str] = []
    queue = [target]
    while queue:
        code = queue.pop(0)
        if code in lineage:
            continue
        lineage.append(code)
        if code in creator:
            queue.extend(ref["lot"] for ref in creator[code].event["inputs"])
    return sorted(lineage)


def check_index(
    journey: Mapping[str, Any],
    target: str,
    events: Events,
    cp: Checkpoint | None,
    fail: Fail,
    fresh: Freshness | None = None,
) -> IndexOutcome:
    """Step 6 (module docstring) over the events that parsed (with their ledger index); step c2
    only given `fresh`."""
    section = journey.get("index")
    # a. The section.
    if not isinstance(section, dict) or not all(
        isinstance(section.get(k), dict) for k in ("entry", "lots", "keys")
    ):
        fail("index.missing", "the journey carries no head index: its completeness is not proven")
        return IndexOutcome("missing")
    # b. The entry, at its own index.
    item = section["entry"]
    at = item.get("index") if is_index(item.get("index")) else None
    entry = decode_b64(item.get("entry"))
    parsed = parse_index_entry(entry) if entry is not None else None
    if parsed is None or parsed["size"] != at:
        fail("index.entry", f"the index entry at index {at} is not a well-formed index entry there", index=at)
        return IndexOutcome("unproven")
    # c. Proven in the checkpoint.
    if cp is None:
        return IndexOutcome("unproven")
    if inclusion_failure(item, entry, cp) is not None:
        fail("index.inclusion", f"the index entry at index {at} is not proven in the checkpoint", index=at)
        return IndexOutcome("unproven")
    size, root = parsed["size"], parsed["root"]
    stale = fresh is not None and not _fresh(size, parsed["time"], cp.size, fresh, fail)
    lots, keys = _check_items(section, journey.get("keys"), target, events, root, fail)
    _check_tails(lots, size, events, fail)
    _check_revoked(keys, size, events, fail)
    unindexed = tuple(at for at, _ in events if at is not None and at >= size)
    return IndexOutcome("stale" if stale else "pending" if unindexed else "complete", size, unindexed)


def _fresh(size: int, time: int, cp_size: int, fresh: Freshness, fail: Fail) -> bool:
    """Step c2: the entry at `size`, committed at `time`, is the log's last before the checkpoint,
    or at most `fresh.max_age` seconds older than `fresh.at`."""
    if cp_size == size + 1 or fresh.at - time <= fresh.max_age:
        return True
    against = "the newest witness cosignature" if fresh.witnessed else "this reader's clock (no witness)"
    fail(
        "index.stale",
        f"the index entry at index {size} was committed at {time}, {fresh.at - time} s before {against} at "
        f"{fresh.at}, more than the {fresh.max_age} s allowed, and {cp_size - size - 1} entries follow it: "
        "a later index entry may exist, so the journey's completeness is not proven",
        index=size,
    )
    return False


def _check_items(
    section: dict[str, Any], keys: object, target: str, events: Events, root: bytes, fail: Fail
) -> tuple[dict[str, dict | None], dict[str, dict | None]]:
    """Step d: {lot: proven value or None}, {key id: proven value or None} of the items that check."""
    keys = keys if isinstance(keys, dict) else {}
    lots: dict[str, dict | None] = {}
    for code in lineage_of(target, events):
        item = section["lots"].get(code)
        if item is None:
            fail("index.missing", f"the head index's item for lot {code} is missing", lot=code)
        elif not _proven(
            root,
            hashlib.sha256(LOT_DOMAIN + code.encode()).digest(),
            item,
            lambda v, c=code: _lot_value_ok(v, c),
        ):
            fail("index.proof", f"lot {code}: the head index's value is not proven by its root", lot=code)
        else:
            lots[code] = item["value"]
    proven: dict[str, dict | None] = {}
    for kid in sorted({p.event["key_id"] for _, p in events}):
        item = section["keys"].get(kid)
        if item is None:
            fail("index.missing", f"the head index's item for key {kid} is missing", key=kid)
        elif not _KEY_ID.fullmatch(kid) or not _proven(
            root,
            hashlib.sha256(KEY_DOMAIN + kid.encode()).digest(),
            item,
            lambda v, k=kid: _key_value_ok(v, k, keys.get(k)),
        ):
            fail("index.proof", f"key {kid}: the head index's value is not proven by its root", key=kid)
        else:
            proven[kid] = item["value"]
    return lots, proven


def _check_tails(lots: dict[str, dict | None], size: int, events: Events, fail: Fail) -> None:
    """Step e: below the index, each lot's events in the journey are exactly its indexed chain."""
    for code in sorted(lots):
        value = lots[code]
        mine = [
            (at, p.id)
            for at, p in events
            if at is not None
            and at < size
            and any(r["lot"] == code for r in (*p.event["inputs"], *p.event["outputs"]))
        ]
        count, head = (value["count"], value["head"]) if value is not None else (0, None)
        last = max(mine)[1] if mine else None
        if len(mine) != count or last != head:
            fail(
                "chain.hidden_tail",
                f"lot {code}: the index holds {count} events ending at {head}, the journey {len(mine)} "
                f"ending at {last} below index {size}",
                lot=code,
            )


def _check_revoked(keys: dict[str, dict | None], size: int, events: Events, fail: Fail) -> None:
    """Step f: no event signed by a key after the key's revocation was recorded."""
    for at, p in events:
        kid = p.event["key_id"]
        if kid not in keys or at is None:
            continue
        value = keys[kid]
        if value is None:
            if at < size:
                fail(
                    "index.missing",
                    f"key {kid} signed the event at index {at} but the index holds no such key",
                    index=at,
                    key=kid,
                )
        elif "revoked" in value and at > value["revoked"]:
            fail(
                "key.revoked",
                f"the event at index {at} is signed by key {kid}, revoked at index {value['revoked']}",
                index=at,
                key=kid,
            )
