"""The full audit: recompute the whole tree from the stored entries and check every checkpoint.

An audit trusts nothing stored but the log's public key. It checks

  1. every checkpoint note's signature with the log key, and that it says what its row says (a
     forged or altered checkpoint);
  2. that the entry indexes run 0, 1, 2, … with no gap (a deleted row shows as a missing index);
  3. at each checkpoint's size, that the root recomputed from the entries is the checkpoint's root;
  4. every recomputed tile against the stored one (an edited entry, two swapped entries or an
     edited stored hash show as the first index that differs);
  5. that no entry lies beyond the latest checkpoint (written outside the log).

Failures are described in words a regulator can act on and carry the first index (or checkpoint
size) that fails. `audit` works from iterators, so the same code audits a database and an offline
bundle (which carries no tiles).

Entries are taken CHUNK at a time: their leaf hashes are computed together and integrated a tree
level at a time (`tiles.Integrator`), so the cost per entry is little more than its two hashes.
Each tile is compared once, in its final form: a complete tile as soon as it is recomputed, the
right-edge partial tiles (which grow from chunk to chunk) at the end.
"""
# size: one audit's five numbered checks over one pass of the entries; the tile comparison (step 4)
# has two sources (a keyed store, a streamed bundle) sharing _TileCheck and the failure words

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Protocol

from .checkpoint import open_checkpoint
from .errors import Evidence, LedgerError
from .hashing import HASH_SIZE, leaf_hash
from .note import Verifier
from .store import StoredCheckpoint
from .tiles import TILE_HEIGHT, TILE_WIDTH, Integrator, TileKey

__all__ = ["AuditFailure", "AuditReport", "TileSource", "audit"]

MAX_FAILURES = 50
# Entries integrated per step. A multiple of 2^16, so that every step but the last ends on a
# boundary of level-1 tiles: only the right-edge tiles of level 2 and up are partial in between.
CHUNK = 1 << 16
BATCH = 1 << 12  # entries hashed at a time (CHUNK is a multiple)
_FULL_TILE = TILE_WIDTH * HASH_SIZE


@dataclass(frozen=True)
class AuditFailure:
    """One thing that does not verify: an entry index or a checkpoint size, and what is wrong."""

    message: str
    index: int | None = None
    checkpoint_size: int | None = None
    covers: tuple[int, int] | None = None  # for an interior hash: the entries [lo, hi) below it
    evidence: Evidence | None = None  # a proof of misbehaviour a third party can re-check (a fork)


@dataclass
class AuditReport:
    size: int = 0
    entries_checked: int = 0
    checkpoints_checked: int = 0
    tiles_checked: int = 0
    seconds: float = 0.0
    failures: list[AuditFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first_failure(self) -> AuditFailure | None:
        return self.failures[0] if self.failures else None

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.entries_checked} entries, {self.tiles_checked} hash tiles and "
                f"{self.checkpoints_checked} signed checkpoints verified (log size {self.size})."
            )
        return f"FAILED: {self.first_failure.message}"  # type: ignore[union-attr]


class TileSource(Protocol):
    """Stored tiles by key (every LogStore is one): `read_tiles(keys)` returns {key: hashes}."""

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]: ...


