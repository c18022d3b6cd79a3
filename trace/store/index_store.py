"""The head index as stored: its values and the latest index entry (SQL); its map's nodes are
versioned rows of their own (trace/store/map_nodes.py).

`IndexStore(conn)` works inside the caller's transaction: the keeper (trace/index_keeper.py) uses
the connection of the log's write transaction, so the values, the head row and the index entry
commit together or not at all, and the stored values always answer for the latest committed index
entry (`head()`); the map's nodes for it are the rows of versions up to `head().size`.

Tables (trace/store/tables.py, `INDEX_TABLES`; created by `create_index_tables`, which also creates
the node rows' table where `map_nodes.node_engine` puts it):

  trace_index_value  map key  -> value    (RFC 8785 JSON of a lot head or a key state)
  trace_index_head   one row: size, root, lots, keys of the latest index entry, and committed_at
                     (POSIX seconds on the server's clock) for the lag

A database kept before the nodes had versions holds them in `trace_index_node`: the table is dropped
and the head row and values deleted, so the next commit rebuilds the index from the log. So are they
when the head row names a non-empty map and there is no node row at all (on SQLite, the `-map` file
beside the database was lost).

Reads and writes go through the DB-API cursor (store/driver.py): lists of keys are read in chunks
(one array parameter on PostgreSQL), rows written with COPY on PostgreSQL and `executemany` on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from .driver import Driver
from .map_nodes import has_nodes, has_unversioned_nodes, node_engine
from .tables import INDEX_TABLES, TraceIndexHead, TraceIndexValue

__all__ = ["IndexHead", "IndexStore", "create_index_tables"]


def create_index_tables(engine: Engine) -> None:
    """Create the head index's tables where they do not exist yet (the node rows' table included,
    `map_nodes.node_engine`); forget an index kept before node rows had versions (module docstring)."""
    SQLModel.metadata.create_all(engine, tables=INDEX_TABLES)
    if has_unversioned_nodes(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE trace_index_node")
            IndexStore(conn).clear()
    with node_engine(engine).connect() as nconn:
        lost = not has_nodes(nconn)
    if lost:  # the node rows are gone (SQLite: the -map file was deleted): rebuild from the log
        with engine.begin() as conn:
            store = IndexStore(conn)
            head = store.head()
            if head is not None and head.lots + head.keys > 0:
                store.clear()


@dataclass(frozen=True)
class IndexHead:
    """The latest committed index entry's fields, and when it was committed (POSIX seconds)."""

    size: int
    root: bytes
    lots: int
    keys: int
    committed_at: float


class IndexStore:
    """The stored head index, read and written on `conn` (in its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sql = Driver(conn)

    # --- values and the head -----------------------------------------------------------------------

    def values(self, map_keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """{map key: value bytes} for those of `map_keys` the index holds."""
        rows = self.sql.fetch_in(
            "SELECT map_key, value FROM trace_index_value WHERE map_key IN ({})", map_keys
        )
        return {bytes(k): bytes(v) for k, v in rows}

    def put_values(self, values: Mapping[bytes, bytes]) -> None:
        self._replace(TraceIndexValue.__table__, "map_key", values)  # type: ignore[attr-defined]

    def head(self) -> IndexHead | None:
        """The latest committed index entry the stored map answers for, or None before the first."""
        rows = self.sql.fetch(
            "SELECT size, root, lots, keys, committed_at FROM trace_index_head WHERE id = 1", ()
        )
        if not rows:
            return None
        size, root, lots, keys, at = rows[0]
        return IndexHead(int(size), bytes(root), int(lots), int(keys), float(at))

    def put_head(self, head: IndexHead) -> None:
        table = TraceIndexHead.__table__  # type: ignore[attr-defined]
        self._execute("DELETE FROM trace_index_head WHERE id = 1", [()])
        self.sql.insert(
            table,
            ("id", "size", "root", "lots", "keys", "committed_at"),
            [(1, head.size, head.root, head.lots, head.keys, head.committed_at)],
        )

    def clear(self) -> None:
        """Forget the whole index: with no head row, the next commit clears the node rows and
        rebuilds the index from the log."""
        for table in ("trace_index_value", "trace_index_head"):
            self._execute(f"DELETE FROM {table}", [()])

    # --- writing -----------------------------------------------------------------------------------

    def _replace(self, table: Any, key: str, rows: Mapping[bytes, bytes | None]) -> None:
        """Write `rows`: delete the keys whose value is None, set the others (an upsert on SQLite;
        on PostgreSQL a delete of them all, then COPY)."""
        if not rows:
            return
        other = next(c.name for c in table.columns if c.name != key)
        kept = [(k, v) for k, v in rows.items() if v is not None]
        if self.sql.postgres:
            self._execute(f"DELETE FROM {table.name} WHERE {key} = ANY(%s)", [(list(rows),)])
            self.sql.insert(table, (key, other), kept)
            return
        gone = [(k,) for k, v in rows.items() if v is None]
        if gone:
            self._execute(f"DELETE FROM {table.name} WHERE {key} = ?", gone)
        if kept:
            sql = (
                f"INSERT INTO {table.name} ({key}, {other}) VALUES (?, ?) "
                f"ON CONFLICT ({key}) DO UPDATE SET {other} = excluded.{other}"
            )
            self._execute(sql, kept)

    def _execute(self, sql: str, params: list[tuple]) -> None:
        """Run `sql` once per tuple of `params` (`executemany`) on the DB-API cursor."""
        cur = self.conn.connection.driver_connection.cursor()
        try:
            cur.executemany(sql, params)
        finally:
            cur.close()
