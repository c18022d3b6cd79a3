"""Every failure of the `farmtrace` command is one line on stderr and a non-zero exit, never a traceback;
commands that read a ledger refuse where there is none instead of creating an empty one.

Most tests call `main()` in this process (fast); the broken pipe needs a real process and a real pipe.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from farmtrace.api.cli import main

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no ledger in it and no FARMTRACE_ setting pointing anywhere else."""
    for name in list(os.environ):
        if name.startswith("FARMTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    assert err.startswith("farmtrace: "), err
    return err.removeprefix("farmtrace: ").rstrip("\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv", [["verify"], ["checkpoint"], ["export", "bundle.ftb"]])
def test_reading_commands_refuse_where_there_is_no_ledger(elsewhere: Path, capsys, argv) -> None:
    status, out, err = _run(capsys, *argv)
    message = _one_line(err)
    assert status == 2 and out == ""
    assert message.startswith(f"no ledger at {(elsewhere / 'farmtrace-data').resolve()}")
    assert "FARMTRACE_DATA_DIR" in message and "FARMTRACE_DATABASE_URL" in message
    assert "farmtrace init" in message
    # Nothing was created where it looked.
    assert not (elsewhere / "farmtrace-data").exists()
    assert not (elsewhere / "bundle.ftb").exists()


def test_an_empty_database_is_no_ledger(elsewhere: Path, capsys) -> None:
    import sqlite3

    (elsewhere / "farmtrace-data").mkdir()
    sqlite3.connect(elsewhere / "farmtrace-data" / "farmtrace.db").close()
    status, _, err = _run(capsys, "verify")
    assert status == 2 and "holds no farmtrace ledger" in _one_line(err)


@pytest.mark.parametrize("argv", [["init"], ["demo"], ["serve", "--port", "1"]])
def test_a_ledger_without_its_log_key_is_refused_not_rekeyed(elsewhere: Path, capsys, argv) -> None:
    """`init`, `demo` and `serve` on an existing ledger whose key is gone: one line naming where the
    key was looked for and the variables, and no new key written (it would sign another log)."""
    assert main(["init"]) == 0
    key = elsewhere / "farmtrace-data" / "log.key"
    saved = key.read_text()
    key.unlink()
    capsys.readouterr()
    status, out, err = _run(capsys, *argv)
    message = _one_line(err)
    assert status == 2 and "serving" not in out
    assert message.startswith(
        f"configuration error: no log key: FARMTRACE_LOG_KEY is unset and {key.resolve()}"
    )
    assert "FARMTRACE_LOG_KEY_FILE" in message and "farmtrace init" not in message
    assert not key.exists()
    # The same again (nothing half-stored sends it down another path), then the key back: all well.
    assert main(argv) == 2 and not key.exists()
    key.write_text(saved)
    capsys.readouterr()
    status, out, _ = _run(capsys, "init")
    assert status == 0 and "log size:     0" in out and key.read_text() == saved


def test_a_new_ledger_gets_its_key_and_verifier_key(elsewhere: Path, capsys) -> None:
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    data = elsewhere / "farmtrace-data"
    vkey = (data / "log.pub").read_text().strip()
    assert f"log key:      {vkey}\n" in out
    assert (data / "log.key").read_text().startswith("PRIVATE+KEY+farmtrace.local/log+")
    assert (data / "log.key").stat().st_mode & 0o777 == 0o600


def _auditor_copy(elsewhere: Path, capsys, *, keep_pub: bool) -> tuple[Path, str]:
    """A ledger with a demo in it, copied without log.key (and log.pub unless `keep_pub`) to audit/."""
    import shutil
    import sqlite3

    assert main(["init"]) == 0 and main(["demo"]) == 0
    data = elsewhere / "farmtrace-data"
    vkey = (data / "log.pub").read_text().strip()
    audit = elsewhere / "audit"
    audit.mkdir()
    with sqlite3.connect(data / "farmtrace.db") as src, sqlite3.connect(audit / "farmtrace.db") as dst:
        src.backup(dst)  # a consistent copy, whatever is still in the write-ahead log
    if keep_pub:
        shutil.copy(data / "log.pub", audit / "log.pub")
    capsys.readouterr()
    return audit, vkey


def test_an_auditor_needs_only_the_public_key(elsewhere: Path, capsys, monkeypatch) -> None:
    audit, vkey = _auditor_copy(elsewhere, capsys, keep_pub=False)
    monkeypatch.setenv("FARMTRACE_DATA_DIR", str(audit))
    status, out, err = _run(capsys, "verify", "--key", vkey)
    assert status == 0 and out.startswith("log farmtrace.local/log: OK"), err
    status, out, err = _run(capsys, "checkpoint", "--key", vkey)
    assert status == 0 and out.startswith("farmtrace.local/log\n"), err
    status, out, err = _run(capsys, "export", "bundle.ftb", "--key", vkey)
    assert status == 0 and (elsewhere / "bundle.ftb").is_file(), err
    status, out, _ = _run(capsys, "verify", "--bundle", "bundle.ftb", "--key", vkey)
    assert status == 0 and "OK" in out
    assert not (audit / "log.key").exists() and not (audit / "log.pub").exists()
    # Without --key there is nothing to check against: one line saying what to pass.
    status, _, err = _run(capsys, "checkpoint")
    message = _one_line(err)
    assert status == 2 and "--key" in message and "FARMTRACE_LOG_KEY" in message
    assert str((audit / "log.pub").resolve()) in message
    # A key that is not the log's: the audit says so (exit 1), the checkpoint is not printed.
    other = vkey.replace(vkey.split("+")[1], "00000000")  # a key ID that does not match the key
    status, _, err = _run(capsys, "verify", "--key", other)
    assert status == 2 and "--key is not a log verifier key" in _one_line(err)
    from farmtrace.ledger.note import Signer

    stranger = Signer.generate("farmtrace.local/log").verifier.key_string()
    status, out, _ = _run(capsys, "verify", "--key", stranger)
    assert status == 1 and "FAILED" in out.upper()
    status, out, err = _run(capsys, "checkpoint", "--key", stranger)
    assert status == 1 and out == "" and _one_line(err).startswith("error:")


def test_an_auditor_with_the_verifier_key_file_needs_no_flag(elsewhere: Path, capsys, monkeypatch) -> None:
    audit, _ = _auditor_copy(elsewhere, capsys, keep_pub=True)
    monkeypatch.setenv("FARMTRACE_DATA_DIR", str(audit))
    status, out, err = _run(capsys, "verify")
    assert status == 0 and out.startswith("log farmtrace.local/log: OK"), err
    status, out, err = _run(capsys, "checkpoint")
    assert status == 0 and out.startswith("farmtrace.local/log\n"), err
    status, out, err = _run(capsys, "export", "bundle.ftb")
    assert status == 0 and out.startswith("wrote ") and (elsewhere / "bundle.ftb").is_file(), err
    assert not (audit / "log.key").exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read the record"), ("not json {", "is not JSON"), ("[1, 2]", "expected a JSON object")],
)
def test_a_bad_register_record_is_one_line(elsewhere: Path, capsys, content, problem) -> None:
    record = elsewhere / "bad.json"
    if content is not None:
        record.write_text(content)
    server = f"http://127.0.0.1:{_free_port()}"
    status, _, err = _run(capsys, "register", str(record), "--key", "reg.key", "--server", server)
    message = _one_line(err)
    assert status == 1 and message.startswith(str(record)) and problem in message
    assert "unexpected error" not in message


def test_reading_commands_work_on_an_existing_ledger(elsewhere: Path, capsys) -> None:
    assert main(["init"]) == 0
    capsys.readouterr()
    status, out, _ = _run(capsys, "verify")
    assert status == 0 and out.startswith("log farmtrace.local/log: OK")
    status, out, _ = _run(capsys, "checkpoint")
    assert status == 0 and out.startswith("farmtrace.local/log\n0\n")


def test_connection_refused_is_one_line(elsewhere: Path, capsys) -> None:
    server = f"http://127.0.0.1:{_free_port()}"
    status, _, err = _run(capsys, "trace", "XF-BAG-0001", "--server", server)
    message = _one_line(err)
    assert status == 1
    assert message.startswith(f"cannot reach the server at {server}")
    assert "--server" in message and "FARMTRACE_SERVER" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read the key file"),
        ("not json at all", "is not a farmtrace party key file"),
        ('{"format": "farmtrace-party-key/v1", "party": "F430124-000001"}', "is not a farmtrace party key file"),
        ("[1, 2]", "is not a farmtrace party key file"),
    ],
)
def test_a_missing_or_garbage_key_file_is_one_line(elsewhere: Path, capsys, content, problem) -> None:
    key = elsewhere / "party.key"
    if content is not None:
        key.write_text(content)
    (elsewhere / "event.json").write_text(json.dumps({"kind": "harvest"}))
    server = f"http://127.0.0.1:{_free_port()}"
    status, _, err = _run(capsys, "event", "event.json", "--key", str(key), "--server", server)
    message = _one_line(err)
    assert status == 1 and message.startswith(f"{key}") and problem in message


def test_a_garbage_witness_key_is_one_line(elsewhere: Path, capsys) -> None:
    (elsewhere / "w.key").write_text("PRIVATE+KEY+nonsense\n")
    (elsewhere / "logs").write_text("")
    status, _, err = _run(capsys, "witness", "serve", "--db", "w.db", "--key", "w.key", "--logs", "logs")
    assert status == 2 and "w.key is not a witness key" in _one_line(err)


def test_an_unexpected_error_is_one_line_unless_debugging(
    elsewhere: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from farmtrace.api.cli import ledger

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(ledger, "cmd_keygen", broken)
    status, _, err = _run(capsys, "keygen", "x")
    assert status == 1
    assert _one_line(err) == "unexpected error: ZeroDivisionError: a bug (FARMTRACE_DEBUG=1 shows where)"
    monkeypatch.setenv("FARMTRACE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["keygen", "x"])


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """`farmtrace … | head`: the reader has gone; Python's recipe (devnull onto stdout), no traceback."""
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: the first write fails with EPIPE
    try:
        done = subprocess.run(
            [FARMTRACE, "keygen", "pipe.example"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 1
    assert done.stderr == ""
