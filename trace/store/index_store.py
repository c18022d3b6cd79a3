"""The head index as stored: its map's nodes, its values and the latest index entry (SQL).

`IndexStore(conn)` works inside the caller's transaction: the keeper (trace/index_keeper.py) uses
the connection of the log's write transaction, so the nodes, the values, the head row and the index
entry commit together or not at all, and the stored map always answers for the latest committed
index entry (`head()`). It is a `NodeStore` of ledger/verifiable_map.py (`get_nodes`, `put_nodes`).

Tables (trace/store/tables.py, `INDEX_TABLES`; created by `create_index_tables`):

  trace_index_node   position -> node     (32-byte subtree hash, or 64-byte leaf: key ‖ value hash)
  trace_index_value  map key  -> value    (RFC 8785 JSON of a lot head or a key state)
  trace_index_head   one row: size, root, lots, keys of the latest index entry, and committed_at
                     (POSIX seconds on the server's clock) for the lag

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
from .tables import INDEX_TABLES, TraceIndexHead, TraceIndexNode, TraceIndexValue

__all__ = ["IndexHead", "IndexStore", "create_index_tables"]


def create_index_tables(engine: Engine | Connection) -> None:
    """Create the head index's tables where they do not exist yet."""
    SQLModel.metadata.create_all(engine, tables=INDEX_TABLES)


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

    # --- NodeStore ---------------------------------------------------------------------------------

    def get_nodes(self, positions: Iterable[bytes]) -> dict[bytes, bytes]:
        return self._read_nodes(list(positions))

    def put_nodes(self, nodes: Mapping[bytes, bytes | None]) -> None:
        self._replace(TraceIndexNode.__table__, "position", nodes)  # type: ignore[attr-defined]

    def _read_nodes(self, positions: list[bytes]) -> dict[bytes, bytes]:
        rows = self.sql.fetch_in(
            "SELECT position, node FROM trace_index_node WHERE position IN ({})", positions
        )
        return {bytes(p): bytes(n) for p, n in rows}

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
        """Forget the whole index (it is rebuilt from the log by the next commit)."""
        for table in ("trace_index_node", "trace_index_value", "trace_index_head"):
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
