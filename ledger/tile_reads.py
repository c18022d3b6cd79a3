"""Reading a tiled log's resources (C2SP tlog-tiles) for a checkpoint size, from the log's storage.

`read_resource(source, tile, size=…)` gives the bytes of a hash tile or an entry bundle as the tree
of `size` has them. The source is anything with the Log's two reads (a `ledger.log.Log`, which
answers from its stored tiles and entries):

    read_hashes(nodes)          complete node hashes of the stored tree (merkle.HashReader)
    read_entries(start, end)    stored (index, entry) pairs

A hash tile's bytes are its hashes, 32 bytes each: tile N of level L at width W holds the
complete nodes of tree level 8·L at indexes [256·N, 256·N + W), each one hash lookup in the stored
tile (L, N). A partial tile only ever grows at its end, so a tree may serve a tile at any width up
to the one it has: `tile/0/005.p/3` of a tree that has tile 5 at width 10 (or full) is the first
three hashes. That keeps every partial tile an older checkpoint named available, as tlog-tiles
requires. A width beyond what the tree of `size` has is NotFoundError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .entry_bundles import format_entry_bundle
from .errors import LedgerError, NotFoundError
from .merkle import Node
from .tile_paths import Tile, format_tile_path, tile_for_size
from .tiles import TILE_HEIGHT

__all__ = ["TileSource", "read_resource"]


class TileSource(Protocol):
    """The reads `read_resource` needs (ledger.log.Log has both)."""

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]: ...
    def read_entries(self, start: int, end: int) -> list[tuple[int, bytes]]: ...


def read_resource(source: TileSource, tile: Tile, *, size: int) -> bytes:
    """The bytes of `tile` (a hash tile or an entry bundle) in the tree of `size`.

    `size` must be one the log has signed (the caller's checkpoint): the tree's resources below it
    never change. Raises NotFoundError if the tree of `size` has no such tile or has it narrower
    than asked, LedgerError if storage lacks entries the tree must hold.
    """
    available = tile_for_size(tile.level, tile.index, size)
    if available is None or available.width < tile.width:
        have = "no such tile" if available is None else f"it {available.width} wide"
        raise NotFoundError(f"{format_tile_path(tile)} is not in the tree of size {size} ({have})")
    if tile.is_bundle:
        start = tile.first_node
        rows = source.read_entries(start, start + tile.width)
        if len(rows) != tile.width or rows[0][0] != start:
            # The log signed a tree its storage no longer holds: a fault of the server, not the request.
            raise LedgerError(
                f"the log's storage holds {len(rows)} of the {tile.width} entries of {format_tile_path(tile)}"
            )
        return format_entry_bundle([entry for _, entry in rows])
    level = TILE_HEIGHT * tile.level
    first = tile.first_node
    return b"".join(source.read_hashes([(level, first + i) for i in range(tile.width)]))
