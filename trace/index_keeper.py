"""Keeping the head index: the server commits its root in the log, at a bounded lag behind the tip.

An index entry at ledger index N commits the head index of entries [0, N) (trace/head_index.py).
`IndexKeeper.commit_due` hands the log a `compute` hook (`Log.submit_computed`): inside the log's
write transaction, after the entries of its batch before it were admitted, the hook

  1. reads the stored index's head (trace_index_head) in that transaction;
  2. decides whether an entry is due: the log has grown past the last index entry, and that one
     was committed at least `lag` seconds ago by the keeper's clock (the first one: `lag` seconds
     after the keeper started); if not, it appends nothing;
  3. folds the entries after the last index entry into the stored values (`fold_entries_fast`,
     trace/index_fold.py, which answers as the plain `fold_entries` does: only the
     lots and keys they name are recomputed) and updates the stored map (`update_map_batched`,
     ledger/map_update.py: `update_map` reading the store a level at a time);
  4. writes the new head row and returns the index entry for index N = the log's size, stamped with
     the keeper's clock (whole seconds, the entry's `time`).

The nodes, values, head row and entry commit in the same transaction, so the stored map always
answers for the latest committed index entry. Several processes may keep the index of one
database: the log's write lock orders their hooks, and step 2 runs under it, so two keepers that
both found an entry due append one (the second sees the first's head row and a log that has not
grown past it). A database whose index tables are empty (new, or restored from a mirror or a
backup, which carry no index tables) rebuilds the whole index from the log at its next commit.

`IndexKeeper.start()` runs `commit_due` in a background thread every `poll` seconds (the api's
composition root starts it, as it starts the witness submitter, and sets the write path's
`Recorder.after_batch` to `nudge`: at the end of each ingest batch a commit is queued, never waited for).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

from farmtrace.ledger.log import Log
from farmtrace.ledger.map_update import update_map_batched
from farmtrace.ledger.sequencer import ReadEntries
from farmtrace.ledger.store import WriteTxn

from .head_index import IndexEntry, encode_index_entry, value_hash
from .index_fold import change_values, fold_entries_fast
from .store.index_store import IndexHead, IndexStore, create_index_tables

__all__ = ["DEFAULT_LAG", "FOLD_CHUNK", "IndexKeeper", "index_due"]

log = logging.getLogger(__name__)

DEFAULT_LAG = 10.0  # seconds (FARMTRACE_INDEX_LAG)
FOLD_CHUNK = 20_000  # entries read and folded at a time (a rebuild of a large log stays bounded)


def index_due(head: IndexHead | None, size: int, now: float, *, lag: float, since: float) -> bool:
    """True if an index entry is due at index `size`: the log grew past the last one (`head`), and
    that one is at least `lag` seconds old at `now` (with none: the log is not empty and `since`, the
    keeper's start, is at least `lag` seconds old)."""
    if head is None:
        return size > 0 and now - since >= lag
    return size > head.size + 1 and now - head.committed_at >= lag


class IndexKeeper:
    """Commits index entries to `log` (whose SQL store holds the index tables); `clock` gives POSIX
    seconds; `lag` is the least time between two index entries."""

    def __init__(self, log: Log, *, clock: Callable[[], float], lag: float = DEFAULT_LAG) -> None:
        if lag < 0:
            raise ValueError(f"the index lag is a number of seconds of at least 0, found {lag}")
        self.log = log
        self.clock = clock
        self.lag = lag
        self.started = clock()  # the first index entry is due `lag` seconds after this
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: Future | None = None
        self._lock = threading.Lock()
        create_index_tables(log.engine)

    # --- committing --------------------------------------------------------------------------------

    def commit_due(self) -> int | None:
        """Append an index entry if one is due; return its index, or None. Raises what the hook raised."""
        return self.log.submit_computed(self.compute).result()

    def nudge(self) -> None:
        """Queue `commit_due`'s hook without waiting for it, unless one is queued already. Its
        failure is logged (the next commit tries again)."""
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return
            self._pending = future = self.log.submit_computed(self.compute)
        future.add_done_callback(_log_failure)

    def compute(self, txn: WriteTxn, size: int, read: ReadEntries) -> bytes | None:
        """The `Compute` hook (steps 1-4 of the module docstring)."""
        store = IndexStore(txn.connection)
        head = store.head()  # 1.
        now = self.clock()
        if not index_due(head, size, now, lag=self.lag, since=self.started):  # 2.
            return None
        start, lots, keys = (head.size, head.lots, head.keys) if head is not None else (0, 0, 0)
        pending: dict[bytes, bytes] = {}  # 3. map key -> new value

        def previous(map_keys):
            found = {k: pending[k] for k in map_keys if k in pending}
            found.update(store.values([k for k in map_keys if k not in pending]))
            return found

        for first in range(start, size, FOLD_CHUNK):
            changes = fold_entries_fast(first, read(first, min(first + FOLD_CHUNK, size)), previous)
            pending.update(change_values(changes))
            lots += changes.new_lots
            keys += changes.new_keys
        if head is not None and not pending:
            root = head.root  # only index entries since: the map is unchanged
        else:
            root = update_map_batched(store, {k: value_hash(v) for k, v in pending.items()})
            store.put_values(pending)
        store.put_head(IndexHead(size, root, lots, keys, now))  # 4.
        return encode_index_entry(IndexEntry(size=size, root=root, lots=lots, keys=keys, time=int(now)))

    # --- the background thread ---------------------------------------------------------------------

    def start(self, *, poll: float | None = None) -> None:
        """Run `commit_due` every `poll` seconds (default: a quarter of the lag, 0.25 s to 5 s) in a
        daemon thread, until `stop`. A failure is logged and tried again at the next turn."""
        if self._thread is not None:
            return
        every = poll if poll is not None else min(max(self.lag / 4, 0.25), 5.0)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(every,), name="farmtrace-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the background thread (a commit under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                if self._due_outside():
                    self.commit_due()
            except Exception:  # the log closed under us, or the database failed: try again later
                log.exception("committing the head index failed")

    def _due_outside(self) -> bool:
        """A cheap look, outside the write lock, at whether `compute` would append: saves a write
        transaction per turn while nothing is due. The hook decides again under the lock."""
        with self.log.engine.connect() as conn:
            head = IndexStore(conn).head()
        return index_due(head, self.log.size, self.clock(), lag=self.lag, since=self.started)


def _log_failure(future: Future) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("committing the head index failed: %s", exc)
