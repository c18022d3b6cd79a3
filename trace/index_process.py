"""The head index's keeper in a process of its own (issue 17 §2: keeping the index off ingest's CPU).

`IndexKeeper` (trace/index_keeper.py) in the serving process costs ingest its CPU twice over: the
process's threads share one GIL, so every microsecond of the fold and the map's walk is one the
write path waits for, and its work under the log's write lock holds appends back as well.
`KeeperProcess` runs the keeper in a child process instead, with its own `Log` over the same
database (several processes may append to one log: the write lock orders them). There it prepares
an entry outside the write lock (reading the entries the log has committed, folding them, updating
the map in memory) and only finishes under the lock (the entries appended meanwhile, and the rows'
writes), on the core the ingesting process does not use.

    keeper = KeeperProcess(partial(open_sql_log, url, key), lag=10.0)   # a picklable way to open the log
    keeper.start(); recorder.after_batch = keeper.nudge; ...; report = keeper.stop()

The child is started with "spawn" (safe inside a threaded server, as the verification workers are:
trace/ingest/verifying.py), so `open_log` must be picklable: a module-level function or a
`functools.partial` of one. A nudge sets an event the child waits on (it also looks every `poll`
seconds); nothing is waited for. `stop` returns what the child spent (`KeeperReport`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore

from .index_keeper import DEFAULT_LAG, IndexKeeper

__all__ = ["KeeperProcess", "KeeperReport", "open_sql_log"]

log = logging.getLogger(__name__)

STOP_TIMEOUT = 60.0  # seconds `stop` waits for the child's last commit before it gives up on it


def open_sql_log(url: str, signer_key: str) -> Log:
    """The log stored at `url` (which must exist), signed with `signer_key` (`PRIVATE+KEY+…`): an
    opener for `KeeperProcess` as `partial(open_sql_log, url, key)` (the key goes to the child over
    its pipe, as the rest of its arguments)."""
    return Log(SqlStore.from_url(url, create=False), Signer.from_key_string(signer_key))


@dataclass(frozen=True)
class KeeperReport:
    """What the keeper's process spent once started: its CPU in all (all its threads), the index entries it
    appended, the CPU of `prepare` (outside the lock), and the hook's wall and CPU time under the
    log's write lock."""

    cpu_seconds: float
    commits: int
    prepare_cpu_seconds: float
    locked_wall_seconds: float
    locked_cpu_seconds: float


