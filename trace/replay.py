"""The replay audit: everything a witness cannot check, from the ledger's entries alone.

`farmtrace verify` runs the Merkle audit (ledger/audit.py): it proves that the entries are the ones
the log signed. It cannot see the domain: a projection table edited behind the ledger's back, a key
the operator slipped onto a party's record, an entry the log appended that no rule would accept.
`replay(log, clock=...)` checks, in this order, and stops at the first failure:

  1. the Merkle audit of the whole log (`Log.audit`): LedgerAuditFailed;
  2. the log against the checkpoints witnesses cosigned (stored with the log's checkpoints, and any
     given from outside): a witness cosigned a larger size (LogBehindWitness: a rollback) or a
     different root at a size the log has (ForkedFromWitness: a fork);
  3. every entry, in log order, projected again through the production write path
     (`ingest.record.Recorder.project_many`: the same decoding, keys, verification and `Run`, the
     one applier, minus the append) into a scratch projection: it decodes, its signature verifies
     under a key registered to its party and active at its time, every role and capture rule
     holds, each input follows its lot's head (the hash chain), and it is not a repeat of an
     earlier event: otherwise EntryRefused, naming the entry and why;
  3b. every index entry (the head index's root, trace/head_index.py) against the index recomputed
     from the entries before it (trace/index_audit.py): IndexRootMismatch names the entry;
  4. the projection rebuilt this way against the `trace_*` tables in use, row by row
     (trace/store/compare.py): ProjectionDivergence names the table, the row's key, the column, the
     value the ledger gives and the value found.

The errors, all under the domain's one tree (trace/errors.py):

    TraceError
    └── ReplayFailure             the replay audit failed; `.index`: the entry, where there is one
        ├── LedgerAuditFailed     the Merkle audit failed first; `.failure` is its AuditFailure
        ├── WitnessMismatch       `.witness`, `.size`: the checkpoint it cosigned
        │   ├── LogBehindWitness  the log is smaller than a cosigned size (`.log_size`)
        │   └── ForkedFromWitness the log's root at that size is not the cosigned root
        ├── EntryRefused          entry `.index` would not be recorded today; `.cause` (the
        │                         TraceError the write path gave), `.rule` (a rule's code, or None)
        ├── IndexRootMismatch     index entry `.index` commits another root (trace/index_audit.py)
        └── ProjectionDivergence  `.divergence`: table, key, column, expected, found

What it cannot check (docs/replay.md): the genesis entry is taken as the operator's (it was let in
on the server, or with a bootstrap key the ledger does not record); "future" is checked against the
audit's clock, not the time of recording; tables kept off the ledger (anomalies, applications,
private details) are not compared; and a rollback is seen only against a checkpoint some witness
cosigned and the auditor can show.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from farmtrace.ledger.audit import AuditFailure
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureVerifier, Verifier
from farmtrace.ledger.sqlstore import SqlStore

from .clock import Clock
from .errors import RuleViolation, TraceError
from .ingest.record import Recorder
from .store.compare import Divergence, create_projection, first_divergence, rows_in, skip_durability

__all__ = [
    "CHUNK",
    "EntryRefused",
    "ForkedFromWitness",
    "LedgerAuditFailed",
    "LogBehindWitness",
    "ProjectionDivergence",
    "ReplayFailure",
    "ReplayReport",
    "WitnessMismatch",
    "Witnessed",
    "check_witnessed",
    "replay",
    "witnessed_checkpoints",
]

CHUNK = 10_000  # entries per project_many call: one transaction, bounded memory (runs split inside it)


class ReplayFailure(TraceError):
    """The replay audit found the ledger, or the projection of it, wrong. `index`: the entry, if any."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class LedgerAuditFailed(ReplayFailure):
    """The Merkle audit failed; nothing above it can be trusted. `failure` is the first one."""

    def __init__(self, failure: AuditFailure) -> None:
        super().__init__(f"the Merkle audit failed: {failure.message}", index=failure.index)
        self.failure = failure


class WitnessMismatch(ReplayFailure):
    """The log disagrees with a checkpoint witness `witness` cosigned at `size`."""

    def __init__(self, message: str, *, witness: str, size: int) -> None:
        super().__init__(message)
        self.witness = witness
        self.size = size


