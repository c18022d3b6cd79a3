"""Mirrors and restore between separate processes that share no database (issue 16, part 3).

- A `farmtrace mirror --once` process follows a log served over loopback HTTP (tlog-tiles), then
  refuses the same key's forked log, writing evidence the test re-checks with the log key alone;
  its copy stays as it was.
- The main story: a primary (`farmtrace serve`, the demo's ledger) takes a bulk ingest (POST
  /events/batch from a thread) while a mirror process follows it and feeds two witness processes.
  The primary is killed with SIGKILL mid-ingest. A new primary is restored from the mirror plus the
  latest off-ledger backup (`farmtrace restore`); then every event acknowledged at or before the
  mirror's cosigned checkpoint is there, the replay audit passes, the backup's rows are back, appends
  continue and both witnesses cosign the restored log's new checkpoints.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from farmtrace.client import PartyKey
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureSigner, Signer, Verifier
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_paths import parse_tile_path
from farmtrace.ledger.tile_reads import read_resource
from farmtrace.ledger.verify import check_evidence, parse_evidence
from farmtrace.ledger.witness import format_log_list
from farmtrace.trace.clock import CST, utc_now

from .test_witness_processes import WitnessProcess, _free_port, _wait

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))
MIRROR_KEY = CosignatureSigner.from_seed("mirror.test.example/m1", bytes([9]) * 32)
LOG = Signer.from_seed("mirrored.farmtrace.example/log", bytes(range(32)))


class _LogServer:
    """A log's /log/ resources over loopback HTTP, from an in-memory Log that a test may swap."""

    def __init__(self, log: Log) -> None:
        self.log = log
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.removeprefix("/log/")
                try:
                    if path == "checkpoint":
                        body = outer.log.checkpoint().note_with_cosignatures().encode()
                    else:
                        body = read_resource(outer.log, parse_tile_path(path), size=outer.log.size)
                except LedgerError:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/log"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _run(*argv: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([FARMTRACE, *argv], capture_output=True, text=True, env=env, timeout=timeout)


def test_a_mirror_process_follows_then_refuses_a_fork_keeping_the_evidence(tmp_path):
    primary = Log(MemoryStore(), LOG)
    primary.append_many([f"entry {i}".encode() for i in range(700)])
    server = _LogServer(primary)
    key_file = tmp_path / "mirror.key"
    key_file.write_text(MIRROR_KEY.key_string() + "\n")
    db = tmp_path / "mirror.db"
    argv = ["mirror", "--once", "--from", server.url, "--db", str(db), "--key", str(key_file)]
    argv += ["--log-key", LOG.verifier.key_string()]
    try:
        done = _run(*argv)
        assert done.returncode == 0, done.stderr
        assert "mirrored size 700" in done.stdout
        forked = Log(MemoryStore(), LOG)  # the same key, a rewritten history from entry 500
        forked.append_many([f"entry {i}".encode() for i in range(500)])
        forked.append_many([f"rewritten {i}".encode() for i in range(500, 900)])
        server.log = forked
        refused = _run(*argv)
    finally:
        server.close()
    assert refused.returncode == 1 and "forked" in refused.stderr, refused.stderr
    evidence = parse_evidence(Path(f"{db}.fork-evidence").read_bytes())
    check_evidence(evidence, log_key=LOG.verifier)  # anyone with the log's key re-checks it
    copy = SqlStore.from_url(f"sqlite:///{db}", create=False)
    assert copy.latest_checkpoint().size == 700 and copy.latest_checkpoint().root == primary.checkpoint().root
    copy.close()


