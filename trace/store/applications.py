"""The enrolment desk's rows: trace_application, and what the desk reads and fills around it.

The desk's rules (limits, commitments, proof of possession) are trace/applications.py; its
statements are here. `ApplicationStore(engine)` opens a connection or a transaction and hands out
`ApplicationRows`, the statements over it; everything one call of the desk does runs in one of
those, so a refusal found inside a transaction leaves nothing stored.

The desk reads trace_party (registered? its contact commitment), trace_party_key (is the key on
record, and since when), trace_event (who recorded the approval), and writes trace_application and
trace_party_private (contact details, regulator-only).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from .tables import TraceApplication, TraceEvent, TraceParty, TracePartyKey, TracePartyPrivate

__all__ = ["ApplicationRow", "ApplicationRows", "ApplicationStore"]

_app = TraceApplication.__table__
_party = TraceParty.__table__
_key = TracePartyKey.__table__
_event = TraceEvent.__table__
_private = TracePartyPrivate.__table__


@dataclass(frozen=True)
class ApplicationRow:
    """A trace_application row as stored: `record` and `private` are JSON texts, times UTC text."""

    id: int
    kind: str
    party_id: str
    record: str
    key_id: str
    submitted_at: str
    status: str
    decided_at: str | None
    decided_by: str | None
    note: str | None
    private: str | None
    salt: str | None


def _row(r) -> ApplicationRow:
    return ApplicationRow(
        id=r.id,
        kind=r.kind,
        party_id=r.party_id,
        record=r.record,
        key_id=r.key_id,
        submitted_at=r.submitted_at,
        status=r.status,
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        note=r.note,
        private=r.private,
        salt=r.salt,
    )


class ApplicationRows:
    """The desk's statements over one connection, inside the caller's transaction (if any)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- what the desk checks --------------------------------------------------------------------------

    def party_commitment(self, party_id: str) -> str | None:
        """The registered party's contact commitment, or None if no such party is registered."""
        return self.conn.execute(select(_party.c.contact_commitment).where(_party.c.id == party_id)).scalar()

    def key_active_from(self, key_id: str) -> str | None:
        """When the key was put on a party's record (UTC text), or None if it is on none."""
        return self.conn.execute(select(_key.c.active_from).where(_key.c.key_id == key_id)).scalar()

    def pending_for_key(self, key_id: str) -> int | None:
        """The id of a pending application for this key, or None."""
        return self.conn.execute(
            select(_app.c.id).where(_app.c.key_id == key_id, _app.c.status == "pending")
        ).scalar()

    def pending_count(self) -> int:
        return self.conn.execute(
            select(func.count()).select_from(_app).where(_app.c.status == "pending")
        ).scalar_one()

    def recorded_by(self, at_utc: str) -> str | None:
        """The party that recorded a party.register or party.key_add event at `at_utc` (the approver)."""
        return self.conn.execute(
            select(_event.c.party).where(
                _event.c.kind.in_(["party.register", "party.key_add"]), _event.c.at_utc == at_utc
            )
        ).scalar()

    # --- applications ----------------------------------------------------------------------------------

    def add(
        self,
        *,
        kind: str,
        party_id: str,
        record: str,
        key_id: str,
        submitted_at: str,
        private: str | None,
        salt: str | None,
    ) -> int:
        """File a pending application; returns its id."""
        return self.conn.execute(
            insert(_app).values(
                kind=kind,
                party_id=party_id,
                record=record,
                key_id=key_id,
                submitted_at=submitted_at,
                private=private,
                salt=salt,
            )
        ).inserted_primary_key[0]

    def get(self, application_id: int) -> ApplicationRow | None:
        r = self.conn.execute(select(_app).where(_app.c.id == application_id)).first()
        return None if r is None else _row(r)

    def all(self, *, status: str | None) -> list[ApplicationRow]:
        """Every application with this status (all if None), oldest first."""
        q = select(_app).order_by(_app.c.id)
        if status:
            q = q.where(_app.c.status == status)
        return [_row(r) for r in self.conn.execute(q)]

    def reject(self, application_id: int, *, decided_at: str, decided_by: str, note: str) -> bool:
        """Close a pending application as rejected; False if no pending one has this id."""
        done = self.conn.execute(
            update(_app)
            .where(_app.c.id == application_id, _app.c.status == "pending")
            .values(status="rejected", decided_at=decided_at, decided_by=decided_by, note=note)
        ).rowcount
        return bool(done)

    def approve(self, application_id: int, *, decided_at: str, decided_by: str | None) -> None:
        self.conn.execute(
            update(_app)
            .where(_app.c.id == application_id)
            .values(status="approved", decided_at=decided_at, decided_by=decided_by)
        )

    def supersede(
        self, party_id: str, *, approved: int, decided_at: str, decided_by: str | None, note: str
    ) -> None:
        """Reject the party's other pending registrations, once registration `approved` went through."""
        self.conn.execute(
            update(_app)
            .where(
                _app.c.party_id == party_id,
                _app.c.kind == "register",
                _app.c.status == "pending",
                _app.c.id != approved,
            )
            .values(status="rejected", decided_at=decided_at, decided_by=decided_by, note=note)
        )

    # --- contact details (regulator-only) --------------------------------------------------------------

    def keep_private(self, party_id: str, *, details: str, salt: str) -> None:
        """Store a party's contact details (JSON text) and salt, replacing any held before."""
        self.conn.execute(_private.delete().where(_private.c.party_id == party_id))
        self.conn.execute(insert(_private).values(party_id=party_id, details=details, salt=salt))

    def private_details(self, party_id: str) -> str | None:
        """A party's contact details as stored (JSON text), or None."""
        return self.conn.execute(select(_private.c.details).where(_private.c.party_id == party_id)).scalar()


class ApplicationStore:
    """The desk's database: `begin()` for a transaction, `connect()` for reads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def begin(self) -> Iterator[ApplicationRows]:
        """Statements in one transaction: committed when the block ends, rolled back if it raises.

        On SQLite the transaction begins IMMEDIATE, taking the write lock before its first read: a
        DEFERRED one that reads, then writes after another writer (the log, the head index keeper)
        committed in between cannot upgrade its snapshot, and SQLite answers "database is locked" at
        once instead of waiting."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield ApplicationRows(conn)

    @contextmanager
    def connect(self) -> Iterator[ApplicationRows]:
        with self.engine.connect() as conn:
            yield ApplicationRows(conn)
