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

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence

from .errors import NotFoundError, VerificationError
from .hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from .merkle import Node, range_nodes

__all__ = ["TILE_HEIGHT", "TILE_WIDTH", "Integrator", "TileHashReader", "TileKey", "partial_tile_keys"]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT

TileKey = tuple[int, int]  # (tile level L, tile index t)
# A partial tile asked for more nodes than this has all its rows computed at once (about as many
# hashes as it is wide) rather than each node's subtree on its own.
_ROWS_ABOVE = 4


def _subtree(hashes: Sequence[bytes]) -> bytes:
    """Hash a complete subtree from its 2^r bottom hashes."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _rows(tile: bytes) -> list[bytes]:
    """Row r of a tile: the hashes of its complete nodes r levels above its bottom row, joined
    (a partial tile of width w has w >> r of them)."""
    rows = [bytes(tile)]
    for _ in range(TILE_HEIGHT - 1):
        below = rows[-1]
        pairs = iter([below[i : i + HASH_SIZE] for i in range(0, len(below), HASH_SIZE)])
        rows.append(b"".join(map(node_hash, pairs, pairs)))  # an odd last hash has no pair yet
    return rows


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
    """A HashReader over stored tiles. `read_tiles(keys)` returns {key: concatenated hashes}.

    A full tile never changes, so up to `cache` of them are kept (least recently used first out),
    each with the rows of hashes above its bottom row computed once: a node then costs a lookup.
    Partial tiles (the right edge) are read every time. Safe to share between threads.
    """

    def __init__(
        self, read_tiles: Callable[[Sequence[TileKey]], Mapping[TileKey, bytes]], *, cache: int = 0
    ) -> None:
        self._read_tiles = read_tiles
        self._cache_size = cache
        self._cache: OrderedDict[TileKey, list[bytes]] = OrderedDict()  # key -> rows 0..7, joined
        self._lock = threading.Lock()

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        where = [_tile_of(node) for node in nodes]
        wanted = Counter(key for key, _, _ in where)
        rows = self._cached(wanted)
        missing = sorted(wanted.keys() - rows.keys())
        tiles = self._read_tiles(missing) if missing else {}
        for key in missing:
            tile = tiles.get(key)
            if tile is None:
                continue
            if len(tile) % HASH_SIZE:
                raise VerificationError(
                    f"stored tile {key} has a length that is not a multiple of {HASH_SIZE}"
                )
            if len(tile) == TILE_WIDTH * HASH_SIZE and self._cache_size:
                rows[key] = self._keep(key, tile)
            elif wanted[key] > _ROWS_ABOVE:
                rows[key] = _rows(tile)  # a partial tile many nodes are asked of: its rows, once
        out = []
        for node, (key, offset, count) in zip(nodes, where, strict=True):
            r = count.bit_length() - 1  # the node is r levels above the tile's bottom row
            if key in rows:
                row, at = rows[key][r], (offset >> r) * HASH_SIZE
                if len(row) >= at + HASH_SIZE:
                    out.append(row[at : at + HASH_SIZE])
                    continue
            else:
                tile = tiles.get(key)
                end = (offset + count) * HASH_SIZE
                if tile is not None and len(tile) >= end:
                    out.append(
                        _subtree([tile[i : i + HASH_SIZE] for i in range(offset * HASH_SIZE, end, HASH_SIZE)])
                    )
                    continue
            raise NotFoundError(f"the log has no hash for node {node} (tile {key} missing or too short)")
        return out

    def _cached(self, keys: Iterable[TileKey]) -> dict[TileKey, list[bytes]]:
        """The cached rows of those of `keys` that are in the cache (now the most recently used)."""
        found = {}
        with self._lock:
            for key in keys:
                rows = self._cache.get(key)
                if rows is not None:
                    self._cache.move_to_end(key)
                    found[key] = rows
        return found

    def _keep(self, key: TileKey, tile: bytes) -> list[bytes]:
        """Compute the rows of a full tile and cache them."""
        rows = _rows(tile)
        with self._lock:
            self._cache[key] = rows
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return rows


class Integrator:
    """The right edge of the tree of `size` leaves: its complete subtrees and its partial tiles.

    `load` reads it from storage; `append` adds leaf hashes; `root` is the tree hash; `dirty_tiles`
    are the tiles to write (complete tiles once, partial ones rewritten as they grow).
    """

    def __init__(self, size: int, stack: list[tuple[int, bytes]], partial: dict[int, bytes]) -> None:
        self.size = size
        # (level, hash) of the complete subtrees of [0, size), left to right (one per bit of size).
        self._stack = stack
        # tile level -> the hashes of its right-edge partial tile, concatenated (b"" when none).
        self._partial = partial
        self._dirty: dict[TileKey, bytes] = {}

    @classmethod
    def load(cls, size: int, read_tiles: Callable[[Sequence[TileKey]], Mapping[TileKey, bytes]]) -> Integrator:
        """The right edge of the stored tree of `size`, read with `read_tiles(keys)` ({key: hashes},
        as `LogStore.read_tiles`). Raises NotFoundError if a tile is missing or too short."""
        nodes = range_nodes(0, size)
        hashes = TileHashReader(read_tiles).read_hashes(nodes) if nodes else []
        stack = [(level, h) for (level, _), h in zip(nodes, hashes, strict=True)]
        partial: dict[int, bytes] = {}
        edge = partial_tile_keys(size)
        if edge:
            tiles = read_tiles([key for key, _ in edge])
            for (level, index), width in edge:
                tile = tiles.get((level, index), b"")
                if len(tile) < width * HASH_SIZE:
                    raise NotFoundError(f"partial tile {(level, index)} is shorter than the tree needs")
                partial[level] = bytes(tile[: width * HASH_SIZE])
        return cls(size, stack, partial)

    def copy(self) -> Integrator:
        return Integrator(self.size, list(self._stack), dict(self._partial))

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        """The right-edge tiles this integrator holds in memory (for reads before they are stored)."""
        out = {}
        for level, hashes in self._partial.items():
            key = (level, self.size >> (TILE_HEIGHT * (level + 1)))
            if key in keys and hashes:
                out[key] = hashes
        return out

    def append(self, leaf_hashes: Iterable[bytes]) -> None:
        """Add leaf hashes at the right edge, one tree level at a time.

        Level by level, the new nodes of the level are hashed in pairs into the new nodes of the level
        above (a whole level per pass, no per-leaf bookkeeping). At level ℓ the new nodes have the
        indexes [old >> ℓ, new >> ℓ); when the first one is a right child, its left sibling is the
        old tree's complete subtree at level ℓ (on the stack). An unpaired last node is the new
        tree's complete subtree at level ℓ. Every 8th level, the new nodes also fill tiles.
        """
        nodes = list(leaf_hashes)
        old, new = self.size, self.size + len(nodes)
        old_stack = dict(self._stack)
        new_stack: list[tuple[int, bytes]] = []
        level = 0
        while nodes:
            first = old >> level  # the index of nodes[0] at this level
            if level % TILE_HEIGHT == 0:
                self._fill_tiles(level // TILE_HEIGHT, first, nodes)
            if first & 1:
                nodes.insert(0, old_stack[level])
            if len(nodes) & 1:
                new_stack.append((level, nodes[-1]))
            pairs = iter(nodes)
            nodes = list(map(node_hash, pairs, pairs))  # zip-like: the unpaired last node is left out
            level += 1
        # Levels from here up hold no new node: the old tree's subtrees there stay as they were.
        new_stack.extend(item for item in old_stack.items() if item[0] >= level)
        new_stack.sort(key=lambda item: -item[0])
        self._stack = new_stack
        self.size = new

    def _fill_tiles(self, tile_level: int, first: int, nodes: list[bytes]) -> None:
        """Add the nodes from index `first` of tree level 8·tile_level to the tiles of `tile_level`."""
        hashes = self._partial.get(tile_level, b"") + b"".join(nodes)
        index = first >> TILE_HEIGHT  # the tile that held the partial hashes (or starts now)
        full = TILE_WIDTH * HASH_SIZE
        complete = len(hashes) // full
        for k in range(complete):
            self._dirty[(tile_level, index + k)] = hashes[k * full : (k + 1) * full]
        rest = hashes[complete * full :]
        self._partial[tile_level] = rest
        if rest:
            self._dirty[(tile_level, index + complete)] = rest

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        acc = self._stack[-1][1]
        for _, h in reversed(self._stack[:-1]):
            acc = node_hash(h, acc)
        return acc

    def dirty_tiles(self) -> dict[TileKey, bytes]:
        """Tiles changed since the last call (complete and partial, each in its latest form), and forget them."""
        out, self._dirty = self._dirty, {}
        return out
