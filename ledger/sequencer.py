"""The Sequencer: the Log's one writer thread, which sequences and integrates queued entries in batches.

Callers from any thread hand requests (entries, and an `admit` or `select` hook) to `put`, which
returns a Future at once. The writer takes everything queued, up to `max_batch` entries, and in one
write transaction of the store (steps 1–5 of ledger/log.py's docstring):

  1. reads the latest signed checkpoint (under the store's cross-process write lock);
  2. loads the tree's right edge and checks it against that checkpoint (StoreMismatchError if the
     stored tree is not the one signed: nothing is signed on top of it);
  3. runs each request's hook inside a savepoint, so that a refused request leaves no trace, and gives
     the admitted entries consecutive indexes;
  4. writes the entries and their tiles, and the checkpoint `sign` makes for the new size;
  5. commits, and only then resolves each request's Future with its index (or its refusal).

A failure of the transaction itself fails every request of the batch (a LedgerError as it is, anything
else as AppendError) and forgets the cached edge. The Log checks entries and refuses appends to a
read-only or closed log before they reach the queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from .entry_bundles import check_entry_size
from .errors import AppendError, LedgerError, StoreMismatchError
from .hashing import leaf_hash
from .store import LogStore, StoredCheckpoint, WriteTxn
from .tiles import Integrator

__all__ = ["Admit", "Compute", "ReadEntries", "Select", "Sequencer"]

# admit(txn, first_index) runs inside the write transaction before the entries get their indexes;
# raising refuses the request (its savepoint is rolled back) without affecting the rest of the batch.
Admit = Callable[[WriteTxn, int], None]
# select(txn, first_index) is the per-entry form: it returns one bool per entry of the request, and
# the entries marked True get consecutive indexes from first_index, in order; the others are not
# appended. Raising refuses the whole request, as for Admit.
Select = Callable[[WriteTxn, int], Sequence[bool]]
# read_entries(start, end): the entries [start, end) as the write transaction sees them (those of the
# batch not yet written included). Raises AppendError if one is missing.
ReadEntries = Callable[[int, int], list[bytes]]
# compute(txn, size, read_entries) makes an entry from the log as it stands: it runs (in a savepoint)
# after the batch's earlier requests were admitted, `size` is the log's size then, and the entry it
# returns is appended at index `size`; None appends nothing. Raising refuses it, as for Admit.
Compute = Callable[[WriteTxn, int, ReadEntries], bytes | None]

# What a request gets: its first index (admit), an index or None per entry (select), or its refusal;
# a computed entry's index, or None if none was made.
_Outcome = int | list[int | None] | BaseException | None


@dataclass
class _Request:
    entries: list[bytes]
    admit: Admit | None
    select: Select | None = None
    compute: Compute | None = None
    future: Future = field(default_factory=Future)


class Sequencer:
    """The writer thread of one Log over `store`.

    `sign(size, root)` makes the checkpoint stored with each batch; `committed(size)` is told the
    log's size after each committed batch. The thread starts with the first `put` and ends at `stop`.
    """

    def __init__(
        self,
        store: LogStore,
        sign: Callable[[int, bytes], StoredCheckpoint],
        *,
        max_batch: int,
        committed: Callable[[int], None],
    ) -> None:
        self._store = store
        self._sign = sign
        self._max_batch = max_batch
        self._committed = committed
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._edge: Integrator | None = None  # cached right edge, valid while no one else appends
        self._edge_root: bytes | None = None

    def put(
        self,
        entries: list[bytes],
        admit: Admit | None,
        select: Select | None = None,
        compute: Compute | None = None,
    ) -> Future:
        """Queue one request (checked entries, at most one of `admit` and `select`; or no entries and
        a `compute`); return its Future."""
        self._start()
        req = _Request(entries, admit, select, compute)
        self._queue.put(req)
        return req.future

    def stop(self) -> None:
        """Finish every request queued so far, then end the writer thread (a later `put` starts it again)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="farmtrace-log-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        carried: _Request | None = None  # a computed request that starts the next transaction
        while True:
            first, carried = (carried, None) if carried is not None else (self._queue.get(), None)
            if first is None:
                return
            batch, count, stop = [first], len(first.entries), False
            while count < self._max_batch:
                try:
                    req = self._queue.get_nowait()
                except queue.Empty:
                    break
                if req is None:
                    stop = True
                    break
                if req.compute is not None:
                    # A computed entry opens a transaction of its own, after the entries queued
                    # before it have committed: what it derives from entries [0, size) then never
                    # rests on entries that a failed transaction could take back.
                    carried = req
                    break
                batch.append(req)
                count += len(req.entries)
            self._commit(batch)
            if stop:
                if carried is not None:
                    self._commit([carried])
                return

    def _commit(self, batch: list[_Request]) -> None:
        try:
            with self._store.write() as txn:
                edge = self._load_edge(txn, txn.latest_checkpoint())
                accepted, results = _admit(txn, batch, edge.size, self._store.read_entries)
                if accepted:
                    txn.write_entries(edge.size, accepted)
                    edge.append(map(leaf_hash, accepted))
                    txn.write_tiles(edge.dirty_tiles())
                    txn.write_checkpoint(self._sign(edge.size, edge.root()))
        except BaseException as exc:
            self._edge = None
            err = exc if isinstance(exc, LedgerError) else AppendError(f"append failed: {exc}")
            if err is not exc:
                err.__cause__ = exc
            for req in batch:
                if not req.future.done():
                    req.future.set_exception(err)
            return
        self._edge, self._edge_root = edge, edge.root()
        self._committed(edge.size)
        for req, outcome in results:
            if isinstance(outcome, BaseException):
                req.future.set_exception(outcome)
            else:
                req.future.set_result(outcome)

    def _load_edge(self, txn: WriteTxn, latest: StoredCheckpoint | None) -> Integrator:
        """The right edge of the tree at the latest checkpoint, verified against that checkpoint."""
        if latest is None:
            raise AppendError("the log has no genesis checkpoint")
        if self._edge is not None and self._edge.size == latest.size and self._edge_root == latest.root:
            return self._edge.copy()
        edge = Integrator.load(latest.size, txn.read_tiles)
        if edge.root() != latest.root:
            # The stored tree is not the tree we signed: refuse to sign anything on top of it.
            raise StoreMismatchError(
                f"the stored tree of size {latest.size} does not match the latest signed checkpoint",
                size=latest.size,
                signed_root=latest.root,
                stored_root=edge.root(),
            )
        return edge