class LogBehindWitness(WitnessMismatch):
    """The log holds `log_size` entries, fewer than the `size` a witness cosigned: a rollback."""

    def __init__(self, *, witness: str, size: int, log_size: int) -> None:
        super().__init__(
            f"witness {witness} cosigned the log at size {size}, but the log now holds only {log_size} "
            f"entries: entries were removed (a rollback)",
            witness=witness,
            size=size,
        )
        self.log_size = log_size


class ForkedFromWitness(WitnessMismatch):
    """At `size`, the log's root is not the root witness `witness` cosigned: a fork."""

    def __init__(self, *, witness: str, size: int) -> None:
        super().__init__(
            f"witness {witness} cosigned another tree at size {size}: the log's entries below {size} "
            f"are not the ones it saw (a fork)",
            witness=witness,
            size=size,
        )


class EntryRefused(ReplayFailure):
    """Entry `index` would not be recorded if submitted today, in log order: `cause` says why."""

    def __init__(self, index: int, cause: TraceError | str) -> None:
        why = cause if isinstance(cause, str) else str(cause)
        super().__init__(f"entry {index} does not replay: {why}", index=index)
        self.cause = cause
        self.rule = cause.rule if isinstance(cause, RuleViolation) else None


class ProjectionDivergence(ReplayFailure):
    """A `trace_*` table differs from the projection replayed from the ledger (`divergence`)."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(f"the projection was changed behind the ledger: {divergence.describe()}")
        self.divergence = divergence


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint a trusted witness cosigned: who, at which size and root, and when (POSIX s)."""

    witness: str
    size: int
    root: bytes
    timestamp: int


@dataclass(frozen=True)
class ReplayReport:
    """What a replay that passed checked."""

    size: int
    entries_replayed: int
    rows_compared: int
    witnessed: tuple[Witnessed, ...]
    seconds: float

    def summary(self) -> str:
        seen = max((w.size for w in self.witnessed), default=None)
        witnesses = (
            f"consistent with {len(self.witnessed)} cosigned checkpoints (largest size {seen})"
            if seen is not None
            else "no cosigned checkpoint to compare with"
        )
        return (
            f"OK: {self.entries_replayed} entries replayed (signatures, keys, rules, hash chains), "
            f"{self.rows_compared} projection rows equal; {witnesses}"
        )


def witnessed_checkpoints(
    notes: Iterable[str], *, log_key: Verifier, witnesses: Sequence[CosignatureVerifier]
) -> list[Witnessed]:
    """The cosignatures by `witnesses` on checkpoint `notes` signed by `log_key`, smallest size first.

    Cosignatures by other keys are ignored. Raises ReplayFailure for a note the log did not sign or
    whose cosignature by a trusted witness does not verify.
    """
    found: set[Witnessed] = set()
    names = {w.name for w in witnesses}
    for note in notes:
        try:
            signed = open_checkpoint(note, log_key, witnesses=witnesses)
        except LedgerError as exc:
            first = note.splitlines()[1] if note.count("\n") > 1 else "?"
            raise ReplayFailure(f"a witnessed checkpoint (size {first}) does not verify: {exc}") from exc
        cp = signed.checkpoint
        for sig in signed.cosignatures:
            if sig.name in names:
                stamp = CosignatureVerifier.timestamp(sig.signature)
                found.add(Witnessed(sig.name, cp.size, cp.root, stamp))
    return sorted(found, key=lambda w: (w.size, w.witness))


def check_witnessed(log: Log, witnessed: Sequence[Witnessed]) -> None:
    """Raise LogBehindWitness or ForkedFromWitness unless the log agrees with every cosigned
    checkpoint (the largest size first: a rollback below it is the plainer statement)."""
    size = log.checkpoint().size
    for w in sorted(witnessed, key=lambda w: -w.size):
        if w.size > size:
            raise LogBehindWitness(witness=w.witness, size=w.size, log_size=size)
        if log.tree_hash(w.size) != w.root:
            raise ForkedFromWitness(witness=w.witness, size=w.size)


