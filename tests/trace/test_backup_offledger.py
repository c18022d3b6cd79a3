"""What `farmtrace backup` and `farmtrace restore` carry besides the ledger, through the commands, on
SQLite (the alert tables in the second file, `<db>-alerts`) and PostgreSQL.

A regulator tightens the leafy greens' cold chain (POST /alerts/thresholds: at most 5 °C, from its
first minute); a harvest logged at 6 °C afterwards is an alert only under that version. A label is
scanned. The backup is restored, from the source serving its log, into a new database: the threshold
versions are there with their ids, `set_by` and `set_at`; the alert tables are empty with the mark at
0, and the restored service's first scan finds the same alerts as the source; the label's scans are
back. A backup made the old way (without the new tables) still restores, and says the thresholds
are the defaults; a stray `-alerts` file beside a SQLite target is refused.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from farmtrace.api.app import create_app
from farmtrace.api.cli import main
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.trace.backup import open_backup, parse_backup_key, seal_backup
from farmtrace.trace.clock import CST, parse_utc, utc_now
from farmtrace.trace.cold_chain import DEFAULT_SETTER
from farmtrace.trace.label_scans import parse_area
from farmtrace.trace.store.alerts import TraceAlert, alert_database, alert_mark
from farmtrace.trace.store.label_scans import add_scan, create_scan_tables, scan_record
from farmtrace.trace.store.push_watches import WatchRow, add_watch, create_watch_tables, watch_rows
from farmtrace.trace.store.tables import TraceAnomaly

from ..clock_support import PinnedClock
from ..conftest import fresh_schema
from ..web.consumer_support import LOG_SIGNER, close_app, live_server

GREENS = {"name_zh": "试验菜心", "name_en": "Test choy sum", "category": "叶菜"}
TIGHTER = {"category": "叶菜", "measure": "temperature", "low": "0", "high": "5", "minutes": 0}
OLD_TABLES = {  # what a backup held before issue 20's off-ledger state was kept
    "trace_party_private",
    "trace_application",
    "trace_anomaly",
    "farmtrace_audit_run",
    "trace_epcis_query",
    "trace_epcis_subscription",
}
GTIN, SERIAL = "06901234567892", "S-0001"
WATCH = WatchRow(
    id="w1", lot="TG-WARM", endpoint="https://push.example.org/send/abc", p256dh="B" + "A" * 86, auth="A" * 22,
    lang="zh", created_at="2026-12-07T00:00:00Z", after=0,
)  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def places(request, tmp_path):
    """(source URL, two fresh target `--db` values): SQLite files in new directories, or new schemas."""
    if request.param == "sqlite":
        yield (
            f"sqlite:///{tmp_path / 'src' / 'farmtrace.db'}",
            [str(tmp_path / f"dst{i}" / "farmtrace.db") for i in (1, 2)],
        )
        return
    server = request.getfixturevalue("postgres_server")
    with fresh_schema(server) as source, fresh_schema(server) as one, fresh_schema(server) as two:
        yield source, [one, two]


def _app(data: Path, url: str, clock: PinnedClock):
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env(
        {}, data_dir=data, database_url=url, log_key=LOG_SIGNER.key_string(), index_lag=3600
    )
    return create_app(settings, clock=clock)


def _url(db: str) -> str:
    return db if "://" in db else f"sqlite:///{db}"


def _harvest_at_6(client: TestClient, coop: PartyKey, at) -> str:
    reading = at.astimezone(CST).replace(microsecond=0)
    wire = {
        "kind": "harvest",
        "event_time": reading.isoformat(),
        "location": {"name": "试验基地"},
        "inputs": [],
        "outputs": [{"lot": "TG-WARM", "quantity": "100", "unit": "kg", "product": GREENS}],
        "detail": {"origin": {"name": "1 号田"}},
        "sensors": [
            {"type": "temperature", "value": "6", "unit": "Cel", "time": reading.isoformat()},
            {"type": "temperature", "value": "6", "unit": "Cel",
             "time": (reading + timedelta(minutes=5)).isoformat()},
        ],
    }  # fmt: skip
    r = client.post("/events", json={"entry": base64.b64encode(coop.sign(wire)).decode()})
    assert r.status_code == 201, r.text
    return r.json()["event_id"]


def _restore(db: str, source: str, tmp: Path, backup: Path, capsys) -> str:
    if "://" not in db:
        Path(db).parent.mkdir()  # a fresh data directory
    status = main(
        ["restore", "--from", f"{source}/log", "--db", db, "--log-key", str(tmp / "log.key"),
         "--backup", str(backup), "--backup-key", str(tmp / "backup.key")]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, out + err
    return out


def _served(db: str, data: Path, clock: PinnedClock, regulator: PartyKey):
    """What the restored service shows: every threshold version, and its alerts after its first scan.
    Then the regulator sets one more version, numbered after the restored ones (PostgreSQL's
    sequence was moved past the loaded ids)."""
    app = _app(data, _url(db), clock)
    try:
        with TestClient(app) as client:
            versions = client.get("/alerts/thresholds?all=true").json()
            auth = {"Authorization": f"FarmTrace {regulator.token(now=clock())}"}
            alerts = client.get("/alerts", headers=auth).json()
            r = client.post("/alerts/thresholds", json={**TIGHTER, "high": "4"}, headers=auth)
            assert r.status_code == 201, r.text
            assert r.json()["id"] == max(v["id"] for v in versions) + 1
        return versions, alerts
    finally:
        close_app(app)


def _alert_state(db: str) -> tuple[int, int]:
    """(alert rows, the scan's mark) where the restored service keeps its alerts."""
    engine = create_engine(_url(db))
    alerts = alert_database(engine)
    try:
        with alerts.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(TraceAlert.__table__)).scalar_one()
            return rows, alert_mark(conn)
    finally:
        if alerts is not engine:
            alerts.dispose()
        engine.dispose()


