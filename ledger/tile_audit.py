"""Verifying a whole log from its tiles alone (C2SP tlog-tiles), as an auditor or a mirror would.

`check_tiled_log(fetch, log_key=…)` reads nothing but the log's published resources, through
`fetch(path)` (the path below the log's prefix, e.g. `tile/0/x001/005.p/7`; it returns the bytes, or
raises NotFoundError). It trusts only the log's verifier key, and checks, top down:

  1. the checkpoint: its signature by the log key (and any known witnesses' cosignatures);
  2. the right-edge (partial) tiles: together they hold every complete subtree of the tree
     (RFC 9162 §2.1.1's split), so the tree hash computed from them must be the checkpoint's root;
  3. every full hash tile, from the top level down: its Merkle tree hash must be the hash its
     (already verified) parent tile holds for it;
  4. every entry bundle: each entry's leaf hash must be the hash at its place in the verified
     level-0 tile, so every entry is proven to be in the signed tree.

A partial tile the log no longer serves is read from the full tile instead (tlog-tiles allows a
log to delete partial tiles once the full tile exists): its first W hashes are the same.
The first failure raises VerificationError naming the resource (path) at fault and what was found;
a resource that is missing raises NotFoundError naming its path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import merkle
from .checkpoint import SignedCheckpoint, open_checkpoint
from .entry_bundles import format_entry_bundle, parse_entry_bundle
from .errors import MalformedError, NotFoundError, VerificationError
from .hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from .note import Verifier
from .tile_paths import ENTRIES, Tile, format_tile_path, tiles_for_size
from .tiles import TILE_WIDTH, TileHashReader, TileKey

__all__ = ["Fetch", "TiledLogReport", "check_tiled_log", "fetch_tile"]

Fetch = Callable[[str], bytes]  # path below the prefix -> bytes; NotFoundError if absent


@dataclass(frozen=True)
class TiledLogReport:
    """What `check_tiled_log` verified: the checkpoint, and how many entries, tiles and bundles."""

    checkpoint: SignedCheckpoint
    entries: int
    tiles: int
    bundles: int

    @property
    def size(self) -> int:
        return self.checkpoint.checkpoint.size


def fetch_tile(fetch: Fetch, tile: Tile) -> bytes:
    """The bytes of `tile` (hash tile or entry bundle) from `fetch`, of the length its width needs
    (hash tiles) — from the full tile when a partial one is gone. Raises NotFoundError if neither is
    there, VerificationError if a hash tile has the wrong length (or a full bundle read in place of a
    partial one does not parse)."""
    path = format_tile_path(tile)
    try:
        data = fetch(path)
    except NotFoundError:
        if tile.is_full:
            raise
        return _from_full_tile(fetch, tile, path)
    if not tile.is_bundle and len(data) != tile.width * HASH_SIZE:
        raise VerificationError(
            f"{path} is {len(data)} bytes; a tile {tile.width} wide is {tile.width * HASH_SIZE}"
        )
    return data


def _from_full_tile(fetch: Fetch, tile: Tile, path: str) -> bytes:
    """A partial tile's bytes cut from the full tile, for when the log no longer serves the partial one."""
    full_path = format_tile_path(Tile(tile.level, tile.index))
    try:
        data = fetch(full_path)
    except NotFoundError:
        raise NotFoundError(f"{path} is missing, and so is the full tile {full_path}") from None
    if tile.is_bundle:  # the first `width` entries of the full bundle, as the partial one has them
        try:
            return format_entry_bundle(parse_entry_bundle(data, width=TILE_WIDTH)[: tile.width])
        except MalformedError as exc:
            raise VerificationError(f"{full_path} is not an entry bundle of {TILE_WIDTH}: {exc}") from exc
    if len(data) != TILE_WIDTH * HASH_SIZE:
        raise VerificationError(f"{full_path} is {len(data)} bytes; a full tile is {TILE_WIDTH * HASH_SIZE}")
    return data[: tile.width * HASH_SIZE]


