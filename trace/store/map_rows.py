"""The head index's map nodes as stored: versioned rows, written outside the log's write lock.

Each row holds the node of one position of the map (ledger/verifiable_map.py) **as it is in the
index of entries [0, version)**: `(position, version) -> node` (a 32-byte subtree hash, a 64-byte
leaf, or b"" for "empty at this version"). A reader of the index entry at `size` takes, for each
position, the row with the largest version <= size (`MapNodes(conn, bound=size)`).

Why rows carry versions (docs/index-operations.md, "Where the map lives"): the keeper writes the
nodes it prepared *before* it takes the log's write lock, while readers are still reading the map of
the committed index entry; a reader bounded by the committed size never sees them. Under the lock
only the nodes changed by the last few entries are written. That is sound because

  1. every row is a *true* state: the node of its position in the index of [0, version), which is
     a function of the log alone (two keepers, or a keeper that crashed or gave up, write the same
     bytes for the same (position, version));
  2. a keeper that commits the entry at N from the head at H wrote, at some version in (H, N], every
     position whose node differs between H and N;
  3. a position's node never returns to an earlier content: the head index never removes a key and
     every new value of a key is new (a lot head counts its events, a key state names the entries
     that registered and revoked it), so a subtree's leaves never return to an earlier set.

By induction on committed entries, the largest version <= N of a position is then a row written at
or after its last change before N. Rows superseded below the committed head are deleted after each
commit (`collect`), rows left by a keeper that gave up stay harmlessly (1.) until superseded.

Where the rows live: on PostgreSQL in the service's database, written on a connection of their own;
on SQLite in a file of their own beside the database (`<database>-map`), because SQLite has one
writer per file and the log's appends must not wait for the keeper's writes. `node_engine(engine)`
gives the engine of the rows for the service's engine. The file is derived from the database: a
head row that names no index entry (a new or restored database) clears it first (the keeper).

    MapNodes(conn, bound=N)                 a NodeStore read at the index entry N (writes refused)
    MapNodes(conn, bound=N, write=True)     ... whose writes are rows at version N (tools, tests)
    write_nodes(conn, nodes, version)       rows at `version` (None: empty), in the caller's txn
    collect(conn, written)                  delete the versions below those written for positions
    clear_nodes(conn)                       delete every row
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
    "MapNodes",
    "clear_nodes",
    "collect",
    "create_node_tables",
    "has_nodes",
    "has_unversioned_nodes",
    "node_engine",
    "write_nodes",
]

TABLE = "trace_index_map_node"
CHUNK = 250  # rows per statement on SQLite (three parameters each, well under its limit)
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
    """Create the node rows' table where it does not exist (and drop the unversioned table of
    databases kept before versions, trace_index_node: its map is rebuilt from the log)."""
    SQLModel.metadata.create_all(engine, tables=NODE_TABLES)


def has_unversioned_nodes(engine: Engine) -> bool:
    """True if `engine`'s database still has the node table of before versions (trace_index_node)."""
    return inspect(engine).has_table("trace_index_node")


def has_nodes(conn: Connection) -> bool:
    """True if there is at least one node row."""
    return conn.exec_driver_sql(f"SELECT 1 FROM {TABLE} LIMIT 1").first() is not None


class MapNodes:
    """A `NodeStore` (ledger/verifiable_map.py) of the map of the index entry at `bound`: read-only,
    or with `write` its writes are rows at version `bound` (a map built outside a keeper)."""

    def __init__(self, conn: Connection, *, bound: int, write: bool = False) -> None:
        self.conn = conn
        self.bound = bound
        self.write = write
        self.postgres = conn.dialect.name == "postgresql"

    def get_nodes(self, positions: Iterable[bytes]) -> dict[bytes, bytes]:
        positions = list(positions)
        if not positions:
            return {}
        cur = self.conn.connection.driver_connection.cursor()
        rows: list[tuple] = []
        try:
            if self.postgres:
                cur.execute(
                    f"SELECT position, version, node FROM {TABLE} WHERE position = ANY(%s) AND version <= %s",
                    (positions, self.bound),
                )
                rows = cur.fetchall()
            else:
                for i in range(0, len(positions), 500):
                    chunk = positions[i : i + 500]
                    cur.execute(
                        f"SELECT position, version, node FROM {TABLE} "
                        f"WHERE position IN ({','.join('?' * len(chunk))}) AND version <= ?",
                        (*chunk, self.bound),
                    )
                    rows += cur.fetchall()
        finally:
            cur.close()
        best: dict[bytes, tuple[int, bytes]] = {}
        for p, v, n in rows:
            p = bytes(p)
            seen = best.get(p)
            if seen is None or v > seen[0]:
                best[p] = (v, bytes(n))
        return {p: n for p, (_, n) in best.items() if n}

    def put_nodes(self, nodes: Mapping[bytes, bytes | None]) -> None:
        if not self.write:
            raise TypeError(
                "a committed entry's stored map is read-only (write_nodes writes rows at a version)"
            )
        write_nodes(self.conn, nodes, self.bound, replace=True)


def write_nodes(
    conn: Connection, nodes: Mapping[bytes, bytes | None], version: int, *, replace: bool = False
) -> None:
    """Write `nodes` (position -> node, None: empty) as rows at `version`, in `conn`'s transaction.
    A row already there at that version holds the same bytes (the module docstring, 1.) and stays;
    with `replace` it is overwritten (a map built in steps at one version, `MapNodes(write=True)`)."""
    if not nodes:
        return
    cur = conn.connection.driver_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            conflict = "(position, version) DO UPDATE SET node = excluded.node" if replace else "DO NOTHING"
            cur.execute(
                f"INSERT INTO {TABLE} (position, version, node) "
                f"SELECT p, %s, n FROM unnest(%s::bytea[], %s::bytea[]) AS t(p, n) ON CONFLICT {conflict}",
                (version, list(nodes), [n or b"" for n in nodes.values()]),
            )
            return
        rows = [(p, version, n or b"") for p, n in nodes.items()]
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            cur.execute(
                f"INSERT OR {'REPLACE' if replace else 'IGNORE'} INTO {TABLE} (position, version, node) VALUES "
                + ",".join(["(?,?,?)"] * len(chunk)),
                [x for row in chunk for x in row],
            )
    finally:
        cur.close()


def collect(conn: Connection, written: Mapping[int, Iterable[bytes]]) -> None:
    """Delete the rows that `written` supersede: for each version and the positions written at it,
    the rows of those positions at lower versions (call it once the entry they belong to committed)."""
    cur = conn.connection.driver_connection.cursor()
    try:
        for version, positions in written.items():
            positions = list(positions)
            if conn.dialect.name == "postgresql":
                cur.execute(
                    f"DELETE FROM {TABLE} WHERE position = ANY(%s) AND version < %s", (positions, version)
                )
                continue
            for i in range(0, len(positions), 500):
                chunk = positions[i : i + 500]
                cur.execute(
                    f"DELETE FROM {TABLE} WHERE position IN ({','.join('?' * len(chunk))}) AND version < ?",
                    (*chunk, version),
                )
    finally:
        cur.close()


def clear_nodes(conn: Connection) -> None:
    """Delete every node row (the map is rebuilt from the log by the next commit)."""
    conn.exec_driver_sql(f"DELETE FROM {TABLE}")
