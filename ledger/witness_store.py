"""A witness's own state: the latest checkpoint it cosigned for each log, and the forks it saw.

Contract (tests/ledger/test_witness.py `test_the_store_contract` runs it on both stores):

- `latest(origin)` MUST return the record last written for `origin`, or None.
- `compare_and_swap(origin, expected_size=, new=)` MUST write `new` only if the stored size is
  `expected_size` (None: nothing stored yet), atomically across threads *and processes* sharing
  the store, and return whether it wrote. Two requests that both checked against size N cannot
  both advance (c2sp.org/tlog-witness asks for exactly this: otherwise the witness could be rolled
  back by a slower request).
- A write MUST be durable before `compare_and_swap` returns True: the witness answers only then.
- `add_evidence` keeps a proof of a fork (the text of ledger/verify.py `format_evidence`); the
  stores never forget it.

`MemoryWitnessStore` is the reference; `SqliteWitnessStore` is the witness's own SQLite file (the
stdlib driver: a witness is a small program on another organisation's machine, and shares nothing
with the log's database).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import MalformedError

__all__ = ["MemoryWitnessStore", "SqliteWitnessStore", "WitnessRecord", "WitnessStore"]


@dataclass(frozen=True)
class WitnessRecord:
    """The latest checkpoint cosigned for a log: its size, the note as received, our cosignature line."""

    origin: str
    size: int
    note: bytes
    cosignature: str


class WitnessStore(Protocol):
    def latest(self, origin: str) -> WitnessRecord | None: ...
    def compare_and_swap(self, origin: str, *, expected_size: int | None, new: WitnessRecord) -> bool: ...
    def add_evidence(self, origin: str, evidence: bytes, *, at: float) -> None: ...
    def evidence(self, origin: str) -> list[bytes]: ...
    def close(self) -> None: ...


def _check(origin: str, new: WitnessRecord) -> None:
    if new.origin != origin:
        raise MalformedError(f"the record is for {new.origin!r}, not {origin!r}")


class MemoryWitnessStore:
    """The reference WitnessStore, in memory (tests)."""

    def __init__(self) -> None:
        self._records: dict[str, WitnessRecord] = {}
        self._evidence: dict[str, list[bytes]] = {}
        self._lock = threading.Lock()

    def latest(self, origin: str) -> WitnessRecord | None:
        return self._records.get(origin)

    def compare_and_swap(self, origin: str, *, expected_size: int | None, new: WitnessRecord) -> bool:
        _check(origin, new)
        with self._lock:
            current = self._records.get(origin)
            if (current.size if current else None) != expected_size:
                return False
            self._records[origin] = new
            return True

    def add_evidence(self, origin: str, evidence: bytes, *, at: float) -> None:
        with self._lock:
            self._evidence.setdefault(origin, []).append(bytes(evidence))

    def evidence(self, origin: str) -> list[bytes]:
        return list(self._evidence.get(origin, ()))

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS witness_checkpoint (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    note BLOB NOT NULL,
    cosignature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    received_at REAL NOT NULL,
    evidence BLOB NOT NULL
);
"""


class SqliteWitnessStore:
    """A WitnessStore in one SQLite file (WAL, synchronous=FULL). One connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE takes the write
            # lock before reading, so the compare and the swap are one step for every process).
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    def latest(self, origin: str) -> WitnessRecord | None:
        row = (
            self._connect()
            .execute("SELECT size, note, cosignature FROM witness_checkpoint WHERE origin = ?", (origin,))
            .fetchone()
        )
        return WitnessRecord(origin, row[0], bytes(row[1]), row[2]) if row else None

    def compare_and_swap(self, origin: str, *, expected_size: int | None, new: WitnessRecord) -> bool:
        _check(origin, new)
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT size FROM witness_checkpoint WHERE origin = ?", (origin,)).fetchone()
            if (row[0] if row else None) != expected_size:
                conn.execute("ROLLBACK")
                return False
            conn.execute(
                "INSERT INTO witness_checkpoint (origin, size, note, cosignature) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, note = excluded.note, "
                "cosignature = excluded.cosignature",
                (origin, new.size, new.note, new.cosignature),
            )
            conn.execute("COMMIT")
            return True
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def add_evidence(self, origin: str, evidence: bytes, *, at: float) -> None:
        self._connect().execute(
            "INSERT INTO witness_evidence (origin, received_at, evidence) VALUES (?, ?, ?)",
            (origin, at, bytes(evidence)),
        )

    def evidence(self, origin: str) -> list[bytes]:
        rows = self._connect().execute(
            "SELECT evidence FROM witness_evidence WHERE origin = ? ORDER BY id", (origin,)
        )
        return [bytes(r[0]) for r in rows]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
