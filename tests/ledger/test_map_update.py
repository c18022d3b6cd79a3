"""ledger/map_update.py: the batched update against the plain one (`update_map`, the oracle) and the
definition (`map_root`).

Every history is applied to two stores, one with `update_map` and one with `update_map_batched`;
after each step the roots are equal to each other and to `map_root`, and the stores hold the same
nodes at the same positions. Keys are drawn from small sets sharing long prefixes (leaves sit deep
and move up when a neighbour leaves), exhaustively for the 3-bit shapes and by Hypothesis; the SQL
store (trace/store/index_store.py) is covered in tests/trace/test_index_keeper.py.
"""

from __future__ import annotations

import hashlib
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.map_update import _pos, update_map_batched
from farmtrace.ledger.verifiable_map import EMPTY, MemoryNodes, map_root, position, update_map


def key(*bits: int) -> bytes:
    n = 0
    for b in bits:
        n = n << 1 | b
    return (n << (256 - len(bits))).to_bytes(32, "big")


def vh(tag: object) -> bytes:
    return hashlib.sha256(repr(tag).encode()).digest()


SMALL = [key(*bits) for bits in itertools.product((0, 1), repeat=3)]
DEEP = [bytes(31) + bytes([i]) for i in range(4)] + [b"\xff" * 32, b"\x7f" + b"\xff" * 31]
POOL = SMALL + DEEP


class Twins:
    """One history applied by both updates, checked after every step."""

    def __init__(self) -> None:
        self.plain, self.batched, self.model = MemoryNodes(), MemoryNodes(), {}

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        root = update_map(self.plain, changes)
        assert update_map_batched(self.batched, changes) == root
        for k, v in changes.items():
            if v is None:
                self.model.pop(k, None)
            else:
                self.model[k] = v
        assert root == map_root(self.model)
        assert self.batched.nodes == self.plain.nodes


def test_positions_are_those_of_the_definition() -> None:
    rng = random.Random(7)
    for depth in range(257):
        for k in (bytes(32), b"\xff" * 32, rng.randbytes(32)):
            assert _pos(depth, int.from_bytes(k, "big") >> (256 - depth)) == position(depth, k)


@pytest.mark.parametrize("size", range(0, 9))
def test_every_small_map_built_at_once_then_emptied_one_key_at_a_time(size: int) -> None:
    for chosen in itertools.combinations(SMALL + DEEP[:2], size):
        twins = Twins()
        twins.apply({k: vh(k) for k in chosen})
        for k in chosen:
            twins.apply({k: None})
        assert twins.batched.nodes == {}


def test_every_small_map_grown_one_key_at_a_time_in_every_order() -> None:
    for order in itertools.permutations(SMALL[:5]):
        twins = Twins()
        for k in order:
            twins.apply({k: vh(k)})


changes = st.dictionaries(st.sampled_from(POOL), st.one_of(st.none(), st.integers(0, 3).map(vh)), max_size=10)


@settings(max_examples=400, deadline=None)
@given(st.lists(changes, max_size=10))
def test_a_history_of_sets_and_deletes_matches_the_plain_update(history: list[dict]) -> None:
    twins = Twins()
    for step in history:
        twins.apply(step)


def test_random_maps_of_thousands_of_keys_in_batches() -> None:
    rng = random.Random(17)
    twins = Twins()
    keys: list[bytes] = []
    for batch in range(6):
        new = [rng.randbytes(32) for _ in range(600)]
        step: dict[bytes, bytes | None] = {k: vh((batch, k)) for k in new}
        step.update({k: None for k in rng.sample(keys, min(len(keys), 150))})
        step.update({k: vh(batch) for k in rng.sample(keys, min(len(keys), 150)) if k not in step})
        keys = [k for k in keys + new if step.get(k, b"") is not None]
        twins.apply(step)


def test_an_empty_change_answers_the_root_and_writes_nothing() -> None:
    store = MemoryNodes()
    assert update_map_batched(store, {}) == EMPTY
    update_map_batched(store, {k: vh(k) for k in SMALL[:3]})
    before = dict(store.nodes)
    assert update_map_batched(store, {}) == map_root({k: vh(k) for k in SMALL[:3]})
    assert update_map_batched(store, {SMALL[0]: vh(SMALL[0])}) == map_root({k: vh(k) for k in SMALL[:3]})
    assert store.nodes == before


def test_malformed_keys_are_refused_before_anything_is_written() -> None:
    store = MemoryNodes()
    with pytest.raises(MalformedError, match="32 bytes"):
        update_map_batched(store, {SMALL[0]: vh(0), b"short": vh(1)})
    with pytest.raises(MalformedError, match="value hash"):
        update_map_batched(store, {SMALL[0]: b"short"})
    assert store.nodes == {}
