"""The head index's latest committed entry as stored (SQL): its head row. The map's nodes and
values are versioned rows of their own (trace/store/map_rows.py).

`IndexStore(conn)` works inside the caller's transaction: the keeper (trace/index_keeper.py) writes
the head row in the log's write transaction, so it commits with the index entry it names, after the
rows of that entry's map (written first); the map of the latest committed index entry is the rows of
versions up to `head().size`.

  trace_index_head   one row: size, root, lots, keys of the latest index entry, and committed_at
                     (POSIX seconds on the server's clock) for the lag

`create_index_tables` creates it and the rows' tables where `map_rows.node_engine` puts them. A
database kept before the rows had versions holds them in `trace_index_node` and `trace_index_value`:
those are dropped and the head row deleted, so the next commit rebuilds the index from the log. So is
the head row when it names a non-empty map and there is no node row at all (on SQLite, the `-map`
file beside the database was lost).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from .driver import Driver
from .map_rows import UNVERSIONED, has_nodes, has_unversioned_rows, node_engine
from .tables import INDEX_TABLES, TraceIndexHead

__all__ = ["IndexHead", "IndexStore", "create_index_tables"]


def create_index_tables(engine: Engine) -> None:
    """Create the head index's tables where they do not exist yet (the rows' tables included,
    `map_rows.node_engine`); forget an index whose rows are of before versions, or lost."""
    SQLModel.metadata.create_all(engine, tables=INDEX_TABLES)
    old = has_unversioned_rows(engine)
    if old:
        with engine.begin() as conn:
            for table in UNVERSIONED:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    with node_engine(engine).connect() as nconn:
        lost = not has_nodes(nconn)
    if old or lost:
        with engine.begin() as conn:
            store = IndexStore(conn)
            head = store.head()
            if head is not None and (old or head.lots + head.keys > 0):
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

    # --- the head -----------------------------------------------------------------------------

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
        """Forget the whole index: with no head row, the next commit clears the map's rows and
        rebuilds the index from the log."""
        self._execute("DELETE FROM trace_index_head WHERE id = 1", [()])

    # --- writing -----------------------------------------------------------------------------------

    def _execute(self, sql: str, params: list[tuple]) -> None:
        """Run `sql` once per tuple of `params` (`executemany`) on the DB-API cursor."""
        cur = self.conn.connection.driver_connection.cursor()
        try:
            cur.executemany(sql, params)
        finally:
            cur.close()
