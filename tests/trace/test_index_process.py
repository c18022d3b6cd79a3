"""The head index kept by a process of its own (trace/index_process.py), on SQLite and PostgreSQL.

A real child process (spawned) opens its own log over the test's database and keeps the index
while this process records story 1: it commits index entries without this process computing any,
every one equal to the reference of the entries before it, and `stop` reports what it spent.
"""

from __future__ import annotations

import time
from functools import partial

from farmtrace.ledger.note import Signer
from farmtrace.trace.head_index import is_index_entry
from farmtrace.trace.index_process import KeeperProcess, open_sql_log

from .test_index_keeper import all_entries, check_committed, check_stored_map, story  # noqa: F401
from .test_replay import LOG_SEED, ORIGIN, record


def open_test_log(url: str):
    """How the child opens the test's log (a picklable opener: the child cannot import tests/)."""
    return partial(open_sql_log, url, Signer.from_seed(ORIGIN, LOG_SEED).key_string())


def wait_for_index_entries(service, count: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while sum(map(is_index_entry, all_entries(service))) < count:
        assert time.monotonic() < end, f"the keeper's process committed fewer than {count} index entries"
        time.sleep(0.05)


def test_a_keeper_process_commits_the_reference_entries(story, database_url):  # noqa: F811
    service, entries = story
    keeper = KeeperProcess(open_test_log(database_url), lag=0, poll=30)
    keeper.start()
    try:
        service.recorder.after_batch = keeper.nudge  # the nudges wake it; its poll is 30 s
        record(service, entries[:6])
        wait_for_index_entries(service, 1)
        record(service, entries[6:])
        wait_for_index_entries(service, 2)
    finally:
        report = keeper.stop()
    assert report is not None and report.commits >= 2
    assert report.cpu_seconds > 0 and report.locked_wall_seconds > 0
    assert check_committed(service) == report.commits
    check_stored_map(service)


def test_a_keeper_process_that_cannot_open_its_log_fails_to_start(tmp_path):
    keeper = KeeperProcess(open_test_log(f"sqlite:///{tmp_path}/missing/dir/x.db"), lag=0)
    try:
        keeper.start(timeout=60)
    except RuntimeError as exc:
        assert "did not start" in str(exc)
    else:
        keeper.stop()
        raise AssertionError("the keeper's process started over a log it cannot open")



def test_a_killed_keeper_process_never_holds_up_a_capture(story, database_url):  # noqa: F811
    """A nudge never waits: not even on a child killed while it slept (a `multiprocessing.Event`'s
    `set` would wait for it forever, and every capture with it)."""
    import os
    import signal

    service, entries = story
    keeper = KeeperProcess(open_test_log(database_url), lag=0, poll=30)
    keeper.start(timeout=60)
    os.kill(keeper._process.pid, signal.SIGKILL)
    keeper._process.join(timeout=10)
    service.recorder.after_batch = keeper.nudge
    began = time.monotonic()
    record(service, entries[:6])  # each batch nudges the dead child
    for _ in range(100_000):  # more nudges than the pipe holds
        keeper.nudge()
    assert time.monotonic() - began < 30
    assert keeper.stop() is None  # dead: no report, and no long wait for one
