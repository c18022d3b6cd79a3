"""The replay audit's check of the head index: every committed root recomputed from the log.

`check_index_roots(log, size)` reads entries [0, size) in order and folds them into a `MemoryIndex`
(trace/index_state.py); at each index entry it checks that the entry decodes strictly, sits at the
index it names (`size` = its own ledger index) and commits exactly the state recomputed from the
entries before it: the root, and the numbers of lot and key leaves. The first that does not raises
`IndexRootMismatch`, naming the entry and carrying both roots.

`replay` (trace/replay.py) calls it after the entries were projected again through the write
path, so every event entry has already been decoded strictly and accepted in log order.

    ReplayFailure
    └── IndexRootMismatch   `.index` the index entry; `.committed` and `.recomputed` (IndexEntry, or
                            None for an entry that does not decode)
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from farmtrace.ledger.log import Log

from .errors import TraceError
from .head_index import IndexEntry, decode_index_entry, is_index_entry
from .index_state import MemoryIndex
from .replay import CHUNK, ReplayFailure

__all__ = ["IndexRootMismatch", "IndexRoots", "check_index_roots"]


class IndexRootMismatch(ReplayFailure):
    """Index entry `index` does not commit the head index recomputed from the entries before it."""

    def __init__(
        self, index: int, *, committed: IndexEntry | None, recomputed: IndexEntry, why: str | None = None
    ) -> None:
        if why is None:
            why = (
                f"it commits root {_b64(committed.root)} ({committed.lots} lots, {committed.keys} keys) at "  # type: ignore[union-attr]
                f"size {committed.size}, but the log before it gives root {_b64(recomputed.root)} "  # type: ignore[union-attr]
                f"({recomputed.lots} lots, {recomputed.keys} keys)"
            )
        super().__init__(f"index entry {index} is wrong: {why}", index=index)
        self.committed = committed
        self.recomputed = recomputed


class IndexRoots:
    """What `check_index_roots` found: how many index entries it checked, and the state at `size`."""

    def __init__(self, checked: int, state: MemoryIndex) -> None:
        self.checked = checked
        self.state = state


def _b64(root: bytes) -> str:
    return base64.b64encode(root).decode()


def check_index_roots(
    log: Log, size: int, *, progress: Callable[[int, int], None] | None = None
) -> IndexRoots:
    """Recompute every index entry of the log's entries [0, size); raise IndexRootMismatch at the
    first wrong one (ReplayFailure if entries are missing). Returns the count and the final state."""
    state = MemoryIndex()
    checked = 0
    for start in range(0, size, CHUNK):
        chunk = log.read_entries(start, min(start + CHUNK, size))
        if [i for i, _ in chunk] != list(range(start, start + len(chunk))) or not chunk:
            raise ReplayFailure(f"the log's entries from {start} are missing", index=start)
        run_start = start
        for i, entry in chunk:
            if not is_index_entry(entry):
                continue
            state.fold(run_start, [e for _, e in chunk[run_start - start : i - start]])
            run_start = i + 1
            _check_one(i, entry, state.entry(i))
            checked += 1
        state.fold(run_start, [e for _, e in chunk[run_start - start :]])
        if progress is not None:
            progress(start + len(chunk), size)
    return IndexRoots(checked, state)


def _check_one(index: int, entry: bytes, recomputed: IndexEntry) -> None:
    try:
        committed = decode_index_entry(entry)
    except TraceError as exc:
        raise IndexRootMismatch(
            index, committed=None, recomputed=recomputed, why=f"it does not decode: {exc}"
        ) from exc
    if committed.size != index:
        why = (
            f"it names size {committed.size} but sits at index {index} (it must commit entries [0, {index}))"
        )
        raise IndexRootMismatch(index, committed=committed, recomputed=recomputed, why=why)
    if committed != recomputed:
        raise IndexRootMismatch(index, committed=committed, recomputed=recomputed)
