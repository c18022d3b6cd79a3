"""The SQL of the EPCIS 2.0 query interface: candidate events for a query, and named queries.

candidate_rows(conn, ...)        -> [Candidate]   events that may match, in the query's order, after a cursor
create_query_table(engine)       -> None          creates `trace_epcis_query` if it is missing
has_query_table(engine)          -> bool          whether it exists (reads make no tables)
add_query(conn, row)             -> bool          False if the name is taken (nothing written)
named_query(conn, name)          -> QueryRow | None
named_queries(conn)              -> [QueryRow]    by name
delete_query(conn, name)         -> bool          False if there was none
hashed_up_to(conn, base)         -> int | None    the last ledger index whose event hash ID is stored
add_event_ids(conn, base, rows)  -> None          store (event hash ID, ledger index) pairs
index_of_event_id(conn, base, h) -> int | None    the ledger index of the event with hash ID `h`

The projection tables are only an index here: `candidate_rows` narrows the ledger to the events
whose kind, event time and lots can match; the caller decodes each from its signed ledger entry and
applies the full query to the EPCIS event built from it. Every filter below must therefore keep
every event that could match (a superset), never drop one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, delete, exists, func, insert, inspect, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from .tables import TraceEpcisEventId, TraceEpcisQuery, TraceEvent, TraceEventLot

__all__ = [
    "Candidate",
    "QueryRow",
    "add_event_ids",
    "add_query",
    "candidate_rows",
    "create_query_table",
    "delete_query",
    "has_query_table",
    "hashed_up_to",
    "index_of_event_id",
    "named_queries",
    "named_query",
]

_event = TraceEvent.__table__
_event_lot = TraceEventLot.__table__
_query = TraceEpcisQuery.__table__
_event_id = TraceEpcisEventId.__table__


@dataclass(frozen=True)
class Candidate:
    """An event that may match: its ledger index and its event time (UTC text, as stored)."""

    index: int
    at_utc: str


@dataclass(frozen=True)
class QueryRow:
    """A stored named query: `query` is the canonical JSON of its parameters."""

    name: str
    query: str
    created_by: str
    created_at: str


def candidate_rows(
    conn: Connection,
    *,
    kinds: Collection[str] | None,
    since_utc: str | None,
    until_utc: str | None,
    lots: dict[str, Collection[str]] | None,
    by_time: bool,
    descending: bool,
    after: Candidate | None,
    limit: int,
    before_index: int | None = None,
) -> list[Candidate]:
    """Up to `limit` candidates strictly after `after`, in ledger order, or by (event time, ledger
    index) with `by_time`; newest first with `descending`.

    `kinds`: only events of these kinds (None: any). `since_utc`/`until_utc`: event time in
    [since, until). `before_index`: only ledger indexes below it. `lots`: role ("input", "output" or "any") -> lot codes; an event qualifies if it
    names one of them in that role, for any of the roles given (None: no lot condition).
    """
    q = select(_event.c.ledger_index, _event.c.at_utc)
    if kinds is not None:
        q = q.where(_event.c.kind.in_(sorted(kinds)))
    if since_utc is not None:
        q = q.where(_event.c.at_utc >= since_utc)
    if until_utc is not None:
        q = q.where(_event.c.at_utc < until_utc)
    if before_index is not None:
        q = q.where(_event.c.ledger_index < before_index)
    if lots is not None:
        named = []
        for role, codes in sorted(lots.items()):
            cond = and_(_event_lot.c.event_id == _event.c.id, _event_lot.c.lot.in_(sorted(codes)))
            if role != "any":
                cond = and_(cond, _event_lot.c.role == role)
            named.append(exists().where(cond))
        q = q.where(or_(*named))
    index, at = _event.c.ledger_index, _event.c.at_utc
    if after is not None:
        if by_time:
            later = (at < after.at_utc) if descending else (at > after.at_utc)
            tie = (index < after.index) if descending else (index > after.index)
            q = q.where(or_(later, and_(at == after.at_utc, tie)))
        else:
            q = q.where(index < after.index if descending else index > after.index)
    keys = (at, index) if by_time else (index,)
    q = q.order_by(*(k.desc() if descending else k.asc() for k in keys)).limit(limit)
    return [Candidate(r.ledger_index, r.at_utc) for r in conn.execute(q)]


def create_query_table(engine: Engine) -> None:
    """Create the named queries' table and the event hash IDs' table if they do not exist yet."""
    SQLModel.metadata.create_all(engine, tables=[_query, _event_id])


def has_query_table(engine: Engine) -> bool:
    """Whether the named queries' table exists (the first named query makes it)."""
    return inspect(engine).has_table(_query.name)


def add_query(conn: Connection, row: QueryRow) -> bool:
    """Store a named query. Returns False, writing nothing, if one with this name exists.
    The caller commits."""
    if conn.execute(select(_query.c.name).where(_query.c.name == row.name)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(
                insert(_query).values(
                    name=row.name, query=row.query, created_by=row.created_by, created_at=row.created_at
                )
            )
    except IntegrityError:  # a concurrent creation of the same name won the race
        return False
    return True


def named_query(conn: Connection, name: str) -> QueryRow | None:
    """The named query `name`, or None."""
    r = conn.execute(select(_query).where(_query.c.name == name)).first()
    return None if r is None else QueryRow(r.name, r.query, r.created_by, r.created_at)


def named_queries(conn: Connection) -> list[QueryRow]:
    """Every named query, by name."""
    rows = conn.execute(select(_query).order_by(_query.c.name))
    return [QueryRow(r.name, r.query, r.created_by, r.created_at) for r in rows]


def delete_query(conn: Connection, name: str) -> bool:
    """Delete the named query `name`. Returns False if there was none. The caller commits."""
    return conn.execute(delete(_query).where(_query.c.name == name)).rowcount > 0


def hashed_up_to(conn: Connection, base: str) -> int | None:
    """The highest ledger index whose event hash ID under `base` is stored, or None."""
    return conn.execute(select(func.max(_event_id.c.ledger_index)).where(_event_id.c.base == base)).scalar()


def add_event_ids(conn: Connection, base: str, rows: list[tuple[str, int]]) -> bool:
    """Store (event hash ID, ledger index) pairs under `base`, all or none. Returns False, writing
    nothing, if another writer stored one of them first (it stored the same pairs). The caller commits."""
    if not rows:
        return True
    try:
        with conn.begin_nested():
            conn.execute(
                insert(_event_id), [{"base": base, "event_hash": h, "ledger_index": i} for h, i in rows]
            )
    except IntegrityError:
        return False
    return True


def index_of_event_id(conn: Connection, base: str, event_hash: str) -> int | None:
    """The ledger index of the event whose hash ID under `base` is `event_hash`, or None."""
    q = select(_event_id.c.ledger_index).where(_event_id.c.base == base, _event_id.c.event_hash == event_hash)
    return conn.execute(q).scalar()
