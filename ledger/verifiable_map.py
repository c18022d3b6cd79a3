"""A verifiable map: a compact sparse Merkle tree over 256-bit keys (docs/index.md).

The log proves that an entry is in it; a map proves what a key maps to *now*, or that it maps to
nothing. farmtrace's head index (trace/) is such a map: a lot's latest event, a key's state. The
maths only: it knows nothing of lots; its nodes live in a store the caller passes in (`NodeStore`).

Hashing (SHA-256, domain-separated like RFC 9162 §2.1.1, and as in the compact sparse Merkle trees
of Diem's Jellyfish tree and Trillian's map):

  leaf(key, value_hash) = SHA-256(0x00 ‖ key ‖ value_hash)     key and value_hash: 32 bytes each
  node(left, right)     = SHA-256(0x01 ‖ left ‖ right)
  EMPTY                 = 32 zero bytes

Bit i of a key is bit (7 - i % 8) of byte i // 8 (most significant first); 0 goes left. The subtree
at depth d and prefix p holds the keys whose first d bits are p. It hashes to EMPTY if it holds no
key, to leaf(key, value_hash) if it holds exactly one (the leaf sits as high as it can), and to
node(left, right) of its two halves otherwise. The root is the subtree at depth 0.

A proof for a key is the list of sibling hashes from the deepest up (as RFC 9162's audit paths are)
along the key's path to the position where that path ends: at the key's own leaf (the key is in the
map), at an empty subtree, or at another key's leaf (`other`: its key and value hash). EMPTY
siblings are carried as None. `check_key` recomputes the root; nothing else is trusted.

  update_map(store, changes) -> root     set or delete keys (value_hash None deletes)
  prove_key(store, key)      -> (value_hash | None, MapProof)
  check_key(root, key, value_hash | None, proof) -> None, or raises MapProofError
  map_root(items)            -> root     the definition, from scratch (tests and small maps)
  MapProof.to_wire() / MapProof.from_wire(obj)   a proof as JSON (docs/index.md; web/static/vmap.js)
"""
# size: the map's definition, its stored update and its proofs with their wire form are one format
# (docs/index.md), read top to bottom beside its JavaScript twin (web/static/vmap.js).

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from .errors import MalformedError, VerificationError

__all__ = [
    "EMPTY",
    "KEY_SIZE",
    "REASONS",
    "MapProof",
    "MapProofError",
    "MemoryNodes",
    "NodeStore",
    "Other",
    "check_key",
    "map_leaf_hash",
    "map_node_hash",
    "map_root",
    "position",
    "prove_key",
    "update_map",
]

KEY_SIZE = 32
EMPTY = bytes(32)
MAX_DEPTH = 256
_LEAF = hashlib.sha256(b"\x00")
_NODE = hashlib.sha256(b"\x01")


# Why check_key refuses a proof, as codes (web/static/vmap.js returns the same ones, in the same order
# of checks); a proof that cannot be one at all (from_wire, a key of the wrong length) is "map.malformed".
REASONS = (
    "map.malformed",  # MalformedError: not a proof, or a key / value hash not 32 bytes
    "map.other_leaf",  # a value is claimed, but the proof ends at another key's leaf
    "map.same_key",  # a proof of absence ending at the key's own leaf: the key is in the map
    "map.off_path",  # a proof of absence ending at a leaf whose key is not on the key's path
    "map.root",  # the recomputed root is not the root
)


class MapProofError(VerificationError):
    """A map proof does not lead to the root it is checked against (or does not fit the key).
    `reason` is one of REASONS (not "map.malformed": that is a MalformedError)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def map_leaf_hash(key: bytes, value_hash: bytes) -> bytes:
    """SHA-256(0x00 ‖ key ‖ value_hash): the hash of the map's leaf for `key`."""
    h = _LEAF.copy()
    h.update(key)
    h.update(value_hash)
    return h.digest()


