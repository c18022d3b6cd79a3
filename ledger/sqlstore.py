"""The log's SQL storage (SQLModel / SQLAlchemy): SQLite by default, PostgreSQL by URL.

This is the only SQL in the ledger. Tables:

    ledger_entry       (idx PK, entry)            the opaque entries
    ledger_tile        ((level, idx) PK, hashes)  hash tiles, see `tiles`
    ledger_checkpoint  (size PK, root, note, signed_at)
    ledger_cosignature ((size, line) PK)          witness cosignature lines

Writers are serialised across processes: on SQLite by `BEGIN IMMEDIATE` (one writer per database
file; WAL lets readers continue), on PostgreSQL by a transaction-scoped advisory lock. SQLite runs
with `synchronous=FULL`, so a commit is durable before `write()` returns.

On SQLite, writers also queue on an OS file lock beside the database (`<file>-writer`, `flock`)
before they begin: SQLite's own wait sleeps and retries (up to 100 ms a time), so a writer that
finds the database busy would sleep through much of the next free moment; the kernel wakes a
process waiting on the file lock as soon as it is released. The lock only orders writers; SQLite's
lock still decides, so other programs writing the file stay safe.
"""

# size: the ledger's only SQL (four tables, both dialects' writer locks and durability, the bulk
# reads' raw-cursor paths): one storage, read together
from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Text, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import Field, SQLModel, create_engine

from .errors import AppendError, LedgerError
from .store import StoredCheckpoint
from .tiles import TileKey

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: writers wait in SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["LedgerCheckpoint", "LedgerCosignature", "LedgerEntry", "LedgerTile", "SqlStore", "make_engine"]

