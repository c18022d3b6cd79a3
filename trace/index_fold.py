"""The head index's fold, made fast for the keeper's hook (speed work, fenced).

`fold_entries_fast(first_index, entries, previous)` returns what `index_state.fold_entries` returns
for the same arguments (an equal `IndexChanges`); `fold_entries` stays the plain model and the
oracle of the tests (tests/trace/test_index_fold.py compares the two on generated histories). The
keeper runs this one inside the log's write transaction, where every microsecond per event is paid
by ingest (bench/README.md, "head index", has the A/B figures).

What it saves: one pass over the entries with no object per event; a lot's count in the run is
added to its stored count (counts add, and the head is the run's last event naming it), so the
stored values are asked for once, after the pass; a stored lot head is read with orjson and
accepted only if it re-encodes to the very bytes stored (anything else goes to the strict
`LotHead.parse`); a lot head's value bytes are built without a dict to sort. Only the few key
events (party.register, party.key_add, party.key_revoke) are read as the plain fold reads them.

Refusing nothing new and accepting nothing new: if anything in an entry is not as an accepted
event's entry is (a missing member, a wrong type), the whole run is folded again by the plain
`fold_entries`, which raises what it raises or returns its answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson

from .head_index import INDEX_HEADER, LotHead, key_map_key, lot_map_key
from .index_state import IndexChanges, Previous, _fold_keys, _Seen, fold_entries

__all__ = ["change_values", "fold_entries_fast", "lot_value"]

_KEY_KINDS = frozenset({"party.register", "party.key_add", "party.key_revoke"})
_HEADER = len(INDEX_HEADER)


def lot_value(code: str, count: int, head: str) -> bytes:
    """`LotHead(code, count, head).value()`: RFC 8785 {"count", "head", "lot"}, keys in order."""
    return b'{"count":%d,"head":"%s","lot":%s}' % (count, head.encode("ascii"), orjson.dumps(code))


def change_values(changes: IndexChanges) -> dict[bytes, bytes]:
    """`changes.values()`, with the lot heads' bytes built by `lot_value`."""
    keyed = changes.lot_keys
    out = {
        keyed.get(code) or lot_map_key(code): lot_value(code, h.count, h.head)
        for code, h in changes.lots.items()
    }
    out.update({key_map_key(kid): state.value() for kid, state in changes.keys.items()})
    return out


def fold_entries_fast(first_index: int, entries: Iterable[bytes], previous: Previous) -> IndexChanges:
    """`fold_entries(first_index, entries, previous)`, faster (module docstring)."""
    entries = entries if isinstance(entries, list) else list(entries)
    try:
        return _fold(first_index, entries, previous)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return fold_entries(first_index, entries, previous)


def _fold(first_index: int, entries: list[bytes], previous: Previous) -> IndexChanges:
    # 1. One pass: per lot, how many events of the run name it and the last one; the key events.
    runs: dict[str, list] = {}  # lot code -> [events naming it, the last one's id]
    keyed: list[_Seen] = []
    loads, sha256 = orjson.loads, hashlib.sha256
    for index, entry in enumerate(entries, first_index):
        if entry[:_HEADER] == INDEX_HEADER:
            continue
        canonical = entry.split(b"\n", 2)[1]
        wire = loads(canonical)
        kind = wire["kind"]
        named = [r["lot"] for r in wire.get("inputs", ())] + [r["lot"] for r in wire.get("outputs", ())]
        if kind in _KEY_KINDS:
            keyed.append(_Seen(index, "", kind, wire["event_time"], (), wire.get("detail") or {}))
        if not named:
            continue
        event = sha256(canonical).hexdigest()
        for code in dict.fromkeys(named) if len(named) > 1 else named:
            run = runs.get(code)
            if run is None:
                runs[code] = [1, event]
            else:
                run[0] += 1
                run[1] = event
    # 2. The stored values of the lots named and the keys revoked, in one ask.
    lot_keys = {code: lot_map_key(code) for code in runs}
    revoked = [s.detail["key_id"] for s in keyed if s.kind == "party.key_revoke"]
    old = previous([*lot_keys.values(), *(key_map_key(k) for k in revoked)])
    # 3. The new values.
    changes = IndexChanges(lot_keys=lot_keys)
    lots = changes.lots
    for code, (count, head) in runs.items():
        stored = old.get(lot_keys[code])
        if stored is None:
            changes.new_lots += 1
        else:
            count += _stored_count(stored)
        lots[code] = LotHead(code, count, head)
    _fold_keys(keyed, old, changes)
    return changes


def _stored_count(stored: bytes) -> int:
    """The count of a stored lot head (read fast when it re-encodes to its own bytes)."""
    obj = orjson.loads(stored)
    count, head, lot = obj.get("count"), obj.get("head"), obj.get("lot")
    fast = (
        type(count) is int and type(head) is str and type(lot) is str and len(obj) == 3 and lot
        and 0 <= count < 1 << 53 and len(head) == 64 and all(c in "0123456789abcdef" for c in head)
        and lot_value(lot, count, head) == stored
    )  # fmt: skip
    return count if fast else LotHead.parse(stored).count
