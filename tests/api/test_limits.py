"""Request-body and batch limits (api/limits.py): an over-long body is refused early with 413
problem+json, whether it announces its length or streams it; a batch holds at most MAX_BATCH
entries; the client's own uploads always fit. The early refusal is measured on a real server."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.routes.trace import MAX_BATCH
from farmtrace.api.settings import ConfigError, Settings
from farmtrace.client import client as client_module

from .conftest import LOG_SIGNER

LIMIT = 256 * 1024
TOO_LARGE = "/problems/http-413"


@pytest.fixture
def small(settings):
    """The app with a 256 KiB body limit."""
    app = create_app(Settings(**{**settings.__dict__, "max_body_bytes": LIMIT}))
    with TestClient(app) as c:
        yield c


def _problem(r: httpx.Response, field: str) -> dict:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert p["type"].endswith(TOO_LARGE) and p["status"] == 413 and p["field"] == field
    return p


def test_a_body_over_the_limit_is_413_before_it_is_read(small) -> None:
    body = b'{"entry": "' + b"A" * LIMIT + b'"}'
    p = _problem(small.post("/events", content=body, headers={"Content-Type": "application/json"}), "body")
    assert p["detail"] == f"a request body may hold at most {LIMIT} bytes; this one holds {len(body)} bytes"
    # Every route, known or not, and whatever the body is.
    _problem(small.post("/parties/applications", content=b"x" * (LIMIT + 1)), "body")
    _problem(small.put("/nowhere", content=b"x" * (LIMIT + 1)), "body")
    # At the limit exactly: read and judged as usual (a malformed entry here).
    body = b'{"entry": "' + b"A" * (LIMIT - 13) + b'"}'
    assert len(body) == LIMIT
    assert small.post("/events", content=body, headers={"Content-Type": "application/json"}).status_code == 400


def test_a_streamed_body_is_counted_and_cut_at_the_limit(small) -> None:
    sent = 0

    def chunks():
        nonlocal sent
        for _ in range(64):  # 4 MiB offered, in 64 KiB chunks, with no Content-Length
            sent += 65536
            yield b"x" * 65536

    r = small.post("/events", content=chunks(), headers={"Content-Type": "application/json"})
    p = _problem(r, "body")
    assert p["detail"] == f"a request body may hold at most {LIMIT} bytes; this one holds more than that"


def test_a_batch_of_more_than_max_batch_entries_is_413_naming_the_field(client) -> None:
    r = client.post("/events/batch", json={"entries": ["AA=="] * (MAX_BATCH + 1)})
    p = _problem(r, "entries")
    assert p["detail"] == f"a batch holds at most {MAX_BATCH} entries, found {MAX_BATCH + 1}; send them in parts"
    r = client.post("/events/batch", json={"entries": ["AA=="] * MAX_BATCH})
    assert r.status_code == 200 and len(r.json()["results"]) == MAX_BATCH


def test_the_clients_uploads_fit_the_default_limit(client, settings) -> None:
    assert settings.max_body_bytes == 16 * 1024 * 1024
    assert client_module.MAX_BATCH == MAX_BATCH
    overhead = len('{"entries": []}')
    assert client_module.MAX_BATCH_BYTES + overhead <= settings.max_body_bytes
    # 5,000 entries of 2 kB (a large event: a typical one is 0.5-1.5 kB of base64) go in one
    # request; twice that size needs two, each of them accepted by the server's body limit.
    sent: list[int] = []

    class Recorder(httpx.Client):
        def post(self, url, **kw):  # type: ignore[override]
            r = client.post(url, **kw)
            sent.append(len(r.request.content))
            assert r.status_code == 200, r.text[:300]
            return r

    for size, requests in ((1500, 1), (3000, 2)):
        sent.clear()
        entries = [os.urandom(size) for _ in range(MAX_BATCH)]
        answer = client_module.Client(http=Recorder()).submit_many(entries)
        assert len(answer["results"]) == MAX_BATCH and answer["accepted"] == 0
        assert len(sent) == requests and max(sent) <= settings.max_body_bytes


def test_the_body_limit_setting() -> None:
    assert Settings.from_env({}).max_body_bytes == 16 * 1024 * 1024
    assert Settings.from_env({"FARMTRACE_MAX_BODY_BYTES": "1048576"}).max_body_bytes == 1048576
    for bad in ("-1", "1e6", "0", "1000", "١٠٠٠٠٠٠"):
        with pytest.raises(ConfigError, match="FARMTRACE_MAX_BODY_BYTES must be a whole number"):
            Settings.from_env({"FARMTRACE_MAX_BODY_BYTES": bad})


# --- a real server: 200 MB refused fast, without the server's memory growing -----------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = {
        **os.environ,
        "FARMTRACE_DATA_DIR": str(tmp),
        "FARMTRACE_LOG_KEY": LOG_SIGNER.key_string(),
        "FARMTRACE_VERIFY_WORKERS": "0",
    }
    farmtrace = Path(sys.executable).with_name("farmtrace")
    proc = subprocess.Popen(
        [str(farmtrace), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/ledger/checkpoint", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield proc.pid, port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _send_until_answered(port: int, head: bytes, chunk: bytes, total: int) -> tuple[float, bytes]:
    """Send `head`, then `chunk`s up to `total` body bytes, stopping once the server answers or
    stops reading; return (seconds until the answer, the answer's bytes)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        sent = 0
        while sent < total:
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            try:
                s.sendall(chunk)
            except OSError:  # the server answered and closed
                break
            sent += len(chunk)
        answer = b""
        s.settimeout(30)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = s.recv(65536)
            if not data:
                break
            answer += data
    return time.monotonic() - started, answer


@pytest.mark.slow
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_post_is_refused_within_a_second(server, chunked: bool) -> None:
    pid, port = server
    before = _rss(pid)
    total = 200 * 1024 * 1024
    if chunked:
        head = b"POST /events/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"100000\r\n" + b"A" * 0x100000 + b"\r\n"
    else:
        head = (
            b"POST /events/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {total}\r\n\r\n".encode()
        )
        chunk = b"A" * 0x100000
    start = b'{"entries": ["'
    start = b"%x\r\n%s\r\n" % (len(start), start) if chunked else start
    seconds, answer = _send_until_answered(port, head + start, chunk, total)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"application/problem+json" in answer and TOO_LARGE.encode() in answer
    assert seconds < 1.0, seconds
    assert _rss(pid) - before < 50 * 1024 * 1024
    # The server still serves.
    assert httpx.get(f"http://127.0.0.1:{port}/ledger/checkpoint", timeout=10).status_code == 200



# --- out-of-range integers: 400 or 404 before any SQL, never 500 -------------------------------------

BIG = 2**63  # one past SQL's BIGINT (SQLite's INTEGER): an id that cannot be stored
INT_ROUTES = [  # (method, url with {n}, the parameter's name)
    ("post", "/parties/applications/{n}/reject", "application_id"),
    ("get", "/ledger/checkpoint/{n}", "size"),
    ("get", "/ledger/proof/inclusion?index={n}&size=1", "index"),
    ("get", "/ledger/proof/inclusion?index=0&size={n}", "size"),
    ("get", "/ledger/proof/consistency?from={n}&to=1", "from"),
    ("get", "/ledger/proof/consistency?from=1&to={n}", "to"),
    ("get", "/ledger/entries?start={n}", "start"),
    ("get", "/ledger/entries?limit={n}", "limit"),
    ("get", "/anomalies?limit={n}", "limit"),
]


@pytest.fixture
def regulator_world(client):
    from .test_stories import World

    w = World(client)
    w.register_all()
    return w


@pytest.mark.parametrize(("method", "url", "name"), INT_ROUTES, ids=[u for _, u, _ in INT_ROUTES])
def test_out_of_range_integers_are_400_naming_the_parameter(regulator_world, method, url, name) -> None:
    from ..trace.story import REGULATOR

    w = regulator_world
    headers = w.token(REGULATOR)
    for n in (BIG, -1, "1e3", "0x10"):
        kw: dict = {"headers": headers}
        if method == "post":
            kw["json"] = {"note": "不符合条件"}
        r = getattr(w.http, method)(url.format(n=n), **kw)
        assert r.status_code == 400, (n, r.status_code, r.text)
        p = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert p["field"] == name and p["detail"].startswith(name), (n, p)
    # The largest storable value is well formed: not found (or an empty page), never a server error.
    kw = {"headers": headers, **({"json": {"note": "不符合条件"}} if method == "post" else {})}
    r = getattr(w.http, method)(url.format(n=BIG - 1), **kw)
    assert r.status_code in (200, 400, 404), (r.status_code, r.text)


def test_label_numbers_out_of_range_are_400(regulator_world) -> None:
    w = regulator_world
    w.harvest()
    for url in ("/lots/NX-CAB-001/label.png?dpi={n}", "/lots/NX-CAB-001/labels.pdf?copies={n}"):
        for n in (BIG, -1):
            r = w.http.get(url.format(n=n))
            assert r.status_code == 400, (url, n, r.status_code, r.text[:300])
