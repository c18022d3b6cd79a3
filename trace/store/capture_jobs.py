"""The EPCIS gateway's capture jobs, in the gateway's own database (never the platform's).

A capture job is one EPCISDocument sent to `POST /capture` on a party's gateway (api/gateway_app.py):
its events' digest, the error behaviour asked for, each event's outcome and the signed entries the
gateway sent for it. The table lives in its own SQLAlchemy metadata (`GatewayModel.metadata`), so
the platform's `create_all` never creates it and the gateway creates nothing else.

Contract:
- A job is identified by the SHA-256 of its events and error behaviour (`events_digest`): the same
  events sent again MUST find the same job (`find_digest`), so a resubmission signs and records
  nothing twice. `claim` stores a new job before its events are sent, or answers None if another
  process stored one of the same digest first.
- `save` MUST write the whole job in one transaction: a job is never half-stored.
- `page(after=, limit=)` lists jobs in the order they were created; `after` is the `seq` of the last
  job of the previous page (the capture list's nextPageToken).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from sqlalchemy import Column, Integer, MetaData, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

__all__ = ["CaptureJob", "CaptureJobRow", "CaptureJobs", "GatewayModel", "events_digest"]


class GatewayModel(SQLModel):
    """Base of the gateway's tables: a metadata of their own, apart from the platform's tables."""

    metadata = MetaData()


class CaptureJobRow(GatewayModel, table=True):
    """One capture job as stored; `results` and `entries` are JSON text (see `CaptureJob`)."""

    __tablename__ = "gateway_capture_job"

    seq: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    capture_id: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    digest: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    behaviour: str
    created_at: str
    finished_at: str | None = None
    running: bool = False
    success: bool = False
    retry: bool = False
    results: str = "[]"
    entries: str = "[]"


@dataclass
class CaptureJob:
    """A capture job: `results[i]` is event i's outcome, `entries[i]` its signed entry (base64) or None.

    An outcome is {"index", "eventID"?, "status": "recorded" | "refused" | "not_sent",
    "eventId"? (farmtrace's event id), "error"? (an RFC 7807 problem)}. `retry` is true while the
    platform could not be reached: a resubmission sends the stored entries again.
    """

    capture_id: str
    digest: str
    behaviour: str
    created_at: str
    finished_at: str | None = None
    running: bool = True
    success: bool = True
    retry: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)
    entries: list[str | None] = field(default_factory=list)
    seq: int | None = None

    def recorded_nothing(self) -> bool:
        """True if none of the job's events reached the ledger (its resubmission runs it again)."""
        return all(r["status"] != "recorded" for r in self.results)

    def errors(self) -> list[dict[str, Any]]:
        """The problems of the job's events, in event order (the CaptureJob schema's `errors`)."""
        return [r["error"] for r in self.results if "error" in r]


def events_digest(events: list[Any], behaviour: str) -> str:
    """The SHA-256 (hex) of a document's eventList in RFC 8785 canonical JSON and the capture's
    error behaviour (rollback or proceed): the job's identity.

    Raises ValueError if the events hold what canonical JSON cannot write (e.g. a float NaN).
    """
    try:
        return hashlib.sha256(rfc8785.dumps({"behaviour": behaviour, "eventList": events})).hexdigest()
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"the events cannot be written as canonical JSON: {exc}") from exc


class CaptureJobs:
    """The capture job store on one database URL (the gateway's SQLite file by default)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        GatewayModel.metadata.create_all(engine)

    @classmethod
    def from_path(cls, path: str | Path) -> CaptureJobs:
        engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def find(self, capture_id: str) -> CaptureJob | None:
        with Session(self.engine) as s:
            row = s.exec(select(CaptureJobRow).where(CaptureJobRow.capture_id == capture_id)).first()
            return None if row is None else _job(row)

    def find_digest(self, digest: str) -> CaptureJob | None:
        with Session(self.engine) as s:
            row = s.exec(select(CaptureJobRow).where(CaptureJobRow.digest == digest)).first()
            return None if row is None else _job(row)

    def claim(self, job: CaptureJob) -> CaptureJob | None:
        """Store the new `job` before its events are sent; None if a job of the same digest is
        already stored (another gateway process on this database took it first)."""
        try:
            return self.save(job)
        except IntegrityError:
            return None

    def save(self, job: CaptureJob) -> CaptureJob:
        """Insert or replace `job` (by capture_id) in one transaction; return it with its `seq`."""
        with Session(self.engine) as s:
            row = s.exec(select(CaptureJobRow).where(CaptureJobRow.capture_id == job.capture_id)).first()
            row = row or CaptureJobRow(capture_id=job.capture_id, digest=job.digest, behaviour=job.behaviour,
                                       created_at=job.created_at)  # fmt: skip
            row.behaviour, row.finished_at, row.running = job.behaviour, job.finished_at, job.running
            row.success, row.retry = job.success, job.retry
            row.results = json.dumps(job.results, ensure_ascii=False)
            row.entries = json.dumps(job.entries)
            s.add(row)
            s.commit()
            s.refresh(row)
            return _job(row)

    def page(self, *, after: int | None, limit: int) -> list[CaptureJob]:
        """Up to `limit` jobs created after the job numbered `after` (None: from the first)."""
        query = select(CaptureJobRow).order_by(CaptureJobRow.seq).limit(limit)  # type: ignore[arg-type]
        if after is not None:
            query = query.where(CaptureJobRow.seq > after)  # type: ignore[operator]
        with Session(self.engine) as s:
            return [_job(r) for r in s.exec(query).all()]


def _job(row: CaptureJobRow) -> CaptureJob:
    return CaptureJob(
        capture_id=row.capture_id,
        digest=row.digest,
        behaviour=row.behaviour,
        created_at=row.created_at,
        finished_at=row.finished_at,
        running=row.running,
        success=row.success,
        retry=row.retry,
        results=json.loads(row.results),
        entries=json.loads(row.entries),
        seq=row.seq,
    )


def _sqlite_pragmas(conn: Any, _record: Any) -> None:
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
