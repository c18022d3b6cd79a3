"""The alerts' scan in a process of its own (issue 20: alerting must not slow capture).

`Alerts.refresh` (trace/alerts.py) run by the serving process costs ingest its CPU: the process's
threads share one interpreter lock, so every microsecond of decoding entries and judging readings
and prices is one the write path waits for (bench/alerts_bench.py: a scan back to back in a thread
took ingest to 0.40x). `AlertProcess` runs the scan in a child process instead, with its own
read-only `Log` (opened with the log's verifier key: it never signs) and engines over the same
database, on a core the ingesting process does not use. It is the one writer of the alert rows and
their mark while it lives; the serving process's `Alerts` then only reads them (`Alerts.kept_by`).

    keeper = AlertProcess(partial(open_log_reader, url, vkey), watch=settings.price_watch())
    keeper.start(); recorder.after_batch = keeper.nudge; ...; report = keeper.stop()

The child is started with "spawn" (safe inside a threaded server, as trace/index_process.py's is),
so `open_log` must be picklable: a module-level function or a `functools.partial` of one. A nudge
writes a byte to a pipe the child waits on; it also scans every `poll` seconds without one (a
capture made by another process, e.g. `farmtrace import`, is found that way), and at most once
every `pause` seconds. Nothing is waited for: not a `multiprocessing.Event`, whose `set` waits for
every sleeper to wake and so would hang the capture that nudges a child killed while it slept (a
full pipe is a nudge already pending). The alert tables must exist before `start` (the serving process's
`Alerts` makes them): two processes making them at once could both add the default thresholds.
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
from farmtrace.ledger.note import Verifier
from farmtrace.ledger.sqlstore import SqlStore

from .alerts import Alerts
from .price_watch import PriceWatch

__all__ = ["AlertProcess", "AlertReport", "open_log_reader"]

log = logging.getLogger(__name__)

DEFAULT_POLL = 5.0  # seconds between two scans when nothing nudges the child
STOP_TIMEOUT = 60.0  # seconds `stop` waits for the child's last step before it gives up on it


def open_log_reader(url: str, verifier_key: str) -> Log:
    """The log stored at `url` (which must exist), read-only under its verifier key: an opener for
    `AlertProcess` as `partial(open_log_reader, url, vkey)` (the scan reads; it never appends)."""
    return Log(SqlStore.from_url(url, create=False), Verifier.from_key_string(verifier_key))


@dataclass(frozen=True)
class AlertReport:
    """What the scanning process spent once started: its CPU, the scans it ran, the alerts they added."""

    cpu_seconds: float
    scans: int
    alerts: int


class AlertProcess:
    """The alert scan of the log `open_log()` opens, judged by `watch`, in a child process."""

    def __init__(
        self,
        open_log: Callable[[], Log],
        *,
        watch: PriceWatch,
        poll: float = DEFAULT_POLL,
        pause: float = 0.0,
    ) -> None:
        if poll < 0 or pause < 0:
            raise ValueError(f"poll and pause are seconds of at least 0, found {poll} and {pause}")
        self.open_log, self.watch, self.poll, self.pause = open_log, watch, poll, pause
        ctx = multiprocessing.get_context("spawn")
        self._ctx = ctx
        self._wakes, self._wake = ctx.Pipe(duplex=False)  # the child reads nudges; we write them
        os.set_blocking(self._wake.fileno(), False)
        self._stop: Any = ctx.Value("b", 0, lock=False)
        self._ready = ctx.Event()
        self._scanned: Any = ctx.Value("q", 0, lock=False)  # the log size the last scan reached
        self._report: Any = ctx.Queue()
        self._process: Any = None

    def start(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """Start the child and wait until it has opened its log (it then scans until `stop`).
        RuntimeError if it died or did not get there within `timeout` seconds."""
        if self._process is not None:
            return
        self._stop.value = 0
        args = (
            self.open_log, self.watch, self.poll, self.pause,
            self._ready, self._wakes, self._stop, self._scanned, self._report,
        )  # fmt: skip
        self._process = self._ctx.Process(target=_scan, args=args, name="farmtrace-alerts", daemon=True)
        self._process.start()
        began = time.monotonic()
        while not self._ready.wait(0.1):
            if not self._process.is_alive() or time.monotonic() - began > timeout:
                self._process.kill()
                self._process.join()
                self._process = None
                raise RuntimeError("the alert keeper's process did not start (see its log)")

    def nudge(self) -> None:
        """Wake the child to scan what was captured (`Recorder.after_batch`); never waits."""
        with contextlib.suppress(BlockingIOError):  # the pipe is full: a nudge is pending already
            os.write(self._wake.fileno(), b"\0")

    def alive(self) -> bool:
        """Whether the child runs (started, not stopped, not dead): while it does, it alone scans."""
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        """The child's process id while started (for tests and operators), else None."""
        return self._process.pid if self._process is not None else None

    def scanned(self) -> int:
        """The log size the child's last scan reached (0 before its first)."""
        return int(self._scanned.value)

    def wait_scanned(self, size: int, *, timeout: float) -> bool:
        """Wait until the child has scanned the log up to `size` at least; False after `timeout`
        seconds, or at once if the child is not alive."""
        deadline = time.monotonic() + timeout
        while self.scanned() < size:
            if not self.alive() or time.monotonic() > deadline:
                return False
            self.nudge()
            time.sleep(0.01)
        return True

    def stop(self) -> AlertReport | None:
        """Stop the child after the scan step it may be in; its report (None if it died or hung)."""
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
            log.error("the alert keeper's process did not stop; terminating it")
            self._process.terminate()
            self._process.join()
        self._process = None
        return report


def _scan(
    open_log: Callable[[], Log],
    watch: PriceWatch,
    poll: float,
    pause: float,
    ready: Any,
    wakes: Any,
    stop: Any,
    scanned: Any,
    report: Any,
) -> None:
    """The child: scan the log of `open_log()` until `stop` is 1, then put an `AlertReport`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    the_log = open_log()
    alerts = Alerts(the_log, the_log.engine, watch=watch)
    scans = added = 0
    parent = os.getppid()
    began = time.process_time()  # the scanning's CPU, not the start's (imports, opening the log)
    ready.set()
    try:
        while True:
            if wakes.poll(poll):
                os.read(wakes.fileno(), 65536)  # every nudge so far: one scan answers them all
            if stop.value or os.getppid() != parent:
                break  # stopped, or the server is gone (killed): its keeper goes too
            try:
                size = the_log.size  # refresh scans to this size at least
                added += alerts.refresh()
                scans += 1
                scanned.value = max(scanned.value, size)
            except Exception:  # the database failed, or the log closed: try again at the next turn
                log.exception("scanning the log for alerts failed")
            resume = time.monotonic() + pause
            while not stop.value and time.monotonic() < resume:
                time.sleep(min(0.05, pause))
    finally:
        the_log.close(close_store=True)
        report.put(AlertReport(cpu_seconds=time.process_time() - began, scans=scans, alerts=added))