def _admit(
    txn: WriteTxn, batch: list[_Request], size: int, stored: Callable[[int, int], list[tuple[int, bytes]]]
) -> tuple[list[bytes], list[tuple[_Request, _Outcome]]]:
    """Step 3: run each request's hook in a savepoint, from index `size`; return the accepted entries,
    in order, and each request's outcome. A hook's refusal goes to its own caller only. `stored` reads
    committed entries (for a `compute` hook's view of the log)."""
    accepted: list[bytes] = []
    results: list[tuple[_Request, _Outcome]] = []
    first = size
    for req in batch:
        if req.compute is not None:
            results.append((req, _computed(txn, req.compute, size, _BatchView(stored, accepted, first))))
            if isinstance(results[-1][1], int):
                size += 1
            continue
        if req.select is not None:
            try:
                with txn.savepoint():
                    keep = _mask(req.select(txn, size), len(req.entries))
            except Exception as exc:
                results.append((req, exc))
                continue
            indexes: list[int | None] = []
            for entry, kept in zip(req.entries, keep, strict=True):
                indexes.append(size if kept else None)
                if kept:
                    accepted.append(entry)
                    size += 1
            results.append((req, indexes))
            continue
        if req.admit is not None:
            try:
                with txn.savepoint():
                    req.admit(txn, size)
            except Exception as exc:
                results.append((req, exc))
                continue
        results.append((req, size))
        accepted.extend(req.entries)
        size += len(req.entries)
    return accepted, results


def _computed(txn: WriteTxn, compute: Compute, size: int, view: _BatchView) -> int | BaseException | None:
    """Run `compute` at `size` in a savepoint: the index of the entry it made (added to the batch's
    accepted entries), None if it made none, or what it raised."""
    try:
        with txn.savepoint():
            entry = compute(txn, size, view.read)
            if entry is None:
                return None
            if not isinstance(entry, bytes):
                raise AppendError("a computed entry is bytes")
            check_entry_size(entry)
    except Exception as exc:
        return exc
    view.accepted.append(entry)
    return size


@dataclass
class _BatchView:
    """The log as a batch's write transaction sees it: committed entries (`stored`) below `first`, and
    the batch's `accepted` ones from `first` on."""

    stored: Callable[[int, int], list[tuple[int, bytes]]]
    accepted: list[bytes]
    first: int

    def read(self, start: int, end: int) -> list[bytes]:
        """`ReadEntries`: entries [start, end), in order; AppendError if one is missing."""
        first = self.first
        found = [e for _, e in self.stored(start, min(end, first))] if start < first else []
        found += self.accepted[max(start, first) - first : max(end, first) - first]
        if len(found) != max(0, end - start):
            raise AppendError(f"entries [{start}, {end}) are not all in the log")
        return found


def _mask(keep: Sequence[bool], n: int) -> list[bool]:
    """`keep` as a list of n bools; raise AppendError (refusing the request) if it has another length."""
    keep = [bool(k) for k in keep]
    if len(keep) != n:
        raise AppendError(f"select returned {len(keep)} decisions for {n} entries")
    return keep
