"""ledger/verifiable_map.py: the compact sparse Merkle tree, against its definition (`map_root`).

Exhaustive small maps over keys that share long prefixes (so leaves sit deep and move up when a
neighbour leaves), Hypothesis histories of sets and deletes (the stored nodes always equal those of
the same map built at once), proofs of presence and absence for every key, and bit flips.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.verifiable_map import (
    EMPTY,
    REASONS,
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


# --- the wire form ---------------------------------------------------------------------------------


def _every_proof(items: dict[bytes, bytes], keys: list[bytes]):
    store = stored(items)
    for k in keys:
        yield k, *prove_key(store, k)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(SMALL + TWINS + [vh(i) for i in range(12)]), st.integers(0, 3).map(vh))
)
def test_the_wire_form_round_trips_and_still_checks(items: dict[bytes, bytes]) -> None:
    root = map_root(items)
    for k, value, proof in _every_proof(items, SMALL + TWINS + [vh(i) for i in range(12)]):
        wire = json.loads(json.dumps(proof.to_wire()))
        assert MapProof.from_wire(wire) == proof
        assert MapProof.from_wire(wire).to_wire() == wire
        check_key(root, k, value, MapProof.from_wire(wire))


def test_the_wire_form_by_hand() -> None:
    items = {SMALL[0]: vh(0), SMALL[1]: vh(1), SMALL[4]: vh(4)}
    _, proof = prove_key(stored(items), SMALL[2])  # absent: its path ends at an empty subtree
    assert proof.to_wire() == {
        "siblings": [
            base64.b64encode(
                map_node_hash(map_leaf_hash(SMALL[0], vh(0)), map_leaf_hash(SMALL[1], vh(1)))
            ).decode(),
            base64.b64encode(map_leaf_hash(SMALL[4], vh(4))).decode(),
        ],
        "other": None,
    }
    _, proof = prove_key(stored(items), SMALL[5])  # absent: its path ends at SMALL[4]'s leaf
    assert proof.to_wire()["other"] == {
        "key": base64.b64encode(SMALL[4]).decode(),
        "value_hash": base64.b64encode(vh(4)).decode(),
    }
    assert MapProof((EMPTY, None)).to_wire() == {"siblings": [None, None], "other": None}


B64_ZERO = base64.b64encode(EMPTY).decode()
B64_ONE = base64.b64encode(vh(1)).decode()


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (None, "map proof is an object"),
        ([], "map proof is an object"),
        ({"siblings": []}, "map proof is an object with exactly the members other, siblings"),
        ({"siblings": [], "other": None, "depth": 0}, "exactly the members other, siblings"),
        ({"siblings": "", "other": None}, "map proof.siblings is a list"),
        ({"siblings": [None] * 257, "other": None}, "at most 256"),
        ({"siblings": [B64_ONE, 7], "other": None}, r"map proof.siblings\[1\] is not standard base64"),
        ({"siblings": [B64_ONE[:-1]], "other": None}, r"siblings\[0\] is not standard base64"),
        ({"siblings": [B64_ONE[:-2] + "B="], "other": None}, r"siblings\[0\] is not standard base64"),
        ({"siblings": [B64_ONE.replace("+", "-").replace("/", "_")], "other": None}, "base64"),
        ({"siblings": [" " + B64_ONE], "other": None}, "base64"),
        ({"siblings": [base64.b64encode(bytes(31)).decode()], "other": None}, "32 bytes"),
        ({"siblings": [base64.b64encode(bytes(33)).decode()], "other": None}, "32 bytes"),
        ({"siblings": [B64_ZERO], "other": None}, r"siblings\[0\] is the empty subtree: write null"),
        (
            {"siblings": [], "other": {"key": B64_ONE}},
            "map proof.other is an object with exactly the members key, value_hash",
        ),
        ({"siblings": [], "other": []}, "map proof.other is an object"),
        (
            {"siblings": [], "other": {"key": B64_ONE, "value_hash": None}},
            "map proof.other.value_hash is not",
        ),
        ({"siblings": [], "other": {"key": "AAAA", "value_hash": B64_ONE}}, "map proof.other.key is not"),
    ],
)
def test_the_wire_form_is_parsed_strictly(wire: object, field: str) -> None:
    with pytest.raises(MalformedError, match=field):
        MapProof.from_wire(wire)


def _flipped_wires(wire: dict):
    """The wire proof with one bit flipped in each hash it carries, one at a time (every bit of the first
    and last byte, and bit 0 of every other byte)."""

    def flips(text: str):
        raw = bytearray(base64.b64decode(text))
        for byte in range(32):
            for b in range(8) if byte in (0, 31) else (0,):
                raw[byte] ^= 1 << b
                yield base64.b64encode(bytes(raw)).decode()
                raw[byte] ^= 1 << b

    for i, s in enumerate(wire["siblings"]):
        for bad in flips(B64_ZERO if s is None else s):
            yield {**wire, "siblings": [*wire["siblings"][:i], bad, *wire["siblings"][i + 1 :]]}
    if wire["other"] is not None:
        for name in ("key", "value_hash"):
            for bad in flips(wire["other"][name]):
                yield {**wire, "other": {**wire["other"], name: bad}}


def _verdict(root: bytes, k: bytes, value: bytes | None, wire: object) -> str | None:
    try:
        check_key(root, k, value, MapProof.from_wire(wire))
    except MalformedError:
        return "map.malformed"
    except MapProofError as e:
        assert e.reason in REASONS
        return e.reason
    return None


def test_every_bit_flip_in_a_wire_proof_is_refused() -> None:
    items = {k: vh(k) for k in SMALL[:5] + TWINS}
    root = map_root(items)
    for k, value, proof in _every_proof(items, SMALL + TWINS):
        wire = proof.to_wire()
        assert _verdict(root, k, value, wire) is None
        for bad in _flipped_wires(wire):
            assert _verdict(root, k, value, bad) in ("map.root", "map.off_path", "map.same_key")


def test_each_refusal_has_its_reason() -> None:
    items = {SMALL[0]: vh(0), SMALL[4]: vh(4)}
    store, root = stored(items), map_root(items)
    _, absent = prove_key(store, SMALL[1])  # ends at SMALL[0]'s leaf
    _, present = prove_key(store, SMALL[0])
    assert _verdict(root, SMALL[1], vh(1), absent.to_wire()) == "map.other_leaf"
    assert _verdict(root, SMALL[0], None, absent.to_wire()) == "map.same_key"
    assert _verdict(root, SMALL[5], None, absent.to_wire()) == "map.off_path"
    assert _verdict(root, SMALL[0], vh(9), present.to_wire()) == "map.root"
    assert _verdict(root, SMALL[0][:31], vh(0), present.to_wire()) == "map.malformed"
    assert _verdict(root, SMALL[0], vh(0)[:31], present.to_wire()) == "map.malformed"
    assert _verdict(root, SMALL[0], vh(0), {"siblings": None, "other": None}) == "map.malformed"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50) | st.sampled_from([B64_ONE, B64_ZERO]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["siblings", "other", "key", "value_hash", "x"]), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_from_wire_raises_only_its_own_error(wire: object) -> None:
    try:
        proof = MapProof.from_wire(wire)
    except MalformedError:
        return
    assert proof.to_wire() == wire  # what it accepts, it writes back the same
