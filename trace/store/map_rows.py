"""The head index's map as stored: its nodes and values as versioned rows, written outside the
log's write lock.

Each row holds what one key of the map's storage was **in the index of entries [0, version)**:

  trace_index_map_node   (position, version) -> node   a 32-byte subtree hash, a 64-byte leaf, or
                                                       b"" (empty at this version)
  trace_index_map_value  (map key, version)  -> value  the RFC 8785 bytes of a lot head or key state

A reader of the index entry at `size` takes, for each position or map key, the row with the largest
version <= size (`MapNodes(conn, bound=size)`, `read_values(conn, keys, size)`).

Why rows carry versions (docs/index-operations.md, "Where the map lives"): the keeper writes the
nodes and values it prepared *before* it takes the log's write lock, while readers are still reading
the committed index entry; a reader bounded by the committed size never sees them. Under the lock
only what the last few entries changed is written. That is sound because

  1. every row is a *true* state: what its key was in the index of [0, version), a function of the
     log alone (two keepers, or a keeper that crashed or gave up, write the same bytes for the same
     key and version). Rows are derived from committed entries only: `prepare` reads outside the
     write transaction, and the hook's transaction is one of its own, opened after the entries
     queued before it committed (ledger/sequencer.py), so no failed transaction can take back an
     entry a row describes;
  2. a keeper that commits the entry at N from the head at H wrote, at some version in (H, N], every
     key whose row differs between H and N;
  3. nothing returns to an earlier content: the head index never removes a key and every new value
     of a key is new (a lot head counts its events, a key state names the entries that registered
     and revoked it), so neither a value nor a subtree's set of leaves ever repeats.

By induction on committed entries, the largest version <= N of a key is then a row written at or
after its last change before N. Rows superseded below the committed head are deleted after each
commit (`collect`), rows left by a keeper that gave up stay harmlessly (1.) until superseded.

Where the rows live: on PostgreSQL in the service's database, written on a connection of their own;
on SQLite in a file of their own beside the database (`<database>-map`), because SQLite has one
writer per file and the log's appends must not wait for the keeper's writes. `node_engine(engine)`
gives the engine of the rows for the service's engine. The head row (trace/store/index_store.py)
stays in the service's database, committed with the index entry. A first build (no head row: a new
or restored database) clears the rows first (the keeper), since they may be another log's.

    MapNodes(conn, bound=N)                 a NodeStore read at the index entry N (writes refused)
    MapNodes(conn, bound=N, write=True)     ... whose writes are rows at version N (tools, tests)
    read_values(conn, keys, N)              the values at the index entry N
    write_nodes / write_values(conn, rows, version)   rows at `version`, in the caller's txn
    collect(conn, NODES | VALUES, written)  delete the versions below those written, per key
    clear_rows(conn)                        delete every row
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from farmtrace.ledger.sqlstore import make_engine

from .tables import NODE_TABLES

__all__ = [
    "NODES",
    "VALUES",
    "MapNodes",
    "clear_rows",
    "collect",
    "create_node_tables",
    "has_nodes",
    "has_unversioned_rows",
    "node_engine",
    "read_values",
    "write_nodes",
    "write_values",
]

NODES = "trace_index_map_node"  # position, version -> node
VALUES = "trace_index_map_value"  # map key, version -> value
_KEY = {NODES: "position", VALUES: "map_key"}
_DATA = {NODES: "node", VALUES: "value"}
CHUNK = 250  # rows per statement on SQLite (three parameters each, well under its limit)
IN_CHUNK = 500  # keys per IN (...) list
UNVERSIONED = ("trace_index_node", "trace_index_value")  # the tables of before versions
_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def node_engine(engine: Engine) -> Engine:
    """The engine of the map's node rows for the service's `engine` (the module docstring)."""
    found = _ENGINES.get(engine)
    if found is None:
        found = engine
        database = engine.url.database
        if (
            engine.dialect.name == "sqlite"
            and database
            and database != ":memory:"
            and "mode=memory" not in str(engine.url)
        ):
            found = make_engine(f"sqlite:///{Path(database).with_name(Path(database).name + '-map')}")
        create_node_tables(found)
        _ENGINES[engine] = found
    return found


def create_node_tables(engine: Engine | Connection) -> None:
    """Create the node and value rows' tables where they do not exist."""
    SQLModel.metadata.create_all(engine, tables=NODE_TABLES)


def has_unversioned_rows(engine: Engine) -> bool:
    """True if `engine`'s database still has a table of the index kept before versions
    (trace_index_node, trace_index_value)."""
    tables = set(inspect(engine).get_table_names())
    return bool(tables & set(UNVERSIONED))


def has_nodes(conn: Connection) -> bool:
    """True if there is at least one node row."""
    return conn.exec_driver_sql(f"SELECT 1 FROM {NODES} LIMIT 1").first() is not None


