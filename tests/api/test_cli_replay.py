"""`farmtrace verify --replay` as an auditor runs it: a real process, a copy of the database and the
log's public key only. A clean demo ledger passes; one UPDATE of a projection table, which the
fast Merkle audit (`farmtrace verify`) cannot see, fails with a one-line reason and exit status 1.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from farmtrace.api.cli import main

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))


@pytest.fixture
def audit_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    """The demo ledger's database and log.pub (no private key) in tmp_path/audit."""
    for name in list(os.environ):
        if name.startswith("FARMTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0 and main(["demo"]) == 0
    capsys.readouterr()
    data = tmp_path / "farmtrace-data"
    audit = tmp_path / "audit"
    audit.mkdir()
    with sqlite3.connect(data / "farmtrace.db") as src, sqlite3.connect(audit / "farmtrace.db") as dst:
        src.backup(dst)
    shutil.copy(data / "log.pub", audit / "log.pub")
    return audit


def _farmtrace(audit: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
    env["FARMTRACE_DATA_DIR"] = str(audit)
    return subprocess.run(
        [FARMTRACE, *argv], env=env, cwd=audit, capture_output=True, text=True, timeout=300, check=False
    )


def test_replay_passes_on_a_clean_ledger_and_names_a_projection_edit(audit_copy: Path) -> None:
    done = _farmtrace(audit_copy, "verify", "--replay")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("log farmtrace.local/log: OK: ") and "entries replayed" in done.stdout

    with sqlite3.connect(audit_copy / "farmtrace.db") as db:  # the operator clears a failed test result
        (code,) = db.execute("SELECT code FROM trace_lot WHERE failed = 1 ORDER BY code LIMIT 1").fetchone()
        db.execute("UPDATE trace_lot SET failed = 0 WHERE code = ?", (code,))

    fast = _farmtrace(audit_copy, "verify")
    assert fast.returncode == 0  # the Merkle audit cannot see the tables
    done = _farmtrace(audit_copy, "verify", "--replay")
    assert done.returncode == 1
    assert done.stdout.count("\n") == 1 and "Traceback" not in done.stdout + done.stderr
    line = done.stdout.strip()
    assert line.startswith("log farmtrace.local/log: FAILED: the projection was changed behind the ledger")
    assert f"table trace_lot, row code='{code}': column failed should be True" in line
    assert line.endswith("but is False")


def test_witnessed_goes_with_replay(audit_copy: Path) -> None:
    done = _farmtrace(audit_copy, "verify", "--witnessed", "nowhere.note")
    assert done.returncode == 2
    assert done.stderr.strip() == "farmtrace: --witnessed goes with --replay"


# --- the console's route: POST /ledger/audit?replay=true ------------------------------------------


def test_the_console_route_starts_a_replay(client, tmp_path):
    from farmtrace.api.demo import PARTIES, run_demo
    from farmtrace.client import PartyKey

    run_demo(client.app.state.service, tmp_path / "keys")
    regulator = PartyKey.load(tmp_path / "keys" / "regulator.key")
    auth = {"Authorization": f"FarmTrace {regulator.token()}"}
    shop = PartyKey.load(tmp_path / "keys" / "shop.key")
    assert (
        client.post(
            "/ledger/audit?replay=true", headers={"Authorization": f"FarmTrace {shop.token()}"}
        ).status_code
        == 403
    )
    r = client.post("/ledger/audit?replay=true", headers=auth)
    assert r.status_code == 202
    client.app.state.audit_job.wait(120)
    last = client.get("/ledger/audit").json()["last"]
    assert last["ok"] is True and "entries replayed" in last["summary"]
    assert last["done"] == last["total"] == client.app.state.log.size
    assert last["requested_by"] == PARTIES["regulator"][0]


def test_the_consoles_replay_compares_the_configured_witnesses(pinned_app):
    """The console's replay (AuditJob) is given the witness keys the app trusts, so a rollback below a
    cosigned size is caught there as it is by `farmtrace verify --replay`."""
    from farmtrace.ledger.note import CosignatureSigner

    witness = CosignatureSigner.generate("witness.example/w1")
    app = pinned_app(witness_keys=(witness.verifier.key_string(),))
    assert [w.key_id for w in app.state.audit_job.witnesses] == [witness.key_id]