def audit(
    entries: Iterable[tuple[int, bytes]],
    checkpoints: Iterable[StoredCheckpoint],
    *,
    log_key: Verifier,
    tiles: TileSource | Iterable[tuple[TileKey, bytes]] | None,
    progress: Callable[[int, int], None] | None = None,
    signed_size: Callable[[], int] | None = None,
) -> AuditReport:
    """Audit a log; return a report (never raises for what it finds; see the module docstring).

    `entries` are (index, entry) pairs in index order. `tiles` are the stored tiles to compare:
    a TileSource such as the store itself (each tile is read when it is needed: memory stays
    bounded), or (key, hashes) pairs ordered by (level, index) as `iter_tiles()` yields them (the
    level-1 and higher tiles then wait in memory until the stream reaches them: 1/8 byte per
    entry), or None for no comparison (an offline bundle). `progress(done, size)` is called after
    each chunk of entries. The audit stops reading after MAX_FAILURES failures.

    A live log grows while it is audited: the audit covers the checkpoints it was given, and an
    entry beyond the last of them is a failure only if `signed_size()` (the size of the log's
    latest checkpoint *now*, when given) does not cover it either — i.e. it was written outside the log.
    """
    started = time.perf_counter()
    report = AuditReport()
    cps = sorted(checkpoints, key=lambda c: c.size)
    report.size = size = cps[-1].size if cps else 0
    report.checkpoints_checked = len(cps)
    _check_signatures(cps, log_key, report.failures.append)  # 1.

    edge = Integrator(0, [], {})
    roots = _RootCheck(cps, report.failures.append)
    stored = _tile_check(tiles, size, report)
    for leaves in _leaf_chunks(entries, size, report.failures.append):  # 2. and 5.
        roots.integrate(edge, leaves)  # 3.
        if stored is not None:
            stored.add(edge.dirty_tiles())  # 4.
        if progress:
            progress(edge.size, size)
        if len(report.failures) >= MAX_FAILURES:
            break
    roots.integrate(edge, [])  # the checkpoints at the size reached
    if stored is not None:
        stored.finish()

    if signed_size is not None:
        beyond = [f for f in report.failures if f.message.startswith(f"entry {f.index} is beyond the latest")]
        if beyond and signed_size() > beyond[0].index:  # the log grew during the audit: not a failure
            report.failures.remove(beyond[0])
    report.entries_checked = edge.size
    if edge.size < size and not any(f.index == edge.size for f in report.failures):
        report.failures.append(
            AuditFailure(f"entries from {edge.size} to {size - 1} are missing from the log", index=edge.size)
        )
    report.failures = _without_echoes(report.failures)
    report.seconds = time.perf_counter() - started
    if progress:
        progress(edge.size, size)
    return report


def _check_signatures(
    cps: list[StoredCheckpoint], log_key: Verifier, fail: Callable[[AuditFailure], None]
) -> None:
    """Step 1: each checkpoint note is signed by the log key and says what its row says."""
    for cp in cps:
        try:
            opened = open_checkpoint(cp.note, log_key)
        except LedgerError as exc:
            fail(
                AuditFailure(
                    f"the checkpoint at size {cp.size} is not validly signed by the log key ({exc}): "
                    "it was forged or altered",
                    checkpoint_size=cp.size,
                )
            )
            continue
        if opened.checkpoint.size != cp.size or opened.checkpoint.root != cp.root:
            fail(
                AuditFailure(
                    f"the checkpoint stored at size {cp.size} says size {opened.checkpoint.size}: "
                    "its record was altered",
                    checkpoint_size=cp.size,
                )
            )


# --- steps 2 and 5: the entries, in chunks of leaf hashes -----------------------------------------


def _leaf_chunks(
    entries: Iterable[tuple[int, bytes]], size: int, fail: Callable[[AuditFailure], None]
) -> Iterator[list[bytes]]:
    """The leaf hashes of `entries`, CHUNK at a time, while their indexes run 0, 1, 2, … below `size`.

    At the first index out of place, yields the hashes before it, records what is wrong and stops.
    Entries are hashed BATCH at a time as they arrive, while their bytes are still in the CPU's
    cache (reading a whole chunk first, then hashing it, is 15% slower).
    """
    rows_left = iter(entries)
    expected = 0
    leaves: list[bytes] = []
    while rows := list(islice(rows_left, BATCH)):
        indexes = list(map(itemgetter(0), rows))
        wanted = range(expected, expected + len(rows))
        stop = len(rows)
        if indexes != list(wanted):
            stop = next(j for j, (i, w) in enumerate(zip(indexes, wanted, strict=True)) if i != w)
        stop = min(stop, size - expected)  # the first index out of place, or the index `size`
        leaves.extend(map(leaf_hash, map(itemgetter(1), rows[:stop])))
        if stop < len(rows):
            if leaves:
                yield leaves
            _out_of_place(expected + stop, indexes[stop], size, fail)
            return
        expected += len(rows)
        if len(leaves) == CHUNK:
            yield leaves
            leaves = []
    if leaves:
        yield leaves


