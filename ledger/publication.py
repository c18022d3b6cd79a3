"""Publishing the log as static files in the C2SP tlog-tiles layout, for any static server or CDN.

`publish(log, directory)` writes, below `directory`, exactly the resources the /log/ routes serve
(api/routes/tiles.py) for the log's latest checkpoint:

    checkpoint                      the signed note, with witness cosignatures
    tile/<L>/<N>[.p/<W>]            every hash tile of the tree, full and partial
    tile/entries/<N>[.p/<W>]        every entry bundle

so that `directory` served as-is (nginx `root`, an object store) is the log's tiles API. One pass:

  1. read the latest checkpoint, and the one published before (`directory/checkpoint`, if any); the
     tree published before must be a prefix of this one (same origin, same root at its size), or
     nothing is written: a publisher never replaces a tree with one that contradicts it;
  2. write every resource the new tree has and the old one had not (full tiles the old tree had are
     immutable and stay as they are), each to a temporary file renamed into place;
  3. flush them to disk, then replace the checkpoint, atomically (rename), last: a reader never
     sees a checkpoint whose tiles are not all there, not even after a crash;
  4. only then remove the partial tiles and bundles whose full tile now exists (tlog-tiles lets a
     log delete a partial tile then; a client falls back to the full one). The partial files of
     tiles still partial stay: each is the tile at the size of a checkpoint published before.

A pass that finds nothing new writes nothing, and a pass looks only at the tiles the new tree adds
(the tiles right of the old tree's full ones, level by level), not at every tile of the log. The log
is read, never written: a read-only Log opened with the verifier key is enough.

A pass killed between steps 2 and 3 leaves temporary `.publish-*` files beside the tiles (never a
wrong tile or checkpoint). `remove_leftovers(directory)` deletes them; `farmtrace publish` calls it
once when it starts (one publisher per directory).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import parse_checkpoint
from .errors import LedgerError, VerificationError
from .log import Log
from .note import open_note
from .tile_paths import ENTRIES, TILE_HEIGHT, TILE_WIDTH, Tile, format_tile_path
from .tile_reads import read_resource

__all__ = ["Publication", "publish", "remove_leftovers", "tiles_added"]


@dataclass(frozen=True)
class Publication:
    """What one pass published: the tree's size (and the size published before), files written and removed."""

    size: int
    previous_size: int
    written: int
    removed: int


def publish(log: Log, directory: Path) -> Publication:
    """Bring `directory` up to the log's latest checkpoint (see the module docstring).

    Raises VerificationError if what `directory` holds is another log's or a tree this log's tree
    does not extend, OSError if a file cannot be written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # 1. The new tree, and the one published before.
    cp = log.checkpoint()
    previous = _published_size(log, directory)
    current = directory / "checkpoint"
    if current.exists() and previous == cp.size and current.read_text() == cp.note_with_cosignatures():
        return Publication(cp.size, previous, 0, 0)
    # 2. The resources the new tree adds (the old tree's full tiles are there already).
    added = tiles_added(previous, cp.size)
    written = 0
    for tile in added:
        path = directory / format_tile_path(tile)
        if not tile.is_full and path.exists():
            continue  # a partial tile is named by its width: the same name is the same bytes
        _write_atomically(path, read_resource(log, tile, size=cp.size), sync=False)
        written += 1
    # 3. The checkpoint, last, once the tiles are on disk (one sync for them all: an fsync per file
    # made a first publication of 70,000 entries four times slower).
    if written:
        os.sync()
    _write_atomically(directory / "checkpoint", cp.note_with_cosignatures().encode(), sync=True)
    # 4. Partial files whose full tile now exists.
    removed = _remove_partials(directory, [t for t in added if t.is_full])
    return Publication(cp.size, previous, written + 1, removed)


def tiles_added(old: int, new: int) -> list[Tile]:
    """The tiles and bundles of a tree of `new` entries that a tree of `old` entries (a prefix of it)
    did not have full: those of `tiles_for_size(new)` right of the old tree's full tiles, in the
    same order."""
    out: list[Tile] = []
    count, before, level = new, old, 0
    while count:
        for index in range(before // TILE_WIDTH, (count + TILE_WIDTH - 1) // TILE_WIDTH):
            width = min(count - index * TILE_WIDTH, TILE_WIDTH)
            out.append(Tile(level, index, width))
            if level == 0:
                out.append(Tile(ENTRIES, index, width))
        count >>= TILE_HEIGHT
        before >>= TILE_HEIGHT
        level += 1
    return out


def remove_leftovers(directory: Path) -> int:
    """Delete the temporary `.publish-*` files a killed pass left below `directory`; return how many.
    Only while no other pass publishes to `directory`."""
    removed = 0
    for tmp in Path(directory).rglob(".publish-*"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    return removed


def _published_size(log: Log, directory: Path) -> int:
    """The size of the tree published in `directory` (0 if none), checked to be a prefix of the log's."""
    path = directory / "checkpoint"
    if not path.exists():
        return 0
    try:
        note = open_note(path.read_bytes(), [log.verifier])
        old = parse_checkpoint(note.text)
    except LedgerError as exc:
        raise VerificationError(
            f"{path} is not a checkpoint signed by this log's key ({log.verifier.name}): {exc}; "
            "publish each log to a directory of its own"
        ) from exc
    latest = log.checkpoint().size
    if old.size > latest:
        raise VerificationError(
            f"{path} is a tree of {old.size} entries, larger than the log's {latest}: the log was rolled back"
        )
    if log.tree_hash(old.size) != old.root:
        raise VerificationError(
            f"{path} (size {old.size}) has another root than the log's tree of that size: the log forked"
        )
    return old.size


def _write_atomically(path: Path, data: bytes, *, sync: bool) -> None:
    """Write `data` to `path` by writing a temporary file beside it and renaming it (with `sync`,
    flushed to disk first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".publish-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a web server running as another user
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove_partials(directory: Path, full: list[Tile]) -> int:
    """Remove the partial files (`<N>.p/<W>`) of the `full` tiles and bundles; return how many."""
    removed = 0
    for tile in full:
        partials = directory / (format_tile_path(tile) + ".p")  # format_tile_path's `.p/<W>` suffix
        if partials.is_dir():
            removed += sum(1 for _ in partials.iterdir())
            shutil.rmtree(partials)
    return removed