def map_node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of a subtree holding two keys or more."""
    h = _NODE.copy()
    h.update(left)
    h.update(right)
    return h.digest()


def bit(key: bytes, i: int) -> int:
    """Bit `i` of `key`, most significant first."""
    return (key[i >> 3] >> (7 - (i & 7))) & 1


def position(depth: int, key: bytes) -> bytes:
    """The storage name of the subtree at `depth` on `key`'s path: depth (2 bytes, big-endian) and
    the key's first `depth` bits (the last byte's unused bits zero)."""
    n, rest = divmod(depth, 8)
    head = key[:n]
    if rest:
        head += bytes([key[n] & (0xFF << (8 - rest)) & 0xFF])
    return depth.to_bytes(2, "big") + head


def _sibling_key(key: bytes, depth: int) -> bytes:
    """`key` with bit `depth - 1` flipped: a key on the path of the sibling of the subtree at `depth`."""
    i = depth - 1
    b = bytearray(key)
    b[i >> 3] ^= 1 << (7 - (i & 7))
    return bytes(b)


# A stored node is 32 bytes (a subtree of two keys or more: its hash) or 64 (a leaf: key ‖ value hash).


class NodeStore(Protocol):
    """Where a map's nodes live, by `position`. Absent positions are empty subtrees."""

    def get_nodes(self, positions: Iterable[bytes]) -> Mapping[bytes, bytes]: ...

    def put_nodes(self, nodes: Mapping[bytes, bytes | None]) -> None:
        """Write each node; None deletes the position."""
        ...


class MemoryNodes:
    """A `NodeStore` in a dict (tests, and the replay audit's recomputation)."""

    def __init__(self) -> None:
        self.nodes: dict[bytes, bytes] = {}

    def get_nodes(self, positions: Iterable[bytes]) -> Mapping[bytes, bytes]:
        got = self.nodes
        return {p: got[p] for p in positions if p in got}

    def put_nodes(self, nodes: Mapping[bytes, bytes | None]) -> None:
        for p, node in nodes.items():
            if node is None:
                self.nodes.pop(p, None)
            else:
                self.nodes[p] = node


def _hash_of(node: bytes | None) -> bytes:
    if node is None:
        return EMPTY
    if len(node) == 64:
        return map_leaf_hash(node[:32], node[32:])
    return node


def _check_key(key: bytes, what: str = "key") -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise MalformedError(f"a map {what} is {KEY_SIZE} bytes")


# --- the definition ------------------------------------------------------------------------------


def map_root(items: Mapping[bytes, bytes]) -> bytes:
    """The root of the map {key: value_hash}, computed from scratch by the definition above."""
    for key, vh in items.items():
        _check_key(key)
        _check_key(vh, "value hash")
    return _subtree(sorted(items.items()), 0)


def _subtree(items: list[tuple[bytes, bytes]], depth: int) -> bytes:
    if not items:
        return EMPTY
    if len(items) == 1:
        return map_leaf_hash(*items[0])
    split = next((i for i, (k, _) in enumerate(items) if bit(k, depth)), len(items))
    return map_node_hash(_subtree(items[:split], depth + 1), _subtree(items[split:], depth + 1))


# --- updating a stored map -----------------------------------------------------------------------


class _Nodes:
    """The store's nodes, read a level at a time and kept; what the update writes, gathered."""

    def __init__(self, store: NodeStore) -> None:
        self.store = store
        self.read: dict[bytes, bytes | None] = {}
        self.written: dict[bytes, bytes | None] = {}

    def fetch(self, positions: Iterable[bytes]) -> None:
        wanted = [p for p in set(positions) if p not in self.read]
        if wanted:
            got = self.store.get_nodes(wanted)
            for p in wanted:
                self.read[p] = got.get(p)

    def get(self, pos: bytes) -> bytes | None:
        if pos in self.written:
            return self.written[pos]
        if pos not in self.read:
            self.fetch([pos])
        return self.read[pos]

    def set(self, pos: bytes, node: bytes | None) -> None:
        # A position never read is one below a subtree that held one key at most: empty in the store.
        if pos in self.written or pos in self.read:
            if self.get(pos) != node:
                self.written[pos] = node
        elif node is not None:
            self.written[pos] = node


def update_map(store: NodeStore, changes: Mapping[bytes, bytes | None]) -> bytes:
    """Set each key of `changes` to its value hash (None: remove the key) and return the new root.
    The store is written once, at the end, with every changed position."""
    for key, vh in changes.items():
        _check_key(key)
        if vh is not None:
            _check_key(vh, "value hash")
    nodes = _Nodes(store)
    top = position(0, bytes(KEY_SIZE))
    if not changes:
        return _hash_of(nodes.get(top))
    root = _update(nodes, 0, sorted(changes.items()))
    nodes.set(top, root)
    store.put_nodes(nodes.written)
    return _hash_of(root)


