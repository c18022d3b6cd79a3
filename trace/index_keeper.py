"""Keeping the head index: the server commits its root in the log, at a bounded lag behind the tip.

An index entry at ledger index N commits the head index of entries [0, N) (trace/head_index.py).
`IndexKeeper.commit_due` first prepares most of the work outside the log's write lock (`prepare`, on
a connection of its own: steps 3a-3b for the entries the log has committed), then hands the log a
`compute` hook (`Log.submit_computed`): inside the log's write transaction, after the entries of its
batch before it were admitted, the hook

  1. reads the stored index's head (trace_index_head) in that transaction;
  2. decides whether an entry is due: the log has grown past the last index entry, and that one
     was committed at least `lag` seconds ago by the keeper's clock (the first one: `lag` seconds
     after the keeper started); if not, it appends nothing;
  3. continues from what was prepared if it was prepared from this very head (else from the head):
     a. folds the entries not folded yet into the values (`fold_entries_fast`, trace/index_fold.py,
        which answers as the plain `fold_entries` does: only the lots and keys they name are
        recomputed; a value is asked of the values changed so far, then of the stored ones);
     b. updates the map with the values they changed (`update_map_batched`, ledger/map_update.py)
        over the nodes staged so far (`StagedNodes` over the stored map read at the head's size);
     c. writes the nodes and values changed since the prepared ones were written, as rows at
        version N (trace/store/map_rows.py);
  4. writes the new head row and returns the index entry for index N = the log's size, stamped with
     the keeper's clock (whole seconds, the entry's `time`).

`commit_due` writes the prepared nodes and values before it hands the log the hook: as rows at the
prepared size, on a connection of their own (on SQLite, to a file of their own), which readers of
the committed entry do not read (they read versions up to its size; map_rows.py says why that is
sound). Given a limit, the hook declines when more than CLOSE_ENOUGH entries came in since, and
`commit_due` prepares those too and tries again, COMMIT_TRIES times at most. Under the lock there
remain the entries appended since `prepare` read the log (a few hundred at most, but for the last
try), the map's update for them, the nodes and values they changed and the head row. After the
commit, rows the new ones supersede are deleted (`map_rows.collect`). Run in a process of its own
(trace/index_process.py), the keeper takes the fold and the map's walk out of the ingesting process.

The head row and the entry commit in the same transaction, and the entry's rows are written before
it, so the stored index always answers for the latest committed index entry. Several processes may
keep the index of one database: the log's write lock orders their hooks, and step 2 runs under it,
so two keepers that both found an entry due append one (the second sees the first's head row and a
log that has not grown past it). A database with no head row (new, or restored from a mirror or a
backup, which carry no index tables) rebuilds the whole index from the log at its next commit.

`IndexKeeper.start()` runs `commit_due` in a background thread every `poll` seconds, or when
nudged (the api's composition root starts it, as it starts the witness submitter, and sets the write
path's `Recorder.after_batch` to `nudge`: at the end of each ingest batch the thread is woken, never
waited for).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial

from farmtrace.ledger.log import Log
from farmtrace.ledger.map_update import StagedNodes, update_map_batched
from farmtrace.ledger.sequencer import ReadEntries
from farmtrace.ledger.store import WriteTxn

from .head_index import IndexEntry, encode_index_entry, value_hash
from .index_fold import change_values, fold_entries_fast
from .store.index_store import IndexHead, IndexStore, create_index_tables
from .store.map_rows import (
    NODES,
    VALUES,
    MapNodes,
    clear_rows,
    collect,
    node_engine,
    read_values,
    write_nodes,
    write_values,
)
from .store.queries import Connection

__all__ = ["DEFAULT_LAG", "FOLD_CHUNK", "IndexKeeper", "Prepared", "index_due"]

log = logging.getLogger(__name__)

DEFAULT_LAG = 10.0  # seconds (FARMTRACE_INDEX_LAG)
FOLD_CHUNK = 20_000  # entries read and folded at a time (a rebuild of a large log stays bounded)
CLOSE_ENOUGH = 500  # entries appended while preparing that are left to the hook, under the lock
PREPARE_ROUNDS = 8  # preparations at most before the hook (each folds what came during the last)
COMMIT_TRIES = 4  # hooks declined at most for more than CLOSE_ENOUGH new entries, then it folds them


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
        self._wake = threading.Event()  # set by `nudge`, and by `stop`
        self._thread: threading.Thread | None = None
        self._pending: Future | None = None
        self._lock = threading.Lock()
        create_index_tables(log.engine)
        self.nodes = node_engine(log.engine)
        self._written: dict[int, dict[str, dict[int, list[bytes]]]] = {}  # entry: table: version: keys
        self._too_far = False  # the last hook declined: more than CLOSE_ENOUGH entries since prepared

    # --- committing --------------------------------------------------------------------------------

    def commit_due(self) -> int | None:
        """Append an index entry if one is due; return its index, or None. Raises what the hook raised.
        The work is prepared outside the write lock (`prepare`), then finished under it (`compute`)."""
        prepared: Prepared | None = None
        for attempt in range(COMMIT_TRIES):
            prepared = self.prepare(prepared)
            for _ in range(PREPARE_ROUNDS - 1):  # what was appended while it prepared, also outside
                if prepared is None or self.log.size - prepared.size <= CLOSE_ENOUGH:
                    break
                prepared = self.prepare(prepared)
            if prepared is not None:
                prepared = self.store_prepared(prepared)
            # The hook declines (returns None, `_too_far` set) when more than CLOSE_ENOUGH entries
            # came in since it prepared, so that they are folded here rather than under the lock;
            # the last try folds whatever there is.
            limit = CLOSE_ENOUGH if prepared is not None and attempt < COMMIT_TRIES - 1 else None
            self._too_far = False
            index = self.log.submit_computed(partial(self.compute, prepared=prepared, limit=limit)).result()
            if index is not None or not self._too_far:
                break
        written = self._written.pop(index, None) if index is not None else None
        self._written.clear()  # entries another path committed, or none
        if written:
            with self.nodes.begin() as conn:
                for table, keys in written.items():
                    collect(conn, table, keys)
        return index

    def store_prepared(self, prepared: Prepared) -> Prepared:
        """Write the nodes and values prepared since the last store as rows at the prepared size
        (outside the write lock; readers of the committed entry read versions up to its size only).
        Not for a first build: with no head row the hook clears the rows first (they may be another
        log's)."""
        if prepared.head is None or not (prepared.unstored_nodes or prepared.unstored_values):
            return prepared
        with self.nodes.begin() as conn:
            write_nodes(conn, prepared.unstored_nodes, prepared.size)
            write_values(conn, prepared.unstored_values, prepared.size)
        stored = {
            **prepared.stored,
            prepared.size: (list(prepared.unstored_nodes), list(prepared.unstored_values)),
        }
        return replace(prepared, unstored_nodes={}, unstored_values={}, stored=stored)

    def nudge(self) -> None:
        """Have a commit looked at soon, without waiting for it: wake the background thread (which
        prepares outside the write lock), or without one queue the hook, unless one is queued
        already. A failure is logged (the next commit tries again)."""
        if self._thread is not None:
            self._wake.set()
            return
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return
            self._pending = future = self.log.submit_computed(self.compute)
        future.add_done_callback(_log_failure)

    def prepare(self, since: Prepared | None = None) -> Prepared | None:
        """Steps 3a-3b outside the write lock, on a connection of its own: fold the entries the log
        has committed since the last index entry (or since `since`, prepared earlier from the same
        head) and compute the map's update, its nodes staged in memory (the stored map keeps
        answering for the committed entry). None if no entry is due or another keeper committed
        meanwhile (the hook then does all the work under the lock)."""
        size = self.log.size
        head = self._head()
        if not index_due(head, size, self.clock(), lag=self.lag, since=self.started):
            return None
        if since is None or since.head != head or since.size > size:
            since = _start(head)
        # No transaction on the log's database stays open while it folds: a long read snapshot
        # would keep SQLite from checkpointing its write-ahead log, and every append would slow.
        with self.nodes.connect() as nconn:
            prepared = _advance(nconn, head, since, size, _committed(self.log))
        if self._head() != head:
            return None  # a commit came in between: what was read may mix two maps
        return prepared

    def _head(self) -> IndexHead | None:
        with self.log.engine.connect() as conn:
            return IndexStore(conn).head()

    def compute(
        self,
        txn: WriteTxn,
        size: int,
        read: ReadEntries,
        *,
        prepared: Prepared | None = None,
        limit: int | None = None,
    ) -> bytes | None:
        """The `Compute` hook (steps 1-4 of the module docstring), continuing from `prepared` if it
        was prepared from the stored head it finds. With `limit`, it appends nothing (and sets
        `_too_far`) if more than `limit` entries came in since `prepared`."""
        store = IndexStore(txn.connection)
        head = store.head()  # 1.
        now = self.clock()
        if not index_due(head, size, now, lag=self.lag, since=self.started):  # 2.
            return None
        if prepared is None or prepared.head != head or prepared.size > size:
            prepared = _start(head)
        elif limit is not None and size - prepared.size > limit:
            self._too_far = True
            return None
        # The node rows: in the log's transaction where they share its database file (SQLite in
        # memory), else on a connection of their own (they are true states whether or not the entry
        # commits: map_rows.py).
        shared = self.nodes is self.log.engine
        with _nullcontext(txn.connection) if shared else self.nodes.begin() as nconn:
            if head is None:
                clear_rows(nconn)  # a first build: rows there may be another log's
            done = _advance(nconn, head, prepared, size, read)  # 3a-3b.
            write_nodes(nconn, done.unstored_nodes, size)  # 3c. what was not stored before
            write_values(nconn, done.unstored_values, size)
        store.put_head(IndexHead(size, done.root, done.lots, done.keys, now))  # 4.
        versions = dict(done.stored)  # {version: (positions, map keys)}; the prepared size may be N
        kept_nodes, kept_values = versions.get(size, ([], []))
        versions[size] = ([*kept_nodes, *done.unstored_nodes], [*kept_values, *done.unstored_values])
        self._written[size] = {
            NODES: {v: keys for v, (keys, _) in versions.items()},
            VALUES: {v: keys for v, (_, keys) in versions.items()},
        }
        return encode_index_entry(
            IndexEntry(size=size, root=done.root, lots=done.lots, keys=done.keys, time=int(now))
        )

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
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, every: float) -> None:
        while True:
            self._wake.wait(every)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if self.due():
                    self.commit_due()
            except Exception:  # the log closed under us, or the database failed: try again later
                log.exception("committing the head index failed")

    def due(self) -> bool:
        """A cheap look, outside the write lock, at whether `compute` would append: saves a write
        transaction per turn while nothing is due. The hook decides again under the lock."""
        return index_due(self._head(), self.log.size, self.clock(), lag=self.lag, since=self.started)


