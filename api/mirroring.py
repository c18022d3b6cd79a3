"""The mirror process's moving parts: reading a log's tiles over HTTP, and the follower thread.

    HttpTiles(url)                          `fetch(path)` for ledger/mirror.py and ledger/tile_audit.py:
                                            GET <url>/<path>; 404 is NotFoundError, anything else
                                            that is not 200 (or no answer) a LedgerError
    Follower(mirror, interval=, on_evidence=)   calls `Mirror.follow_once` every `interval` seconds
        .start() / .stop()                  (at once when woken); keeps the last step and error;
        .wake() / .wait_for(size, timeout)  stops for good at a fork, handing the evidence over

The URL is the log's tiles prefix: the primary's `http://host:port/log`, another mirror's, or a
static server over a `farmtrace publish` directory. gzip-encoded bundles are decoded by the client.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from farmtrace.ledger.errors import InconsistencyError, LedgerError, NotFoundError
from farmtrace.ledger.mirror import Mirror, MirrorStep
from farmtrace.ledger.verify import format_evidence

__all__ = ["Follower", "FollowerStatus", "HttpTiles"]

_log = logging.getLogger(__name__)
TIMEOUT = 30.0


class HttpTiles:
    """A tiled log's resources over HTTP(S): `fetch(path)` returns the bytes at `<url>/<path>`.

    It keeps its idle keep-alive connections for the next request, one per request in flight (the
    mirror fetches bundles from a few threads at once: ledger/mirror.py). It uses the standard
    library's http.client, whose cost per request is a quarter of httpx's (docs/mirror.md,
    bench/README.md). It asks for `gzip, identity` (tlog-tiles: clients SHOULD accept both) and
    decodes gzip (`_gunzip`); with `gzip=False`, for `identity` only (a mirror beside its source,
    where the CPU of inflating costs more than the bandwidth saved). A request on a kept connection that the server has meanwhile closed
    is sent once more on a new one.
    """

    def __init__(self, url: str, *, timeout: float = TIMEOUT, gzip: bool = True) -> None:
        self.url = url.rstrip("/")
        self._headers = _HEADERS if gzip else _IDENTITY
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LedgerError(f"{url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._base = parts.path
        self._timeout = timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def __call__(self, path: str) -> bytes:
        target = f"{self._base}/{path}"
        for attempt in (1, 2):
            conn = self._connection(fresh=attempt == 2)
            try:
                conn.request("GET", target, headers=self._headers)
                answer = conn.getresponse()
                body = answer.read()
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                if attempt == 2 or not isinstance(exc, _STALE):
                    raise LedgerError(f"cannot read {self.url}/{path}: {exc!r}") from exc
            else:
                with self._lock:
                    self._idle.append(conn)
                break
        if answer.status == 404:
            raise NotFoundError(f"{self.url}/{path} is not there (404)")
        if answer.status != 200:
            raise LedgerError(f"{self.url}/{path} answered {answer.status}")
        encoding = (answer.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            try:
                return _gunzip(body)
            except (OSError, EOFError, zlib.error) as exc:
                raise LedgerError(f"{self.url}/{path}: the gzip body does not decode: {exc}") from exc
        if encoding != "identity":
            raise LedgerError(f"{self.url}/{path} came in an encoding not asked for: {encoding}")
        return body

    def _connection(self, *, fresh: bool) -> http.client.HTTPConnection:
        """An idle kept-alive connection, or (none idle, or `fresh`) a new one."""
        if not fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop()
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._host, self._port, timeout=self._timeout)

    def close(self) -> None:
        """Close the idle connections (a later call opens new ones)."""
        with self._lock:
            conns, self._idle = self._idle, []
        for conn in conns:
            conn.close()


def _gunzip(body: bytes) -> bytes:
    """The bytes of a gzip body (RFC 1952), as `gzip.decompress` reads it; raises what it raises.

    One member (what servers send) is inflated by zlib alone, which checks the header, the CRC-32
    and the length: 1.51 µs of CPU per entry of a full bundle against gzip.decompress's 1.76 (its
    header parsing in Python, a second pass for the CRC, a copy of the output; best of 30 runs
    over 64 bundles from nginx). Anything else (several members, bytes after the member, a
    truncated body, whatever zlib refuses) is left to gzip.decompress, which decodes or refuses it.
    """
    inflate = zlib.decompressobj(wbits=31)  # 16 + 15: a gzip wrapper, a 32 kB window
    try:
        data = inflate.decompress(body)
    except zlib.error:
        data = None
    if data is not None and inflate.eof and not inflate.unused_data:
        return data
    return gzip.decompress(body)


# A kept-alive connection the server closed between two requests fails in one of these ways.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)
_HEADERS = {"Accept-Encoding": "gzip, identity"}
_IDENTITY = {"Accept-Encoding": "identity"}


@dataclass(frozen=True)
class FollowerStatus:
    """The follower's state: its last step, when it ended (POSIX s), its last error, and a fork's
    evidence (text form) once one was seen: then it has stopped."""

    step: MirrorStep | None
    at: float | None
    error: str | None
    evidence: bytes | None


class Follower:
    """Runs `mirror.follow_once()` in a thread until stopped or until the log is seen to fork.

    `on_evidence(evidence_bytes)` is called once, with ledger/verify.py's text form, when the log
    forks; `on_step(step)` after every successful step (the composition root starts the witness
    submitter on the first one). Any other failure is logged, kept as `error`, and retried.
    """

    def __init__(
        self,
        mirror: Mirror,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
        on_evidence: Callable[[bytes], None] | None = None,
        on_step: Callable[[MirrorStep], None] | None = None,
    ) -> None:
        self.mirror = mirror
        self._interval = interval
        self._clock = clock
        self._on_evidence = on_evidence
        self._on_step = on_step
        self._status = FollowerStatus(None, None, None, None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> FollowerStatus:
        return self._status

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="farmtrace-mirror-follow", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Follow again now (an add-checkpoint request announced a new checkpoint)."""
        self._wake.set()

    def wait_for(self, size: int, timeout: float) -> bool:
        """Wait until the mirror checkpoint reaches `size` (True), or `timeout` seconds pass, or the
        follower stops (False)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                held = self.mirror.held()
                if held is not None and held.size >= size:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self._status.evidence is not None or self._stop.is_set():
                    return False
                self._changed.wait(min(left, 0.25))

    def once(self) -> MirrorStep:
        """One step in the calling thread (`farmtrace mirror --once`); raises what it raised."""
        step = self.mirror.follow_once()
        self._after(step)
        return step

    def _after(self, step: MirrorStep) -> None:
        with self._changed:
            self._status = FollowerStatus(step, self._clock(), None, None)
            self._changed.notify_all()
        if self._on_step is not None:
            self._on_step(step)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                step = self.mirror.follow_once()
            except InconsistencyError as exc:
                evidence = format_evidence(exc.evidence)
                _log.error("the log forked; the mirror stops following it: %s", exc)
                with self._changed:
                    self._status = FollowerStatus(self._status.step, self._clock(), str(exc), evidence)
                    self._changed.notify_all()
                if self._on_evidence is not None:
                    self._on_evidence(evidence)
                return
            except Exception as exc:  # the log unreachable, a bad resource: keep what we hold, retry
                _log.warning("mirror follow failed: %s", exc)
                with self._changed:
                    self._status = FollowerStatus(self._status.step, self._clock(), str(exc), None)
                    self._changed.notify_all()
            else:
                self._after(step)
                if step.log_behind:
                    _log.warning(
                        "the log serves size %d, older than the %d the mirror holds", step.log_size, step.size
                    )
            self._wake.wait(self._interval)
