"""The alerts' SQL: the derived alert table, its scan mark, and the cold-chain thresholds' versions.

    TraceAlert       one alert: a signal (price, temperature, humidity) on one event, with evidence
    TraceAlertMark   the next ledger index the alert scan has not read (one row, name "scan")
    TraceThreshold   every version of every cold-chain threshold, with who set it and when

`TraceAlert` and `TraceAlertMark` are an index of the log, like the trace_* projection: dropping
both and scanning again from index 0 (trace/alerts.py) rebuilds the same rows from the log, the
threshold versions and the settings. They are not written by the write path (alerts never block or
slow a capture) and so are not in `tables.TABLES`, nor compared by the replay audit row by row: the
scan creates them itself (`create_alert_tables`), as the audit runs' table is.

Where they live: on PostgreSQL in the service's database; on SQLite in a file of their own beside
the database (`<database>-alerts`, `alert_engine`), because SQLite has one writer per file and the
log's appends must not wait for the scan's writes (as the head index's map rows, map_rows.py). The
scan reads trace_event, trace_event_lot and trace_lot from the service's database (`priced_rows`,
`event_lots`, `lot_products` take its connection) and writes only here.

`TraceThreshold` is configuration, off the ledger: each change by a regulator is a new row with the
regulator's party id and the time, never an update, so the history of who set what stays. A new
table starts with `cold_chain.DEFAULT_THRESHOLDS`, set by "farmtrace" at the epoch. No replay can
rebuild it, so it is in the off-ledger backup (transfer.py `OFF_LEDGER`, every version with its id,
`set_by` and `set_at`); a restore writes it here, through `alert_database`, and leaves `TraceAlert`
empty with no mark (index 0), for the next scan to rebuild.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import BigInteger, Column, Index, Integer, Text, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from farmtrace.ledger.sqlstore import make_engine

from ..cold_chain import DEFAULT_SETTER, DEFAULT_THRESHOLDS, Threshold, ThresholdVersion
from .rows import in_chunks
from .tables import TraceEvent, TraceEventLot, TraceLot

__all__ = [
    "DEFAULT_SETTER",
    "AlertRow",
    "PricedRow",
    "TraceAlert",
    "TraceAlertMark",
    "TraceThreshold",
    "add_threshold",
    "alert_database",
    "alert_engine",
    "alert_mark",
    "alert_rows",
    "create_alert_tables",
    "event_lots",
    "insert_alerts",
    "lot_products",
    "priced_rows",
    "set_alert_mark",
    "threshold_versions",
]

EPOCH = "1970-01-01T00:00:00Z"


class TraceAlert(SQLModel, table=True):
    """An alert: `signal` (price | temperature | humidity) raised by the event `event_id`."""

    __tablename__ = "trace_alert"
    __table_args__ = (Index("ix_trace_alert_index", "ledger_index"),)
    event_id: str = Field(primary_key=True)
    signal: str = Field(primary_key=True)
    ledger_index: int = Field(sa_column=Column(BigInteger, nullable=False))
    at_utc: str  # the event's time
    party: str
    lot: str
    product: str
    value: str  # the price (CNY per unit) or the worst reading
    unit: str
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON, see trace/alerts.py


class TraceAlertMark(SQLModel, table=True):
    __tablename__ = "trace_alert_mark"
    name: str = Field(primary_key=True)
    next_index: int = Field(sa_column=Column(BigInteger, nullable=False))


class TraceThreshold(SQLModel, table=True):
    __tablename__ = "trace_threshold"
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    category: str
    measure: str
    low: str | None = None
    high: str | None = None
    minutes: int = 0
    set_by: str
    set_at: str


_ALERT_TABLES = [TraceAlert.__table__, TraceAlertMark.__table__, TraceThreshold.__table__]
_alert = TraceAlert.__table__
_mark = TraceAlertMark.__table__
_threshold = TraceThreshold.__table__
_event = TraceEvent.__table__
_event_lot = TraceEventLot.__table__
_lot = TraceLot.__table__


@dataclass(frozen=True)
class PricedRow:
    """A recorded price as trace_event holds it."""

    event_id: str
    index: int
    party: str
    at_utc: str
    product: str
    amount: Decimal
    unit: str
    stage: str


@dataclass(frozen=True)
class AlertRow:
    """A stored alert (`TraceAlert`), its evidence still JSON text."""

    event_id: str
    signal: str
    index: int
    at_utc: str
    party: str
    lot: str
    product: str
    value: str
    unit: str
    evidence: str


_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def alert_engine(engine: Engine) -> Engine:
    """The engine of the alert tables for the service's `engine` (the module docstring), with its
    tables made (`create_alert_tables`)."""
    found = _ENGINES.get(engine)
    if found is None:
        found = alert_database(engine)
        create_alert_tables(found)
        _ENGINES[engine] = found
    return found


def alert_database(engine: Engine) -> Engine:
    """Where the alert tables of the service's `engine` live, with nothing made there: `engine`
    itself (PostgreSQL, an in-memory SQLite), or a new engine on `<database>-alerts`, which the
    caller disposes. A restore loads the threshold versions through it before any default exists;
    everything else uses `alert_engine`."""
    database = engine.url.database
    if not (
        engine.dialect.name == "sqlite"
        and database
        and database != ":memory:"
        and "mode=memory" not in str(engine.url)
    ):
        return engine
    found = make_engine(f"sqlite:///{Path(database).with_name(Path(database).name + '-alerts')}")
    # An index of the log: a commit lost to a power cut is found again by the next scan (the
    # mark moves in the same transaction as the rows), so no fsync a commit (WAL, NORMAL),
    # whose cost the log's own appends would share on a busy disk.
    event.listen(found, "connect", _no_sync_a_commit)
    return found


def _no_sync_a_commit(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def create_alert_tables(engine: Engine, *, defaults: bool = True) -> None:
    """Create the alert tables that do not exist yet; give an empty threshold table the defaults
    (unless `defaults` is False: a restore, about to load the backed-up versions)."""
    SQLModel.metadata.create_all(engine, tables=_ALERT_TABLES)
    if not defaults:
        return
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(_threshold)).scalar():
            return
        for t in DEFAULT_THRESHOLDS:
            add_threshold(conn, t, set_by=DEFAULT_SETTER, set_at=EPOCH)


def alert_mark(conn: Connection) -> int:
    """The next ledger index the scan has not read (0 before the first scan)."""
    found = conn.execute(select(_mark.c.next_index).where(_mark.c.name == "scan")).scalar()
    return int(found or 0)


def set_alert_mark(conn: Connection, next_index: int) -> None:
    """Move the mark forward to `next_index` (never back: two scanning processes may race)."""
    # The update first: on SQLite it takes the write lock at once, with no read to upgrade from.
    q = _mark.update().where(_mark.c.name == "scan", _mark.c.next_index < next_index)
    if conn.execute(q.values(next_index=next_index)).rowcount:
        return
    if conn.execute(select(_mark.c.next_index).where(_mark.c.name == "scan")).scalar() is None:
        conn.execute(_mark.insert().values(name="scan", next_index=next_index))


_PRICED = (
    _event.c.id,
    _event.c.ledger_index,
    _event.c.party,
    _event.c.at_utc,
    _event.c.product_name,
    _event.c.price_amount,
    _event.c.price_unit,
    _event.c.price_stage,
)


def _priced(r) -> PricedRow:
    return PricedRow(
        r.id,
        r.ledger_index,
        r.party,
        r.at_utc,
        r.product_name or "",
        Decimal(r.price_amount),
        r.price_unit,
        r.price_stage,
    )


def priced_rows(
    conn: Connection,
    *,
    lo: int | None = None,
    hi: int | None = None,
    since_utc: str | None = None,
    until_utc: str | None = None,
    products: Iterable[str] | None = None,
) -> list[PricedRow]:
    """Recorded prices with ledger index in [lo, hi) and event time in [since_utc, until_utc) (each
    bound when given), of `products` when given, by ledger index."""
    q = select(*_PRICED).where(_event.c.price_amount.is_not(None))
    if lo is not None:
        q = q.where(_event.c.ledger_index >= lo)
    if hi is not None:
        q = q.where(_event.c.ledger_index < hi)
    if since_utc is not None:
        q = q.where(_event.c.at_utc >= since_utc)
    if until_utc is not None:
        q = q.where(_event.c.at_utc < until_utc)
    if products is not None:
        q = q.where(_event.c.product_name.in_(sorted(set(products))))
    return [_priced(r) for r in conn.execute(q.order_by(_event.c.ledger_index))]


def event_lots(conn: Connection, indexes: Sequence[int]) -> dict[int, str]:
    """ledger index -> the lot an alert names: the event's first output, else its first input."""
    out: dict[int, tuple[int, str]] = {}
    for chunk in in_chunks(sorted(set(indexes))):
        q = select(_event_lot.c.ledger_index, _event_lot.c.lot, _event_lot.c.role).where(
            _event_lot.c.ledger_index.in_(chunk)
        )
        for r in conn.execute(q):
            rank = (0 if r.role == "output" else 1, r.lot)
            if r.ledger_index not in out or rank < out[r.ledger_index]:
                out[r.ledger_index] = rank  # type: ignore[assignment]
    return {i: rank[1] for i, rank in out.items()}