class MapNodes:
    """A `NodeStore` (ledger/verifiable_map.py) of the map of the index entry at `bound`: read-only,
    or with `write` its writes are rows at version `bound` (a map built outside a keeper)."""

    def __init__(self, conn: Connection, *, bound: int, write: bool = False) -> None:
        self.conn = conn
        self.bound = bound
        self.write = write

    def get_nodes(self, positions: Iterable[bytes]) -> dict[bytes, bytes]:
        return _read(self.conn, NODES, positions, self.bound)

    def put_nodes(self, nodes: Mapping[bytes, bytes | None]) -> None:
        if not self.write:
            raise TypeError(
                "a committed entry's stored map is read-only (write_nodes writes rows at a version)"
            )
        write_nodes(self.conn, nodes, self.bound, replace=True)


def read_values(conn: Connection, map_keys: Iterable[bytes], bound: int) -> dict[bytes, bytes]:
    """{map key: value bytes} of those of `map_keys` the index of the entry at `bound` holds."""
    return _read(conn, VALUES, map_keys, bound)


def write_nodes(
    conn: Connection, nodes: Mapping[bytes, bytes | None], version: int, *, replace: bool = False
) -> None:
    """Write `nodes` (position -> node, None: empty) as rows at `version`, in `conn`'s transaction.
    A row already there at that version holds the same bytes (the module docstring, 1.) and stays;
    with `replace` it is overwritten (a map built in steps at one version, `MapNodes(write=True)`)."""
    _write(conn, NODES, nodes, version, replace=replace)


def write_values(conn: Connection, values: Mapping[bytes, bytes], version: int) -> None:
    """Write `values` (map key -> value bytes) as rows at `version`, in `conn`'s transaction."""
    _write(conn, VALUES, values, version, replace=False)


def collect(conn: Connection, table: str, written: Mapping[int, Iterable[bytes]]) -> None:
    """Delete the rows of `table` (NODES or VALUES) that `written` supersede: for each version and
    the keys written at it, the rows of those keys at lower versions (call it once the entry they
    belong to committed)."""
    key = _KEY[table]
    cur = conn.connection.driver_connection.cursor()
    try:
        for version, keys in written.items():
            keys = list(keys)
            if conn.dialect.name == "postgresql":
                cur.execute(f"DELETE FROM {table} WHERE {key} = ANY(%s) AND version < %s", (keys, version))
                continue
            for i in range(0, len(keys), IN_CHUNK):
                chunk = keys[i : i + IN_CHUNK]
                cur.execute(
                    f"DELETE FROM {table} WHERE {key} IN ({','.join('?' * len(chunk))}) AND version < ?",
                    (*chunk, version),
                )
    finally:
        cur.close()


def _read(conn: Connection, table: str, keys: Iterable[bytes], bound: int) -> dict[bytes, bytes]:
    """For each of `keys`, the data of its row with the largest version <= `bound`, if not empty."""
    keys = list(keys)
    if not keys:
        return {}
    key, data = _KEY[table], _DATA[table]
    cur = conn.connection.driver_connection.cursor()
    rows: list[tuple] = []
    try:
        if conn.dialect.name == "postgresql":
            cur.execute(
                f"SELECT {key}, version, {data} FROM {table} WHERE {key} = ANY(%s) AND version <= %s",
                (keys, bound),
            )
            rows = cur.fetchall()
        else:
            for i in range(0, len(keys), IN_CHUNK):
                chunk = keys[i : i + IN_CHUNK]
                cur.execute(
                    f"SELECT {key}, version, {data} FROM {table} "
                    f"WHERE {key} IN ({','.join('?' * len(chunk))}) AND version <= ?",
                    (*chunk, bound),
                )
                rows += cur.fetchall()
    finally:
        cur.close()
    best: dict[bytes, tuple[int, bytes]] = {}
    for k, v, d in rows:
        k = bytes(k)
        seen = best.get(k)
        if seen is None or v > seen[0]:
            best[k] = (v, bytes(d))
    return {k: d for k, (_, d) in best.items() if d}


def _write(
    conn: Connection, table: str, rows: Mapping[bytes, bytes | None], version: int, *, replace: bool
) -> None:
    if not rows:
        return
    key, data = _KEY[table], _DATA[table]
    cur = conn.connection.driver_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            conflict = f"({key}, version) DO UPDATE SET {data} = excluded.{data}" if replace else "DO NOTHING"
            cur.execute(
                f"INSERT INTO {table} ({key}, version, {data}) "
                f"SELECT k, %s, d FROM unnest(%s::bytea[], %s::bytea[]) AS t(k, d) ON CONFLICT {conflict}",
                (version, list(rows), [d or b"" for d in rows.values()]),
            )
            return
        flat = [(k, version, d or b"") for k, d in rows.items()]
        verb = "REPLACE" if replace else "IGNORE"
        for i in range(0, len(flat), CHUNK):
            chunk = flat[i : i + CHUNK]
            cur.execute(
                f"INSERT OR {verb} INTO {table} ({key}, version, {data}) VALUES "
                + ",".join(["(?,?,?)"] * len(chunk)),
                [x for row in chunk for x in row],
            )
    finally:
        cur.close()


def clear_rows(conn: Connection) -> None:
    """Delete every node and value row (the index is rebuilt from the log by the next commit)."""
    conn.exec_driver_sql(f"DELETE FROM {NODES}")
    conn.exec_driver_sql(f"DELETE FROM {VALUES}")
