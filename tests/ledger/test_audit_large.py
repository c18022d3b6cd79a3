"""The audit of logs larger than one audit chunk (2^16 entries), where tiles stay partial across chunks.

Regression: a clean log of 131,072 entries or more used to fail ("the stored hashes for entries
from 0 are missing"): the right-edge tile of level 2 grows in every chunk, and the stream of stored
tiles had handed it out once only. The log here has three chunks, the last one partial, so every
level has a right-edge tile that is partial for a while, and level 2 stays partial to the end.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from farmtrace.ledger.audit import CHUNK, audit
from farmtrace.ledger.hashing import HASH_SIZE
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore

SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))
SIZE = 2 * CHUNK + 700  # 131,772: level-0, level-1 and level-2 right-edge tiles are all partial
assert SIZE >= 131_072


def _fill(store) -> None:
    log = Log(store, SIGNER)
    log.append(b"first")  # a checkpoint at size 1, then three more inside the chunks
    for start in range(1, SIZE, 50_000):
        log.append_many([b"entry %d" % i for i in range(start, min(start + 50_000, SIZE))])
    log.close()


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "log.db"
    store = SqlStore.from_url(f"sqlite:///{path}")
    _fill(store)
    store.close()  # the last connection checkpoints the WAL into the file: one file to copy
    return path


@pytest.fixture
def db(clean_db, tmp_path):
    """A copy of the clean log that a test may tamper with, as (SqlStore, raw sqlite3 connection)."""
    path = tmp_path / "log.db"
    shutil.copy(clean_db, path)
    store = SqlStore.from_url(f"sqlite:///{path}", create=False)
    raw = sqlite3.connect(path, isolation_level=None)
    yield store, raw
    raw.close()
    store.close()


def _audit(store, tiles_mode):
    tiles = {"store": store, "stream": store.iter_tiles(), "none": None}[tiles_mode]
    return audit(store.iter_entries(), store.checkpoints(), log_key=SIGNER.verifier, tiles=tiles)


@pytest.mark.parametrize("tiles_mode", ["store", "stream", "none"])
def test_a_clean_log_of_more_than_two_chunks_verifies(db, tiles_mode):
    store, _ = db
    report = _audit(store, tiles_mode)
    assert report.ok, report.summary()
    assert report.entries_checked == SIZE
    if tiles_mode != "none":
        # Each tile once: 515 + 3 at level 0, 2 + 1 at level 1, 1 at level 2.
        assert report.tiles_checked == -(-SIZE // 256) + -(-(SIZE >> 8) // 256) + 1


def test_a_clean_memory_log_verifies():
    store = MemoryStore()
    _fill(store)
    for tiles in (store, store.iter_tiles()):
        report = audit(store.iter_entries(), store.checkpoints(), log_key=SIGNER.verifier, tiles=tiles)
        assert report.ok, report.summary()


def test_tiles_are_read_a_chunk_at_a_time(db):
    store, _ = db
    asked: list[int] = []

    class Counting:
        def read_tiles(self, keys):
            asked.append(len(keys))
            return store.read_tiles(keys)

    report = audit(store.iter_entries(), store.checkpoints(), log_key=SIGNER.verifier, tiles=Counting())
    assert report.ok, report.summary()
    # Per full chunk: its 256 level-0 tiles and its level-1 tile; then the partial right edge.
    assert max(asked) == 257 and len(asked) == 4


@pytest.mark.parametrize("tiles_mode", ["store", "stream"])
def test_an_entry_edited_in_the_last_partial_tile_is_named(db, tiles_mode):
    store, raw = db
    at = SIZE - 5
    raw.execute("UPDATE ledger_entry SET entry = x'00' WHERE idx = ?", (at,))
    report = _audit(store, tiles_mode)
    assert report.first_failure.index == at
    assert f"entry {at} does not match" in report.first_failure.message
    # The root at the latest size no longer matches either; interior hashes above the entry are echoes.
    assert [f.checkpoint_size for f in report.failures[1:]] == [SIZE]


@pytest.mark.parametrize("tiles_mode", ["store", "stream"])
@pytest.mark.parametrize(
    ("level", "tile", "hash_index", "first_entry"),
    [
        (1, 0, 7, 7 * 256),  # a complete level-1 tile
        (1, 2, 1, 2 * CHUNK + 256),  # the partial level-1 tile at the right edge
        (2, 0, 1, CHUNK),  # the level-2 tile, partial in every chunk
    ],
)
def test_an_edited_higher_level_hash_is_named(db, tiles_mode, level, tile, hash_index, first_entry):
    store, raw = db
    (hashes,) = raw.execute(
        "SELECT hashes FROM ledger_tile WHERE level = ? AND idx = ?", (level, tile)
    ).fetchone()
    at = hash_index * HASH_SIZE
    edited = hashes[:at] + bytes(HASH_SIZE) + hashes[at + HASH_SIZE :]
    raw.execute("UPDATE ledger_tile SET hashes = ? WHERE level = ? AND idx = ?", (edited, level, tile))
    report = _audit(store, tiles_mode)
    last = first_entry + (1 << 8 * level) - 1
    assert [f.message for f in report.failures] == [
        f"the stored tree hash covering entries {first_entry} to {last} was altered"
    ]
    assert report.first_failure.index == first_entry
    assert report.first_failure.covers == (first_entry, last + 1)


def test_a_deleted_entry_in_the_second_chunk_is_named(db):
    store, raw = db
    raw.execute("DELETE FROM ledger_entry WHERE idx = ?", (CHUNK + 3,))
    report = _audit(store, "store")
    assert f"entry {CHUNK + 3} is missing from the log" in report.first_failure.message
    assert report.entries_checked == CHUNK + 3
