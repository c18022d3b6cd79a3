"""Moving the trace tables' rows between databases: a rebuilt projection into a restored service,
and the tables kept off the ledger into and out of a backup.

    copy_projection(source, target)     every `compare.PROJECTION` row of `source` into `target`,
                                        in one transaction of `target` (its tables must be empty)
    dump_off_ledger(engine)             the rows of `OFF_LEDGER` as TableRows (for trace/backup.py)
    load_off_ledger(engine, tables)     those rows into `engine`, in one transaction, all or none
    table_names(url)                    the tables a database holds (before a restore builds in it)
    drop_tables_made_since(url, names)  drop every other table: what a failed restore created

`OFF_LEDGER` is what no replay can rebuild (trace/store/tables.py): parties' private contact
details, the registration desk's applications, anomalies (refused attempts), the regulator's
audit runs, and EPCIS named queries and subscriptions (with their delivery state). Values are what the drivers give for the columns' types: text, integers, floats,
booleans and None (none of these tables has a binary column).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, create_engine, func, insert, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from ..errors import InvalidEvent
from .compare import PROJECTION
from .tables import (
    AuditRun,
    TraceAnomaly,
    TraceApplication,
    TraceEpcisQuery,
    TraceEpcisSubscription,
    TracePartyPrivate,
)

__all__ = [
    "OFF_LEDGER",
    "TableRows",
    "copy_projection",
    "drop_tables_made_since",
    "dump_off_ledger",
    "load_off_ledger",
    "table_names",
]

OFF_LEDGER: tuple[Table, ...] = tuple(
    m.__table__
    for m in (  # type: ignore[attr-defined]
        TracePartyPrivate,
        TraceApplication,
        TraceAnomaly,
        AuditRun,
        TraceEpcisQuery,
        TraceEpcisSubscription,
    )
)
_CHUNK = 5_000


@dataclass(frozen=True)
class TableRows:
    """One table's rows: its name, its column names, and each row's values in that order."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _empty(conn: Connection, tables: Sequence[Table]) -> None:
    for table in tables:
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            raise InvalidEvent(
                "database", f"the table {table.name} already holds rows: restore into a new database"
            )


def copy_projection(source: Engine, target: Engine) -> int:
    """Copy every projection row of `source` into `target` (same schema); return how many.

    Runs in one transaction of `target`: on any failure nothing is copied. Raises InvalidEvent
    (field `database`) if a projection table of `target` already holds rows.
    """
    copied = 0
    with source.connect() as src, target.begin() as dst:
        _empty(dst, PROJECTION)
        for table in PROJECTION:
            result = src.execution_options(yield_per=_CHUNK).execute(select(table))
            # The driver's executemany with the stored column names: SQLAlchemy's insert() with a
            # dict per row costs about four times as much on a million rows.
            ph = "?" if dst.dialect.name == "sqlite" else "%s"
            sql = (
                f"INSERT INTO {table.name} ({', '.join(c.name for c in table.columns)}) "
                f"VALUES ({', '.join([ph] * len(table.columns))})"
            )
            for chunk in result.partitions(_CHUNK):
                dst.exec_driver_sql(sql, [tuple(row) for row in chunk])
                copied += len(chunk)
    return copied


def dump_off_ledger(engine: Engine) -> list[TableRows]:
    """The rows of every OFF_LEDGER table of `engine`, in primary-key order (a missing table: none)."""
    SQLModel.metadata.create_all(engine, tables=list(OFF_LEDGER))  # the audit runs' table may not exist yet
    out = []
    with engine.connect() as conn:
        for table in OFF_LEDGER:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out.append(
                TableRows(table.name, tuple(c.name for c in table.columns), tuple(tuple(r) for r in rows))
            )
    return out


def load_off_ledger(engine: Engine, tables: Sequence[TableRows]) -> int:
    """Insert `tables` (as `dump_off_ledger` gave them) into `engine` in one transaction; return the rows.

    Raises InvalidEvent (field `backup`) for a table or column this version does not have, or
    (field `database`) if one of the tables already holds rows; nothing is written then.
    """
    by_name = {t.name: t for t in OFF_LEDGER}
    SQLModel.metadata.create_all(engine, tables=list(OFF_LEDGER))
    loaded = 0
    with engine.begin() as conn:
        _empty(conn, OFF_LEDGER)
        for rows in tables:
            table = by_name.get(rows.name)
            if table is None:
                raise InvalidEvent(
                    "backup", f"the backup holds a table this version does not have: {rows.name}"
                )
            unknown = set(rows.columns) - {c.name for c in table.columns}  # names, as stored
            if unknown:
                raise InvalidEvent(
                    "backup", f"the backup's table {rows.name} has unknown columns: {sorted(unknown)}"
                )
            keys = [{c.name: c.key for c in table.columns}[name] for name in rows.columns]
            values = [dict(zip(keys, row, strict=True)) for row in rows.rows]
            for at in range(0, len(values), _CHUNK):
                conn.execute(insert(table), values[at : at + _CHUNK])
            loaded += len(values)
            if conn.dialect.name == "postgresql" and values and "id" in rows.columns:
                # Explicit ids do not advance PostgreSQL's sequence: move it past them.
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                )
    return loaded


def table_names(url: str) -> set[str]:
    """The tables the database at `url` holds now (in its connections' schema)."""
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def drop_tables_made_since(url: str, existing: set[str]) -> None:
    """Drop the tables of `url` not among `existing` (with what depends on them): what a failed
    restore created in a database that held none of farmtrace's tables before."""
    engine = create_engine(url)
    try:
        made = set(inspect(engine).get_table_names()) - existing
        if made:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP TABLE {', '.join(sorted(made))} CASCADE")
    finally:
        engine.dispose()
