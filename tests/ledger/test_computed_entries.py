"""`Log.submit_computed`: an entry made inside the write transaction from the log as it stands.

The hook sees the log's size and its entries, all committed (it opens a transaction of its own
after the requests queued before it), its entry lands at exactly that size, None appends nothing,
and a refusal leaves no trace.
"""

from __future__ import annotations

import threading

import pytest

from farmtrace.ledger.errors import AppendError, EntryTooLargeError
from farmtrace.ledger.log import MAX_ENTRY_SIZE, Log
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore


def summary(txn, size, read):
    """An entry naming the size and the entries before it."""
    return b"size=%d:" % size + b",".join(read(0, size))


@pytest.fixture(params=["memory", "sqlite"])
def log(request, signer, tmp_path):
    store = (
        MemoryStore() if request.param == "memory" else SqlStore.from_url(f"sqlite:///{tmp_path / 'l.db'}")
    )
    log = Log(store, signer)
    yield log
    log.close(close_store=True)


def test_the_entry_lands_at_the_size_it_was_computed_from(log):
    log.append_many([b"a", b"b"])
    assert log.submit_computed(summary).result() == 2
    assert [e for _, e in log.entries(0, 10)] == [b"a", b"b", b"size=2:a,b"]


def test_it_sees_only_committed_entries(log):
    """Requests queued before the hook are committed first, in a transaction without it: the hook
    reads them committed (a failure of theirs could not leave it describing entries taken back)."""
    gate, entered = threading.Event(), threading.Event()

    def hold(txn, first):
        entered.set()
        gate.wait(10)

    blocker = log.submit(b"first", admit=hold)  # keeps the writer busy while the rest queue up
    entered.wait(10)
    later = [log.submit(b"x%d" % i) for i in range(3)]
    seen: list[bool] = []

    def checking(txn, size, read):
        seen.append(all(f.done() for f in later))  # their transaction is over
        return summary(txn, size, read)

    computed = log.submit_computed(checking)
    after = log.submit(b"after")
    gate.set()
    assert [f.result() for f in (blocker, *later, computed, after)] == [0, 1, 2, 3, 4, 5]
    assert seen == [True]
    assert log.entries(4, 1)[0][1] == b"size=4:first,x0,x1,x2"


def test_an_entry_refused_before_the_hook_is_not_what_it_describes(log):
    """An entry queued before the hook is refused (its admit hook raises): the hook runs in its own
    transaction after it and describes only what is committed. (That the queued entries' whole
    transaction is over before the hook runs is test_it_sees_only_committed_entries.)"""
    gate, entered = threading.Event(), threading.Event()

    def hold(txn, first):
        entered.set()
        gate.wait(10)

    def explode(txn, first):
        raise RuntimeError("the disk is full")

    log.append(b"kept")
    blocker = log.submit(b"first", admit=hold)
    entered.wait(10)
    doomed = log.submit(b"doomed", admit=explode)
    computed = log.submit_computed(summary)
    gate.set()
    assert blocker.result() == 1
    with pytest.raises(Exception):  # noqa: B017 - whatever the failure, it is the doomed batch's
        doomed.result()
    index = computed.result()
    assert log.entries(index, 1)[0][1] == b"size=%d:" % index + b",".join(
        e for _, e in log.entries(0, index)
    )
    assert b"doomed" not in log.entries(index, 1)[0][1]


def test_none_appends_nothing_and_a_refusal_leaves_no_trace(log):
    log.append(b"a")
    assert log.submit_computed(lambda txn, size, read: None).result() is None

    def refuse(txn, size, read):
        raise ValueError("not today")

    with pytest.raises(ValueError, match="not today"):
        log.submit_computed(refuse).result()
    with pytest.raises(EntryTooLargeError):
        log.submit_computed(lambda txn, size, read: b"x" * (MAX_ENTRY_SIZE + 1)).result()
    with pytest.raises(AppendError, match="not all in the log"):
        log.submit_computed(lambda txn, size, read: b"".join(read(0, size + 1))).result()
    assert log.size == 1 and log.append(b"b") == 1


def test_a_read_only_log_refuses(log, signer):
    log.append(b"a")
    reader = Log(log._store, signer.verifier)
    with pytest.raises(AppendError, match="read-only"):
        reader.submit_computed(summary)
