"""The log's side of c2sp.org/tlog-witness: submit each new checkpoint to every witness, in the background.

    WitnessEndpoint.parse_list("URL VKEY,URL VKEY")   the configured witnesses
    Witnessing(log, endpoints, clock=...)             one thread per witness, one that watches the log,
                                                      one that stores the cosignatures
        .start() / .stop()                            the pair the composition root calls in its lifespan
        .status(now=)                                 one WitnessStatus per witness (health pages)

For each witness a thread loops: wait until the log has a checkpoint the witness has not
cosigned; send `old <size the witness has>`, the RFC 9162 consistency proof from that size, and the
log-signed note to `<url>/add-checkpoint`; on 200 check the cosignature with the witness's key and
hand it to the recorder; on 409 take the witness's size from the answer and resend at once; on
anything else (a refusal, a timeout, a dead witness) wait with exponential backoff (0.5 s doubling
to 60 s) and try again with the then latest checkpoint.

The recorder stores the cosignatures the submitters hand it (`Log.add_cosignatures`, so the served
checkpoint carries them) in one transaction per round: it waits until no submission is in flight and
every witness has answered (or failed) for the latest checkpoint, or `gather` seconds at most, then
writes everything pending. The witnesses are woken together by
a new checkpoint, so one round is one commit (one fsync under the log's write lock on SQLite, none
of the advisory lock on PostgreSQL) instead of one per witness. Appending never waits for a witness:
nothing here runs on the log's writer thread, and the only thing an append may wait for is that
one small write.

The watcher polls the latest checkpoint (one indexed read, every `poll` seconds) rather than
hooking the writer: several server processes may append to one database, and each sees the
others' checkpoints only there. A cosignature another process stored on the latest checkpoint
counts too, so a witness is not asked twice.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from .errors import LedgerError, MalformedError
from .log import Log
from .note import CosignatureVerifier, open_note
from .store import StoredCheckpoint
from .witness import AddCheckpoint, format_add_checkpoint, parse_size

__all__ = ["WitnessEndpoint", "WitnessStatus", "Witnessing"]

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 60.0
TIMEOUT = 10.0


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log submits to: its submission prefix (URL) and its cosignature/v1 key."""

    url: str
    key: CosignatureVerifier

    @classmethod
    def parse(cls, text: str) -> WitnessEndpoint:
        """`URL VKEY`, the URL http(s) without query or fragment. Raises MalformedError."""
        parts = text.split()
        if len(parts) != 2:
            raise MalformedError(f"a witness is 'URL VKEY', got {text.strip()!r}")
        url, vkey = parts
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname or split.query or split.fragment:
            raise MalformedError(f"a witness URL is http(s)://host[:port][/prefix], got {url!r}")
        return cls(url=url.rstrip("/"), key=CosignatureVerifier.from_key_string(vkey))

    @classmethod
    def parse_list(cls, text: str) -> tuple[WitnessEndpoint, ...]:
        """Comma-separated `URL VKEY` pairs; refuses one witness key listed twice."""
        out = [cls.parse(item) for item in text.split(",") if item.strip()]
        keys = [(w.key.name, w.key.key_id) for w in out]
        if len(set(keys)) != len(keys):
            raise MalformedError("a witness key is listed twice")
        return tuple(out)

    def format(self) -> str:
        return f"{self.url} {self.key.key_string()}"


@dataclass(frozen=True)
class WitnessStatus:
    """What the log knows of one witness: its last cosignature on our checkpoints, and the last error."""

    name: str
    url: str
    cosigned_size: int | None = None  # the largest of our checkpoints it cosigned
    cosigned_at: int | None = None  # the cosignature's own timestamp (POSIX seconds)
    last_error: str | None = None
    behind: bool = False  # set by `Witnessing.status` against the log's latest checkpoint


@dataclass(frozen=True)
class _Cosigned:
    """A witness's cosignature on one of our checkpoints, checked, waiting for the recorder."""

    endpoint: WitnessEndpoint
    checkpoint: StoredCheckpoint
    line: str  # the cosignature line, "— <name> <base64>\n"
    at: int  # its timestamp (POSIX seconds)


class _Channel:
    """One witness's HTTP/1.1 keep-alive connection (c2sp.org/tlog-witness: clients SHOULD keep alive)."""

    def __init__(self, url: str) -> None:
        split = urlsplit(url)
        cls = http.client.HTTPSConnection if split.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(split.hostname, split.port, timeout=TIMEOUT)
        self._path = split.path.rstrip("/") + "/add-checkpoint"

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        try:
            self._conn.request("POST", self._path, body=body, headers={"Content-Type": "text/plain"})
            resp = self._conn.getresponse()
            return resp.status, resp.getheader("Content-Type", ""), resp.read(1 << 16)
        except BaseException:
            self._conn.close()  # the next request opens a new connection
            raise

    def close(self) -> None:
        self._conn.close()