@dataclass(frozen=True)
class Prepared:
    """The index folded up to `size` from the stored `head` it started at: the values changed since
    `head` (`values`), the map's nodes staged over the store (`nodes`), its root and counts."""

    head: IndexHead | None
    size: int
    values: dict[bytes, bytes]
    nodes: StagedNodes | None
    root: bytes | None  # None: not computed yet (no head, nothing folded)
    lots: int
    keys: int
    # Staged nodes and changed values not stored as rows yet (all of them until the first store),
    # and what was stored: {version: (node positions, value keys)}, for `collect`.
    unstored_nodes: dict[bytes, bytes | None] = field(default_factory=dict)
    unstored_values: dict[bytes, bytes] = field(default_factory=dict)
    stored: dict[int, tuple[list[bytes], list[bytes]]] = field(default_factory=dict)


def _start(head: IndexHead | None) -> Prepared:
    """Nothing folded yet beyond `head`."""
    if head is None:
        return Prepared(None, 0, {}, None, None, 0, 0)
    return Prepared(head, head.size, {}, None, head.root, head.lots, head.keys)


def _bound(head: IndexHead | None) -> int:
    """The rows' version bound of the committed entry `head` (none: -1, an empty index, whatever
    rows are there)."""
    return head.size if head is not None else -1


