"""Moving the trace tables' rows between databases: a rebuilt projection into a restored service,
and the tables kept off the ledger into and out of a backup.

    copy_projection(source, target)     every `compare.PROJECTION` row of `source` into `target`,
                                        in one transaction of `target` (its tables must be empty)
    dump_off_ledger(engine)             the rows of `OFF_LEDGER` as TableRows (for trace/backup.py)
    load_off_ledger(engine, tables)     those rows into `engine`, all or none
    table_names(url)                    the tables a database holds (before a restore builds in it)
    drop_tables_made_since(url, names)  drop every other table: what a failed restore created

`OFF_LEDGER` is what people created and no replay can rebuild: parties' private contact details, the
registration desk's applications, anomalies (refused attempts), the regulator's audit runs, EPCIS
named queries and subscriptions (with their delivery state), the scans of pre-printed labels (the
evidence of the copied-label warnings, trace/label_scans.py) and every version of the cold-chain
thresholds with who set it and when (`trace_threshold`). The last lives where the alert tables do
(store/alerts.py: on SQLite the file `<database>-alerts`), and is read and written there.

Not in it, by design (docs/mirror.md, "What a backup holds"): the ledger (a mirror holds it), the
projection (replayed), the alerts and their scan mark (a scan of the log rebuilds them: a restore
leaves them empty, the mark at 0), the head index's tables and the EPCIS event-hash cache (rebuilt
from the log when needed). Values are what the drivers give for the columns' types: text, integers,
floats, booleans and None (none of these tables has a binary column).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, create_engine, func, insert, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from ..errors import InvalidEvent
from .alerts import (
    TraceAlert,
    TraceAlertMark,
    TraceThreshold,
    alert_database,
    alert_engine,
    create_alert_tables,
)
from .compare import PROJECTION
from .label_scans import LabelScan, LabelScanArea
from .push_watches import TracePushMessage, TracePushWatch
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
        LabelScan,
        LabelScanArea,
        TraceThreshold,
        TracePushWatch,  # consumers' watches: lost, a recall would reach none of them (no replay makes them)
        TracePushMessage,  # notices queued and not yet taken by a push service (the watches' marks passed them)
    )
)
# In the alert tables' database (store/alerts.py `alert_database`), not the service's own.
_WITH_ALERTS = frozenset({TraceThreshold.__tablename__})
# Rebuilt by the alert scan, never loaded: a restore finds them empty, as it leaves them.
_ALERT_INDEX: tuple[Table, ...] = (TraceAlert.__table__, TraceAlertMark.__table__)  # type: ignore[attr-defined]
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


def _service_side() -> list[Table]:
    return [t for t in OFF_LEDGER if t.name not in _WITH_ALERTS]


@contextmanager
def _connections(engine: Engine, alerts: Engine, *, begin: bool) -> Iterator[tuple[Connection, Connection]]:
    """A connection to `engine` and one to its alert database `alerts` (the same one when they are
    one database), each in a transaction if `begin`: the alerts' ends (commits) first."""
    with engine.begin() if begin else engine.connect() as conn:
        if alerts is engine:
            yield conn, conn
            return
        with alerts.begin() if begin else alerts.connect() as aconn:
            yield conn, aconn


def dump_off_ledger(engine: Engine) -> list[TableRows]:
    """The rows of every OFF_LEDGER table of `engine` (the threshold versions from its alert
    database), in primary-key order, in `OFF_LEDGER` order (a missing table: none)."""
    SQLModel.metadata.create_all(engine, tables=_service_side())  # e.g. no label scanned yet
    alerts = alert_engine(engine)  # the service's own view: an empty threshold table has the defaults
    out = []
    with _connections(engine, alerts, begin=False) as (conn, aconn):
        for table in OFF_LEDGER:
            rows = (aconn if table.name in _WITH_ALERTS else conn).execute(
                select(table).order_by(*table.primary_key.columns)
            )
            out.append(
                TableRows(table.name, tuple(c.name for c in table.columns), tuple(tuple(r) for r in rows))
            )
    return out


def _values(rows: TableRows) -> tuple[Table, list[dict[str, Any]]]:
    by_name = {t.name: t for t in OFF_LEDGER}
    table = by_name.get(rows.name)
    if table is None:
        raise InvalidEvent("backup", f"the backup holds a table this version does not have: {rows.name}")
    unknown = set(rows.columns) - {c.name for c in table.columns}  # names, as stored
    if unknown:
        raise InvalidEvent("backup", f"the backup's table {rows.name} has unknown columns: {sorted(unknown)}")
    keys = [{c.name: c.key for c in table.columns}[name] for name in rows.columns]
    return table, [dict(zip(keys, row, strict=True)) for row in rows.rows]


def load_off_ledger(engine: Engine, tables: Sequence[TableRows]) -> int:
    """Insert `tables` (as `dump_off_ledger` gave them) into `engine` and its alert database; return
    the rows. A table the backup lacks (one made before the table was) stays empty; an empty
    `trace_threshold` gets the defaults from the service when it first opens its alerts.

    Raises InvalidEvent (field `backup`) for a table or column this version does not have, or
    (field `database`) if one of the tables, or an alert table, already holds rows; nothing is
    written then. On SQLite the alert database is a second file, so the rows go in two transactions,
    the alert file's committed first: a failure between the two commits (nothing else can fail
    there) leaves the threshold versions without the rest, which a restore, building beside its
    target, throws away with the rest.
    """
    # 1. Every table and column known, before anything is written.
    loads = [_values(rows) for rows in tables]
    alerts = alert_database(engine)
    try:
        SQLModel.metadata.create_all(engine, tables=_service_side())
        create_alert_tables(alerts, defaults=False)  # the backup's versions, not the defaults
        # 2. One transaction per database; the tables must be empty, the alerts' too (rebuilt by a scan).
        with _connections(engine, alerts, begin=True) as (conn, aconn):
            _empty(conn, _service_side())
            _empty(aconn, [*_ALERT_INDEX, *(t for t in OFF_LEDGER if t.name in _WITH_ALERTS)])
            loaded = 0
            for table, values in loads:
                target = aconn if table.name in _WITH_ALERTS else conn
                for at in range(0, len(values), _CHUNK):
                    target.execute(insert(table), values[at : at + _CHUNK])
                loaded += len(values)
                serial = "id" in table.columns and table.columns["id"].type.python_type is int
                if target.dialect.name == "postgresql" and values and serial:
                    # Explicit ids do not advance PostgreSQL's sequence: move it past them.
                    target.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
    finally:
        if alerts is not engine:
            alerts.dispose()
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
