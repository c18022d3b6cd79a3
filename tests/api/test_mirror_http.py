"""api/mirroring.py `HttpTiles`: the mirror's HTTP client. Kept-alive connections, one per request
in flight; gzip decoded; 404 is NotFoundError and every other failure a LedgerError; a kept
connection the server closed is retried once on a new one. Against a real HTTP/1.1 server on
loopback (the standard library's), with a mirror following through it from four threads."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from farmtrace.api.mirroring import HttpTiles
from farmtrace.ledger.errors import LedgerError, NotFoundError, VerificationError
from farmtrace.ledger.log import Log
from farmtrace.ledger.mirror import Mirror
from farmtrace.ledger.note import Signer
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_paths import parse_tile_path
from farmtrace.ledger.tile_reads import read_resource

LOG = Signer.from_seed("http.farmtrace.example/log", bytes(range(32)))


class _Server:
    """The log's /log/ resources over HTTP/1.1, with knobs for misbehaving."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.gzip = True
        # Close the connection after every n-th answer without saying so (an idle keep-alive timeout):
        # the client finds out on its next request. 0: keep it alive.
        self.close_every = 0
        self.broken: dict[str, str] = {}  # path -> "500" | "bad-gzip" | "brotli"
        self.connections = 0
        self.requests = 0
        self.encodings: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server._answer(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/log"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            close = self.close_every and self.requests % self.close_every == 0
            self.encodings.append(h.headers.get("Accept-Encoding", ""))
        path = h.path.removeprefix("/log/")
        status, body, headers = 200, b"", {}
        try:
            if path == "checkpoint":
                body = self.log.checkpoint().note_with_cosignatures().encode()
            else:
                body = read_resource(self.log, parse_tile_path(path), size=self.log.size)
        except Exception:
            status, body = 404, b"not found"
        fault = self.broken.get(path)
        if fault == "500":
            status = 500
        elif fault == "bad-gzip":
            body, headers["Content-Encoding"] = b"\x1f\x8b not gzip", "gzip"
        elif fault == "brotli":
            headers["Content-Encoding"] = "br"
        elif status == 200 and self.gzip and "gzip" in h.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = gzip.compress(body, compresslevel=1), "gzip"
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
        if close:
            h.close_connection = True

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served():
    log = Log(MemoryStore(), LOG)
    log.append_many([f"entry {i}".encode() * 3 for i in range(256 * 7 + 9)])
    server = _Server(log)
    yield server
    server.stop()
    log.close()


@pytest.mark.parametrize("use_gzip", [True, False])
def test_a_mirror_follows_over_kept_alive_connections(served, use_gzip):
    served.gzip = use_gzip
    fetch = HttpTiles(served.url)
    store = MemoryStore()
    step = Mirror(store, fetch, log_key=LOG.verifier, package_bundles=2, fetch_threads=4).follow_once()
    fetch.close()
    assert step.size == served.log.size
    assert [e for _, e in store.iter_entries()] == [e for _, e in served.log._store.iter_entries()]
    assert (
        served.requests >= 9 and served.connections <= 5
    )  # one per request in flight: 4 threads and the proofs
    assert set(served.encodings) == {"gzip, identity"}  # tlog-tiles: clients accept both


def test_a_kept_connection_the_server_closed_is_retried_on_a_new_one(served):
    served.close_every = 2
    fetch = HttpTiles(served.url)
    for _ in range(3):
        for index in range(7):
            assert len(fetch(f"tile/entries/{index:03d}")) > 0
    fetch.close()
    assert served.connections >= 10  # 21 answers, every second one closing its connection


def test_failures_are_named(served):
    fetch = HttpTiles(served.url)
    with pytest.raises(NotFoundError, match="404"):
        fetch("tile/entries/999")
    served.broken = {"tile/entries/000": "500", "tile/entries/001": "bad-gzip", "tile/entries/002": "brotli"}
    with pytest.raises(LedgerError, match="answered 500"):
        fetch("tile/entries/000")
    with pytest.raises(LedgerError, match="does not decode"):
        fetch("tile/entries/001")
    with pytest.raises(LedgerError, match="encoding not asked for: br"):
        fetch("tile/entries/002")
    assert fetch("tile/entries/003")  # the connection is still good after each
    fetch.close()
    with pytest.raises(LedgerError, match="not an http"):
        HttpTiles("ftp://example/log")
    gone = HttpTiles("http://127.0.0.1:9/log", timeout=2)  # nothing listens on the discard port
    with pytest.raises(LedgerError, match="cannot read"):
        gone("checkpoint")


def test_a_bundle_altered_in_transit_is_refused_and_nothing_after_it_is_stored(served):
    fetch = HttpTiles(served.url)
    data = fetch("tile/entries/004")
    served.broken = {}
    original = served._answer

    def altered(h):
        if h.path == "/log/tile/entries/004":
            body = data[:-1] + bytes([data[-1] ^ 1])
            h.send_response(200)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        original(h)

    served._answer = altered
    store = MemoryStore()
    with pytest.raises(VerificationError):
        Mirror(store, fetch, log_key=LOG.verifier, package_bundles=2, fetch_threads=4).follow_once()
    fetch.close()
    assert store.latest_checkpoint() is None and len(store.entries) == 4 * 256  # bundles 0-3, proven
