"""The bulk overlay's SQL writer: the raw driver under one SQLAlchemy connection.

`Driver(conn)` runs statements on the DB-API cursor without SQLAlchemy's per-row work: COPY and one
`UPDATE … FROM unnest(…)` per table on PostgreSQL (psycopg's pipelined `executemany` spends ~40 µs
of Python per row, COPY a few), `executemany` on SQLite. It is the write path's speed work
(bench/README.md has the figures) and serves only `bulk.BatchState`.

Tables are given as SQLAlchemy `Table`s and columns by their keys (the column lists of rows.py);
the statements name the columns the database stores (`rows.stored_names`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from .rows import IN_CHUNK, stored_names

__all__ = ["Driver"]


class Driver:
    """Bulk reads and writes through the DB-API cursor of `conn` (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.ph = "%s" if self.postgres else "?"
        # A flag as the driver binds it fastest: sqlite3 binds an exact int without looking for an
        # adapter (a bool's failed lookup raises and swallows an AttributeError per value);
        # PostgreSQL's boolean columns want a bool.
        self.flag: Callable[[bool], Any] = bool if self.postgres else int

    def _cursor(self) -> Any:
        return self.conn.connection.driver_connection.cursor()

    def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        """The rows of `sql`, whose parameters are written `?`."""
        cur = self._cursor()
        try:
            cur.execute(sql.replace("?", self.ph), params)
            return cur.fetchall()
        finally:
            cur.close()

    def fetch_in(self, sql: str, values: Iterable[Any]) -> list[tuple]:
        """Rows of `sql`, whose one "IN ({})" is filled with `values` (in chunks)."""
        values = list(values)
        if self.postgres:  # one array parameter: no query text of its own per length to parse
            return self.fetch(sql.replace("IN ({})", "= ANY(?)"), (values,)) if values else []
        rows: list[tuple] = []
        for i in range(0, len(values), IN_CHUNK):
            chunk = values[i : i + IN_CHUNK]
            rows += self.fetch(sql.format(",".join("?" * len(chunk))), chunk)
        return rows

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows`, each the values of the columns with keys `columns`, in order."""
        if not rows:
            return
        names = ",".join(stored_names(table, columns))
        cur = self._cursor()
        try:
            if self.postgres:
                with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ",".join("?" * len(columns))
                cur.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
        finally:
            cur.close()

    def update(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        flags: Sequence[str] = (),
    ) -> None:
        """Set `columns` of the row with `keys`, for each row (the columns' values, then the keys').
        The keys of `rows` are distinct. `flags` name the boolean columns (the rest are text)."""
        if not rows:
            return
        values, where = stored_names(table, columns), stored_names(table, keys)
        booleans = set(stored_names(table, flags))
        cur = self._cursor()
        try:
            if self.postgres:
                names = (*values, *where)
                arrays = ", ".join(f"%s::{'boolean' if c in booleans else 'text'}[]" for c in names)
                cur.execute(
                    f"UPDATE {table.name} AS t SET {', '.join(f'{c} = v.{c}' for c in values)} "
                    f"FROM unnest({arrays}) AS v({', '.join(names)}) "
                    f"WHERE {' AND '.join(f't.{k} = v.{k}' for k in where)}",
                    [list(column) for column in zip(*rows, strict=True)],
                )
            else:
                cur.executemany(
                    f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in values)} "
                    f"WHERE {' AND '.join(f'{k} = ?' for k in where)}",
                    rows,
                )
        finally:
            cur.close()
