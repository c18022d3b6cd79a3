"""`farmtrace cosign`, the witness: it cosigns a log that only grew, and refuses one that forked,
leaving the evidence (ledger/verify.py, docs/evidence.md) beside its state file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from farmtrace.api.cli import main
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureSigner, Signer, open_note
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.verify import check_evidence, parse_evidence

SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))
WITNESS = CosignatureSigner.from_seed("witness.example", bytes(range(1, 33)))


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of 5 entries, the log key and a witness key in `tmp_path`, the environment on it."""
    for name in list(os.environ):
        if name.startswith("FARMTRACE_"):
            monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'farmtrace.db'}"
    (tmp_path / "log.key").write_text(SIGNER.key_string() + "\n")
    (tmp_path / "w.key").write_text(WITNESS.key_string() + "\n")
    monkeypatch.setenv("FARMTRACE_DATABASE_URL", url)
    monkeypatch.setenv("FARMTRACE_LOG_KEY_FILE", str(tmp_path / "log.key"))
    monkeypatch.chdir(tmp_path)
    _append(url, [f"event {i}".encode() for i in range(5)])
    return tmp_path


def _append(url: str, entries: list[bytes]) -> None:
    log = Log(SqlStore.from_url(url), SIGNER)
    log.append_many(entries)
    log.close(close_store=True)


def _cosign(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["cosign", "--witness-key", "w.key"])
    out, err = capsys.readouterr()
    return status, out, err


def _forked_note(entries: list[bytes]) -> str:
    """A checkpoint the same log key signed over other entries (the log's other history)."""
    other = Log(MemoryStore(), SIGNER)
    other.append_many(entries)
    other.close()
    return other.checkpoint().note


def test_the_witness_cosigns_a_log_that_only_grew(ledger: Path, capsys) -> None:
    assert _cosign(capsys)[:2] == (0, "cosigned checkpoint of size 5 as witness.example\n")
    _append(os.environ["FARMTRACE_DATABASE_URL"], [b"event 5", b"event 6", b"event 7"])
    assert _cosign(capsys)[:2] == (0, "cosigned checkpoint of size 8 as witness.example\n")
    assert _cosign(capsys)[0] == 0  # the same checkpoint again
    note = (ledger / "w.state").read_text()
    assert "\n8\n" in note
    assert not (ledger / "w.state.evidence").exists()


@pytest.mark.parametrize("size", [3, 4, 5])
def test_the_witness_refuses_a_fork_and_keeps_the_evidence(ledger: Path, capsys, size: int) -> None:
    # The witness saw the log at `size` with other entries than the log now has there.
    (ledger / "w.state").write_text(_forked_note([f"other {i}".encode() for i in range(size)]))
    status, out, err = _cosign(capsys)
    assert status == 1 and out == ""
    found = ledger / "w.state.evidence"
    # Named as the state file was (here: beside the key file, relative to the working directory).
    assert err == f"farmtrace: refused: {_fork_message(size)}; the evidence is in w.state.evidence\n"
    evidence = parse_evidence(found.read_bytes())
    assert evidence.old_note == (ledger / "w.state").read_bytes()
    assert check_evidence(evidence, log_key=SIGNER.verifier) is None
    # Nothing was cosigned.
    log = Log(SqlStore.from_url(os.environ["FARMTRACE_DATABASE_URL"]), SIGNER)
    assert open_note(log.checkpoint().note_with_cosignatures(), [SIGNER.verifier]).signatures[1:] == ()
    log.close(close_store=True)


def _fork_message(size: int) -> str:
    if size == 5:
        return "the log signed two different roots for size 5"
    return f"the log forked: its tree of size 5 does not extend the tree of size {size} it signed before"


def test_the_witness_refuses_a_log_that_shrank_without_evidence(ledger: Path, capsys) -> None:
    bigger = _forked_note([f"event {i}".encode() for i in range(9)])
    (ledger / "w.state").write_text(bigger)
    status, out, err = _cosign(capsys)
    assert status == 1 and out == ""
    assert err == (
        "farmtrace: refused: the new checkpoint's size 5 is smaller than the old one's 9: a log never shrinks\n"
    )
    assert not (ledger / "w.state.evidence").exists()
