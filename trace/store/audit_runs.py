"""The audit runs' rows: farmtrace_audit_run, one row per full audit of the log (trace/audits.py).

A run's row is added when it starts, updated with progress as it goes, and finished with the
verdict, each in its own short transaction, so any service worker reads the progress and the last
result, and the result outlives restarts. The table is not in `tables.TABLES`: `AuditRuns` creates
it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from .tables import AuditRun

__all__ = ["AuditRunRow", "AuditRuns"]

_run = AuditRun.__table__


@dataclass(frozen=True)
class AuditRunRow:
    """A farmtrace_audit_run row as stored (`failures` is a JSON list text; `updated_at` a POSIX time)."""

    id: int
    started_at: str
    updated_at: float
    finished_at: str | None
    requested_by: str
    done: int
    total: int
    ok: bool | None
    summary: str | None
    failures: str | None


def _row(r: Any) -> AuditRunRow:
    return AuditRunRow(
        id=r.id,
        started_at=r.started_at,
        updated_at=r.updated_at,
        finished_at=r.finished_at,
        requested_by=r.requested_by,
        done=r.done,
        total=r.total,
        ok=r.ok,
        summary=r.summary,
        failures=r.failures,
    )


class AuditRuns:
    """The audit runs of the database behind `engine`; creates their table if it is new."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        SQLModel.metadata.create_all(engine, tables=[_run])

    def latest(self) -> tuple[AuditRunRow | None, AuditRunRow | None]:
        """The most recent unfinished run and the most recent finished one (None where there is
        none), read on one connection."""
        newest = select(_run).order_by(_run.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            running = conn.execute(newest.where(_run.c.finished_at.is_(None))).first()
            last = conn.execute(newest.where(_run.c.finished_at.is_not(None))).first()
        return (None if running is None else _row(running), None if last is None else _row(last))

    def add(self, *, started_at: str, updated_at: float, requested_by: str, total: int) -> int:
        """A new run's row; returns its id."""
        with self.engine.begin() as conn:
            return conn.execute(
                insert(_run).values(
                    started_at=started_at, updated_at=updated_at, requested_by=requested_by, total=total
                )
            ).inserted_primary_key[0]

    def progress(self, run_id: int, *, done: int, total: int, updated_at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_run).where(_run.c.id == run_id).values(done=done, total=total, updated_at=updated_at)
            )

    def finish(
        self,
        run_id: int,
        *,
        finished_at: str,
        updated_at: float,
        ok: bool,
        summary: str,
        failures: str,
        done: int | None = None,
        total: int | None = None,
    ) -> None:
        """Record a run's verdict; `done` and `total` are left as they were when None."""
        counts = {k: v for k, v in (("done", done), ("total", total)) if v is not None}
        with self.engine.begin() as conn:
            conn.execute(
                update(_run)
                .where(_run.c.id == run_id)
                .values(
                    finished_at=finished_at,
                    updated_at=updated_at,
                    ok=ok,
                    summary=summary,
                    failures=failures,
                    **counts,
                )
            )
