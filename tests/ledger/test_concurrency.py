"""Several processes, each with several threads, append to one database at once (SQLite and
PostgreSQL), and the crash test: kill -9 a process in the middle of appending."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from farmtrace.ledger.audit import audit
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore

from .reference import mth

APPENDER = Path(__file__).with_name("appender.py")
SIGNER = Signer.from_seed("test.farmtrace.example/log", bytes(range(32)))

pytestmark = pytest.mark.slow


def _spawn(url: str, tag: str, threads: int, per_thread: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(APPENDER), url, tag, str(threads), str(per_thread)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _acknowledged(output: str) -> dict[int, str]:
    acks = {}
    for line in output.splitlines():
        index, entry = line.split(" ", 1)
        acks[int(index)] = entry
    return acks


def test_four_processes_times_500_appends_never_fork_gap_or_duplicate(database_url):
    Log(SqlStore.from_url(database_url), SIGNER).close()  # create tables and genesis once
    procs = [_spawn(database_url, f"p{p}", threads=4, per_thread=125) for p in range(4)]
    acks: dict[int, str] = {}
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        got = _acknowledged(out)
        assert len(got) == 500
        assert not set(got) & set(acks), "two appends were given the same index"
        acks.update(got)
    assert sorted(acks) == list(range(2000))
    store = SqlStore.from_url(database_url)
    entries = dict(store.iter_entries())
    assert {i: e.decode() for i, e in entries.items()} == acks
    leaves = [leaf_hash(entries[i]) for i in range(2000)]
    checkpoints = store.checkpoints()
    assert checkpoints[-1].size == 2000
    for cp in checkpoints:  # every checkpoint any process signed is a prefix of the one tree
        assert cp.root == mth(leaves[: cp.size])
    report = audit(store.iter_entries(), checkpoints, log_key=SIGNER.verifier, tiles=store.iter_tiles())
    assert report.ok, report.summary()
    assert report.checkpoints_checked == len(checkpoints)
    store.close()


@pytest.mark.parametrize("after", [50, 400])
def test_kill_9_mid_append_loses_nothing_acknowledged_and_shows_nothing_half_written(database_url, after):
    Log(SqlStore.from_url(database_url), SIGNER).close()
    proc = _spawn(database_url, "crash", threads=8, per_thread=100_000)
    lines = []
    deadline = time.monotonic() + 120
    while len(lines) < after and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    acks = _acknowledged("".join(lines) + rest)
    assert len(acks) >= after

    store = SqlStore.from_url(database_url)
    entries = dict(store.iter_entries())
    for index, entry in acks.items():  # every append that returned is there, as it was
        assert entries[index].decode() == entry
    size = store.latest_checkpoint().size
    assert sorted(entries) == list(range(size)), "entries exist beyond the signed tree, or a gap"
    report = audit(
        store.iter_entries(), store.checkpoints(), log_key=SIGNER.verifier, tiles=store.iter_tiles()
    )
    assert report.ok, report.summary()
    # The log carries on after the crash.
    log = Log(store, SIGNER)
    assert log.append(b"after the crash") == size
    log.close()
    store.close()


def test_sqlite_writers_queue_on_a_file_lock_beside_the_database(tmp_path):
    # SQLite's busy handler sleeps and retries; writers queue on a flock instead (sqlstore docstring).
    db = tmp_path / "log.db"
    store = SqlStore.from_url(f"sqlite:///{db}")
    lock = tmp_path / "log.db-writer"
    assert lock.exists()  # made by the first write (create_tables)
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process holding the writers' turn
    wrote = threading.Event()

    def write() -> None:
        with store.write() as txn:
            txn.latest_checkpoint()
        wrote.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not wrote.wait(0.5)  # it waits its turn, before it begins a transaction
    finally:
        os.close(fd)
    assert wrote.wait(30)
    writer.join()
    store.close()
    assert SqlStore.from_url("sqlite://")._writer_lock is None  # nothing to queue on in memory
