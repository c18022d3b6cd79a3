"""`farmtrace restore` into PostgreSQL, from a running primary, between real processes (issue 16, part 3).

A primary (`farmtrace serve` over the demo's SQLite ledger) serves its tiles and its checkpoint list;
`farmtrace restore --from <primary>/log --db postgresql+psycopg://…` builds a working service in a
PostgreSQL schema of its own: every entry, every checkpoint the primary signed (GET /log/checkpoints),
the projection replayed, the backup's off-ledger rows; `farmtrace verify --replay` then passes on it.
A restore that fails half-way drops the tables it made: the schema is as empty as before.
"""

from __future__ import annotations

import os
import sqlite3

import psycopg
import pytest

from .test_mirror_processes import _free_port, _Process, _run

pytestmark = pytest.mark.postgres


def _psycopg(url: str) -> str:
    return url.replace("postgresql+psycopg", "postgresql")


def test_restore_from_a_running_primary_into_postgresql(tmp_path, postgres_url):
    data = tmp_path / "primary"
    env = {**os.environ, "FARMTRACE_DATA_DIR": str(data), "FARMTRACE_VERIFY_WORKERS": "0"}
    env.pop("FARMTRACE_DATABASE_URL", None)
    assert _run("demo", env=env).returncode == 0
    assert _run("backup", "keygen", "--out", str(tmp_path / "backup.key")).returncode == 0
    made = _run(
        "backup", "--out", str(tmp_path / "b.backup"), "--backup-key", str(tmp_path / "backup.key"), env=env
    )
    assert made.returncode == 0, made.stderr
    port = _free_port()
    primary = _Process(["serve", "--port", str(port)], env, port, tmp_path / "primary.out")
    try:
        primary.wait_ready("/ledger/key")
        done = _run(
            "restore", "--from", f"{primary.url}/log", "--db", postgres_url, "--log-key", str(data / "log.key"),
            "--backup", str(tmp_path / "b.backup"), "--backup-key", str(tmp_path / "backup.key"),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        primary.kill()
    db = next(data.glob("*.db"))
    with sqlite3.connect(db) as conn:
        events = dict(conn.execute("SELECT id, ledger_index FROM trace_event").fetchall())
        checkpoints = [r[0] for r in conn.execute("SELECT size FROM ledger_checkpoint ORDER BY size")]
        anomalies = conn.execute("SELECT count(*) FROM trace_anomaly").fetchone()[0]
    with psycopg.connect(_psycopg(postgres_url)) as conn:
        restored = dict(conn.execute("SELECT id, ledger_index FROM trace_event").fetchall())
        restored_checkpoints = [
            r[0] for r in conn.execute("SELECT size FROM ledger_checkpoint ORDER BY size")
        ]
        restored_anomalies = conn.execute("SELECT count(*) FROM trace_anomaly").fetchone()[0]
    assert restored == events and len(events) > 30
    # Every checkpoint up to the one the restore followed, not only the latest (the primary may have
    # signed another since, e.g. for its head index entry).
    assert restored_checkpoints == [c for c in checkpoints if c <= restored_checkpoints[-1]]
    assert len(restored_checkpoints) > 30
    assert restored_anomalies == anomalies >= 2  # from the backup
    venv = {**env, "FARMTRACE_DATABASE_URL": postgres_url}
    audit = _run("verify", "--replay", "--key", (data / "log.pub").read_text().strip(), env=venv)
    assert audit.returncode == 0 and "OK" in audit.stdout, audit.stdout + audit.stderr


def test_a_failed_restore_into_postgresql_leaves_no_table(tmp_path, postgres_url):
    data = tmp_path / "primary"
    env = {**os.environ, "FARMTRACE_DATA_DIR": str(data)}
    env.pop("FARMTRACE_DATABASE_URL", None)
    assert _run("demo", env=env).returncode == 0
    nobody = f"http://127.0.0.1:{_free_port()}/log"  # nothing listens there
    done = _run("restore", "--from", nobody, "--db", postgres_url, "--log-key", str(data / "log.key"))
    assert done.returncode != 0
    with psycopg.connect(_psycopg(postgres_url)) as conn:
        left = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    assert left == []
