"""Witnesses over the network, as separate processes (issue 16, part 2).

Three `farmtrace witness serve` processes on loopback, each with its own key, its own SQLite file and
the log's verifier key in its list; they never see the log's database. The service (create_app with
FARMTRACE_WITNESSES) submits each new checkpoint to them in the background. Then: a quorum of 2 of 3
cosignatures lands on the served checkpoint; with one witness killed the quorum still holds; a forked
log under the same key is refused by every witness with evidence the test re-checks with
ledger/verify.py and the log's key alone; a restarted witness keeps refusing the fork; 409 answers
the witness's size.
"""

from __future__ import annotations

import base64
import http.client
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.cli import main
from farmtrace.api.settings import Settings
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureSigner, Signer
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.verify import check_evidence, parse_evidence
from farmtrace.ledger.witness import AddCheckpoint, format_add_checkpoint, format_log_list
from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing

from ..clock_support import PinnedClock

LOG = Signer.from_seed("witnessed.farmtrace.example/log", bytes(range(32)))
FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WitnessProcess:
    """One `farmtrace witness serve` process: its key, its state file and its port."""

    def __init__(self, tmp: Path, n: int) -> None:
        self.signer = CosignatureSigner.from_seed(f"witness{n}.example/w", bytes([n]) * 32)
        self.key_file, self.db = tmp / f"w{n}.key", tmp / f"w{n}.db"
        self.key_file.write_text(self.signer.key_string() + "\n")
        self.logs = tmp / "logs.txt"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [FARMTRACE, "witness", "serve", "--db", str(self.db), "--key", str(self.key_file)]
        argv += ["--logs", str(self.logs), "--listen", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.proc.stderr.read().decode()
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the witness on port {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/add-checkpoint", body=body)
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type", ""), resp.read()
        finally:
            conn.close()


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[list[WitnessProcess]]:
    ws = [WitnessProcess(tmp_path, n) for n in (1, 2, 3)]
    (tmp_path / "logs.txt").write_text("# the logs these witnesses trust\n" + format_log_list([LOG.verifier]))
    for w in ws:
        w.start()
    for w in ws:
        w.wait_ready()
    yield ws
    for w in ws:
        w.kill()


def _wait(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _cosigners(client: TestClient, ws: list[WitnessProcess], size: int) -> set[str]:
    """The witnesses whose valid cosignatures the served checkpoint of `size` carries."""
    r = client.get("/ledger/checkpoint")
    cp = open_checkpoint(r.text, LOG.verifier, witnesses=[w.signer.verifier for w in ws])
    if cp.checkpoint.size != size:
        return set()
    return {s.name for s in cp.cosignatures}


def _sizes(client: TestClient) -> list[int | None]:
    """Each configured witness's cosigned size as GET /ledger/witnesses reports it, in order."""
    return [s["cosigned_size"] for s in client.get("/ledger/witnesses").json()]


def _evidence_of(body: bytes):
    return parse_evidence(body[body.index(b"farmtrace-log-inconsistency/v1") :])


def test_three_witness_processes_a_quorum_a_killed_witness_and_a_fork(witnesses, tmp_path):
    ws = witnesses
    clock = PinnedClock()
    settings = Settings.from_env(
        {"FARMTRACE_WITNESSES": ",".join(f"{w.url} {w.signer.verifier.key_string()}" for w in ws)},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'log.db'}",
        log_key=LOG.key_string(),
        log_origin=LOG.name,
    )
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        log = app.state.log
        # 1. New entries: all three witnesses cosign; a quorum of 2 of 3 is served.
        log.append_many([f"entry {i}".encode() for i in range(11)])
        names = {w.signer.name for w in ws}
        assert _wait(lambda: _cosigners(client, ws, 11) == names, "three cosignatures on size 11")
        # The submitter records a witness's state once its cosignature is stored: wait for that too.
        _wait(lambda: _sizes(client) == [11, 11, 11], "every witness's state at size 11")
        assert [s["behind"] for s in client.get("/ledger/witnesses").json()] == [False] * 3
        # 2. One witness dies; the next checkpoint still gets a quorum from the other two.
        ws[2].kill()
        log.append_many([f"entry {i}".encode() for i in range(11, 20)])
        _wait(lambda: len(_cosigners(client, ws, 20)) >= 2, "a quorum of 2 on size 20")
        assert _wait(lambda: _cosigners(client, ws, 20) == names - {ws[2].signer.name}, "two of three")
        _wait(lambda: _sizes(client)[:2] == [20, 20], "the two live witnesses' state at size 20")
        # The dead one is reported, and counts as behind once the checkpoint is over a minute old.
        status = _wait(
            lambda: [s for s in client.get("/ledger/witnesses").json() if s["last_error"]], "an error"
        )
        assert status[0]["name"] == ws[2].signer.name and status[0]["cosigned_size"] == 11
        clock.advance(timedelta(minutes=2))
        behind = {s["name"]: s["behind"] for s in client.get("/ledger/witnesses").json()}
        assert behind == {ws[0].signer.name: False, ws[1].signer.name: False, ws[2].signer.name: True}
        health = client.get("/ledger/health").json()
        assert [(s["cosigned_size"], s["behind"]) for s in health["witness_status"]] == [
            (20, False),
            (20, False),
            (11, True),
        ]
    # 3. A fork: the same key signs another history from entry 7 on, longer than what was witnessed.
    forked = Log(MemoryStore(), LOG, clock=lambda: 0.0)
    forked.append_many(
        [f"entry {i}".encode() for i in range(7)] + [f"rewritten {i}".encode() for i in range(16)]
    )
    note = forked.checkpoint().note.encode()
    for w, size in ((ws[0], 20), (ws[1], 20)):
        body = format_add_checkpoint(AddCheckpoint(size, tuple(forked.prove_consistency(size, 23)), note))
        code, _, answer = w.post(body)
        assert code == 422, answer
        evidence = _evidence_of(answer)
        check_evidence(evidence, log_key=LOG.verifier)  # the log's key alone convicts it
    # The forked log's own submitter gets nowhere either, and reports why.
    submitter = Witnessing(forked, [WitnessEndpoint(w.url, w.signer.verifier) for w in ws[:2]], poll=0.05)
    submitter.start()
    try:
        errors = _wait(lambda: [s.last_error for s in submitter.status() if s.last_error], "refusals")
        assert all(e.startswith("LedgerError: the witness answered 422") for e in errors), errors
        assert forked.checkpoint().cosignatures == ()
    finally:
        submitter.stop()
    # 4. The killed witness restarts from its own store (it saw size 11) and refuses the fork too.
    ws[2].start()
    ws[2].wait_ready()
    code, _, answer = ws[2].post(
        format_add_checkpoint(AddCheckpoint(11, tuple(forked.prove_consistency(11, 23)), note))
    )
    assert code == 422
    check_evidence(_evidence_of(answer), log_key=LOG.verifier)
    # 5. 409: a request from the wrong old size is told the witness's size.
    code, ctype, answer = ws[0].post(format_add_checkpoint(AddCheckpoint(0, (), note)))
    assert (code, ctype, answer) == (409, "text/x.tlog.size", b"20\n")


def test_keygen_prints_the_verifier_key_and_never_overwrites(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["witness", "keygen", "witness.example/w9", "--out", "w9.key"]) == 0
    vkey = capsys.readouterr().out.strip()
    signer = CosignatureSigner.from_key_string((tmp_path / "w9.key").read_text().strip())
    assert signer.verifier.key_string() == vkey and (tmp_path / "w9.key").stat().st_mode & 0o077 == 0
    assert main(["witness", "keygen", "witness.example/w9", "--out", "w9.key"]) == 2


def test_a_witness_answers_unknown_logs_404_and_bad_signatures_403(witnesses):
    w = witnesses[0]
    other = Signer.from_seed("other.example/log", bytes(32))
    stranger = Log(MemoryStore(), other, clock=lambda: 0.0)
    code, _, _ = w.post(format_add_checkpoint(AddCheckpoint(0, (), stranger.checkpoint().note.encode())))
    assert code == 404
    honest = Log(MemoryStore(), LOG, clock=lambda: 0.0)
    honest.append_many([b"a", b"b", b"c"])
    note = honest.checkpoint().note
    forged = note.replace("\n3\n", "\n4\n")
    code, _, _ = w.post(format_add_checkpoint(AddCheckpoint(0, (), forged.encode())))
    assert code == 403
    code, _, answer = w.post(b"old 01\n\n" + note.encode())
    assert code == 400 and b"leading zeros" in answer
    # Signature lines from other keys in the answer are ignored by the log's side, and the line verifies.
    code, _, line = w.post(format_add_checkpoint(AddCheckpoint(0, (), note.encode())))
    assert code == 200 and line.startswith("\u2014 witness1.example/w ".encode())
    sig = base64.b64decode(line.split()[-1])
    assert len(sig) == 4 + 8 + 64
    try:
        open_checkpoint(note + line.decode(), LOG.verifier, witnesses=[w.signer.verifier])
    except LedgerError as exc:  # pragma: no cover - the assertion below names it
        pytest.fail(f"the cosignature does not verify: {exc}")
