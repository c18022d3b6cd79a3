"""`write_entries` at the sizes where SQLite's batched insert (ledger/sqlstore.py, 256 rows a
statement) changes shape, on every store: what is written is read back, index for index, and an
index already stored is refused whichever statement holds it."""

from __future__ import annotations

import pytest

from farmtrace.ledger.errors import LedgerError


def _entries(n: int, start: int) -> list[bytes]:
    return [b"" if i % 97 == 0 else f"entry {i}".encode() * (1 + i % 5) for i in range(start, start + n)]


@pytest.mark.parametrize("sizes", [(255,), (256,), (257,), (1, 511, 256), (300, 1024, 3)])
def test_written_entries_read_back_in_order(store, sizes):
    start = 0
    for n in sizes:
        with store.write() as txn:
            txn.write_entries(start, _entries(n, start))
        start += n
    assert list(store.iter_entries()) == list(enumerate(_entries(start, 0)))
    assert store.read_entries(250, 262) == list(enumerate(_entries(start, 0)))[250:262]


@pytest.mark.parametrize(("stored", "again"), [(0, 0), (255, 0), (700, 300), (700, 699)])
def test_a_stored_index_is_refused_in_a_full_batch_or_the_rest(store, stored, again):
    if stored:
        with store.write() as txn:
            txn.write_entries(0, _entries(stored, 0))
    else:
        stored = 1
        with store.write() as txn:
            txn.write_entries(0, [b"x"])
    # 512 entries from `again`: two full statements of 256 on SQLite, the first holding `again`;
    # and 3 entries (the one-row statement) from `again`.
    for count in (512, 3):
        with pytest.raises(LedgerError), store.write() as txn:
            txn.write_entries(again, _entries(count, again))
    assert [i for i, _ in store.iter_entries()] == list(range(stored))
