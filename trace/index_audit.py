"""The replay audit's check of the head index: every committed root recomputed from the log.

`check_index_roots(log, size)` reads entries [0, size) in order and folds them into a `MemoryIndex`
(trace/index_state.py); at each index entry it checks that the entry decodes strictly, sits at the
index it names (`size` = its own ledger index) and commits exactly the state recomputed from the
entries before it: the root, and the numbers of lot and key leaves. The first that does not raises
`IndexRootMismatch`, naming the entry and carrying both roots.

It also checks each index entry's `time` (docs/index.md §3, §5): the times never decrease from one
index entry to the next, and no entry's time is later than the timestamp of a witness cosignature
stored on a checkpoint that covers it (size > its index), plus `TIME_SLACK` seconds for the clocks'
disagreement. A page trusts an index entry as fresh when its time is close to the checkpoint's
cosignatures, so a future-dated entry would pass as fresh for longer: the audit names it, with the
checkpoint and the witness whose cosignature (a stored line, checkable with the witness's key) dates
it, as evidence a third party can re-check.

`replay` (trace/replay.py) calls it after the entries were projected again through the write
path, so every event entry has already been decoded strictly and accepted in log order.

    ReplayFailure
    ├── IndexRootMismatch   `.index` the index entry; `.committed` and `.recomputed` (IndexEntry, or
    │                       None for an entry that does not decode)
    └── IndexTimeFailure    `.index` the index entry; `.time` its time, `.bound` the time it may
                            not pass, `.witness` and `.checkpoint` (size) the cosignature that dates
                            it (None when an earlier index entry's time is the bound)
"""

from __future__ import annotations

import base64
import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureVerifier, parse_signature_line
from farmtrace.ledger.store import StoredCheckpoint

from .errors import TraceError
from .head_index import IndexEntry, decode_index_entry, is_index_entry
from .index_state import MemoryIndex
from .replay import CHUNK, ReplayFailure

__all__ = ["TIME_SLACK", "IndexRootMismatch", "IndexRoots", "IndexTimeFailure", "check_index_roots"]

TIME_SLACK = 5  # seconds an index entry's time may run ahead of a witness's cosignature (clock skew)


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


class IndexTimeFailure(ReplayFailure):
    """Index entry `index` states time `time`, later than `bound`: an earlier index entry's time
    (time went back) or, with `witness` and `checkpoint`, that witness's cosignature of the
    checkpoint of that size, which covers the entry, plus TIME_SLACK."""

    def __init__(
        self, index: int, *, time: int, bound: int, witness: str | None = None, checkpoint: int | None = None
    ) -> None:
        if witness is None:
            why = f"its time {_when(time)} is before {_when(bound)}, an earlier index entry's time"
        else:
            why = (
                f"its time {_when(time)} is after the cosignature of the checkpoint of size {checkpoint}, which "
                f"covers it, by witness {witness} at {_when(bound)} (more than {TIME_SLACK} s): a future-dated "
                "index entry would pass for fresh longer than it is"
            )
        super().__init__(f"index entry {index} is wrong: {why}", index=index)
        self.time = time
        self.bound = bound
        self.witness = witness
        self.checkpoint = checkpoint


def _when(t: int) -> str:
    try:
        return f"{t} ({datetime.fromtimestamp(t, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')})"
    except (OverflowError, OSError, ValueError):
        return str(t)


@dataclass(frozen=True)
class _Cosigned:
    """The earliest stored cosignature among the checkpoints of size `size` and above."""

    size: int
    time: int
    witness: str
    checkpoint: int


def _cosignature(line: str) -> tuple[str, int] | None:
    """(witness name, timestamp) of a stored cosignature line `— <name> <base64(key ID ‖ time ‖ sig)>`;
    None for a line that is not a cosignature/v1 (the log verified each line when it stored it)."""
    try:
        sig = parse_signature_line(line)
    except MalformedError:
        return None
    return (sig.name, CosignatureVerifier.timestamp(sig.signature)) if len(sig.signature) == 8 + 64 else None


def _earliest_cosignatures(checkpoints: list[StoredCheckpoint]) -> list[_Cosigned]:
    """For each cosigned checkpoint size S (ascending), the earliest cosignature on any checkpoint of
    size ≥ S: the bound of an index entry at index N is that of the first S > N."""
    found: list[_Cosigned] = []
    for cp in sorted(checkpoints, key=lambda c: c.size, reverse=True):
        stamps = [c for c in map(_cosignature, cp.cosignatures) if c is not None]
        if not stamps:
            continue
        name, t = min(stamps, key=lambda c: c[1])
        if found and found[-1].time <= t:
            found.append(_Cosigned(cp.size, found[-1].time, found[-1].witness, found[-1].checkpoint))
        else:
            found.append(_Cosigned(cp.size, t, name, cp.size))
    return found[::-1]


def _check_time(index: int, time: int, last: int | None, cosigned: list[_Cosigned], sizes: list[int]) -> None:
    """The entry's time does not go back, nor run ahead of a covering checkpoint's cosignature
    (`sizes`: the sizes of `cosigned`)."""
    if last is not None and time < last:
        raise IndexTimeFailure(index, time=time, bound=last)
    at = bisect.bisect_right(sizes, index)
    if at < len(cosigned) and time > cosigned[at].time + TIME_SLACK:
        c = cosigned[at]
        raise IndexTimeFailure(index, time=time, bound=c.time, witness=c.witness, checkpoint=c.checkpoint)


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
    first wrong one, IndexTimeFailure at the first whose time is wrong (ReplayFailure if entries are
    missing). Returns the count and the final state."""
    state = MemoryIndex()
    checked = 0
    last: int | None = None  # the time of the last index entry
    cosigned = _earliest_cosignatures(log.checkpoints())
    sizes = [c.size for c in cosigned]
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
            time = _check_one(i, entry, state.entry(i))
            _check_time(i, time, last, cosigned, sizes)
            last = time
            checked += 1
        state.fold(run_start, [e for _, e in chunk[run_start - start :]])
        if progress is not None:
            progress(start + len(chunk), size)
    return IndexRoots(checked, state)


def _check_one(index: int, entry: bytes, recomputed: IndexEntry) -> int:
    """Check the entry's state; return its time."""
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
    if committed != recomputed:  # the state committed (IndexEntry's equality leaves out the time)
        raise IndexRootMismatch(index, committed=committed, recomputed=recomputed)
    return committed.time
