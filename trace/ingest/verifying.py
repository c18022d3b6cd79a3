"""Ed25519 verification of many signed events at once, on worker processes.

Verifying a signature (~75 µs) is the one cost of ingest nothing can avoid, so bulk ingest spreads
it over the machine's cores. Threads do not: `cryptography` releases the GIL while it verifies, but
a thread that gives the GIL up waits for it again behind the thread that is parsing events (the
"convoy" effect: ~1,200 verifications/s instead of ~13,000 here). Worker processes have no such
wait. They are started on first use ("spawn": safe inside a threaded server), shared by every
service in the process, and replaced if one dies; small runs are verified inline, where starting
a pool or shipping the bytes would cost more than the work.

`configure(workers)` sets how many (the server passes FARMTRACE_VERIFY_WORKERS; 0 verifies inline).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..crypto import verify_ed25519
from ..errors import SignatureRefused
from ..model.encoding import SIGNING_PREFIX

__all__ = ["Pending", "Work", "configure", "shut_down", "verify_all", "verify_later", "warm_up"]

INLINE_BELOW = 64  # runs shorter than this are verified in the caller's thread
CHUNK = 256  # signatures per task sent to a worker

# (raw 32-byte public key, 64-byte signature, canonical event bytes)
Work = tuple[bytes, bytes, bytes]

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_configured: int | None = None  # worker processes; None: one per CPU but one, at least 1, at most 8


def configure(workers: int | None) -> None:
    """Use `workers` worker processes from now on (None: the default, see `_workers`; 0: verify inline)."""
    global _configured
    if workers is not None and workers < 0:
        raise ValueError("workers must be 0 or more")
    if workers != _configured:
        _configured = workers
        _discard_pool()


def verify_all(work: Sequence[Work]) -> list[bool]:
    """For each (public key, signature, canonical) whether the signature verifies. Never raises for a bad one."""
    return verify_later(work).result()


class Pending:
    """Verdicts being computed: `result()` waits for them, in the order of the work given."""

    def __init__(self, parts: list[Future | list[bool]], work: Sequence[Work]) -> None:
        self._parts = parts
        self._work = work

    def result(self) -> list[bool]:
        out: list[bool] = []
        for i, part in enumerate(self._parts):
            if isinstance(part, list):
                out += part
                continue
            try:
                out += part.result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): do this part here
                _discard_pool()
                out += _verify_chunk(list(self._work[i * CHUNK : (i + 1) * CHUNK]))
        return out


def verify_later(work: Sequence[Work]) -> Pending:
    """Start verifying `work` and return at once; see `Pending`."""
    pool = _get_pool() if len(work) >= INLINE_BELOW else None
    if pool is None:
        return Pending([_verify_chunk(list(work))], work)
    parts: list[Future | list[bool]] = []
    for start in range(0, len(work), CHUNK):
        chunk = list(work[start : start + CHUNK])
        try:
            parts.append(pool.submit(_verify_chunk, chunk))
        except (BrokenProcessPool, RuntimeError):
            _discard_pool()
            parts.append(_verify_chunk(chunk))
    return Pending(parts, work)


def warm_up() -> None:
    """Start the worker processes now (a server does, at start-up), so the first bulk request does not
    wait for them to start. Returns at once; a no-op when verification is inline."""
    pool = _get_pool()
    if pool is not None:
        for _ in range(_workers()):
            pool.submit(_verify_chunk, [])


def shut_down() -> None:
    """Stop the worker processes and wait for them to end (a server does, as it stops: a process
    ended by a signal runs no exit handlers, and its workers would outlive it). The next run that
    needs them starts them again; a no-op when none are running."""
    _discard_pool()


def _verify_chunk(work: list[Work]) -> list[bool]:
    """Runs in a worker (or inline): RFC 8032 Ed25519 over SIGNING_PREFIX ‖ canonical, through
    `crypto.verify_ed25519` (whose key cache is per process, so each worker keeps its own)."""
    out = []
    for public, signature, canonical in work:
        try:
            verify_ed25519(public, signature, SIGNING_PREFIX + canonical)
            out.append(True)
        except SignatureRefused:
            out.append(False)
    return out


def _workers() -> int:
    """The configured number, or one per CPU but one (at least 1, at most 8). The caller's process
    is busy for longer per event than a verification takes (decoding, then admitting in the ledger's
    writer), so it keeps a core of its own: on 2 cores, a second worker only takes turns with it
    (bench/README.md, "Domain benchmarks")."""
    if _configured is not None:
        return _configured
    return max(1, min((os.cpu_count() or 1) - 1, 8))


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    if _pool is not None:
        return _pool
    workers = _workers()
    if workers < 1:
        return None
    with _pool_lock:
        if _pool is None:
            try:
                # Workers ignore Ctrl-C: a terminal sends SIGINT to the whole process group, and
                # the server, not each worker, decides when they stop (shut_down).
                _pool = ProcessPoolExecutor(
                    workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
                )
            except (OSError, ValueError, NotImplementedError):  # no processes here: verify inline
                return None
            # Stop the workers before multiprocessing joins a process's children at exit (in a
            # process that multiprocessing started, that comes before atexit would stop them).
            multiprocessing.util.Finalize(None, _discard_pool, exitpriority=100)
    return _pool


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _discard_pool() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
