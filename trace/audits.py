"""The regulator's "run a full audit" button: a background audit with progress, kept in the database.

One audit runs at a time per database. Its row in `farmtrace_audit_run` is created when it starts,
updated with progress as it goes, and completed with the verdict — so any service worker can show
the progress and the last result, and the result outlives restarts.

    AuditJob(log, engine, clock=...)   the runner; its table is created if new
    .start(requested_by=party)         start an audit unless one is running; returns .status()
    .start(requested_by=party, replay=True)   the replay audit instead (trace/replay.py, docs/replay.md):
                                       the Merkle audit, the witnesses' checkpoints, every entry
                                       re-recorded, the projection compared; progress counts entries
                                       replayed
    .status()                          {"running": run | None, "last": run | None}, runs as JSON
                                       (id, started_at, finished_at, requested_by, done, total, ok,
                                       summary, failures: [{message, index, checkpoint_size}])
    .wait(timeout)                     join the audit this runner started (at shutdown, in tests)

Its table is in trace/store/tables.py and its statements in trace/store/audit_runs.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureVerifier

from .clock import Clock, to_utc_text, utc_now
from .replay import ReplayFailure, WitnessMismatch
from .replay import replay as replay_audit
from .store.audit_runs import AuditRunRow, AuditRuns
from .store.queries import Engine

__all__ = ["AuditJob"]

STALE_AFTER = 6 * 3600  # a run with no progress for this long is taken as dead (its worker stopped)


class AuditJob:
    """Starts audits of `log` in a background thread and reports on them; times come from `clock`."""

    def __init__(
        self,
        log: Log,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        witnesses: Sequence[CosignatureVerifier] = (),
    ) -> None:
        """`witnesses`: the trusted witnesses' keys, whose cosigned checkpoints a replay compares."""
        self.log = log
        self.witnesses = tuple(witnesses)
        self.runs = AuditRuns(engine)  # creates the table if it is new
        self.clock = clock
        self._thread: threading.Thread | None = None

    def status(self) -> dict[str, Any]:
        """The running audit (if any) and the last finished one."""
        running, last = self.runs.latest()
        if running is not None and self.clock().timestamp() - running.updated_at > STALE_AFTER:
            running = None
        return {
            "running": self._json(running) if running else None,
            "last": self._json(last) if last else None,
        }

    def start(self, *, requested_by: str, replay: bool = False) -> dict[str, Any]:
        """Start an audit (the replay audit if `replay`) unless one is running; return the status."""
        if self.status()["running"] is None:
            run_id = self.runs.add(
                started_at=to_utc_text(self.clock()),
                updated_at=self.clock().timestamp(),
                requested_by=requested_by,
                total=self.log.size,
            )
            self._thread = threading.Thread(
                target=self._run,
                args=(run_id,),
                kwargs={"replay": True} if replay else {},  # `_run(run_id)` is the plain audit
                name="farmtrace-audit",
                daemon=True,
            )
            self._thread.start()
        return self.status()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, run_id: int, replay: bool = False) -> None:
        def progress(done: int, total: int) -> None:
            self.runs.progress(run_id, done=done, total=total, updated_at=self.clock().timestamp())

        try:
            verdict = self._replay(progress) if replay else self._audit(progress)
        except Exception as exc:  # the verdict must be recorded whatever happened
            verdict = {"ok": False, "summary": f"the audit could not complete: {exc}", "failures": "[]"}
        self.runs.finish(
            run_id, finished_at=to_utc_text(self.clock()), updated_at=self.clock().timestamp(), **verdict
        )

    def _replay(self, progress: Callable[[int, int], None]) -> dict[str, Any]:
        """The replay audit's verdict, as `runs.finish` takes it; a failure is the one it names."""
        try:
            report = replay_audit(self.log, clock=self.clock, witnesses=self.witnesses, progress=progress)
        except ReplayFailure as exc:
            size = exc.size if isinstance(exc, WitnessMismatch) else None
            failure = {"message": str(exc), "index": exc.index, "checkpoint_size": size}
            return {"ok": False, "summary": f"FAILED: {exc}", "failures": json.dumps([failure])}
        return {
            "ok": True,
            "summary": report.summary(),
            "done": report.entries_replayed,
            "total": report.size,
            "failures": "[]",
        }

    def _audit(self, progress: Callable[[int, int], None]) -> dict[str, Any]:
        """The Merkle audit's verdict, as `runs.finish` takes it."""
        report = self.log.audit(progress=progress)
        failures = [
            {"message": f.message, "index": f.index, "checkpoint_size": f.checkpoint_size}
            for f in report.failures
        ]
        return {
            "ok": report.ok,
            "summary": report.summary(),
            "done": report.entries_checked,
            "total": report.size,
            "failures": json.dumps(failures),
        }

    @staticmethod
    def _json(r: AuditRunRow) -> dict[str, Any]:
        return {
            "id": r.id,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "requested_by": r.requested_by,
            "done": r.done,
            "total": r.total,
            "ok": r.ok,
            "summary": r.summary,
            "failures": json.loads(r.failures) if r.failures else [],
        }
