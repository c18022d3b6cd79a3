"""Hash tiles: how the log stores its Merkle tree so that any proof is O(log n) reads.

Following C2SP tlog-tiles, the tree's hashes are grouped in tiles of height 8: tile (L, t) holds
the hashes of tree level 8·L at indexes [256·t, 256·t + w), concatenated (w ≤ 256, a tile with
w < 256 is the partial tile at the right edge). Level-0 tiles hold leaf hashes. Levels between
multiples of 8 are not stored; a node at level 8·L + r is recomputed from 2^r hashes of one tile.

`TileHashReader` answers the maths' HashReader from stored tiles; `Integrator` appends leaf hashes
to the right edge of the tree and says which tiles changed and what the new root is. A partial
tile only ever grows: the prefix of a tile never changes, so a wider tile serves older sizes too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from .errors import NotFoundError, VerificationError
from .hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from .merkle import Node, range_nodes

__all__ = ["TILE_HEIGHT", "TILE_WIDTH", "Integrator", "TileHashReader", "TileKey", "partial_tile_keys"]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT

TileKey = tuple[int, int]  # (tile level L, tile index t)


def _subtree(hashes: Sequence[bytes]) -> bytes:
    """Hash a complete subtree from its 2^r bottom hashes."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _tile_of(node: Node) -> tuple[TileKey, int, int]:
    """Where a node's bottom hashes are: tile key, first offset in the tile, how many."""
    level, n = node
    tile_level, r = divmod(level, TILE_HEIGHT)
    first = n << r
    return (tile_level, first >> TILE_HEIGHT), first & (TILE_WIDTH - 1), 1 << r


def partial_tile_keys(size: int) -> list[tuple[TileKey, int]]:
    """The right-edge tiles of a tree of `size` and how many hashes each holds, level by level."""
    keys = []
    level = 0
    count = size
    while count:
        width = count & (TILE_WIDTH - 1)
        if width:
            keys.append(((level, count >> TILE_HEIGHT), width))
        count >>= TILE_HEIGHT
        level += 1
    return keys


class TileHashReader:
    """A HashReader over stored tiles. `read_tiles(keys)` returns {key: concatenated hashes}."""

    def __init__(self, read_tiles: Callable[[Sequence[TileKey]], Mapping[TileKey, bytes]]) -> None:
        self._read_tiles = read_tiles

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        where = [_tile_of(node) for node in nodes]
        keys = sorted({key for key, _, _ in where})
        tiles = self._read_tiles(keys)
        out = []
        for node, (key, offset, count) in zip(nodes, where, strict=True):
            tile = tiles.get(key)
            end = (offset + count) * HASH_SIZE
            if tile is None or len(tile) < end:
                raise NotFoundError(f"the log has no hash for node {node} (tile {key} missing or too short)")
            if len(tile) % HASH_SIZE:
                raise VerificationError(
                    f"stored tile {key} has a length that is not a multiple of {HASH_SIZE}"
                )
            bottom = [tile[i : i + HASH_SIZE] for i in range(offset * HASH_SIZE, end, HASH_SIZE)]
            out.append(_subtree(bottom))
        return out


class Integrator:
    """The right edge of the tree of `size` leaves: its complete subtrees and its partial tiles.

    `load` reads it from storage; `append` adds leaf hashes; `root` is the tree hash; `dirty_tiles`
    are the tiles to write (complete tiles once, partial ones rewritten as they grow).
    """

    def __init__(
        self, size: int, stack: list[tuple[int, bytes]], partial: dict[int, tuple[int, list[bytes]]]
    ):
        self.size = size
        self._stack = stack  # (level, hash) of the complete subtrees of [0, size), left to right
        self._partial = partial  # tile level -> (tile index, hashes so far)
        self._dirty: dict[TileKey, bytes] = {}
        self._grown: set[int] = set()  # tile levels whose partial tile grew

    @classmethod
    def load(cls, size: int, reader: TileHashReader) -> Integrator:
        nodes = range_nodes(0, size)
        hashes = reader.read_hashes(nodes) if nodes else []
        stack = [(level, h) for (level, _), h in zip(nodes, hashes, strict=True)]
        partial: dict[int, tuple[int, list[bytes]]] = {}
        edge = partial_tile_keys(size)
        if edge:
            tiles = reader._read_tiles([key for key, _ in edge])
            for (level, index), width in edge:
                tile = tiles.get((level, index), b"")
                if len(tile) < width * HASH_SIZE:
                    raise NotFoundError(f"partial tile {(level, index)} is shorter than the tree needs")
                partial[level] = (
                    index,
                    [tile[i : i + HASH_SIZE] for i in range(0, width * HASH_SIZE, HASH_SIZE)],
                )
        return cls(size, stack, partial)

    def copy(self) -> Integrator:
        return Integrator(
            self.size, list(self._stack), {k: (i, list(h)) for k, (i, h) in self._partial.items()}
        )

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        """The right-edge tiles this integrator holds in memory (for reads before they are stored)."""
        out = {}
        for level, (index, hashes) in self._partial.items():
            if (level, index) in keys and hashes:
                out[(level, index)] = b"".join(hashes)
        return out

    def _push_tile_hash(self, tile_level: int, h: bytes, index_at_level: int) -> None:
        tile_index, hashes = self._partial.get(tile_level, (index_at_level >> TILE_HEIGHT, []))
        hashes.append(h)
        self._grown.add(tile_level)
        if len(hashes) == TILE_WIDTH:
            self._dirty[(tile_level, tile_index)] = b"".join(hashes)
            self._partial[tile_level] = (tile_index + 1, [])
        else:
            self._partial[tile_level] = (tile_index, hashes)

    def append(self, leaf_hashes: Iterable[bytes]) -> None:
        stack = self._stack
        size = self.size
        for h in leaf_hashes:
            self._push_tile_hash(0, h, size)  # the new leaf's index is `size`
            level = 0
            # Merging with equal-height neighbours is binary addition on the size: one node per carry.
            while stack and stack[-1][0] == level:
                left = stack.pop()[1]
                h = node_hash(left, h)
                level += 1
                if level % TILE_HEIGHT == 0:
                    self._push_tile_hash(level // TILE_HEIGHT, h, ((size + 1) >> level) - 1)
            stack.append((level, h))
            size += 1
        self.size = size

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1][1]
        for _, h in reversed(self._stack[:-1]):
            acc = node_hash(h, acc)
        return acc

    def dirty_tiles(self) -> dict[TileKey, bytes]:
        """Tiles changed since the last call (complete and partial), and forget them."""
        out = dict(self._dirty)
        for level in self._grown:
            index, hashes = self._partial[level]
            if hashes:
                out[(level, index)] = b"".join(hashes)
        self._dirty.clear()
        self._grown.clear()
        return out