def _tile_root(data: bytes) -> bytes:
    """The Merkle tree hash of a full tile: the root of the subtree its 256 hashes are the bottom of."""
    level = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def check_tiled_log(
    fetch: Fetch,
    *,
    log_key: Verifier,
    witnesses: Sequence[Verifier] = (),
    on_entries: Callable[[int, list[bytes]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TiledLogReport:
    """Verify the whole tiled log `fetch` reads (see the module docstring); return what was checked.

    `on_entries(start, entries)` receives each bundle's entries once they are verified (a mirror
    keeps them); `progress(done, size)` is called after each bundle. Raises VerificationError naming
    the first resource that does not verify, NotFoundError naming one that is missing.
    """
    # 1. The checkpoint, signed by the log.
    signed = open_checkpoint(fetch("checkpoint"), log_key, witnesses=witnesses)
    size, root = signed.checkpoint.size, signed.checkpoint.root
    if size == 0:
        if root != EMPTY_ROOT:
            raise VerificationError("the checkpoint of size 0 does not have the empty tree's root")
        return TiledLogReport(signed, 0, 0, 0)
    tiles = tiles_for_size(size)
    hash_tiles = [t for t in tiles if not t.is_bundle]
    # 2. The right edge against the root.
    verified: dict[TileKey, bytes] = {}
    edge = [t for t in hash_tiles if not t.is_full]
    for t in edge:
        verified[(t.level, t.index)] = fetch_tile(fetch, t)
    reader = TileHashReader(lambda keys: {k: verified[k] for k in keys if k in verified})
    if merkle.tree_hash(size, reader) != root:
        names = ", ".join(format_tile_path(t) for t in edge)
        raise VerificationError(
            f"the right-edge tiles ({names}) do not hash to the checkpoint's root: one was altered, "
            f"or the checkpoint of size {size} was signed over another tree"
        )
    # 3. Full hash tiles, top level first, each against the hash its parent holds for it.
    checked = len(edge)
    for t in sorted((t for t in hash_tiles if t.is_full and t.level > 0), key=lambda t: (-t.level, t.index)):
        verified[(t.level, t.index)] = _checked_full_tile(fetch, t, verified)
        checked += 1
    # 4. Level 0 and the entry bundles, streamed left to right (only levels >= 1 are kept).
    bundles = 0
    for t in hash_tiles:
        if t.level != 0:
            continue
        data = verified[(0, t.index)] if not t.is_full else _checked_full_tile(fetch, t, verified)
        checked += t.is_full
        entries = _checked_bundle(fetch, Tile(ENTRIES, t.index, t.width), data)
        bundles += 1
        if on_entries is not None:
            on_entries(t.first_node, entries)
        if progress is not None:
            progress(t.first_node + t.width, size)
    return TiledLogReport(signed, size, checked, bundles)


def _checked_full_tile(fetch: Fetch, tile: Tile, verified: dict[TileKey, bytes]) -> bytes:
    """A full tile whose tree hash is the hash its verified parent tile holds for it."""
    data = fetch_tile(fetch, tile)
    parent = verified[(tile.level + 1, tile.index // TILE_WIDTH)]
    at = (tile.index % TILE_WIDTH) * HASH_SIZE
    if _tile_root(data) != parent[at : at + HASH_SIZE]:
        parent_tile = Tile(tile.level + 1, tile.index // TILE_WIDTH, len(parent) // HASH_SIZE)
        raise VerificationError(
            f"{format_tile_path(tile)} does not hash to the hash {format_tile_path(parent_tile)} holds "
            f"for it (position {tile.index % TILE_WIDTH}): the tile was altered"
        )
    return data


def _checked_bundle(fetch: Fetch, bundle: Tile, level0: bytes) -> list[bytes]:
    """The entries of `bundle`, each checked against its leaf hash in the verified level-0 tile."""
    path = format_tile_path(bundle)
    data = fetch_tile(fetch, bundle)
    try:
        entries = parse_entry_bundle(data, width=bundle.width)
    except MalformedError as exc:
        raise VerificationError(f"{path} is not an entry bundle of {bundle.width}: {exc}") from exc
    for k, entry in enumerate(entries):
        if leaf_hash(entry) != level0[k * HASH_SIZE : (k + 1) * HASH_SIZE]:
            raise VerificationError(
                f"{path}: entry {bundle.first_node + k} does not hash to the leaf hash the verified "
                f"tile/0 tile holds for it: the bundle was altered"
            )
    return entries
