"""The verifiable map's update, made fast for the head index's write path (speed work, fenced).

`update_map_batched(store, changes)` has `verifiable_map.update_map`'s contract exactly: it sets each
key of `changes` to its value hash (None removes the key), writes every changed position once at the
end and returns the new root; it leaves the store holding the same nodes at the same positions as
`update_map` would (tests/ledger/test_map_update.py compares the two, and both with `map_root`).
`update_map` stays the plain model a reader learns the map from; this is the one the keeper runs.

What makes it faster (bench/README.md, "head index", has the A/B figures):

  1. reads: the nodes the update needs (the changed keys' paths and their siblings) are read one
     level of the tree at a time, one `get_nodes` per level (about 20 per update), where the plain
     walk asks the store once per node it descends into (about three queries per ingested event);
  2. the walk: keys are held as integers in one sorted list; a subtree is a range of that list, split
     with `bisect` on the integer that starts its right half; positions are built from the integer
     prefix; nodes are hashed with one `hashlib.sha256(...)` call; no per-node objects.

Positions, hashing and the stored node forms are verifiable_map's (its docstring is the definition).

`StagedNodes(store)` is a `NodeStore` whose writes stay in memory until they are written out: the
keeper computes most of an update outside the log's write transaction (readers of the stored map
must keep seeing the nodes of the committed root meanwhile), and writes the staged nodes inside it.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping

from .verifiable_map import EMPTY, KEY_SIZE, NodeStore, _check_key

__all__ = ["StagedNodes", "update_map_batched"]

_BITS = KEY_SIZE * 8
_sha256 = hashlib.sha256


def _pos(depth: int, prefix: int) -> bytes:
    """`verifiable_map.position` of the subtree at `depth` whose keys start with the `depth` bits of
    `prefix`: depth (2 bytes, big-endian), then the bits, left-aligned in whole bytes."""
    return depth.to_bytes(2, "big") + (prefix << (-depth & 7)).to_bytes((depth + 7) >> 3, "big")


def _hash(node: bytes | None) -> bytes:
    if node is None:
        return EMPTY
    if len(node) == 64:
        return _sha256(b"\x00" + node).digest()  # leaf(key, value hash): 0x00 ‖ key ‖ value hash
    return node


class _Update:
    """One update: the sorted changes as integers, the nodes read, the nodes to write."""

    def __init__(self, store: NodeStore, items: list[tuple[bytes, bytes | None]]) -> None:
        self.store = store
        self.keys = [k for k, _ in items]
        self.ints = [int.from_bytes(k, "big") for k in self.keys]
        self.hashes = [vh for _, vh in items]
        self.read: dict[bytes, bytes | None] = {}
        self.written: dict[bytes, bytes | None] = {}
        self.halves: dict[bytes, tuple[bytes, bytes, int]] = {}  # internal node read -> children, split

    # 1. Read the paths level by level.
    def load(self) -> None:
        top = _pos(0, 0)
        self.read[top] = self.store.get_nodes([top]).get(top)
        frontier = [(0, 0, len(self.ints), top)]  # (depth, lo, hi, position) of changed subtrees
        ints, read, halves = self.ints, self.read, self.halves
        while frontier:
            wanted: list[bytes] = []
            below = []
            for depth, lo, hi, pos in frontier:
                node = read[pos]
                if node is None or len(node) == 64:
                    continue  # nothing stored under an empty subtree or a leaf
                shift = _BITS - 1 - depth
                prefix = (ints[lo] >> shift) & ~1
                left, right = _pos(depth + 1, prefix), _pos(depth + 1, prefix | 1)
                split = bisect_left(ints, (prefix | 1) << shift, lo, hi)
                halves[pos] = (left, right, split)
                wanted += (left, right)
                if split > lo:
                    below.append((depth + 1, lo, split, left))
                if split < hi:
                    below.append((depth + 1, split, hi, right))
            if wanted:
                got = self.store.get_nodes(wanted)
                for p in wanted:
                    read[p] = got.get(p)
            frontier = below

    # 2. Compute bottom-up over what was read.
    def update(self, depth: int, lo: int, hi: int, pos: bytes) -> bytes | None:
        """The node now at `pos` (depth `depth`, holding changes[lo:hi]); writes below it."""
        node = self.read[pos]
        if node is None or len(node) == 64:
            leaves = {} if node is None else {node[:32]: node[32:]}
            for i in range(lo, hi):
                vh = self.hashes[i]
                if vh is None:
                    leaves.pop(self.keys[i], None)
                else:
                    leaves[self.keys[i]] = vh
            items = sorted(leaves.items())
            keys = [k for k, _ in items]
            ints = [int.from_bytes(k, "big") for k in keys]
            return self._build(depth, keys, ints, [v for _, v in items], 0, len(items))
        left_pos, right_pos, split = self.halves[pos]
        left = self.update(depth + 1, lo, split, left_pos) if split > lo else self.read[left_pos]
        right = self.update(depth + 1, split, hi, right_pos) if split < hi else self.read[right_pos]
        return self._join(left_pos, left, right_pos, right)

    def _join(
        self, left_pos: bytes, left: bytes | None, right_pos: bytes, right: bytes | None
    ) -> bytes | None:
        """The node above `left` and `right`; the children's positions written as they change."""
        if left is None:
            if right is None or len(right) == 64:  # empty, or one leaf left: it moves up
                result, right = right, None
            else:
                result = _sha256(b"\x01" + EMPTY + right).digest()
        elif right is None:
            if len(left) == 64:
                result, left = left, None
            else:
                result = _sha256(b"\x01" + left + EMPTY).digest()
        else:
            lh = _sha256(b"\x00" + left).digest() if len(left) == 64 else left
            rh = _sha256(b"\x00" + right).digest() if len(right) == 64 else right
            result = _sha256(b"\x01" + lh + rh).digest()
        # A position never read lies under a subtree that held one key at most: empty in the store.
        read = self.read
        if read.get(left_pos) != left:
            self.written[left_pos] = left
        if read.get(right_pos) != right:
            self.written[right_pos] = right
        return result

    def _set(self, pos: bytes, node: bytes | None) -> None:
        if self.read.get(pos) != node:
            self.written[pos] = node

    def _build(
        self, depth: int, keys: list[bytes], ints: list[int], hashes: list[bytes], lo: int, hi: int
    ) -> bytes | None:
        """The node at `depth` of a subtree holding exactly keys[lo:hi] (sorted; nothing stored
        under it before); its nodes below are written."""
        if hi - lo <= 1:
            return keys[lo] + hashes[lo] if hi > lo else None
        shift = _BITS - 1 - depth
        prefix = (ints[lo] >> shift) & ~1
        split = bisect_left(ints, (prefix | 1) << shift, lo, hi)
        left = self._build(depth + 1, keys, ints, hashes, lo, split)
        right = self._build(depth + 1, keys, ints, hashes, split, hi)
        return self._join(_pos(depth + 1, prefix), left, _pos(depth + 1, prefix | 1), right)


