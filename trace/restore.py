"""Restoring the domain from the ledger: the projection rebuilt through the one write path.

A restore (`farmtrace restore`, api/cli/restore.py) first copies the ledger from a mirror
(ledger/mirror.py: every entry, its tiles, the checkpoints with their cosignatures). What the
service reads besides (the `trace_*` projection) is not copied from anywhere: `rebuild_projection`
projects every entry again, in log order, through `ingest.record.Recorder.project_many` (the
production write path: decode, signature under a key active for the party then, every rule, every
lot's hash chain) into a scratch database, with the replay audit's own step (trace/replay.py
`reproject`), and copies the rows it produced into the restored database
(trace/store/transfer.py), so that a failure halfway copies nothing. `farmtrace verify --replay` on the
restored service then compares the same two things and must find them equal.

Raises RestoreRefused naming the entry the write path would not accept at its own index (the
ledger would then not be one this service wrote); nothing is copied in that case.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from farmtrace.ledger.log import Log
from farmtrace.ledger.sqlstore import SqlStore

from .clock import Clock
from .errors import TraceError
from .ingest.record import Recorder
from .replay import EntryRefused, ReplayFailure, reproject
from .store.compare import create_projection, skip_durability
from .store.queries import Engine
from .store.transfer import copy_projection

__all__ = ["RestoreRefused", "rebuild_projection"]


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
        try:
            create_projection(store.engine)
            skip_durability(store.engine)  # a throwaway database: no fsync
            try:
                reproject(log, Recorder.projecting(store.engine, clock=clock), size, progress)
            except EntryRefused as exc:
                raise RestoreRefused(
                    f"entry {exc.index} is refused by the write path: {exc.cause}", index=exc.index
                ) from exc
            except ReplayFailure as exc:
                raise RestoreRefused(str(exc), index=exc.index) from exc
            return copy_projection(store.engine, engine)
        finally:
            store.close()
