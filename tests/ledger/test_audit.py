"""`farmtrace verify` after tampering with raw SQL, and offline bundles (`export`, `verify --bundle`).

Each tampering a database operator could do behind the log's back is done with plain SQL; the
audit must exit non-zero and name the first index (or checkpoint) that no longer verifies.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from farmtrace.api.cli import main
from farmtrace.ledger.audit import audit
from farmtrace.ledger.bundle import check_bundle, check_bundle_trusting_its_own_key, write_bundle
from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.verify import check_evidence, parse_evidence

ORIGIN = "farmtrace.local/log"
SIGNER = Signer.from_seed(ORIGIN, bytes(range(32)))


@pytest.fixture
def filled(database_url):
    store = SqlStore.from_url(database_url)
    log = Log(store, SIGNER)
    for i in range(20):
        log.append(f"event {i}".encode())
    log.append_many([f"bulk {i}".encode() for i in range(600)])
    log.close()
    yield database_url, store
    store.close()


def _sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for s in statements:
            conn.exec_driver_sql(s)
    engine.dispose()


def _verify_cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    key = tmp_path / "log.key"
    key.write_text(SIGNER.key_string())
    env = {"FARMTRACE_DATABASE_URL": url, "FARMTRACE_LOG_KEY_FILE": str(key), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "farmtrace.api.cli", "verify", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def _audit(store):
    return audit(store.iter_entries(), store.checkpoints(), log_key=SIGNER.verifier, tiles=store.iter_tiles())


def test_an_untouched_log_verifies(filled, tmp_path):
    url, _ = filled
    done = _verify_cli(url, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: 620 entries" in done.stdout


TAMPERING = {
    "entry edited": (["UPDATE ledger_entry SET entry = {blob} WHERE idx = 300"], "entry 300 does not match"),
    "entry deleted": (["DELETE FROM ledger_entry WHERE idx = 17"], "entry 17 is missing"),
    "two entries swapped": (
        [
            "UPDATE ledger_entry SET idx = -1 WHERE idx = 5",
            "UPDATE ledger_entry SET idx = 5 WHERE idx = 9",
            "UPDATE ledger_entry SET idx = 9 WHERE idx = -1",
        ],
        "entry 5 does not match",
    ),
    "stored hash edited": (
        ["UPDATE ledger_tile SET hashes = {blob} || {tail} WHERE level = 0 AND idx = 1"],
        "entry 256 does not match",
    ),
    "checkpoint forged": (
        ["UPDATE ledger_checkpoint SET note = REPLACE(note, '\n20\n', '\n21\n') WHERE size = 20"],
        "the checkpoint at size 20 is not validly signed",
    ),
}


@pytest.mark.parametrize("case", TAMPERING, ids=list(TAMPERING))
def test_tampering_is_found_and_the_first_failure_named(filled, tmp_path, case):
    url, store = filled
    statements, expected = TAMPERING[case]
    if url.startswith("sqlite"):
        blob, tail = "x'00112233'", "substr(hashes, 33)"
    else:
        blob, tail = "'\\x00112233'::bytea", "substring(hashes from 33)"
    # On SQLite, blob || blob gives TEXT (not valid UTF-8 here): the audit must still read and judge it.
    zeros = "zeroblob(32)" if url.startswith("sqlite") else "decode(repeat('00', 32), 'hex')"
    blob32 = zeros if "tile" in statements[0] else blob
    _sql(url, *(s.format(blob=blob32, tail=tail) for s in statements))
    report = _audit(store)
    assert not report.ok
    assert expected in report.first_failure.message
    done = _verify_cli(url, tmp_path)
    assert done.returncode == 1
    assert expected in done.stdout
    assert "FAILED" in done.stdout


def test_entries_inserted_beyond_the_signed_tree_are_flagged(filled):
    url, store = filled
    _sql(
        url,
        "INSERT INTO ledger_entry (idx, entry) VALUES (620, "
        + ("x'41'" if url.startswith("sqlite") else "'\\x41'::bytea")
        + ")",
    )
    report = _audit(store)
    assert "entry 620 is beyond the latest signed checkpoint" in report.first_failure.message


def test_bundle_round_trip_and_offline_verification(filled, tmp_path):
    _, store = filled
    path = tmp_path / "log.bundle.json"
    n = write_bundle(
        path, log_key=SIGNER.verifier, checkpoints=store.checkpoints(), entries=store.iter_entries()
    )
    assert n == 620
    bundle, report = check_bundle(path, log_key=SIGNER.verifier)
    assert report.ok, report.summary()
    assert bundle.size == 620 and len(bundle.entries) == 620
    # The command line checks it with no database at all.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "farmtrace.api.cli",
            "verify",
            "--bundle",
            str(path),
            "--key",
            SIGNER.verifier.key_string(),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "FARMTRACE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        },
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_tampered_bundle_fails(filled, tmp_path):
    _, store = filled
    path = tmp_path / "log.bundle.json"
    write_bundle(path, log_key=SIGNER.verifier, checkpoints=store.checkpoints(), entries=store.iter_entries())
    doc = json.loads(path.read_text())
    doc["entries"][42] = "QUJD"
    path.write_text(json.dumps(doc))
    _, report = check_bundle(path, log_key=SIGNER.verifier)
    assert not report.ok
    assert "before index" in report.first_failure.message
    # Pinning another key refuses every checkpoint.
    _, report = check_bundle(path, log_key=Signer.generate(ORIGIN).verifier)
    assert "not validly signed" in report.first_failure.message


def test_an_audit_of_a_growing_log_is_not_fooled_into_a_failure(filled):
    _, store = filled
    checkpoints = store.checkpoints()  # the audit starts...
    log = Log(store, SIGNER)
    log.append_many([b"appended while the audit runs"] * 3)  # ...the log grows...
    report = audit(
        store.iter_entries(),
        checkpoints,
        log_key=SIGNER.verifier,
        tiles=store,
        signed_size=lambda: store.latest_checkpoint().size,
    )
    assert report.ok, report.summary()  # ...and the audit covers what it set out to
    assert report.entries_checked == 620
    log.close()
    # An entry no checkpoint covers, even now, is still a failure.
    _sql(
        filled[0],
        "INSERT INTO ledger_entry (idx, entry) VALUES (623, "
        + ("x'41'" if filled[0].startswith("sqlite") else "'\\x41'::bytea")
        + ")",
    )
    report = audit(
        store.iter_entries(),
        store.checkpoints(),
        log_key=SIGNER.verifier,
        tiles=store,
        signed_size=lambda: store.latest_checkpoint().size,
    )
    assert "entry 623 is beyond the latest signed checkpoint" in report.first_failure.message


# --- whose key a bundle is checked against ----------------------------------------------------------


def _forged_copy(path: Path, forged: Path) -> None:
    """`path` re-signed by an impostor who also wrote their own key into the bundle."""
    impostor = Signer.generate(ORIGIN)
    doc = json.loads(path.read_text())
    log = Log(MemoryStore(), impostor)
    log.append_many([base64.b64decode(e) for e in doc["entries"]])
    doc["log_key"] = impostor.verifier.key_string()
    doc["checkpoints"] = [
        {"size": c.size, "note": c.note, "signed_at": c.signed_at} for c in log.checkpoints()
    ]
    forged.write_text(json.dumps(doc))
    log.close()


def test_a_bundle_is_checked_against_the_key_the_caller_trusts(filled, tmp_path):
    _, store = filled
    path, forged = tmp_path / "log.bundle.json", tmp_path / "forged.bundle.json"
    write_bundle(path, log_key=SIGNER.verifier, checkpoints=store.checkpoints(), entries=store.iter_entries())
    _forged_copy(path, forged)
    with pytest.raises(MalformedError, match="check_bundle_trusting_its_own_key"):
        check_bundle(path, log_key=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check_bundle(path)  # type: ignore[call-arg]
    _, report = check_bundle(forged, log_key=SIGNER.verifier)
    assert "not validly signed by the log key" in report.first_failure.message
    # Trusting the bundle's own key passes the forgery: that is why it has its own loud name.
    _, report = check_bundle_trusting_its_own_key(forged)
    assert report.ok, report.summary()


def test_the_command_line_says_when_a_bundle_vouched_for_itself(filled, tmp_path, capsys):
    _, store = filled
    path = tmp_path / "log.bundle.json"
    write_bundle(path, log_key=SIGNER.verifier, checkpoints=store.checkpoints(), entries=store.iter_entries())
    assert main(["verify", "--bundle", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"bundle {path}: OK")
    assert err.count("\n") == 1 and err.startswith("farmtrace: warning: the bundle vouched for itself")
    assert SIGNER.verifier.key_string() in err and "--key" in err
    assert main(["verify", "--bundle", str(path), "--key", SIGNER.verifier.key_string()]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"bundle {path}: OK") and err == ""


# --- a bundle that shows a fork -----------------------------------------------------------------------


def test_a_bundle_whose_log_forked_carries_the_evidence(tmp_path, capsys):
    honest, rewritten = Log(MemoryStore(), SIGNER), Log(MemoryStore(), SIGNER)
    honest.append_many([f"event {i}".encode() for i in range(300)])
    rewritten.append_many([f"event {i}".encode() for i in range(200)] + [b"rewritten"] * 150)
    earlier, latest = honest.checkpoints()[-1], rewritten.checkpoints()[-1]
    path = tmp_path / "forked.bundle.json"
    write_bundle(
        path, log_key=SIGNER.verifier, checkpoints=[earlier, latest], entries=rewritten.iter_entries()
    )
    _, report = check_bundle(path, log_key=SIGNER.verifier)
    (failure,) = report.failures
    assert failure.checkpoint_size == 300 and "the log forked" in failure.message
    assert failure.evidence is not None
    assert failure.evidence.old_note == earlier.note.encode()
    assert failure.evidence.new_note == latest.note.encode()
    assert check_evidence(failure.evidence, log_key=SIGNER.verifier) is None
    # The command line prints it in its text form, for anyone to re-check.
    assert main(["verify", "--bundle", str(path), "--key", SIGNER.verifier.key_string()]) == 1
    out = capsys.readouterr().out
    text = out[out.index("farmtrace-log-inconsistency/v1") :].encode()
    assert parse_evidence(text) == failure.evidence
    # A damaged entry is no fork: the latest checkpoint does not match the entries either.
    doc = json.loads(path.read_text())
    doc["entries"][7] = "QUJD"
    path.write_text(json.dumps(doc))
    _, report = check_bundle(path, log_key=SIGNER.verifier)
    assert not report.ok and all(f.evidence is None for f in report.failures)
    honest.close()
    rewritten.close()
