"""What `Log.append` accepts as an entry, and the sizes its proofs may ask for."""

from __future__ import annotations

import pytest

from farmtrace.ledger.errors import MalformedError, NotFoundError
from farmtrace.ledger.log import MAX_ENTRY_SIZE, Log
from farmtrace.ledger.store import MemoryStore


@pytest.fixture
def log(signer):
    log = Log(MemoryStore(), signer)
    yield log
    log.close()


def test_bytes_and_bytearrays_are_entries_and_a_bytearray_is_copied(log):
    mutable = bytearray(b"before")
    assert log.append_many([b"plain", mutable, b"x" * MAX_ENTRY_SIZE]) == 0
    mutable[:] = b"after!"
    assert [e for _, e in log.entries(0, 3)] == [b"plain", b"before", b"x" * MAX_ENTRY_SIZE]
    assert all(type(e) is bytes for _, e in log.entries(0, 3))


@pytest.mark.parametrize(
    "bad",
    ["text", None, 7, memoryview(b"view"), b"x" * (MAX_ENTRY_SIZE + 1)],
    # Stable ids (repr would print a memoryview's address): pytest-xdist compares its workers' lists.
    ids=["str", "None", "int", "memoryview", "bytes-over-the-limit"],
)
def test_anything_else_is_refused_and_nothing_is_appended(log, bad):
    with pytest.raises(MalformedError, match="an entry is bytes of at most"):
        log.append_many([b"fine", bad])
    with pytest.raises(MalformedError):
        log.append(bad)
    assert log.size == 0


def test_proofs_follow_a_log_grown_by_another_writer(signer):
    store = MemoryStore()
    reader, writer = Log(store, signer), Log(store, signer)
    writer.append_many([b"a", b"b"])
    assert len(reader.prove_inclusion(0, 2)) == 1
    writer.append_many([b"c", b"d"])  # the reader has seen size 2 only: it looks again
    assert len(reader.prove_inclusion(0, 4)) == 2
    with pytest.raises(NotFoundError, match="the log has 4 entries; size 5 is beyond it"):
        reader.prove_inclusion(0, 5)
    reader.close()
    writer.close()