class StagedNodes:
    """A `NodeStore` reading through to `store`, its writes kept in `staged` (position -> node, None:
    deleted) and shadowing the store's nodes, until the owner writes them (`store.put_nodes(staged)`).
    Updates applied to it one after the other leave in `staged` what they would have written in turn."""

    def __init__(self, store: NodeStore, staged: Mapping[bytes, bytes | None] | None = None) -> None:
        self.store = store
        self.staged: dict[bytes, bytes | None] = dict(staged or {})
        self.last_put: Mapping[bytes, bytes | None] = {}  # what the last put_nodes wrote

    def get_nodes(self, positions: Iterable[bytes]) -> dict[bytes, bytes]:
        staged, found, rest = self.staged, {}, []
        for p in positions:
            if p in staged:
                node = staged[p]
                if node is not None:
                    found[p] = node
            else:
                rest.append(p)
        if rest:
            found.update(self.store.get_nodes(rest))
        return found

    def put_nodes(self, nodes: Mapping[bytes, bytes | None]) -> None:
        self.staged.update(nodes)
        self.last_put = nodes


def update_map_batched(store: NodeStore, changes: Mapping[bytes, bytes | None]) -> bytes:
    """`verifiable_map.update_map`, reading the store a level at a time (module docstring). Returns
    the new root; MalformedError for a key or value hash that is not 32 bytes (nothing written)."""
    for key, vh in changes.items():
        _check_key(key)
        if vh is not None:
            _check_key(vh, "value hash")
    run = _Update(store, sorted(changes.items()))
    top = _pos(0, 0)
    if not changes:
        return _hash(store.get_nodes([top]).get(top))
    run.load()
    root = run.update(0, 0, len(run.ints), top)
    run._set(top, root)
    if run.written:
        store.put_nodes(run.written)
    return _hash(root)
