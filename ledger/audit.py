"""The full audit: recompute the whole tree from the stored entries and check every checkpoint.

An audit trusts nothing stored but the log's public key. It streams the entries in index order and

  1. checks that the indexes run 0, 1, 2, … with no gap (a deleted row shows as a missing index);
  2. recomputes every leaf hash and every tile, and compares them with the stored tiles (an edited
     entry, two swapped entries or an edited stored hash show as the first index that differs);
  3. at each checkpoint's size, compares the recomputed root with the checkpoint's root, and checks
     the checkpoint note's signature with the log key and that it says what its row says (a forged
     or altered checkpoint);
  4. flags entries and tiles beyond the latest checkpoint (written outside the log).

Failures are described in words a regulator can act on and carry the first index (or checkpoint
size) that fails. `audit` works from iterators, so the same code audits a database and an offline
bundle (which carries no tiles).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .checkpoint import open_checkpoint
from .errors import LedgerError
from .hashing import HASH_SIZE, leaf_hash
from .note import Verifier
from .store import StoredCheckpoint
from .tiles import TILE_WIDTH, Integrator, TileKey

__all__ = ["AuditFailure", "AuditReport", "audit"]

MAX_FAILURES = 50


@dataclass(frozen=True)
class AuditFailure:
    """One thing that does not verify: an entry index or a checkpoint size, and what is wrong."""

    message: str
    index: int | None = None
    checkpoint_size: int | None = None
    covers: tuple[int, int] | None = None  # for an interior hash: the entries [lo, hi) below it


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


def audit(
    entries: Iterable[tuple[int, bytes]],
    checkpoints: Iterable[StoredCheckpoint],
    *,
    log_key: Verifier,
    tiles: Iterable[tuple[TileKey, bytes]] | None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Audit a log; return a report (never raises for what it finds; see the module docstring)."""
    started = time.perf_counter()
    report = AuditReport()
    fail = report.failures.append
    cps = sorted(checkpoints, key=lambda c: c.size)
    size = cps[-1].size if cps else 0
    report.size = size
    stored_tiles: Iterator[tuple[TileKey, bytes]] | None = iter(tiles) if tiles is not None else None
    pending_tiles: dict[TileKey, bytes] = {}

    def stored_tile(key: TileKey) -> bytes | None:
        # Tiles come sorted by (level, idx); pull until we pass the key.
        if stored_tiles is None:
            return None
        while key not in pending_tiles:
            try:
                k, h = next(stored_tiles)
            except StopIteration:
                return None
            pending_tiles[k] = h
        return pending_tiles.pop(key)

    def compare(tiles_now: dict[TileKey, bytes]) -> None:
        if stored_tiles is None:
            return
        for key in sorted(tiles_now):
            computed = tiles_now[key]
            stored = stored_tile(key)
            report.tiles_checked += 1
            # A stored partial tile may be ahead of the recomputation only at the right edge.
            mismatch = stored is None or stored[: len(computed)] != computed
            if mismatch and len(report.failures) < MAX_FAILURES:
                fail(_describe_tile_mismatch(key, stored, computed))

    # 3. signatures first: they need no entries.
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
    report.checkpoints_checked = len(cps)

    edge = Integrator(0, [], {})
    cp_at = iter(cps)
    next_cp = next(cp_at, None)
    expected = 0
    batch: list[bytes] = []

    def flush() -> None:
        nonlocal next_cp
        # Integrate up to the next checkpoint boundary at a time, so roots are checked at each size.
        pos = 0
        while True:
            while next_cp is not None and next_cp.size <= edge.size:
                if next_cp.size == edge.size and edge.root() != next_cp.root:
                    fail(
                        AuditFailure(
                            f"the checkpoint at size {next_cp.size} does not match the stored entries: an entry "
                            f"before index {next_cp.size} was altered, removed or inserted after it was signed",
                            checkpoint_size=next_cp.size,
                        )
                    )
                next_cp = next(cp_at, None)
            if pos >= len(batch):
                break
            limit = len(batch) - pos
            if next_cp is not None:
                limit = min(limit, next_cp.size - edge.size)
            edge.append(leaf_hash(e) for e in batch[pos : pos + limit])
            pos += limit
        compare(edge.dirty_tiles())
        batch.clear()

    for index, entry in entries:
        if index != expected:
            if index > expected:
                fail(
                    AuditFailure(
                        f"entry {expected} is missing from the log (the next stored entry is {index}): "
                        "it was deleted after it was logged",
                        index=expected,
                    )
                )
            break
        if index >= size:
            fail(
                AuditFailure(
                    f"entry {index} is beyond the latest signed checkpoint (size {size})", index=index
                )
            )
            break
        batch.append(entry)
        expected += 1
        if len(batch) >= 65_536:
            flush()
            if progress:
                progress(expected, size)
        if len(report.failures) >= MAX_FAILURES:
            break
    flush()
    report.entries_checked = expected
    if expected < size and not any(f.index == expected for f in report.failures):
        fail(AuditFailure(f"entries from {expected} to {size - 1} are missing from the log", index=expected))
    # An altered entry also changes every interior hash above it: report the entry, not its echoes.
    leaves = [f.index for f in report.failures if f.index is not None and f.covers is None]
    report.failures = [
        f
        for f in report.failures
        if f.covers is None or not any(f.covers[0] <= i < f.covers[1] for i in leaves)
    ]
    report.failures.sort(key=lambda f: f.index if f.index is not None else f.checkpoint_size or 0)
    report.seconds = time.perf_counter() - started
    if progress:
        progress(expected, size)
    return report