def _out_of_place(at: int, found: int, size: int, fail: Callable[[AuditFailure], None]) -> None:
    """Record what is wrong where entry `at` was expected and the index `found` is stored instead.

    Nothing is recorded for an index that runs backwards (only an edit can do that, and the
    tiles and roots report it): the walk just stops, and the entries from `at` count as missing.
    """
    if found > at:
        fail(
            AuditFailure(
                f"entry {at} is missing from the log (the next stored entry is {found}): "
                "it was deleted after it was logged",
                index=at,
            )
        )
    elif found == at:  # the index is in place, so this is the walk's end at `size`
        fail(AuditFailure(f"entry {at} is beyond the latest signed checkpoint (size {size})", index=at))


class _RootCheck:
    """Step 3: integrates leaf hashes and compares the root at each checkpoint's size."""

    def __init__(self, cps: list[StoredCheckpoint], fail: Callable[[AuditFailure], None]) -> None:
        self._cps = iter(cps)
        self._next = next(self._cps, None)
        self._fail = fail

    def integrate(self, edge: Integrator, leaves: list[bytes]) -> None:
        """Append `leaves` to `edge`, stopping at each checkpoint size on the way (and at the start)."""
        pos = 0
        while True:
            while self._next is not None and self._next.size <= edge.size:
                cp, self._next = self._next, next(self._cps, None)
                if cp.size == edge.size and edge.root() != cp.root:
                    self._fail(
                        AuditFailure(
                            f"the checkpoint at size {cp.size} does not match the stored entries: an entry "
                            f"before index {cp.size} was altered, removed or inserted after it was signed",
                            checkpoint_size=cp.size,
                        )
                    )
            if pos >= len(leaves):
                return
            end = len(leaves)
            if self._next is not None:
                end = min(end, pos + self._next.size - edge.size)
            edge.append(leaves[pos:end])
            pos = end


# --- step 4: the stored tiles ---------------------------------------------------------------------


class _TileCheck:
    """Compares each recomputed tile once, in its final form, with the stored one.

    `add(computed)` takes the tiles one chunk changed (complete ones, and partial ones in their
    latest form); `finish()` compares what is left once the entries are done.
    """

    def __init__(self, report: AuditReport) -> None:
        self._report = report

    def _compare(self, key: TileKey, stored: bytes | None, computed: bytes) -> None:
        self._report.tiles_checked += 1
        # A stored partial tile may be ahead of the recomputation only at the right edge.
        mismatch = stored is None or stored[: len(computed)] != computed
        if mismatch and len(self._report.failures) < MAX_FAILURES:
            self._report.failures.append(_describe_tile_mismatch(key, stored, computed))


class _KeyedTiles(_TileCheck):
    """Reads the stored tiles by key: complete ones per chunk, the partial right edge at the end."""

    def __init__(self, report: AuditReport, source: TileSource) -> None:
        super().__init__(report)
        self._source = source
        self._partial: dict[TileKey, bytes] = {}  # at most one per level: the latest form of each

    def add(self, computed: dict[TileKey, bytes]) -> None:
        complete = {}
        for key, hashes in computed.items():
            if len(hashes) == _FULL_TILE:
                complete[key] = hashes
                self._partial.pop(key, None)
            else:
                self._partial[key] = hashes
        self._compare_all(complete)

    def finish(self) -> None:
        self._compare_all(self._partial)
        self._partial = {}

    def _compare_all(self, computed: Mapping[TileKey, bytes]) -> None:
        keys = sorted(computed)
        stored = self._source.read_tiles(keys) if keys else {}
        for key in keys:
            self._compare(key, stored.get(key), computed[key])


