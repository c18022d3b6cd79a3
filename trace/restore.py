"""Restoring the domain from the ledger: the projection rebuilt through the one write path.

A restore (`farmtrace restore`, api/cli/restore.py) first copies the ledger from a mirror
(ledger/mirror.py: every entry, its tiles, the checkpoints with their cosignatures). What the
service reads besides (the `trace_*` projection) is not copied from anywhere: `rebuild_projection`
re-records every entry, in log order, through `ingest.record.Recorder` (the production write path:
decode, signature under a key active for the party then, every rule, every lot's hash chain) into
a scratch database, exactly as the replay audit (trace/replay.py) does, and copies the rows it
produced into the restored database (trace/store/transfer.py). `farmtrace verify --replay` on the
restored service then compares the same two things and must find them equal.

Raises RestoreRefused naming the entry the write path would not accept at its own index (the
ledger would then not be one this service wrote); nothing is copied in that case.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore

from .clock import Clock
from .errors import TraceError
from .ingest.record import Recorder
from .store.compare import create_projection
from .store.queries import Engine
from .store.transfer import copy_projection

__all__ = ["RestoreRefused", "rebuild_projection"]

CHUNK = 10_000  # entries re-recorded per write-path call
_SCRATCH_ORIGIN = "restore.farmtrace.invalid/scratch"


class RestoreRefused(TraceError):
    """The ledger cannot be turned back into a service: `index` is the entry at fault, if one is."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def rebuild_projection(
    log: Log,
    engine: Engine,
    *,
    clock: Clock,
    progress: Callable[[int, int], None] | None = None,
    workdir: Path | None = None,
) -> int:
    """Rebuild the projection of `log`'s entries (up to its checkpoint) into `engine`'s empty trace
    tables; return the rows written. `clock` is the time rules are checked at."""
    size = log.checkpoint().size
    create_projection(engine)
    with tempfile.TemporaryDirectory(prefix="farmtrace-restore-", dir=workdir) as scratch:
        store = SqlStore.from_url(f"sqlite:///{Path(scratch) / 'projection.db'}", create=True)
        scratch_log = Log(store, Signer.generate(_SCRATCH_ORIGIN))
        try:
            create_projection(store.engine)
            recorder = Recorder(scratch_log, store.engine, clock=clock, bootstrap_keys=())
            _rerecord(log, recorder, size, progress)
            return copy_projection(store.engine, engine)
        finally:
            scratch_log.close(close_store=True)


def _rerecord(log: Log, recorder: Recorder, size: int, progress: Callable[[int, int], None] | None) -> None:
    entries = log.iter_entries()
    done = 0
    while done < size:
        chunk = list(islice(entries, min(CHUNK, size - done)))
        if not chunk:
            raise RestoreRefused(f"the ledger's entries end at {done}, below its size {size}", index=done)
        # The genesis entry was let in by the operator; `operator=True` lets it in again (only first).
        results = recorder.record_many([entry for _, entry in chunk], operator=True)
        for (index, _), result in zip(chunk, results, strict=True):
            if isinstance(result, TraceError):
                raise RestoreRefused(f"entry {index} is refused by the write path: {result}", index=index)
            if result.duplicate or result.index != index:
                raise RestoreRefused(f"entry {index} was recorded at index {result.index}", index=index)
        done += len(chunk)
        if progress is not None:
            progress(done, size)