@contextmanager
def _nullcontext(conn):
    yield conn


def _committed(log: Log) -> ReadEntries:
    """`ReadEntries` over the log's committed entries (outside the write transaction)."""

    def read(start: int, end: int) -> list[bytes]:
        found = [e for _, e in log.read_entries(start, end)]
        if len(found) != end - start:
            raise RuntimeError(f"entries [{start}, {end}) are not all in the log")
        return found

    return read


def _advance(
    nconn: Connection, head: IndexHead | None, prepared: Prepared, size: int, read: ReadEntries
) -> Prepared:
    """Steps 3a-3b: fold entries [prepared.size, size) over `prepared` (values asked of what it
    changed, then of the stored rows of `head`, on `nconn`) and update its staged map over the
    stored one with the values they change. Writes nothing."""
    bound = _bound(head)
    pending = dict(prepared.values)  # map key -> new value since prepared.head
    lots, keys = prepared.lots, prepared.keys
    fresh: dict[bytes, bytes] = {}  # changed by these entries

    def previous(map_keys):
        found = {k: fresh[k] if k in fresh else pending[k] for k in map_keys if k in fresh or k in pending}
        found.update(read_values(nconn, [k for k in map_keys if k not in found], bound))
        return found

    for first in range(prepared.size, size, FOLD_CHUNK):
        changes = fold_entries_fast(first, read(first, min(first + FOLD_CHUNK, size)), previous)
        fresh.update(change_values(changes))
        lots += changes.new_lots
        keys += changes.new_keys
    staged = prepared.nodes.staged if prepared.nodes is not None else None
    nodes = StagedNodes(MapNodes(nconn, bound=bound), staged)
    root = prepared.root
    if fresh or root is None:
        root = update_map_batched(nodes, {k: value_hash(v) for k, v in fresh.items()})
    pending.update(fresh)
    unstored_nodes = {**prepared.unstored_nodes, **(nodes.last_put if fresh else {})}
    unstored_values = {**prepared.unstored_values, **fresh}
    return replace(
        prepared,
        size=max(size, prepared.size),
        values=pending,
        nodes=nodes,
        root=root,
        lots=lots,
        keys=keys,
        unstored_nodes=unstored_nodes,
        unstored_values=unstored_values,
    )


def _log_failure(future: Future) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("committing the head index failed: %s", exc)