class KeeperProcess:
    """An `IndexKeeper` with `lag` in a child process over the log `open_log()` opens there."""

    def __init__(
        self,
        open_log: Callable[[], Log],
        *,
        lag: float = DEFAULT_LAG,
        poll: float | None = None,
        due_at_start: bool = False,
    ) -> None:
        if lag < 0:
            raise ValueError(f"the index lag is a number of seconds of at least 0, found {lag}")
        self.open_log, self.lag, self.due_at_start = open_log, lag, due_at_start
        self.poll = poll if poll is not None else min(max(lag / 4, 0.25), 5.0)
        ctx = multiprocessing.get_context("spawn")
        self._ctx = ctx
        # A nudge is a byte on a pipe, and stopping a flag in shared memory: a `multiprocessing.Event`'s
        # `set` waits for every sleeper to wake, so it would hang the capture that nudges a child
        # killed while it slept (trace/alert_process.py does the same). A full pipe is a nudge pending.
        self._wakes, self._wake = ctx.Pipe(duplex=False)
        os.set_blocking(self._wake.fileno(), False)
        self._stop: Any = ctx.Value("b", 0, lock=False)
        self._ready = ctx.Event()
        self._report: Any = ctx.Queue()
        self._process: Any = None

    def start(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """Start the child and wait until it has opened its log (it then keeps the index until
        `stop`). RuntimeError if it died or did not get there within `timeout` seconds."""
        if self._process is not None:
            return
        self._stop.value = 0
        args = (
            self.open_log, self.lag, self.poll, self.due_at_start,
            self._ready, self._wakes, self._stop, self._report,
        )  # fmt: skip
        self._process = self._ctx.Process(target=_keep, args=args, name="farmtrace-index", daemon=True)
        self._process.start()
        began = time.monotonic()
        while not self._ready.wait(0.1):
            if not self._process.is_alive() or time.monotonic() - began > timeout:
                self._process.kill()
                self._process.join()
                self._process = None
                raise RuntimeError("the index keeper's process did not start (see its log)")

    def nudge(self) -> None:
        """Wake the child to look whether an entry is due (`Recorder.after_batch`); never waits."""
        with contextlib.suppress(BlockingIOError):  # the pipe is full: a nudge is pending already
            os.write(self._wake.fileno(), b"\0")

    def stop(self) -> KeeperReport | None:
        """Stop the child after the commit it may be making; its report (None if it died or hung)."""
        if self._process is None:
            return None
        self._stop.value = 1
        self.nudge()
        try:  # a child that died (killed) put nothing: do not wait long for it
            report = self._report.get(timeout=STOP_TIMEOUT if self._process.is_alive() else 1.0)
        except Exception:  # queue.Empty, or the child died without a word
            report = None
        self._process.join(timeout=STOP_TIMEOUT)
        if self._process.is_alive():
            log.error("the index keeper's process did not stop; terminating it")
            self._process.terminate()
            self._process.join()
        self._process = None
        return report


def _keep(
    open_log: Callable[[], Log],
    lag: float,
    poll: float,
    due_at_start: bool,
    ready: Any,
    wakes: Any,
    stop: Any,
    report: Any,
) -> None:
    """The child: keep the index of `open_log()` until `stop` is 1, then put a `KeeperReport`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    the_log = open_log()
    keeper = IndexKeeper(the_log, clock=time.time, lag=lag)
    if due_at_start:
        keeper.started -= lag  # as a keeper that has run for a while: the first entry is due at once
    spent = {"commits": 0, "prepare": 0.0, "wall": 0.0, "cpu": 0.0}
    compute, prepare = keeper.compute, keeper.prepare

    def timed_prepare(*args):
        cpu = time.thread_time()
        try:
            return prepare(*args)
        finally:
            spent["prepare"] += time.thread_time() - cpu

    def timed_compute(txn, size, read, **kw):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return compute(txn, size, read, **kw)
        finally:
            spent["wall"] += time.perf_counter() - wall
            spent["cpu"] += time.thread_time() - cpu

    store_prepared = keeper.store_prepared

    def timed_write(prepared):  # the prepared nodes' rows: outside the lock too, counted with prepare
        cpu = time.thread_time()
        try:
            return store_prepared(prepared)
        finally:
            spent["prepare"] += time.thread_time() - cpu

    keeper.prepare, keeper.compute = timed_prepare, timed_compute  # type: ignore[method-assign]
    keeper.store_prepared = timed_write  # type: ignore[method-assign]
    parent = os.getppid()
    began = time.process_time()  # the keeping's CPU, not the start's (imports, opening the log)
    ready.set()
    try:
        while True:
            if wakes.poll(poll):
                os.read(wakes.fileno(), 65536)  # every nudge so far: one look answers them all
            if stop.value or os.getppid() != parent:
                break  # stopped, or the server is gone (killed): its keeper goes too
            try:
                if keeper.due() and keeper.commit_due() is not None:
                    spent["commits"] += 1
            except Exception:  # the database failed, or the log closed: try again at the next turn
                log.exception("committing the head index failed")
    finally:
        the_log.close(close_store=True)
        report.put(
            KeeperReport(
                cpu_seconds=time.process_time() - began,
                commits=spent["commits"],
                prepare_cpu_seconds=spent["prepare"],
                locked_wall_seconds=spent["wall"],
                locked_cpu_seconds=spent["cpu"],
            )
        )
