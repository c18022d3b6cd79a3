"""The head index's state, folded from log entries: which lot heads and key states entries change.

The head index (trace/head_index.py, docs/index.md) is a function of the log alone. Every entry of
the log that is not an index entry is an accepted event (the write path appends nothing else), so:

  - each lot an event names (as an input or an output; once per event) gets `count + 1` and the
    event as its `head`;
  - party.register puts each of its keys on record, party.key_add its key, at the event's ledger
    index and event time (`registered`, `registered_at`); party.key_revoke sets `revoked` and
    `revoked_at` of its key. The rules refuse a second key with an id already on record and a
    second revocation, so a key is registered once and revoked at most once.

`fold_entries` reads entries in log order and returns the changed values (`IndexChanges`); the
values before it are asked of `previous` (the stored values for the server, a dict for the replay).
`MemoryIndex` keeps a whole index in memory (`MemoryNodes`): the replay audit recomputes every
committed root with it, and tests compare the stored index with it.

The events are read with the plain JSON parser, not the strict one (`decode_entry`): an entry in
the log was decoded strictly when it was admitted (and the replay decodes it strictly before this
runs), and the index needs five of its fields. Keeping the index is on the write path's budget
(bench/index_bench.py): the fold reads each entry once and hashes each lot code once. The keeper
runs its fast twin (trace/index_fold.py), which answers as this one does; this one is the model
and the tests' oracle, and the replay's fold.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from farmtrace.ledger.map_update import update_map_batched
from farmtrace.ledger.verifiable_map import EMPTY, MemoryNodes

from .head_index import IndexEntry, KeyState, LotHead, is_index_entry, key_map_key, lot_map_key, value_hash
from .model.encoding import event_id

__all__ = ["IndexChanges", "MemoryIndex", "fold_entries"]

# previous(map keys) -> {map key: stored value bytes} for those that have one
Previous = Callable[[Collection[bytes]], Mapping[bytes, bytes]]


@dataclass
class IndexChanges:
    """What a run of entries changed: the new value of each lot and key they touched, and how many
    of them are new leaves (a lot or key the index did not hold)."""

    lots: dict[str, LotHead] = field(default_factory=dict)
    keys: dict[str, KeyState] = field(default_factory=dict)
    new_lots: int = 0
    new_keys: int = 0
    lot_keys: dict[str, bytes] = field(default_factory=dict)  # lot code -> map key, computed once

    def values(self) -> dict[bytes, bytes]:
        """{map key: value bytes} of every changed leaf."""
        keyed = self.lot_keys
        out = {keyed.get(code) or lot_map_key(code): head.value() for code, head in self.lots.items()}
        out.update({key_map_key(kid): state.value() for kid, state in self.keys.items()})
        return out

    def map_changes(self, values: Mapping[bytes, bytes] | None = None) -> dict[bytes, bytes | None]:
        """{map key: value hash}: what `update_map_batched` is given."""
        return {k: value_hash(v) for k, v in (values if values is not None else self.values()).items()}


@dataclass(frozen=True)
class _Seen:
    """The fields of one event the index needs."""

    index: int
    id: str
    kind: str
    time: str
    lots: tuple[str, ...]
    detail: dict


def _read(index: int, entry: bytes) -> _Seen:
    canonical = entry.split(b"\n", 2)[1]  # an accepted event's entry: header, event, signature
    wire = orjson.loads(canonical)
    lots = dict.fromkeys(r["lot"] for part in ("inputs", "outputs") for r in wire.get(part, ()))
    return _Seen(
        index, event_id(canonical), wire["kind"], wire["event_time"], tuple(lots), wire.get("detail") or {}
    )


def _registered(seen: _Seen) -> list[tuple[str, str, bytes]]:
    """(key id, party, public key) of each key the event puts on record."""
    d = seen.detail
    if seen.kind == "party.register":
        party = d["party"]
        return [(k["key_id"], party["id"], base64.b64decode(k["public_key"])) for k in party["keys"]]
    if seen.kind == "party.key_add":
        return [(d["key_id"], d["party_id"], base64.b64decode(d["public_key"]))]
    return []


def fold_entries(first_index: int, entries: Iterable[bytes], previous: Previous) -> IndexChanges:
    """The values changed by `entries` (at `first_index`, `first_index + 1`, ...), in log order,
    over the values `previous` gives. Index entries are skipped. Raises ValueError (or KeyError)
    for an entry that is not an accepted event's (a revocation of a key not on record)."""
    seen = [_read(i, e) for i, e in enumerate(entries, first_index) if not is_index_entry(e)]
    lots = {code: lot_map_key(code) for s in seen for code in s.lots}
    revoked = {s.detail["key_id"] for s in seen if s.kind == "party.key_revoke"}
    old = previous([*lots.values(), *(key_map_key(k) for k in revoked)])
    changes = IndexChanges(lot_keys=lots)
    counts: dict[str, list] = {}  # code -> [count, head], turned into LotHeads at the end
    for code, map_key in lots.items():
        stored = old.get(map_key)
        if stored is None:
            counts[code] = [0, ""]
            changes.new_lots += 1
        else:
            head = LotHead.parse(stored)
            counts[code] = [head.count, head.head]
    for s in seen:
        for code in s.lots:
            c = counts[code]
            c[0] += 1
            c[1] = s.id
    _fold_keys(seen, old, changes)
    changes.lots = {code: LotHead(code, c[0], c[1]) for code, c in counts.items()}
    return changes


def _fold_keys(seen: Iterable[_Seen], old: Mapping[bytes, bytes], changes: IndexChanges) -> None:
    """Put the key states `seen` (in log order) registers and revokes into `changes`; `old` holds
    the stored state of each key revoked."""
    keys = changes.keys
    for s in seen:
        for key_id, party, public in _registered(s):
            keys[key_id] = KeyState(key_id, party, public, s.index, s.time)
            changes.new_keys += 1
        if s.kind == "party.key_revoke":
            kid = s.detail["key_id"]
            state = keys.get(kid) or KeyState.parse(old[key_map_key(kid)])
            keys[kid] = KeyState(
                kid, state.party, state.public_key, state.registered, state.registered_at, s.index, s.time
            )


class MemoryIndex:
    """A whole head index in memory: its map's nodes, its values and its leaf counts."""

    def __init__(self) -> None:
        self.nodes = MemoryNodes()
        self.values: dict[bytes, bytes] = {}
        self.lots = 0
        self.keys = 0
        self.root = EMPTY

    def previous(self, map_keys: Collection[bytes]) -> dict[bytes, bytes]:
        got = self.values
        return {k: got[k] for k in map_keys if k in got}

    def fold(self, first_index: int, entries: Iterable[bytes]) -> bytes:
        """Apply `entries` (from `first_index`) and return the new root."""
        changes = fold_entries(first_index, entries, self.previous)
        values = changes.values()
        self.root = update_map_batched(self.nodes, changes.map_changes(values))
        self.values.update(values)
        self.lots += changes.new_lots
        self.keys += changes.new_keys
        return self.root

    def entry(self, size: int) -> IndexEntry:
        """The index entry this state makes at ledger index `size`."""
        return IndexEntry(size=size, root=self.root, lots=self.lots, keys=self.keys)
