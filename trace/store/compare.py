"""The projection compared row by row: the `trace_*` tables a replay rebuilt against the ones in use.

The replay audit (trace/replay.py) rebuilds the projection of the ledger in a scratch database by
re-recording every entry through the write path; `first_divergence(expected, found)` then reads
both projections' tables in primary-key order, side by side, and returns the first row that
differs: a row the ledger gives that is missing, a row the ledger does not give, or a column whose
value differs. Tables are compared in `PROJECTION` order, so the answer is deterministic.

Only the tables that are a projection of the ledger are compared (`PROJECTION`); anomalies, the
registration desk's applications, parties' private details and audit runs are kept off the ledger
and cannot be rebuilt from it (trace/store/tables.py).

Rows are streamed in chunks (`yield_per`), so memory stays bounded however large the ledger. Both
sides are ordered by byte order of their UTF-8 keys: SQLite's BINARY collation, PostgreSQL's "C"
collation and Python's `str` comparison agree on it, which the merge below relies on.

When both projections are SQLite files (the replay's scratch and an auditor's copy), SQLite is
first asked whether every table is equal (`_equal_in_sqlite`: the row counts, and no replayed row
missing from the table in use, in one read transaction over both files); only when it says no does
the walk run, to name the first divergence. The walk's Python costs about 5 µs a row; SQLite's
EXCEPT is several times cheaper (bench/replay_bench.py --cpu, docs/replay.md "Speed").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, LargeBinary, String, Table, event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from .tables import (
    TraceAnimal,
    TraceCertificate,
    TraceDisposal,
    TraceEvent,
    TraceEventLot,
    TraceHolding,
    TraceLabel,
    TraceLivestockCertificate,
    TraceLot,
    TraceLotParent,
    TraceNationalCode,
    TraceParty,
    TracePartyKey,
    TraceTransit,
)

__all__ = [
    "PROJECTION",
    "Divergence",
    "create_projection",
    "first_divergence",
    "is_text",
    "rows_in",
    "skip_durability",
]

# The tables rebuilt from the ledger, in the order they are compared (parties and keys first: a
# divergence there explains the rest).
PROJECTION: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[attr-defined]
    for m in (
        TraceParty,
        TracePartyKey,
        TraceLot,
        TraceLotParent,
        TraceHolding,
        TraceTransit,
        TraceDisposal,
        TraceCertificate,
        TraceLabel,
        TraceAnimal,
        TraceLivestockCertificate,
        TraceNationalCode,
        TraceEvent,
        TraceEventLot,
    )
)

_YIELD = 2000  # rows fetched at a time from each side


@dataclass(frozen=True)
class Divergence:
    """The first row where the projection in use differs from the one the ledger gives.

    `key` is the row's primary key (column -> value). `column` is None when a whole row is missing
    (`found` is None) or should not be there (`expected` is None); then `expected` / `found` hold the
    row as a column -> value mapping. Otherwise they are the column's two values.
    `rows_compared` counts the rows read from the expected side before the divergence.
    """

    table: str
    key: dict[str, Any]
    column: str | None
    expected: Any
    found: Any
    rows_compared: int

    def describe(self) -> str:
        """One English sentence naming the table, row, column and both values."""
        row = ", ".join(f"{k}={v!r}" for k, v in self.key.items())
        if self.column is not None:
            return (
                f"table {self.table}, row {row}: column {self.column} should be {self.expected!r} "
                f"(replayed from the ledger) but is {self.found!r}"
            )
        if self.found is None:
            return f"table {self.table}, row {row}: the ledger gives this row, but the table does not have it"
        return f"table {self.table}, row {row}: the table has this row, but no ledger entry gives it"


def create_projection(engine: Engine) -> None:
    """Create the projection's tables (and the rest of the trace tables) in an empty database."""
    from .tables import TABLES

    SQLModel.metadata.create_all(engine, tables=TABLES)