def _anomalies(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(TraceAnomaly.__table__)).scalar_one()
    finally:
        engine.dispose()


def test_thresholds_and_label_scans_survive_a_restore_and_alerts_are_rescanned(
    places, tmp_path, monkeypatch, capsys
):
    source_url, (target, old_target) = places
    # 1. The source: the demo, an hour before now, then a regulator's tighter threshold and a warm harvest.
    set_at = (utc_now() - timedelta(hours=1)).replace(microsecond=0)
    clock = PinnedClock(set_at)
    src = _app(tmp_path / "src", source_url, clock)
    try:
        run_demo(src.state.service, tmp_path / "keys")
        coop, regulator = (PartyKey.load(tmp_path / "keys" / f"{n}.key") for n in ("coop", "regulator"))
        with TestClient(src) as client:
            auth = {"Authorization": f"FarmTrace {regulator.token(now=set_at)}"}
            r = client.post("/alerts/thresholds", json=TIGHTER, headers=auth)
            assert r.status_code == 201, r.text
            assert r.json()["set_by"] == regulator.party
            clock.set(set_at + timedelta(minutes=30))
            warm = _harvest_at_6(client, coop, set_at + timedelta(minutes=20))
            versions = client.get("/alerts/thresholds?all=true").json()
            auth = {"Authorization": f"FarmTrace {regulator.token(now=clock())}"}
            alerts = client.get("/alerts", headers=auth).json()
        assert (warm, "temperature") in {(a["event_id"], a["signal"]) for a in alerts}
        tight = [v for v in versions if v["set_by"] == regulator.party]
        assert len(tight) == 1 and parse_utc(tight[0]["set_at"]) == set_at
        scanned_at = set_at + timedelta(minutes=25)
        create_scan_tables(src.state.service.engine)  # as the label scan book does before its first scan
        for area in (None, None, parse_area("45.8,126.6")):  # two scans, then an area shared
            add_scan(src.state.service.engine, gtin=GTIN, serial=SERIAL, lot="TG-WARM", at=scanned_at,
                     counted=area is None, area=area)  # fmt: skip
        scans = scan_record(src.state.service.engine, GTIN, SERIAL)
        assert scans is not None and scans.count == 2 and scans.areas
        # A consumer watching the lot (docs/recall-notices.md): the watch must come back too.
        create_watch_tables(src.state.service.engine)
        with src.state.service.engine.begin() as conn:
            add_watch(conn, WATCH)

        # 2. `farmtrace backup`, as the operator runs it against the source's database.
        monkeypatch.setenv("FARMTRACE_DATA_DIR", str(tmp_path / "src"))
        monkeypatch.setenv("FARMTRACE_DATABASE_URL", source_url)
        monkeypatch.setenv("FARMTRACE_LOG_KEY", LOG_SIGNER.key_string())
        (tmp_path / "log.key").write_text(LOG_SIGNER.key_string() + "\n")
        assert main(["backup", "keygen", "--out", str(tmp_path / "backup.key")]) == 0
        assert (
            main(
                ["backup", "--out", str(tmp_path / "b.backup"), "--backup-key", str(tmp_path / "backup.key")]
            )
            == 0
        )
        made = capsys.readouterr().out
        assert "trace_threshold" in made and "label_scan" in made, made
        # The same off-ledger rows as before issue 20, sealed as an older farmtrace sealed them.
        key = parse_backup_key((tmp_path / "backup.key").read_text())
        full = open_backup((tmp_path / "b.backup").read_bytes(), key=key)
        old = seal_backup(
            [t for t in full.tables if t.name in OLD_TABLES], key=key, nonce=bytes(12),
            origin=full.origin, log_size=full.log_size, at=parse_utc(full.made_at),
        )  # fmt: skip
        (tmp_path / "old.backup").write_bytes(old)

        # 3. Restore both, from the source serving its log, into new databases.
        with live_server(src) as served:
            _restore(target, served, tmp_path, tmp_path / "b.backup", capsys)
            said = _restore(old_target, served, tmp_path, tmp_path / "old.backup", capsys)
        assert "has no label_scan, label_scan_area, trace_threshold" in said and "the defaults" in said, said
    finally:
        close_app(src)

    if "://" not in target:  # the alerts' file moved into place beside the database, nothing partial left
        assert Path(f"{target}-alerts").is_file()
        assert not list(Path(target).parent.glob("*.partial*"))
    # 4. The restore leaves the alerts to be rebuilt: none, the mark at 0 ...
    assert _alert_state(target) == (0, 0)
    # ... the restored service's first scan finds the source's alerts, judged by the same versions.
    assert _served(target, tmp_path / "dst1", clock, regulator) == (versions, alerts)
    engine = create_engine(_url(target))
    try:
        assert scan_record(engine, GTIN, SERIAL) == scans
        with engine.connect() as conn:
            assert watch_rows(conn) == [WATCH]
    finally:
        engine.dispose()
    # 5. The old backup: the off-ledger rows it had, the default thresholds, and no alert at 6 °C.
    old_versions, old_alerts = _served(old_target, tmp_path / "dst2", clock, regulator)
    assert old_versions and {v["set_by"] for v in old_versions} == {DEFAULT_SETTER}
    assert [v for v in versions if v["set_by"] == DEFAULT_SETTER] == old_versions
    assert (warm, "temperature") not in {(a["event_id"], a["signal"]) for a in old_alerts}
    assert _anomalies(_url(old_target)) == _anomalies(source_url) >= 2


def test_a_stray_alerts_file_beside_a_sqlite_target_is_refused(tmp_path, capsys):
    (tmp_path / "log.key").write_text(LOG_SIGNER.key_string() + "\n")
    (tmp_path / "farmtrace.db-alerts").write_bytes(b"another database's alerts and thresholds")
    status = main(
        ["restore", "--from", "http://127.0.0.1:9/log", "--db", str(tmp_path / "farmtrace.db"),
         "--log-key", str(tmp_path / "log.key")]
    )  # fmt: skip
    assert status == 2
    assert "-alerts file" in capsys.readouterr().err
    assert not (tmp_path / "farmtrace.db").exists() and not list(tmp_path.glob("*.partial*"))
