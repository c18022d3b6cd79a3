"""ledger/verifiable_map.py: the compact sparse Merkle tree, against its definition (`map_root`).

Exhaustive small maps over keys that share long prefixes (so leaves sit deep and move up when a
neighbour leaves), Hypothesis histories of sets and deletes (the stored nodes always equal those of
the same map built at once), proofs of presence and absence for every key, and bit flips.
"""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.verifiable_map import (
    EMPTY,
    MapProof,
    MapProofError,
    MemoryNodes,
    Other,
    check_key,
    map_leaf_hash,
    map_node_hash,
    map_root,
    prove_key,
    update_map,
)


def key(*bits: int) -> bytes:
    """A key whose first bits are `bits`, the rest zero."""
    n = 0
    for b in bits:
        n = n << 1 | b
    n <<= 256 - len(bits)
    return n.to_bytes(32, "big")


def vh(tag: object) -> bytes:
    return hashlib.sha256(repr(tag).encode()).digest()


# Eight keys: the 3-bit prefixes, so every shape of a depth-3 tree occurs; plus two keys that
# share 255 bits (the deepest split there is).
SMALL = [key(a, b, c) for a, b, c in itertools.product((0, 1), repeat=3)]
TWINS = [bytes(31) + b"\x00", bytes(31) + b"\x01"]


def stored(items: dict[bytes, bytes]) -> MemoryNodes:
    store = MemoryNodes()
    update_map(store, items)
    return store


def test_the_definition_by_hand() -> None:
    a, b, c = key(0, 0), key(0, 1), key(1)
    assert map_root({}) == EMPTY
    assert map_root({a: vh(1)}) == map_leaf_hash(a, vh(1))  # one key: its leaf is the root
    assert map_root({a: vh(1), b: vh(2)}) == map_node_hash(  # both on the left: an empty right half
        map_node_hash(map_leaf_hash(a, vh(1)), map_leaf_hash(b, vh(2))), EMPTY
    )
    assert map_root({a: vh(1), c: vh(3)}) == map_node_hash(map_leaf_hash(a, vh(1)), map_leaf_hash(c, vh(3)))
    deep = map_root({TWINS[0]: vh(0), TWINS[1]: vh(1)})
    h = map_node_hash(map_leaf_hash(TWINS[0], vh(0)), map_leaf_hash(TWINS[1], vh(1)))
    for _ in range(255):
        h = map_node_hash(h, EMPTY)
    assert deep == h


@pytest.mark.parametrize("size", range(0, 9))
def test_every_small_map_stores_its_root_and_proves_every_key(size: int) -> None:
    for chosen in itertools.combinations(SMALL, size):
        items = {k: vh(k) for k in chosen}
        store = MemoryNodes()
        root = update_map(store, items)
        assert root == map_root(items)
        for k in SMALL:
            value, proof = prove_key(store, k)
            assert value == items.get(k)
            check_key(root, k, value, proof)
            with pytest.raises(MapProofError):  # and never the opposite answer
                check_key(root, k, None if value is not None else vh("x"), proof)


def test_every_small_map_reached_by_any_order_of_changes_is_the_same_store() -> None:
    for size in range(0, 5):
        for chosen in itertools.combinations(SMALL + TWINS, size):
            want = stored({k: vh(k) for k in chosen}).nodes
            store = stored({k: vh(k) for k in SMALL + TWINS})  # everything, then remove the rest
            update_map(store, {k: None for k in SMALL + TWINS if k not in chosen})
            assert store.nodes == want, chosen


changes = st.dictionaries(
    st.sampled_from(SMALL + TWINS + [vh(i) for i in range(12)]),
    st.one_of(st.none(), st.integers(0, 3).map(vh)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(changes, max_size=12))
def test_a_history_of_changes_keeps_the_map_and_its_proofs(history: list[dict]) -> None:
    store, items = MemoryNodes(), {}
    for change in history:
        root = update_map(store, change)
        for k, v in change.items():
            if v is None:
                items.pop(k, None)
            else:
                items[k] = v
        assert root == map_root(items)
        assert store.nodes == stored(items).nodes  # canonical: no stale node left behind
    for k in SMALL + TWINS + [vh(i) for i in range(12)]:
        value, proof = prove_key(store, k)
        assert value == items.get(k)
        check_key(map_root(items), k, value, proof)


def test_an_empty_change_answers_the_root() -> None:
    store = stored({k: vh(k) for k in SMALL[:3]})
    assert update_map(store, {}) == map_root({k: vh(k) for k in SMALL[:3]})
    assert update_map(MemoryNodes(), {}) == EMPTY


def _flips(proof: MapProof):
    for i, s in enumerate(proof.siblings):
        raw = bytearray(EMPTY if s is None else s)
        for byte in (0, 31):
            raw[byte] ^= 1
            yield MapProof((*proof.siblings[:i], bytes(raw), *proof.siblings[i + 1 :]), proof.other)
            raw[byte] ^= 1
    if proof.siblings:
        yield MapProof(proof.siblings[1:], proof.other)  # a level dropped
        yield MapProof((*proof.siblings, None), proof.other)  # a level added
    if proof.other is not None:
        yield MapProof(proof.siblings, Other(proof.other.key, vh("forged")))
        yield MapProof(proof.siblings, None)


def test_every_bit_flip_in_a_proof_is_refused() -> None:
    items = {k: vh(k) for k in SMALL[:5] + TWINS}
    store, root = MemoryNodes(), map_root(items)
    update_map(store, items)
    for k in SMALL + TWINS:
        value, proof = prove_key(store, k)
        for bad in _flips(proof):
            with pytest.raises((MapProofError, MalformedError)):
                check_key(root, k, value, bad)
        if value is not None:
            with pytest.raises(MapProofError):
                check_key(root, k, vh("another value"), proof)


def test_a_proof_of_absence_cannot_show_the_key_itself_or_a_leaf_off_its_path() -> None:
    items = {SMALL[0]: vh(0), SMALL[4]: vh(4)}
    store, root = stored(items), map_root(items)
    _, proof = prove_key(store, SMALL[1])  # absent; its path ends at SMALL[0]'s leaf
    assert proof.other == Other(SMALL[0], vh(0))
    check_key(root, SMALL[1], None, proof)
    with pytest.raises(MapProofError):
        check_key(root, SMALL[0], None, proof)  # the key itself: it is there
    with pytest.raises(MapProofError):
        check_key(root, SMALL[5], None, MapProof(proof.siblings, Other(SMALL[0], vh(0))))  # off its path


def test_malformed_keys_and_proofs_are_refused() -> None:
    with pytest.raises(MalformedError):
        update_map(MemoryNodes(), {b"short": vh(1)})
    with pytest.raises(MalformedError):
        update_map(MemoryNodes(), {SMALL[0]: b"short"})
    with pytest.raises(MalformedError):
        check_key(EMPTY, SMALL[0], None, MapProof((None,) * 257))
    with pytest.raises(MalformedError):
        check_key(EMPTY, SMALL[0], None, MapProof((b"\x00" * 31,)))


def test_a_thousand_keys_sit_about_log2_deep() -> None:
    items = {vh(i): vh(-i) for i in range(1000)}
    store, root = stored(items), map_root(items)
    depths = []
    for i in range(0, 1000, 50):
        value, proof = prove_key(store, vh(i))
        check_key(root, vh(i), value, proof)
        depths.append(len(proof.siblings))
    assert 8 <= sum(depths) / len(depths) <= 14