def skip_durability(engine: Engine) -> None:
    """Make `engine`'s SQLite connections skip fsync (`PRAGMA synchronous=OFF`), from the next one on
    (the pool is emptied). Only for a throwaway database, such as the replay's scratch projection:
    a crash may corrupt it, and it is rebuilt from the ledger anyway."""
    if engine.dialect.name != "sqlite":
        raise ValueError("skip_durability is for a throwaway SQLite database")

    @event.listens_for(engine, "connect")
    def _no_fsync(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    engine.dispose()


def first_divergence(expected: Engine, found: Engine) -> Divergence | None:
    """Compare every `PROJECTION` table of `found` with the same table of `expected`, row by row.

    Returns the first divergence (in table order, then primary-key order) or None when they are
    equal. Reads only; neither database is changed.
    """
    if _equal_in_sqlite(expected, found):
        return None
    compared = 0
    with expected.connect() as exp_conn, found.connect() as found_conn:
        for table in PROJECTION:
            divergence, compared = _compare_table(table, exp_conn, found_conn, compared)
            if divergence is not None:
                return divergence
    return None


def _equal_in_sqlite(expected: Engine, found: Engine) -> bool:
    """True if both are SQLite files whose `PROJECTION` tables hold the same rows, as SQLite itself
    says; False means "walk them to find out" (other databases, or a difference).

    Each table has a primary key, so its rows are a set: equal counts and no row of `expected`
    missing from `found` (EXCEPT) make the two equal. SQLite compares values as the walk does
    (storage class, then value; BINARY collation; 1 = 1.0; a TEXT is never a BLOB).
    """
    path = expected.url.database
    if expected.dialect.name != "sqlite" or found.dialect.name != "sqlite" or not path or path == ":memory:":
        return False
    with found.connect() as conn:
        raw = conn.connection.driver_connection
        try:
            raw.execute("ATTACH DATABASE ? AS replayed", (path,))
        except sqlite3.Error:
            return False
        try:
            raw.execute("BEGIN")  # one snapshot of both files
            try:
                return all(_table_equal_in_sqlite(raw, table) for table in PROJECTION)
            finally:
                raw.execute("ROLLBACK")
        except sqlite3.Error:
            return False
        finally:
            raw.execute("DETACH DATABASE replayed")


def _table_equal_in_sqlite(raw: Any, table: Table) -> bool:
    name = f'"{table.name}"'
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    counts = raw.execute(
        f"SELECT (SELECT count(*) FROM replayed.{name}), (SELECT count(*) FROM main.{name})"
    ).fetchone()
    if counts[0] != counts[1]:
        return False
    missing = raw.execute(
        f"SELECT 1 FROM (SELECT {columns} FROM replayed.{name} EXCEPT SELECT {columns} FROM main.{name}) LIMIT 1"
    ).fetchone()
    return missing is None


def rows_in(engine: Engine) -> int:
    """How many rows the projection's tables hold in all (what a clean comparison read)."""
    with engine.connect() as conn:
        return sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in PROJECTION)


def _compare_table(
    table: Table, exp_conn: Connection, found_conn: Connection, n: int
) -> tuple[Divergence | None, int]:
    """The first divergence in `table` (or None) and `n` plus the rows found equal."""
    # Closed however the walk ends: an unfinished server-side cursor would keep its connection busy.
    with closing(_rows(table, exp_conn)) as exp_rows, closing(_rows(table, found_conn)) as found_rows:
        return _walk(table, exp_rows, found_rows, n)


def _walk(
    table: Table, exp_rows: Iterator[tuple], found_rows: Iterator[tuple], n: int
) -> tuple[Divergence | None, int]:
    # Rows are compared as the drivers give them: SQLite's 0/1 equals PostgreSQL's False/True and a
    # memoryview equals its bytes, so equal rows cost one tuple comparison. Only where they differ
    # are the values normalised and the keys compared, to say which side lacks what.
    e = next(exp_rows, None)
    f = next(found_rows, None)
    while e is not None or f is not None:
        if e == f:
            n += 1
            e = next(exp_rows, None)
            f = next(found_rows, None)
            continue
        return _describe(table, _normal(table, e), _normal(table, f), n), n
    return None, n


def _describe(table: Table, e: tuple | None, f: tuple | None, n: int) -> Divergence:
    """The divergence between two rows that differ (either may be missing)."""
    keys = [c.name for c in table.primary_key.columns]
    columns = [c.name for c in table.columns]
    key_at = [columns.index(k) for k in keys]
    ek = None if e is None else tuple(e[i] for i in key_at)
    fk = None if f is None else tuple(f[i] for i in key_at)
    if fk is None or (ek is not None and ek < fk):  # the ledger gives a row the table lacks
        assert e is not None and ek is not None
        return Divergence(
            table.name, dict(zip(keys, ek, strict=True)), None, dict(zip(columns, e, strict=True)), None, n
        )
    if ek is None or fk < ek:  # the table has a row the ledger does not give
        assert f is not None
        return Divergence(
            table.name, dict(zip(keys, fk, strict=True)), None, None, dict(zip(columns, f, strict=True)), n
        )
    assert e is not None and f is not None
    name, a, b = next((name, a, b) for name, a, b in zip(columns, e, f, strict=True) if a != b)
    return Divergence(table.name, dict(zip(keys, ek, strict=True)), name, a, b, n)


def is_text(column: Column) -> bool:
    """True for a text column (SQLModel's `str` fields are AutoString, a decorator over String)."""
    return isinstance(getattr(column.type, "impl_instance", column.type), String)


def _normal(table: Table, row: tuple | None) -> tuple | None:
    """`row` with flags as bool and binary values as bytes, whichever driver read it."""
    if row is None:
        return None
    shape = [
        bool if isinstance(c.type, Boolean) else bytes if isinstance(c.type, LargeBinary) else None
        for c in table.columns
    ]
    return tuple(v if cast is None or v is None else cast(v) for v, cast in zip(row, shape, strict=True))


def _rows(table: Table, conn: Connection) -> Iterator[tuple]:
    """The table's rows in primary-key byte order, as the driver gives them, read _YIELD at a time
    through the raw driver cursor (server-side on PostgreSQL): no per-row SQLAlchemy processing."""
    postgres = conn.dialect.name == "postgresql"
    order = [c.collate("C") if postgres and is_text(c) else c for c in table.primary_key.columns]
    sql = str(select(table).order_by(*order).compile(dialect=conn.dialect))
    raw = conn.connection.driver_connection
    cur = raw.cursor(name=f"farmtrace_compare_{table.name}") if postgres else raw.cursor()
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(_YIELD):
            yield from rows
    finally:
        cur.close()