def lot_products(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """lot -> its product's canonical JSON (trace_lot.product)."""
    out = {}
    for chunk in in_chunks(sorted(set(codes))):
        out |= {
            r.code: r.product
            for r in conn.execute(select(_lot.c.code, _lot.c.product).where(_lot.c.code.in_(chunk)))
        }
    return out


def insert_alerts(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert alert rows (TraceAlert's columns), skipping any already there (a rescan or a race)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(_alert).values(list(rows)).on_conflict_do_nothing())


def alert_rows(
    conn: Connection,
    *,
    signal: str | None = None,
    since_utc: str | None = None,
    until_utc: str | None = None,
    lots: Iterable[str] | None = None,
    limit: int = 200,
) -> list[AlertRow]:
    """Stored alerts, newest in ledger order first, filtered by what is given."""
    q = select(_alert)
    if signal is not None:
        q = q.where(_alert.c.signal == signal)
    if since_utc is not None:
        q = q.where(_alert.c.at_utc >= since_utc)
    if until_utc is not None:
        q = q.where(_alert.c.at_utc < until_utc)
    if lots is not None:
        q = q.where(_alert.c.lot.in_(sorted(set(lots))))
    q = q.order_by(_alert.c.ledger_index.desc(), _alert.c.signal).limit(limit)
    return [
        AlertRow(
            r.event_id,
            r.signal,
            r.ledger_index,
            r.at_utc,
            r.party,
            r.lot,
            r.product,
            r.value,
            r.unit,
            r.evidence,
        )
        for r in conn.execute(q)
    ]


def threshold_versions(conn: Connection) -> list[ThresholdVersion]:
    """Every version of every threshold, oldest first."""
    q = select(_threshold).order_by(_threshold.c.set_at, _threshold.c.id)
    return [
        ThresholdVersion(
            id=r.id,
            threshold=Threshold(
                category=r.category,
                measure=r.measure,
                low=Decimal(r.low) if r.low is not None else None,
                high=Decimal(r.high) if r.high is not None else None,
                minutes=r.minutes,
            ),
            set_by=r.set_by,
            set_at=r.set_at,
        )
        for r in conn.execute(q)
    ]


def add_threshold(conn: Connection, t: Threshold, *, set_by: str, set_at: str) -> int:
    """Keep a new version of a threshold; returns its id."""
    values = {
        "category": t.category,
        "measure": t.measure,
        "low": str(t.low) if t.low is not None else None,
        "high": str(t.high) if t.high is not None else None,
        "minutes": t.minutes,
        "set_by": set_by,
        "set_at": set_at,
    }
    return int(conn.execute(_threshold.insert().values(**values)).inserted_primary_key[0])