def _update(nodes: _Nodes, depth: int, changes: list[tuple[bytes, bytes | None]]) -> bytes | None:
    """The node now at `depth` on the changed keys' common path (all of `changes` share their first
    `depth` bits), after applying `changes`; positions below are written into `nodes`, this one is
    left to the caller (a single leaf may move up)."""
    here = position(depth, changes[0][0])
    node = nodes.get(here)
    if node is None or len(node) == 64:
        leaves = {} if node is None else {node[:32]: node[32:]}
        for key, vh in changes:
            if vh is None:
                leaves.pop(key, None)
            else:
                leaves[key] = vh
        return _build(nodes, depth, sorted(leaves.items()))
    # A subtree of two keys or more: update the halves the changes fall in.
    split = next((i for i, (k, _) in enumerate(changes) if bit(k, depth)), len(changes))
    halves = (changes[:split], changes[split:])
    child_pos = _children(depth, changes[0][0])
    nodes.fetch(child_pos)
    new = [
        _update(nodes, depth + 1, half) if half else nodes.get(pos)
        for half, pos in zip(halves, child_pos, strict=True)
    ]
    return _join(nodes, child_pos, new)


def _children(depth: int, key: bytes) -> list[bytes]:
    """The positions of the two halves (left, right) of the subtree at `depth` on `key`'s path."""
    own, other = position(depth + 1, key), position(depth + 1, _sibling_key(key, depth + 1))
    return [own, other] if bit(key, depth) == 0 else [other, own]


def _join(nodes: _Nodes, child_pos: list[bytes], new: list[bytes | None]) -> bytes | None:
    """The node above two children `new` (at `child_pos`): empty, a leaf moved up, or a node."""
    left, right = new
    if left is None and right is None:
        result = None
    elif (left is None and len(right) == 64) or (right is None and len(left) == 64):  # type: ignore[arg-type]
        result = left if right is None else right
        nodes.set(child_pos[0], None)
        nodes.set(child_pos[1], None)
        return result
    else:
        result = map_node_hash(_hash_of(left), _hash_of(right))
    nodes.set(child_pos[0], left)
    nodes.set(child_pos[1], right)
    return result


def _build(nodes: _Nodes, depth: int, leaves: list[tuple[bytes, bytes]]) -> bytes | None:
    """The node at `depth` of a subtree that holds exactly `leaves` (sorted) and held at most one
    leaf before (so nothing below it is stored): written below, returned for this position."""
    if not leaves:
        return None
    if len(leaves) == 1:
        return leaves[0][0] + leaves[0][1]
    split = next((i for i, (k, _) in enumerate(leaves) if bit(k, depth)), len(leaves))
    child_pos = _children(depth, leaves[0][0])
    new = [_build(nodes, depth + 1, leaves[:split]), _build(nodes, depth + 1, leaves[split:])]
    return _join(nodes, child_pos, new)


# --- proofs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Other:
    """The leaf a key's path ends at when the key is not in the map but another key is there."""

    key: bytes
    value_hash: bytes


@dataclass(frozen=True)
class MapProof:
    """Sibling hashes from the deepest up (None for EMPTY), and the other key's leaf, if any.

    Its wire form (JSON; docs/index.md), what a journey carries and web/static/vmap.js reads:

      {"siblings": [<std base64 of 32 bytes> | null, ...],  at most 256, the deepest first; null: EMPTY
       "other": null | {"key": <std base64, 32 bytes>, "value_hash": <std base64, 32 bytes>}}
    """

    siblings: tuple[bytes | None, ...]
    other: Other | None = None

    def to_wire(self) -> dict[str, object]:
        """The proof as JSON (an EMPTY sibling, None or 32 zero bytes, is written null)."""
        other = self.other
        return {
            "siblings": [None if s is None or s == EMPTY else _b64(s) for s in self.siblings],
            "other": None
            if other is None
            else {"key": _b64(other.key), "value_hash": _b64(other.value_hash)},
        }

    @classmethod
    def from_wire(cls, obj: object) -> MapProof:
        """Parse the wire form strictly: exactly its two members, canonical standard base64 of 32
        bytes, EMPTY only as null, at most 256 siblings. MalformedError names the field otherwise."""
        _members(obj, ("other", "siblings"), "map proof")
        assert isinstance(obj, dict)
        siblings = obj["siblings"]
        if not isinstance(siblings, list) or len(siblings) > MAX_DEPTH:
            raise MalformedError(f"map proof.siblings is a list of at most {MAX_DEPTH} hashes")
        parsed: list[bytes | None] = []
        for i, s in enumerate(siblings):
            h = None if s is None else _hash32(s, f"map proof.siblings[{i}]")
            if h == EMPTY:
                raise MalformedError(f"map proof.siblings[{i}] is the empty subtree: write null")
            parsed.append(h)
        other = obj["other"]
        if other is not None:
            _members(other, ("key", "value_hash"), "map proof.other")
            assert isinstance(other, dict)
            other = Other(
                _hash32(other["key"], "map proof.other.key"),
                _hash32(other["value_hash"], "map proof.other.value_hash"),
            )
        return cls(tuple(parsed), other)