# On SQLite only `INTEGER PRIMARY KEY` is an alias of the rowid (the fast, compact key).
_Index = BigInteger().with_variant(Integer, "sqlite")
# Any constant shared by every farmtrace process: it names the log's writer lock on PostgreSQL.
_PG_LOCK_KEY = 0x66_61_72_6D_74_72  # "farmtr"
# New SQLite databases get 16 KiB pages: a tile (8 KiB) then fits in one page, and bulk appends
# write fewer, fuller pages (about 15% faster than the default 4 KiB). Existing files keep theirs.
_SQLITE_PAGE_SIZE = 16_384
# Entries written per INSERT on SQLite: `(?1 + k, ?k+2)` for k < 256, the first index bound once.
_SQLITE_ROWS = 256
_SQLITE_INSERT_ROWS = "INSERT INTO ledger_entry (idx, entry) VALUES " + ", ".join(
    f"(?1 + {k}, ?{k + 2})" for k in range(_SQLITE_ROWS)
)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    idx: int = Field(sa_column=Column(_Index, primary_key=True, autoincrement=False))
    entry: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerTile(SQLModel, table=True):
    __tablename__ = "ledger_tile"
    level: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerCheckpoint(SQLModel, table=True):
    __tablename__ = "ledger_checkpoint"
    size: int = Field(sa_column=Column(_Index, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    signed_at: float


class LedgerCosignature(SQLModel, table=True):
    __tablename__ = "ledger_cosignature"
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    line: str = Field(sa_column=Column(Text, primary_key=True))


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """An engine for `url` set up for the log: WAL, durable commits and IMMEDIATE writers on SQLite."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 120},
            **({} if pool else {"poolclass": NullPool}),
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
            # Take transactions into our own hands (pysqlite's implicit BEGIN is DEFERRED).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={_SQLITE_PAGE_SIZE}")  # before the file is made
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=120000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - exercised by every SQLite test
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True, **({} if pool else {"poolclass": NullPool}))


class _SqlTxn:
    def __init__(self, conn: Connection, ph: str) -> None:
        self.connection = conn
        self._ph = ph

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self.connection.exec_driver_sql(
            "SELECT size, root, note, signed_at FROM ledger_checkpoint ORDER BY size DESC LIMIT 1"
        ).first()
        return StoredCheckpoint(row[0], bytes(row[1]), row[2], row[3]) if row else None

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        return _read_tiles(self.connection, keys, self._ph)

    def write_entries(self, start: int, entries: Sequence[bytes]) -> None:
        ph = self._ph
        cur = self.connection.connection.driver_connection.cursor()
        rows = zip(range(start, start + len(entries)), entries, strict=True)
        try:
            # PostgreSQL: COPY costs a few µs of Python a row; psycopg's executemany costs about 40.
            if self.connection.dialect.name == "postgresql":
                with cur.copy("COPY ledger_entry (idx, entry) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                # SQLite: 256 rows a statement (the index computed in SQL) cost 0.94-0.99 µs of CPU
                # a row where one row a statement costs 1.33-1.43 (bench/mirror_bench.py's entries,
                # 65,536 a transaction, 8 alternated), and release the GIL per 256 rows, not per row.
                full = len(entries) - len(entries) % _SQLITE_ROWS
                if full:
                    batches = (
                        (start + i, *entries[i : i + _SQLITE_ROWS]) for i in range(0, full, _SQLITE_ROWS)
                    )
                    cur.executemany(_SQLITE_INSERT_ROWS, batches)
                rows = zip(range(start + full, start + len(entries)), entries[full:], strict=True)
                cur.executemany(f"INSERT INTO ledger_entry (idx, entry) VALUES ({ph}, {ph})", rows)
        except self.connection.dialect.loaded_dbapi.Error as exc:
            # The driver's own error: this path bypasses SQLAlchemy's wrapping for speed.
            raise AppendError(f"the storage refused entries from index {start}: {exc}") from exc
        finally:
            cur.close()

    def write_tiles(self, tiles: Mapping[TileKey, bytes]) -> None:
        if not tiles:
            return
        ph = self._ph
        self.connection.exec_driver_sql(
            f"INSERT INTO ledger_tile (level, idx, hashes) VALUES ({ph}, {ph}, {ph}) "
            "ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
            [(level, idx, h) for (level, idx), h in tiles.items()],
        )

    def write_checkpoint(self, cp: StoredCheckpoint) -> None:
        ph = self._ph
        self.connection.exec_driver_sql(
            f"INSERT INTO ledger_checkpoint (size, root, note, signed_at) VALUES ({ph}, {ph}, {ph}, {ph})",
            (cp.size, cp.root, cp.note, cp.signed_at),
        )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.connection.begin_nested():
            yield


def _blob(conn: Connection, column: str) -> str:
    # SQLite columns are dynamically typed: a row edited behind our back may hold TEXT that is not
    # UTF-8. Reading it as a BLOB lets the audit report it instead of crashing on it.
    return f"CAST({column} AS BLOB)" if conn.dialect.name == "sqlite" else column


def _fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """All rows of a read, through the driver's own cursor.

    For bulk reads SQLAlchemy's per-row result processing costs more than the query itself. The
    SQL here names only our own columns, and the callers turn values into the types they promise.
    """
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql, params)
        return cur.fetchall()
    finally:
        cur.close()


def _read_tiles(conn: Connection, keys: Sequence[TileKey], ph: str) -> dict[TileKey, bytes]:
    if not keys:
        return {}
    by_level: dict[int, list[int]] = {}
    for level, idx in keys:
        by_level.setdefault(level, []).append(idx)
    # One primary-key lookup per tile: (level = ? AND idx IN (?, ...)) for each level asked.
    where = " OR ".join(f"(level = {ph} AND idx IN ({', '.join([ph] * len(i))}))" for i in by_level.values())
    params = [x for level, idxs in by_level.items() for x in (level, *idxs)]
    rows = _fetch(conn, f"SELECT level, idx, {_blob(conn, 'hashes')} FROM ledger_tile WHERE {where}", params)
    return {(r[0], r[1]): bytes(r[2]) for r in rows}


def _entry_rows(rows: list[Any]) -> list[tuple[int, bytes]]:
    """(index, entry) pairs from driver rows, entries as `bytes`.

    A driver returns one Python type per column type: SQLite's BLOB (after the CAST) and psycopg's
    bytea come as `bytes` and are passed through; others (psycopg2's memoryview) are copied.
    """
    if not rows or type(rows[0][1]) is bytes:
        return rows
    return [(r[0], bytes(r[1])) for r in rows]


class SqlStore:
    """A LogStore on a SQL database (see the module docstring for locking and durability)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._ph = "?" if self.dialect == "sqlite" else "%s"
        database = engine.url.database if self.dialect == "sqlite" else None
        in_memory = not database or database == ":memory:" or database.startswith("file:")
        self._writer_lock = None if in_memory or fcntl is None else f"{database}-writer"

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> SqlStore:
        store = cls(make_engine(url))
        if create:
            store.create_tables()
        return store

    def create_tables(self) -> None:
        tables = [m.__table__ for m in (LedgerEntry, LedgerTile, LedgerCheckpoint, LedgerCosignature)]
        with self._locked_write() as conn:
            SQLModel.metadata.create_all(conn, tables=tables)

    @contextmanager
    def _locked_write(self) -> Iterator[Connection]:
        with self._queued(), self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
                yield conn

    @contextmanager
    def _queued(self) -> Iterator[None]:
        """Hold the SQLite writers' file lock (see the module docstring), if there is one to hold.
        A new descriptor each time: flock belongs to an open file, so threads queue as processes do."""
        if self._writer_lock is None:
            yield
            return
        try:
            fd = os.open(self._writer_lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only directory: SQLite's busy handler alone orders writers
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def write(self) -> Iterator[_SqlTxn]:
        try:
            with self._locked_write() as conn:
                yield _SqlTxn(conn, self._ph)
        except IntegrityError as exc:
            raise AppendError(f"the storage refused the write: {exc.orig}") from exc
        except LedgerError:
            raise
        except SQLAlchemyError as exc:
            raise AppendError(f"the storage failed: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def read_tiles(self, keys: Sequence[TileKey]) -> dict[TileKey, bytes]:
        with self._read() as conn:
            return _read_tiles(conn, keys, self._ph)

    def read_entries(self, start: int, end: int) -> list[tuple[int, bytes]]:
        """The stored entries with start <= index < end, in index order (gaps show as skipped indexes)."""
        with self._read() as conn:
            rows = _fetch(
                conn,
                f"SELECT idx, {_blob(conn, 'entry')} FROM ledger_entry "
                f"WHERE idx >= {self._ph} AND idx < {self._ph} ORDER BY idx",
                (start, end),
            )
        return _entry_rows(rows)

    def iter_entries(self, start: int = 0, *, chunk: int = 65_536) -> Iterator[tuple[int, bytes]]:
        """Every entry from `start` in index order (gaps show as skipped indexes).

        One query per `chunk` entries, so no read transaction stays open for long (on SQLite that
        would keep the WAL from being checkpointed); entries appended meanwhile show up too. Rows
        are fetched a few thousand at a time, so a consumer sees them while they are in cache, and
        handed out by `chain` (in C: a full audit spends a tenth of its time on this loop otherwise).
        """
        return itertools.chain.from_iterable(self._entry_batches(start, chunk))

    def _entry_batches(self, start: int, chunk: int) -> Iterator[list[tuple[int, bytes]]]:
        at = start
        while True:
            last = None
            with self._read() as conn:
                cur = conn.connection.driver_connection.cursor()
                try:
                    cur.execute(
                        f"SELECT idx, {_blob(conn, 'entry')} FROM ledger_entry "
                        f"WHERE idx >= {self._ph} ORDER BY idx LIMIT {int(chunk)}",
                        (at,),
                    )
                    while rows := cur.fetchmany(4096):
                        yield _entry_rows(rows)
                        last = rows[-1][0]
                finally:
                    cur.close()
            if last is None:
                return
            at = last + 1

    def iter_tiles(self, *, chunk: int = 1024) -> Iterator[tuple[TileKey, bytes]]:
        """Every stored tile, ordered by (level, index); one short query per `chunk` tiles."""
        after = (-1, -1)
        while True:
            with self._read() as conn:
                rows = _fetch(
                    conn,
                    f"SELECT level, idx, {_blob(conn, 'hashes')} FROM ledger_tile "
                    f"WHERE (level, idx) > ({self._ph}, {self._ph}) ORDER BY level, idx LIMIT {int(chunk)}",
                    after,
                )
            if not rows:
                return
            for r in rows:
                yield (r[0], r[1]), bytes(r[2])
            after = (rows[-1][0], rows[-1][1])

    def _cosignatures(self, conn: Connection, size: int) -> tuple[str, ...]:
        rows = conn.exec_driver_sql(
            f"SELECT line FROM ledger_cosignature WHERE size = {self._ph} ORDER BY line", (size,)
        )
        return tuple(r[0] for r in rows)

    def _checkpoint_row(self, conn: Connection, row: Any) -> StoredCheckpoint:
        return StoredCheckpoint(row[0], bytes(row[1]), row[2], row[3], self._cosignatures(conn, row[0]))

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        with self._read() as conn:
            row = conn.exec_driver_sql(
                "SELECT size, root, note, signed_at FROM ledger_checkpoint ORDER BY size DESC LIMIT 1"
            ).first()
            return self._checkpoint_row(conn, row) if row else None

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        with self._read() as conn:
            row = conn.exec_driver_sql(
                f"SELECT size, root, note, signed_at FROM ledger_checkpoint WHERE size = {self._ph}", (size,)
            ).first()
            return self._checkpoint_row(conn, row) if row else None

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._read() as conn:
            cos: dict[int, list[str]] = {}
            for size, line in conn.exec_driver_sql(
                "SELECT size, line FROM ledger_cosignature ORDER BY size, line"
            ):
                cos.setdefault(size, []).append(line)
            rows = conn.exec_driver_sql(
                "SELECT size, root, note, signed_at FROM ledger_checkpoint ORDER BY size"
            )
            return [StoredCheckpoint(r[0], bytes(r[1]), r[2], r[3], tuple(cos.get(r[0], ()))) for r in rows]

    def checkpoints_after(self, size: int, limit: int) -> list[StoredCheckpoint]:
        """At most `limit` checkpoints larger than `size`, smallest first (a page of `checkpoints`)."""
        sql = (
            "SELECT size, root, note, signed_at FROM ledger_checkpoint WHERE size > {} ORDER BY size LIMIT {}"
        )
        with self._read() as conn:
            rows = conn.exec_driver_sql(sql.format(self._ph, int(limit)), (size,)).all()
            return [self._checkpoint_row(conn, r) for r in rows]

    def add_cosignature(self, size: int, line: str) -> None:
        self.add_cosignatures([(size, line)])

    def add_cosignatures(
        self, lines: Sequence[tuple[int, str]], *, replacing: Sequence[tuple[int, str]] = ()
    ) -> None:
        """Store (size, cosignature line) pairs in one transaction (one commit, one fsync), removing
        the `replacing` pairs in the same transaction (a witness's older line on the same checkpoint).

        On PostgreSQL this takes no advisory lock: the insert touches only ledger_cosignature, and
        `ON CONFLICT DO NOTHING` is safe between concurrent writers, so it never waits for an append
        nor makes one wait. SQLite has one writer per file, so there it queues like any writer.
        """
        if not lines and not replacing:
            return
        ph = self._ph
        sql = f"INSERT INTO ledger_cosignature (size, line) VALUES ({ph}, {ph}) ON CONFLICT DO NOTHING"
        drop = f"DELETE FROM ledger_cosignature WHERE size = {ph} AND line = {ph}"

        def write(conn: Connection) -> None:
            if replacing:
                conn.exec_driver_sql(drop, list(replacing))
            if lines:
                conn.exec_driver_sql(sql, list(lines))

        if self.dialect == "sqlite":
            with self._locked_write() as conn:
                write(conn)
            return
        with self.engine.begin() as conn:
            write(conn)

    def close(self) -> None:
        self.engine.dispose()