class _StreamedTiles(_TileCheck):
    """Walks a stream of stored tiles alongside the recomputation.

    A stored tile is compared once its recomputed twin is complete; until then the stream waits
    (so a stream ordered by (level, index) keeps pace at level 0, and the recomputed higher tiles
    wait for it). Stored tiles outside the tree of `size` are not judged (nothing recomputes them).
    """

    def __init__(self, report: AuditReport, stream: Iterable[tuple[TileKey, bytes]], size: int) -> None:
        super().__init__(report)
        self._stream = iter(stream)
        self._head: tuple[TileKey, bytes] | None = None
        self._waiting: dict[TileKey, bytes] = {}  # recomputed, not yet met in the stream
        self._size = size

    def add(self, computed: dict[TileKey, bytes]) -> None:
        self._waiting.update(computed)
        self._advance(final=False)

    def finish(self) -> None:
        self._advance(final=True)
        for key in sorted(self._waiting):  # recomputed tiles the stream never had
            self._compare(key, None, self._waiting[key])
        self._waiting = {}

    def _advance(self, *, final: bool) -> None:
        while True:
            if self._head is None:
                self._head = next(self._stream, None)
                if self._head is None:
                    return
            key, stored = self._head
            if not _in_tree(key, self._size):
                self._head = None
                continue
            computed = self._waiting.get(key)
            if not final and (computed is None or len(computed) < _FULL_TILE):
                return  # not recomputed yet, or still growing
            self._head = None
            if computed is not None:
                del self._waiting[key]
                self._compare(key, stored, computed)


def _in_tree(key: TileKey, size: int) -> bool:
    """Whether tile `key` holds any hash of the tree of `size`."""
    level, index = key
    return index << TILE_HEIGHT < size >> (TILE_HEIGHT * level)


def _tile_check(
    tiles: TileSource | Iterable[tuple[TileKey, bytes]] | None, size: int, report: AuditReport
) -> _KeyedTiles | _StreamedTiles | None:
    if tiles is None:
        return None
    if hasattr(tiles, "read_tiles"):
        return _KeyedTiles(report, tiles)  # type: ignore[arg-type]
    return _StreamedTiles(report, tiles, size)  # type: ignore[arg-type]


def _describe_tile_mismatch(key: TileKey, stored: bytes | None, computed: bytes) -> AuditFailure:
    level, t = key
    first = t * TILE_WIDTH
    if stored is None:
        return AuditFailure(f"the stored hashes for entries from {first << (8 * level)} are missing", first)
    for j in range(0, min(len(stored), len(computed)), HASH_SIZE):
        if stored[j : j + HASH_SIZE] != computed[j : j + HASH_SIZE]:
            at = (first + j // HASH_SIZE) << (8 * level)
            if level == 0:
                return AuditFailure(
                    f"entry {at} does not match the hash the log recorded for it: "
                    "the entry's bytes, or the stored hash, were altered after it was logged",
                    index=at,
                )
            hi = at + (1 << 8 * level)
            return AuditFailure(
                f"the stored tree hash covering entries {at} to {hi - 1} was altered",
                index=at,
                covers=(at, hi),
            )
    return AuditFailure(f"the stored hash tile {key} has the wrong length", index=first << (8 * level))


def _without_echoes(failures: list[AuditFailure]) -> list[AuditFailure]:
    """The failures in index order, without interior-hash failures above a failing entry.

    An altered entry also changes every interior hash above it: report the entry, not its echoes.
    """
    leaves = [f.index for f in failures if f.index is not None and f.covers is None]
    kept = [
        f for f in failures if f.covers is None or not any(f.covers[0] <= i < f.covers[1] for i in leaves)
    ]
    kept.sort(key=lambda f: f.index if f.index is not None else f.checkpoint_size or 0)
    return kept
