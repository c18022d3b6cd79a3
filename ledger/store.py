"""The storage contract of the log, and the in-memory reference store.

A LogStore keeps three things: entries by index, hash tiles (see `tiles`), and signed checkpoints
with their witness cosignatures. The Log is its only writer; readers may be many.

Contract (checked by tests/ledger/test_store_contract.py on every store):

- `write()` MUST give exclusive, serialised write transactions across threads *and processes*
  sharing the storage: at most one is open at a time, and it sees everything committed before it.
- A write transaction MUST be atomic: on normal exit everything it wrote is durable before
  `write()` returns; on an exception nothing it wrote is visible, ever (also after kill -9).
- `write_entries(start, entries)` MUST refuse (raise) an index that is already stored.
- Readers MUST only see committed data, and MUST NOT block the writer for long.
- `latest_checkpoint()` MUST return the checkpoint with the largest size, or None;
  `checkpoints_after(size, limit)` at most `limit` checkpoints larger than `size`, smallest first.
- `add_cosignatures(lines)` MUST store all of its (size, line) pairs in one atomic write, or none;
  a line already stored is not stored twice.
- Stores MUST NOT interpret entries: they are opaque bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import AppendError
from .tiles import TileKey

__all__ = ["LogStore", "MemoryStore", "StoredCheckpoint", "WriteTxn"]


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as stored: size, root, the log-signed note, cosignature lines, signing time."""

    size: int
    root: bytes
    note: str
    signed_at: float
    cosignatures: tuple[str, ...] = field(default=())

    def note_with_cosignatures(self) -> str:
        """The note text with witness cosignature lines appended after the log's signature."""
        return self.note + "".join(self.cosignatures)


class WriteTxn(Protocol):
    """One exclusive write transaction. `connection` is the store's handle for higher layers' hooks."""

    connection: Any

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...
    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]: ...
    def write_entries(self, start: int, entries: Sequence[bytes]) -> None: ...
    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None: ...
    def write_checkpoint(self, cp: StoredCheckpoint) -> None: ...
    def savepoint(self) -> AbstractContextManager[None]: ...


class LogStore(Protocol):
    """What the Log needs from storage (see the module docstring for the MUSTs)."""

    def write(self) -> AbstractContextManager[WriteTxn]: ...
    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]: ...
    def read_entries(self, start: int, end: int) -> list[tuple[int, bytes]]: ...
    def iter_entries(self, start: int = 0) -> Iterator[tuple[int, bytes]]: ...
    def iter_tiles(self) -> Iterator[tuple[TileKey, bytes]]: ...
    def latest_checkpoint(self) -> StoredCheckpoint | None: ...
    def checkpoint(self, size: int) -> StoredCheckpoint | None: ...
    def checkpoints(self) -> list[StoredCheckpoint]: ...
    def checkpoints_after(self, size: int, limit: int) -> list[StoredCheckpoint]: ...
    def add_cosignature(self, size: int, line: str) -> None: ...
    def add_cosignatures(
        self, lines: Sequence[tuple[int, str]], *, replacing: Sequence[tuple[int, str]] = ()
    ) -> None: ...
    def close(self) -> None: ...


class _MemoryTxn:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.connection = None
        self.entries: dict[int, bytes] = {}
        self.tiles: dict[TileKey, bytes] = {}
        self.checkpoint: StoredCheckpoint | None = None

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self.checkpoint or self.store.latest_checkpoint()

    def read_tiles(self, keys):
        return {
            k: self.tiles.get(k) or self.store.tiles[k]
            for k in keys
            if k in self.tiles or k in self.store.tiles
        }

    def write_entries(self, start, entries):
        for i, e in enumerate(entries, start):
            if i in self.store.entries or i in self.entries:
                raise AppendError(f"entry {i} is already stored")
            self.entries[i] = bytes(e)

    def write_tiles(self, tiles):
        self.tiles.update(tiles)

    def write_checkpoint(self, cp):
        self.checkpoint = cp

    def savepoint(self):
        # Hooks over a memory store keep no state of their own in the transaction.
        return nullcontext()


class MemoryStore:
    """The reference LogStore, in memory: for tests and for offline bundles."""

    def __init__(self) -> None:
        self.entries: dict[int, bytes] = {}
        self.tiles: dict[TileKey, bytes] = {}
        self._checkpoints: dict[int, StoredCheckpoint] = {}
        self._lock = threading.Lock()

    @contextmanager
    def write(self) -> Iterator[_MemoryTxn]:
        with self._lock:
            txn = _MemoryTxn(self)
            yield txn
            # Commit only on normal exit: an exception above leaves the store untouched.
            self.entries.update(txn.entries)
            self.tiles.update(txn.tiles)
            if txn.checkpoint is not None:
                self._checkpoints[txn.checkpoint.size] = txn.checkpoint

    def read_tiles(self, keys):
        return {k: self.tiles[k] for k in keys if k in self.tiles}

    def read_entries(self, start, end):
        return [(i, self.entries[i]) for i in range(start, end) if i in self.entries]

    def iter_entries(self, start=0):
        for i in sorted(k for k in self.entries if k >= start):
            yield i, self.entries[i]

    def iter_tiles(self):
        for key in sorted(self.tiles):
            yield key, self.tiles[key]

    def latest_checkpoint(self):
        return self._checkpoints[max(self._checkpoints)] if self._checkpoints else None

    def checkpoint(self, size):
        return self._checkpoints.get(size)

    def checkpoints(self):
        return [self._checkpoints[s] for s in sorted(self._checkpoints)]

    def checkpoints_after(self, size, limit):
        return [self._checkpoints[s] for s in sorted(s for s in self._checkpoints if s > size)[:limit]]

    def add_cosignature(self, size, line):
        self.add_cosignatures([(size, line)])

    def add_cosignatures(self, lines, *, replacing=()):
        with self._lock:
            missing = {size for size, _ in lines} - self._checkpoints.keys()
            if missing:  # all or nothing: checked before anything is stored
                raise KeyError(f"no checkpoint of size {min(missing)}")
            for size, line in replacing:
                cp = self._checkpoints.get(size)
                if cp is not None and line in cp.cosignatures:
                    kept = tuple(x for x in cp.cosignatures if x != line)
                    self._checkpoints[size] = StoredCheckpoint(cp.size, cp.root, cp.note, cp.signed_at, kept)
            for size, line in lines:
                cp = self._checkpoints[size]
                if line not in cp.cosignatures:
                    self._checkpoints[size] = StoredCheckpoint(
                        cp.size, cp.root, cp.note, cp.signed_at, (*cp.cosignatures, line)
                    )

    def close(self):
        pass