_STD_B64 = re.compile(r"[A-Za-z0-9+/]{43}=")  # 32 bytes: 43 characters and one "="


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def _hash32(text: object, field: str) -> bytes:
    """32 bytes from canonical standard base64 (what codec.js's b64encode writes, nothing else)."""
    if isinstance(text, str) and _STD_B64.fullmatch(text):
        h = base64.b64decode(text)
        if _b64(h) == text:  # the last character's two unused bits are zero
            return h
    raise MalformedError(f"{field} is not standard base64 of 32 bytes")


def _members(obj: object, names: tuple[str, ...], field: str) -> None:
    if not isinstance(obj, dict) or sorted(obj) != list(names):
        raise MalformedError(f"{field} is an object with exactly the members {', '.join(names)}")


PROVE_LEVELS = 24  # depths read per store query while walking down a proof's path


def prove_key(store: NodeStore, key: bytes) -> tuple[bytes | None, MapProof]:
    """What `key` maps to in the stored map (its value hash, or None) and the proof of it."""
    _check_key(key)
    siblings: list[bytes | None] = []
    got: Mapping[bytes, bytes] = {}
    depth = 0
    while True:
        if depth % PROVE_LEVELS == 0:
            span = range(depth, min(depth + PROVE_LEVELS, MAX_DEPTH) + 1)
            wanted = [position(d, key) for d in span] + [position(d, _sibling_key(key, d)) for d in span if d]
            got = store.get_nodes(wanted)
        node = got.get(position(depth, key))
        if node is None:
            return None, MapProof(tuple(reversed(siblings)))
        if len(node) == 64:
            if node[:32] == key:
                return node[32:], MapProof(tuple(reversed(siblings)))
            return None, MapProof(tuple(reversed(siblings)), Other(node[:32], node[32:]))
        if depth >= MAX_DEPTH:
            raise MalformedError("the stored map is deeper than its keys")
        depth += 1
        sib = got.get(position(depth, _sibling_key(key, depth)))
        siblings.append(None if sib is None else _hash_of(sib))


def check_key(root: bytes, key: bytes, value_hash: bytes | None, proof: MapProof) -> None:
    """Check that `key` maps to `value_hash` (None: to nothing) in the map whose root is `root`.
    Returns None or raises MapProofError (MalformedError for a proof that cannot be one)."""
    _check_key(key)
    if len(proof.siblings) > MAX_DEPTH:
        raise MalformedError(f"a map proof has at most {MAX_DEPTH} siblings")
    depth = len(proof.siblings)
    if value_hash is not None:
        _check_key(value_hash, "value hash")
        if proof.other is not None:
            raise MapProofError(
                "the proof shows another key's leaf where this key's should be", reason="map.other_leaf"
            )
        h = map_leaf_hash(key, value_hash)
    elif proof.other is None:
        h = EMPTY
    else:
        other = proof.other
        _check_key(other.key, "key")
        _check_key(other.value_hash, "value hash")
        if other.key == key:
            raise MapProofError("the proof shows the key itself, so it is in the map", reason="map.same_key")
        if position(depth, other.key) != position(depth, key):
            raise MapProofError("the other leaf is not on the key's path", reason="map.off_path")
        h = map_leaf_hash(other.key, other.value_hash)
    for i, sib in enumerate(proof.siblings):
        d = depth - 1 - i
        s = EMPTY if sib is None else sib
        if len(s) != 32:
            raise MalformedError("a map proof's sibling is 32 bytes")
        h = map_node_hash(s, h) if bit(key, d) else map_node_hash(h, s)
    if h != root:
        raise MapProofError("the map proof does not lead to the root", reason="map.root")