def replay(
    log: Log,
    *,
    clock: Clock,
    log_key: Verifier | None = None,
    witnesses: Sequence[CosignatureVerifier] = (),
    witnessed_notes: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
    workdir: Path | None = None,
) -> ReplayReport:
    """Replay-audit `log` and the trace tables of its database (see the module docstring).

    `log` may be read-only (opened with a Verifier); `log_key` defaults to its key. `witnesses` are
    the trusted witnesses' keys; the cosigned checkpoints are those stored with the log's and
    `witnessed_notes` (notes fetched from the witnesses). `clock` is the time the rules are checked
    at. `progress(done, total)` is called as entries are replayed. The scratch projection lives in
    a temporary directory (under `workdir` if given) removed on return. Returns a ReplayReport or
    raises a ReplayFailure; nothing is written to the audited database.
    """
    started = time.monotonic()
    key = log_key or log.verifier
    if witnessed_notes and not witnesses:
        raise ReplayFailure("cosigned checkpoints were given, but no witness key to check them with")
    # 1. The Merkle audit: the entries are the ones the log signed.
    report = log.audit(log_key=key)
    if not report.ok:
        raise LedgerAuditFailed(report.failures[0])
    size = report.size
    # 2. The witnesses' view of the log.
    stored = [cp.note_with_cosignatures() for cp in log.checkpoints() if cp.cosignatures]
    witnessed = (
        witnessed_checkpoints([*stored, *witnessed_notes], log_key=key, witnesses=witnesses)
        if witnesses
        else []
    )
    check_witnessed(log, witnessed)
    # 3-4. Re-record every entry into a scratch projection, then compare.
    with tempfile.TemporaryDirectory(prefix="farmtrace-replay-", dir=workdir) as scratch:
        # SqlStore only for its SQLite set-up (WAL, savepoints); no scratch Log: the entries are
        # already logged at known indexes, so they are projected, not appended again.
        store = SqlStore.from_url(f"sqlite:///{Path(scratch) / 'replay.db'}", create=True)
        try:
            create_projection(store.engine)
            skip_durability(store.engine)  # a throwaway database: no fsync
            reproject(log, Recorder.projecting(store.engine, clock=clock), size, progress)
            from .index_audit import check_index_roots  # it builds on this module's ReplayFailure

            check_index_roots(log, size)  # 3b. every committed head index root, recomputed
            if log.checkpoint().size != size:
                raise ReplayFailure(
                    f"the log grew from {size} to {log.checkpoint().size} entries during the replay, so its "
                    "tables cannot be compared with the replay: run it again while nothing is recorded, "
                    "or on a copy of the database"
                )
            divergence = first_divergence(store.engine, log.engine)
            if divergence is not None:
                raise ProjectionDivergence(divergence)
            compared = rows_in(store.engine)
        finally:
            store.close()
    return ReplayReport(
        size=size,
        entries_replayed=size,
        rows_compared=compared,
        witnessed=tuple(witnessed),
        seconds=time.monotonic() - started,
    )


def reproject(log: Log, recorder: Recorder, size: int, progress: Callable[[int, int], None] | None) -> None:
    """Project the log's entries [0, size) again through `recorder` (`Recorder.projecting`), in order,
    each at its own index; raise EntryRefused at the first one the write path does not accept, or
    ReplayFailure if entries are missing. The replay and a restore (trace/restore.py) both use it."""
    for start in range(0, size, CHUNK):
        # One complete read per chunk (`read_entries`): no cursor is left open if a check fails.
        chunk = log.read_entries(start, min(start + CHUNK, size))
        # The indexes must be consecutive: each entry is projected at the index it was read from.
        if [index for index, _ in chunk] != list(range(start, start + len(chunk))) or not chunk:
            raise ReplayFailure(f"the log's entries from {start} are missing", index=start)
        # The genesis entry (the first regulator registering itself) was let in by the operator;
        # `operator=True` is what lets it in again, and only while no party exists.
        refused = recorder.project_many(start, [entry for _, entry in chunk], operator=True)
        if refused is not None:
            raise EntryRefused(refused.index, refused.cause)
        if progress is not None:
            progress(start + len(chunk), size)
