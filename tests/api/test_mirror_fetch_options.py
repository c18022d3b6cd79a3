"""How a mirror fetches: `HttpTiles(gzip=False)` asks for identity only; `farmtrace mirror` and
`farmtrace restore` take --fetch-threads (1-16) and --no-gzip, and refuse a bad value before they
create anything."""

from __future__ import annotations

import gzip
import http.server
import threading
from pathlib import Path

import pytest

from farmtrace.api.cli import main as farmtrace
from farmtrace.api.mirroring import HttpTiles
from farmtrace.ledger.note import CosignatureSigner, Signer

BODY = b"an entry bundle's bytes " * 100
SEEN: list[str] = []  # the Accept-Encoding of each request the server answered


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        accept = self.headers.get("Accept-Encoding", "")
        SEEN.append(accept)
        body, extra = BODY, {}
        if "gzip" in accept:
            body, extra = gzip.compress(BODY, mtime=0), {"Content-Encoding": "gzip"}
        self.send_response(200)
        for k, v in {"Content-Length": str(len(body)), **extra}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    SEEN.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/log"
    httpd.shutdown()
    httpd.server_close()


def test_gzip_is_asked_for_and_inflated_by_default_and_not_asked_for_without_it(server):
    assert HttpTiles(server)("tile/entries/000") == BODY
    assert HttpTiles(server, gzip=False)("tile/entries/000") == BODY
    assert SEEN == ["gzip, identity", "identity"]


@pytest.mark.parametrize("threads", ["0", "17", "-1"])
def test_fetch_threads_out_of_range_are_refused_before_anything_is_made(tmp_path: Path, capsys, threads):
    log = Signer.generate("mirrored.farmtrace.example/log")
    (tmp_path / "log.key").write_text(log.key_string())
    (tmp_path / "mirror.key").write_text(CosignatureSigner.generate("mirror.example/m").key_string())
    db = tmp_path / "mirror.db"
    code = farmtrace(
        ["mirror", "--from", "http://127.0.0.1:9/log", "--db", str(db), "--key", str(tmp_path / "mirror.key"),
         "--log-key", log.verifier.key_string(), "--once", "--fetch-threads", threads]
    )  # fmt: skip
    assert code == 2
    assert f"--fetch-threads is 1 to 16, found {threads}" in capsys.readouterr().err
    assert not db.exists()
    restored = tmp_path / "restored.db"
    code = farmtrace(
        ["restore", "--from", "http://127.0.0.1:9/log", "--db", str(restored), "--log-key",
         str(tmp_path / "log.key"), "--fetch-threads", threads]
    )  # fmt: skip
    assert code == 2
    assert f"--fetch-threads is 1 to 16, found {threads}" in capsys.readouterr().err
    assert not restored.exists() and not Path(f"{restored}.partial").exists()
