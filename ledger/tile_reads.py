"""Reading a tiled log's resources (C2SP tlog-tiles) from the log's storage, for a checkpoint size.

`read_resource(source, tile, size=…)` gives the bytes of a hash tile or an entry bundle as the tree
of `size` has them. The source is anything with the Log's two raw reads (a `ledger.log.Log`):

    read_tiles(keys)            stored hash tiles, {(level, index): hashes}
    read_entries(start, end)    stored (index, entry) pairs

A hash tile's bytes are its hashes, 32 bytes each: tile N of level L at width W holds the complete
nodes of tree level 8·L at indexes [256·N, 256·N + W), which is what the log stores for tile (L, N)
(ledger/tiles.py), or the first W hashes of it. A partial tile only ever grows at its end, so a tree
may serve a tile at any width up to the one it has: `tile/0/005.p/3` of a tree that has tile 5 at
width 10 (or full) is the first three hashes. That keeps every partial tile an older checkpoint
named available, as tlog-tiles requires.

Without `size`, the tree is the one storage holds: the log writes tiles, entries and the checkpoint
that signs them in one transaction, so what is stored is what the latest checkpoint signed, and
a request is answered without first reading the checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Protocol

from .entry_bundles_fast import format_entry_bundle_fast
from .errors import NotFoundError
from .hashing import HASH_SIZE
from .tile_paths import Tile, format_tile_path, tile_for_size
from .tiles import TileKey

__all__ = ["TileSource", "read_resource"]


class TileSource(Protocol):
    """The reads `read_resource` needs (ledger.log.Log has both)."""

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]: ...
    def read_entries(self, start: int, end: int) -> list[tuple[int, bytes]]: ...


def read_resource(source: TileSource, tile: Tile, *, size: int | None = None) -> bytes:
    """The bytes of `tile` (a hash tile or an entry bundle) in the tree of `size` (default: the tree
    storage holds).

    `size` must be one the log has signed (the caller's checkpoint): the tree's resources below it
    never change. Raises NotFoundError if the tree has no such tile or has it narrower than asked.
    """
    if size is not None:
        available = tile_for_size(tile.level, tile.index, size)
        if available is None or available.width < tile.width:
            have = "no such tile" if available is None else f"it {available.width} wide"
            raise NotFoundError(f"{format_tile_path(tile)} is not in the tree of size {size} ({have})")
    if tile.is_bundle:
        start = tile.first_node
        rows = source.read_entries(start, start + tile.width)
        if len(rows) != tile.width:
            raise NotFoundError(
                f"{format_tile_path(tile)}: the log holds {len(rows)} of its {tile.width} entries"
            )
        # format_entry_bundle's fast twin (ledger/entry_bundles_fast.py): the same bytes and errors
        return format_entry_bundle_fast(list(map(itemgetter(1), rows)))
    key = (tile.level, tile.index)
    stored = source.read_tiles([key]).get(key, b"")
    if len(stored) < tile.width * HASH_SIZE:
        raise NotFoundError(
            f"{format_tile_path(tile)}: the log holds {len(stored) // HASH_SIZE} of its {tile.width} hashes"
        )
    return bytes(stored[: tile.width * HASH_SIZE])
