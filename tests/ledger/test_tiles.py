"""The Integrator against the naive tree: roots, stacks and tiles for appends of every shape."""

from __future__ import annotations

import random

import pytest

from farmtrace.ledger.errors import NotFoundError
from farmtrace.ledger.hashing import EMPTY_ROOT, HASH_SIZE
from farmtrace.ledger.tiles import _ROWS_ABOVE, TILE_WIDTH, Integrator, TileHashReader

from .reference import leaves_for, mth

LEAVES = leaves_for(70_000)  # past 2^16: the first level-2 tile gets a hash


def _expected_tiles(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every tile of the tree over `leaves`, from the naive tree: level L holds the level-8L nodes."""
    tiles = {}
    level, nodes = 0, leaves
    while nodes:
        for t in range(0, len(nodes), TILE_WIDTH):
            tiles[(level, t // TILE_WIDTH)] = b"".join(nodes[t : t + TILE_WIDTH])
        # The complete nodes 8 levels up: each the root of 256 consecutive nodes of this level.
        nodes = [mth(nodes[i : i + TILE_WIDTH]) for i in range(0, len(nodes) - TILE_WIDTH + 1, TILE_WIDTH)]
        level += 1
    return tiles


def _append_in_steps(edge: Integrator, leaves: list[bytes], steps: list[int], store: dict) -> None:
    at = edge.size
    for n in steps:
        edge.append(leaves[at : at + n])
        at += n
        store.update(edge.dirty_tiles())
        assert edge.root() == mth(leaves[:at])


@pytest.mark.parametrize(
    "steps",
    [
        [1] * 600,  # one leaf at a time, across tile boundaries
        [255, 1, 1, 255, 256, 257],
        [65_536, 1, 4_000],  # a whole level-1 tile at once, then a level-2 hash
        [70_000],
    ],
    ids=["single", "tile-edges", "chunks", "one-go"],
)
def test_appends_give_the_naive_root_and_tiles(steps):
    leaves = LEAVES[: sum(steps)]
    edge = Integrator(0, [], {})
    assert edge.root() == EMPTY_ROOT
    store: dict = {}
    _append_in_steps(edge, leaves, steps, store)
    assert store == _expected_tiles(leaves)
    assert edge.dirty_tiles() == {}


def test_random_appends_and_reloads_agree_with_the_naive_tree():
    rng = random.Random(7)
    leaves = LEAVES[:5_000]
    store: dict = {}
    edge = Integrator(0, [], {})
    while edge.size < len(leaves):
        n = min(rng.choice([1, 2, 3, 17, 255, 256, 257, 600]), len(leaves) - edge.size)
        _append_in_steps(edge, leaves, [n], store)
        if rng.random() < 0.3:  # continue from storage, as a new writer would
            edge = Integrator.load(edge.size, lambda keys: {k: store[k] for k in keys if k in store})
            assert edge.root() == mth(leaves[: edge.size])
    assert store == _expected_tiles(leaves)


def test_copies_are_independent():
    edge = Integrator(0, [], {})
    edge.append(LEAVES[:300])
    edge.dirty_tiles()
    other = edge.copy()
    other.append(LEAVES[300:301])
    assert (edge.size, edge.root()) == (300, mth(LEAVES[:300]))
    assert other.root() == mth(LEAVES[:301])
    assert other.dirty_tiles() == {(0, 1): b"".join(LEAVES[256:301])}
    assert edge.read_tiles([(0, 1)]) == {(0, 1): b"".join(LEAVES[256:300])}
    assert len(edge.read_tiles([(0, 1)])[(0, 1)]) == 44 * HASH_SIZE


def test_the_cached_reader_answers_like_the_plain_one_as_the_tree_grows():
    store: dict = {}
    calls: list[list] = []

    def read_tiles(keys):
        calls.append(list(keys))
        return {k: store[k] for k in keys if k in store}

    cached, plain = TileHashReader(read_tiles, cache=3), TileHashReader(read_tiles)
    edge = Integrator(0, [], {})
    rng = random.Random(3)
    for n in (300, 1, 255, 70_000 - 556):  # partial tiles grow and complete between reads
        edge.append(LEAVES[edge.size : edge.size + n])
        store.update(edge.dirty_tiles())
        size = edge.size
        nodes = [
            (level, rng.randrange(size >> level)) for level in range(size.bit_length()) for _ in range(5)
        ]
        nodes = [(level, i) for level, i in nodes if (i + 1) << level <= size]
        assert cached.read_hashes(nodes) == plain.read_hashes(nodes)
        for level, i in nodes:
            assert cached.read_hashes([(level, i)]) == [mth(LEAVES[i << level : (i + 1) << level])]
    cached.read_hashes([(0, 0), (7, 0)])  # tile (0, 0) is full: now cached
    calls.clear()
    assert cached.read_hashes([(3, 5), (0, 9)]) == [mth(LEAVES[40:48]), LEAVES[9]]
    assert calls == []


def test_a_partial_tile_asked_for_many_nodes_answers_like_one_node_at_a_time():
    # Past _ROWS_ABOVE nodes of one partial tile, its rows are computed at once.
    edge = Integrator(0, [], {})
    edge.append(LEAVES[:300])
    store = edge.dirty_tiles()
    reader = TileHashReader(lambda keys: {k: store[k] for k in keys if k in store}, cache=4)
    nodes = [(level, i) for level in range(6) for i in range((300 - 256) >> level)]
    nodes = [(level, i + (256 >> level)) for level, i in nodes]  # all inside partial tile (0, 1)
    assert len(nodes) > _ROWS_ABOVE
    assert reader.read_hashes(nodes) == [mth(LEAVES[i << lv : (i + 1) << lv]) for lv, i in nodes]
    for few in (nodes[:1], nodes[-2:]):
        assert reader.read_hashes(few) == [mth(LEAVES[i << lv : (i + 1) << lv]) for lv, i in few]
    beyond = [(0, 300)] * (_ROWS_ABOVE + 1)  # the leaf after the partial tile's last
    for asked in (beyond, beyond[:1]):
        with pytest.raises(NotFoundError):
            reader.read_hashes(asked)