class Witnessing:
    """Submits the log's checkpoints to `endpoints` in the background (see the module docstring).

    `clock` gives POSIX seconds (for `status`); `poll` is how often the latest checkpoint is read;
    `pace` is the least time between two submissions to one witness: under a stream of appends
    (a checkpoint per batch) each witness cosigns the latest checkpoint a few times a second instead
    of every one, and its cosignatures' writes leave the log's write lock to the appends.
    `behind_after` is how old (seconds) an uncosigned latest checkpoint may get before the witness
    counts as behind. `gather` is the longest the recorder waits for the other witnesses' answers
    before it stores the cosignatures it has. `refresh` (seconds, None: never) is how old a
    witness's cosignature of the latest checkpoint may get before that same checkpoint is sent
    again: a quiet log makes no new checkpoint, and a consumer's page refuses cosignatures older
    than its policy's max age (ledger/policy.py), so the witnesses are asked to cosign it anew; the
    log keeps only each witness's newest line on it (`Log.add_cosignatures`).
    """

    def __init__(
        self,
        log: Log,
        endpoints: Sequence[WitnessEndpoint],
        *,
        clock: Callable[[], float] = time.time,
        poll: float = 0.1,
        pace: float = 0.5,
        behind_after: float = 60.0,
        gather: float = 0.25,
        refresh: float | None = None,
    ) -> None:
        self.log = log
        self.endpoints = tuple(endpoints)
        self._clock = clock
        self._poll = poll
        self._pace = pace
        self.behind_after = behind_after
        self._gather = gather
        self.refresh = refresh
        self._status = {e.key.key_string(): WitnessStatus(e.key.name, e.url) for e in self.endpoints}
        # Reentrant: `_next` waits on `_changed` holding it and records a status (`_record`) under it.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._latest: StoredCheckpoint | None = None
        self._pending: list[_Cosigned] = []  # checked, for the recorder to store
        self._in_flight = 0  # submissions sent and not yet answered
        self._answered: dict[str, int] = {}  # per witness: the latest size it answered for (or failed)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the pair -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the watcher and one submitter per witness (daemon threads)."""
        if self._threads:
            return
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._watch, name="farmtrace-witness-watch", daemon=True),
            threading.Thread(target=self._store_loop, name="farmtrace-witness-store", daemon=True),
        ]
        for e in self.endpoints:
            self._threads.append(
                threading.Thread(
                    target=self._submit_loop, args=(e,), name=f"farmtrace-witness {e.url}", daemon=True
                )
            )
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread, waiting `timeout` seconds in all (a request in flight to a witness that
        hangs ends at its own timeout; its daemon thread then ends with the process)."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    # --- reading ------------------------------------------------------------------------------------

    def status(self, *, now: float | None = None) -> list[WitnessStatus]:
        """Each witness's status; `behind` when the log's latest checkpoint is older than
        `behind_after` seconds and the witness has not cosigned it."""
        now = self._clock() if now is None else now
        latest = self._latest or self.log.checkpoint()
        with self._lock:
            out = []
            for e in self.endpoints:
                s = self._status[e.key.key_string()]
                stale = (s.cosigned_size or 0) < latest.size or s.cosigned_size is None
                out.append(replace(s, behind=stale and now - latest.signed_at > self.behind_after))
            return out

    # --- the threads --------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                cp = self.log.checkpoint()
            except Exception:  # the database may be briefly unavailable (or locked): read again
                cp = None
            if cp is not None and (self._latest is None or cp != self._latest):
                with self._changed:
                    self._latest = cp
                    self._changed.notify_all()
            self._stop.wait(self._poll)

    def _next(self, endpoint: WitnessEndpoint, done: int | None) -> StoredCheckpoint | None:
        """Wait for a latest checkpoint larger than `done` that `endpoint` has not cosigned, or, with
        `refresh`, one whose cosignature by `endpoint` is older than `refresh` seconds."""
        with self._changed:
            while not self._stop.is_set():
                cp = self._latest
                if cp is not None and (done is None or cp.size > done or self._due_again(endpoint, cp)):
                    if not self._note_stored(endpoint, cp):
                        self._in_flight += 1  # under the lock: the recorder waits for its answer
                        return cp
                    done = cp.size
                self._changed.wait(1.0)
        return None

    def _due_again(self, endpoint: WitnessEndpoint, cp: StoredCheckpoint) -> bool:
        """Whether `endpoint`'s cosignature of `cp` (as last recorded) is older than `refresh`."""
        if self.refresh is None:
            return False
        s = self._status[endpoint.key.key_string()]
        return (
            s.cosigned_size == cp.size
            and s.cosigned_at is not None
            and self._clock() - s.cosigned_at >= self.refresh
        )

    def _note_stored(self, endpoint: WitnessEndpoint, cp: StoredCheckpoint) -> bool:
        """Whether `cp` already carries a valid cosignature of `endpoint` (another process stored it),
        newer than `refresh` seconds when refreshing."""
        prefix = f"\u2014 {endpoint.key.name} "
        if self.refresh is not None:  # the stored checkpoint as it is now, not as the watcher last read it
            cp = self.log.checkpoint_at(cp.size)
        for line in cp.cosignatures:
            if line.startswith(prefix):
                try:
                    note = open_note(cp.note + line, [self.log.verifier, endpoint.key])
                except LedgerError:
                    continue
                sig = next(s for s in note.signatures if s.name == endpoint.key.name)
                at = CosignatureVerifier.timestamp(sig.signature)
                self._record(endpoint, cp.size, at)
                if self.refresh is None or self._clock() - at < self.refresh:
                    return True
        return False

    def _record(self, endpoint: WitnessEndpoint, size: int, at: int | None, error: str | None = None) -> None:
        key = endpoint.key.key_string()
        with self._lock:
            s = self._status[key]
            if at is not None and (s.cosigned_size is None or size >= s.cosigned_size):
                s = replace(s, cosigned_size=size, cosigned_at=at, last_error=None)
            self._status[key] = replace(s, last_error=error) if error else s

    def _submit_loop(self, endpoint: WitnessEndpoint) -> None:
        channel = _Channel(endpoint.url)
        known = 0  # the witness's size as we believe it; a 409 corrects it
        done: int | None = None
        backoff = BACKOFF_FIRST
        try:
            while True:
                cp = self._next(endpoint, done)
                if cp is None:
                    return
                try:
                    known = self._submit(channel, endpoint, cp, known)
                    done, backoff, error = cp.size, BACKOFF_FIRST, None
                except Exception as exc:  # refused, unreachable, or a bad answer: back off
                    error = exc
                finally:
                    with self._changed:
                        self._in_flight -= 1
                        self._answered[endpoint.key.key_string()] = max(
                            self._answered.get(endpoint.key.key_string(), -1), cp.size
                        )
                        self._changed.notify_all()
                if error is None:
                    if self._stop.wait(self._pace):
                        return
                    continue
                self._record(endpoint, cp.size, None, error=f"{type(error).__name__}: {error}")
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, BACKOFF_MAX)
        finally:
            channel.close()

    def _submit(self, channel: _Channel, endpoint: WitnessEndpoint, cp: StoredCheckpoint, known: int) -> int:
        """Get `cp` cosigned by `endpoint` (resending once after a 409); return the witness's size."""
        for _ in range(3):
            if known > cp.size:
                raise LedgerError(
                    f"the witness has cosigned size {known}, larger than our checkpoint's {cp.size}: "
                    "this log was rolled back or forked"
                )
            # RFC 9162 proof from the witness's size (none from 0, nor to the same size).
            proof = self.log.prove_consistency(known, cp.size) if 0 < known < cp.size else []
            body = format_add_checkpoint(AddCheckpoint(known, tuple(proof), cp.note.encode()))
            status, ctype, answer = channel.post(body)
            if status == 409 and ctype.split(";")[0].strip() == "text/x.tlog.size":
                known = parse_size(answer)
                continue
            if status != 200:
                text = answer[:300].decode("utf-8", "replace").strip()
                raise LedgerError(f"the witness answered {status}: {text}")
            # The answer is the witness's signature line(s); keep the one that verifies as its.
            note = open_note(cp.note + answer.decode(), [self.log.verifier, endpoint.key])
            ours = (endpoint.key.name, endpoint.key.key_id)
            sig = next((s for s in note.signatures if (s.name, s.key_id) == ours), None)
            if sig is None:
                raise LedgerError("the witness answered 200 without a cosignature by its key")
            at = CosignatureVerifier.timestamp(sig.signature)
            with self._changed:
                self._pending.append(_Cosigned(endpoint, cp, sig.line(), at))
                self._answered[endpoint.key.key_string()] = cp.size
                self._changed.notify_all()
            return cp.size
        raise LedgerError("the witness kept answering 409 Conflict")

    def _store_loop(self) -> None:
        """The recorder: store the pending cosignatures, one transaction per round (module docstring)."""
        while True:
            with self._changed:
                while not self._pending and not self._stop.is_set():
                    self._changed.wait(1.0)
                deadline = time.monotonic() + self._gather
                while (self._in_flight or self._unanswered()) and not self._stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
                batch, self._pending = self._pending, []
            if batch:
                self._store(batch)
            elif self._stop.is_set():
                return

    def _unanswered(self) -> bool:
        """Whether a witness has not yet answered (nor failed) for the latest checkpoint: one woken
        later than the others is still waited for, up to `gather`, so a round stays one write."""
        latest = self._latest
        return latest is not None and any(
            self._answered.get(e.key.key_string(), -1) < latest.size for e in self.endpoints
        )

    def _store(self, batch: list[_Cosigned]) -> None:
        try:
            self.log.add_cosignatures([(c.checkpoint.note + c.line, c.endpoint.key) for c in batch])
        except Exception as exc:  # the database failed or was locked: the next checkpoint's will do
            for c in batch:
                self._record(
                    c.endpoint, c.checkpoint.size, None, error=f"storing the cosignature failed: {exc}"
                )
            return
        for c in batch:
            self._record(c.endpoint, c.checkpoint.size, c.at)