class _Process:
    """A farmtrace process on `port`; its output goes to `<log>` (a pipe nobody reads would fill)."""

    def __init__(self, argv: list[str], env: dict, port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([FARMTRACE, *argv], env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, path: str) -> None:
        def up():
            assert self.proc.poll() is None, self.log.read_text()
            try:
                return httpx.get(self.url + path, timeout=1).status_code < 500
            except httpx.HTTPError:
                return False

        _wait(up, f"{self.url}{path}", timeout=60)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class _Witness(WitnessProcess):
    """A `farmtrace witness serve` process whose output goes to a file (a pipe nobody reads would fill)."""

    def start(self) -> None:
        argv = [FARMTRACE, "witness", "serve", "--db", str(self.db), "--key", str(self.key_file)]
        argv += ["--logs", str(self.logs), "--listen", f"127.0.0.1:{self.port}"]
        with open(self.db.with_suffix(".out"), "ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def _harvests(key: PartyKey, start: int, n: int) -> list[str]:
    place = {"name": "宁乡 金洲镇 3 号蔬菜基地"}
    product = {"name_zh": "宁乡包菜", "category": "蔬菜"}
    entries = []
    for i in range(start, start + n):
        wire = {
            "kind": "harvest",
            "event_time": utc_now().astimezone(CST).isoformat(timespec="seconds"),
            "location": place,
            "inputs": [],
            "outputs": [{"lot": f"MIRROR-{i:06d}", "quantity": "10", "unit": "kg", "product": product}],
            "detail": {"origin": place},
        }
        entries.append(base64.b64encode(key.sign(wire)).decode())
    return entries


class _Ingest(threading.Thread):
    """POST /events/batch, 100 harvests a request, until the server goes away: what it acknowledged."""

    def __init__(self, url: str, key: PartyKey) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.acknowledged: dict[str, int] = {}  # event id -> index
        self.batches = 0

    def run(self) -> None:
        n = 0
        with httpx.Client(timeout=30) as http:
            while True:
                try:
                    r = http.post(f"{self.url}/events/batch", json={"entries": _harvests(self.key, n, 100)})
                except httpx.HTTPError:
                    return
                assert r.status_code == 200, r.text
                for result in r.json()["results"]:
                    assert result["ok"], result
                    self.acknowledged[result["receipt"]["event_id"]] = result["receipt"]["index"]
                n += 100
                self.batches += 1


def _cosigned_size(url: str, log_key: Verifier, cosigners: list[Verifier]) -> int:
    """The size of the served checkpoint if every one of `cosigners` cosigned it, else -1."""
    cp = open_checkpoint(httpx.get(url, timeout=5).text, log_key, witnesses=cosigners)
    names = {s.name for s in cp.cosignatures}
    return cp.checkpoint.size if names >= {c.name for c in cosigners} else -1


@pytest.mark.slow
def test_kill_the_primary_mid_ingest_restore_from_the_mirror_and_a_backup(tmp_path):
    data = tmp_path / "primary"
    env = {**os.environ, "FARMTRACE_DATA_DIR": str(data), "FARMTRACE_VERIFY_WORKERS": "0"}
    env.pop("FARMTRACE_DATABASE_URL", None)
    assert _run("demo", env=env).returncode == 0  # parties, keys, and refused attempts (anomalies)
    log_key = Verifier.from_key_string((data / "log.pub").read_text().strip())
    (tmp_path / "backup.key").unlink(missing_ok=True)
    assert _run("backup", "keygen", "--out", str(tmp_path / "backup.key")).returncode == 0
    made = _run(
        "backup",
        "--out",
        str(tmp_path / "latest.backup"),
        "--backup-key",
        str(tmp_path / "backup.key"),
        env=env,
    )
    assert made.returncode == 0, made.stderr
    # Two witnesses; the mirror submits the checkpoints it holds to them.
    ws = [_Witness(tmp_path, n) for n in (1, 2)]
    (tmp_path / "logs.txt").write_text(format_log_list([log_key]))
    for w in ws:
        w.start()
    port = _free_port()
    primary = _Process(["serve", "--port", str(port)], env, port, tmp_path / "primary.out")
    (tmp_path / "mirror.key").write_text(MIRROR_KEY.key_string() + "\n")
    mport = _free_port()
    witnesses = ",".join(f"{w.url} {w.signer.verifier.key_string()}" for w in ws)
    mirror = _Process(
        ["mirror", "--from", f"{primary.url}/log", "--db", str(tmp_path / "mirror.db"), "--key",
         str(tmp_path / "mirror.key"), "--log-key", str(data / "log.pub"), "--listen", f"127.0.0.1:{mport}",
         "--interval", "0.1", "--witnesses", witnesses],
        env, mport, tmp_path / "mirror.out",
    )  # fmt: skip
    restored = None
    try:
        for w in ws:
            w.wait_ready()
        primary.wait_ready("/ledger/key")
        mirror.wait_ready("/")
        # 1. The bulk ingest; kill -9 in its middle.
        ingest = _Ingest(primary.url, PartyKey.load(data / "demo-keys" / "coop.key"))
        ingest.start()
        mirrored = f"{mirror.url}/log/checkpoint"

        def followed() -> bool:  # the mirror holds part of the ingest (a loaded machine may lag)
            try:
                return _cosigned_size(mirrored, log_key, [MIRROR_KEY.verifier]) > 36
            except (httpx.HTTPError, ValueError):
                return False

        _wait(lambda: ingest.batches >= 3 and followed(), "three batches, some mirrored", timeout=60)
        primary.kill()
        ingest.join(30)
        # 2. The mirror settles on what it holds; the witnesses cosigned what it held.
        size = _wait(
            lambda: max(_cosigned_size(mirrored, log_key, [MIRROR_KEY.verifier]), 0), "a mirror checkpoint"
        )
        time.sleep(0.5)  # a follow in flight when the primary died ends
        size = _cosigned_size(mirrored, log_key, [MIRROR_KEY.verifier])
        assert size > 36  # beyond the demo: the mirror followed the ingest
        # 3. Restore, from the mirror and the backup, into a new database.
        new_db = tmp_path / "restored.db"
        done = _run(
            "restore", "--from", f"{mirror.url}/log", "--db", str(new_db), "--log-key", str(data / "log.key"),
            "--backup", str(tmp_path / "latest.backup"), "--backup-key", str(tmp_path / "backup.key"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(new_db) as conn:
            events = {row[0]: row[1] for row in conn.execute("SELECT id, ledger_index FROM trace_event")}
            anomalies = conn.execute("SELECT count(*) FROM trace_anomaly").fetchone()[0]
            cosigned = conn.execute("SELECT count(*) FROM ledger_cosignature").fetchone()[0]
        kept = {e: i for e, i in ingest.acknowledged.items() if i < size}
        assert kept and all(events.get(e) == i for e, i in kept.items())
        assert anomalies >= 2 and cosigned >= 1  # the demo's refused attempts, back from the backup
        # 4. `farmtrace verify --replay` passes on the restored database, compared with the checkpoints
        # the witnesses hold (fetched from them, as an auditor would).
        origin_hash = hashlib.sha256(log_key.name.encode()).hexdigest()
        witnessed = []
        for w in ws:
            witnessed += ["--witnessed", str(tmp_path / f"{w.port}.note")]
            (tmp_path / f"{w.port}.note").write_text(httpx.get(f"{w.url}/{origin_hash}/checkpoint").text)
        venv = {**env, "FARMTRACE_DATABASE_URL": f"sqlite:///{new_db}",
                "FARMTRACE_WITNESS_KEYS": ",".join(w.signer.verifier.key_string() for w in ws)}  # fmt: skip
        audit = _run("verify", "--replay", "--key", log_key.key_string(), *witnessed, env=venv)
        assert audit.returncode == 0 and "OK" in audit.stdout, audit.stdout + audit.stderr
        # 5. The restored primary appends, and the witnesses accept its new checkpoints (its latest
        # checkpoint already carries their cosignatures: the submitter must take that in its stride).
        renv = {**env, "FARMTRACE_DATABASE_URL": f"sqlite:///{new_db}", "FARMTRACE_LOG_KEY_FILE": str(data / "log.key"),
                "FARMTRACE_WITNESSES": witnesses}  # fmt: skip
        key = PartyKey.load(data / "demo-keys" / "coop.key")
        rport = _free_port()
        restored = _Process(["serve", "--port", str(rport)], renv, rport, tmp_path / "restored.out")
        restored.wait_ready("/ledger/key")
        for n in range(2):
            batch = {"entries": _harvests(key, 10**5 + 20 * n, 20)}
            r = httpx.post(f"{restored.url}/events/batch", json=batch, timeout=30)
            assert r.status_code == 200 and r.json()["accepted"] == 20, r.text
        grown = size + 40
        cosigners = [w.signer.verifier for w in ws]
        _wait(
            lambda: _cosigned_size(f"{restored.url}/ledger/checkpoint", log_key, cosigners) >= grown,
            "both witnesses cosigning the restored log's new checkpoint",
            timeout=30,
        )
    finally:
        for p in (primary, mirror, restored):
            if p is not None:
                p.kill()
        for w in ws:
            w.kill()


def test_restore_refuses_a_tampered_backup_before_building_anything(tmp_path):
    from datetime import UTC, datetime

    from farmtrace.trace.backup import format_backup_key, seal_backup
    from farmtrace.trace.store.transfer import TableRows

    key = bytes(range(32))
    (tmp_path / "backup.key").write_text(format_backup_key(key))
    (tmp_path / "log.key").write_text(LOG.key_string() + "\n")
    rows = [TableRows("trace_anomaly", ("id", "message"), ((1, "refused"),))]
    at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # a fixed instant: the backup's time is only read back
    sealed = seal_backup(rows, key=key, nonce=bytes(12), origin=LOG.name, log_size=1, at=at)
    tampered = sealed[:-20] + bytes([sealed[-20] ^ 0x40]) + sealed[-19:]
    (tmp_path / "latest.backup").write_bytes(tampered)
    db = tmp_path / "restored.db"
    done = _run(
        "restore", "--from", "http://127.0.0.1:9/log", "--db", str(db), "--log-key", str(tmp_path / "log.key"),
        "--backup", str(tmp_path / "latest.backup"), "--backup-key", str(tmp_path / "backup.key"),
    )  # fmt: skip
    assert done.returncode == 1 and "altered or damaged" in done.stderr, done.stderr
    assert not db.exists() and not list(tmp_path.glob("restored.db*"))
