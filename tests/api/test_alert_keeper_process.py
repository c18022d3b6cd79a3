"""FARMTRACE_ALERT_KEEPER (api/settings.py, api/app.py): alerts found by the serving process when a
page reads them (thread, the default) or by a process of its own (trace/alert_process.py).

With `process`, the app's lifespan starts the keeper's process and stops it; a capture nudges it,
pages read what it wrote without scanning, and its rows equal those the serving process finds by
itself. If the process dies, pages scan again and still show every alert.
"""

from __future__ import annotations

import base64
import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from farmtrace.api.app import create_app
from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.api.settings import ConfigError, Settings
from farmtrace.client import PartyKey
from farmtrace.trace import scenario as sc
from farmtrace.trace.alerts import Alerts
from farmtrace.trace.clock import CST
from farmtrace.trace.store import alerts as alert_store

from ..web.consumer_support import LOG_SIGNER, close_app

GREENS = {"name_zh": "试验菜心", "name_en": "Test choy sum", "category": "叶菜"}  # 0-8 °C by default


def _settings(tmp_path: Path, keeper: str) -> Settings:
    return Settings.from_env(
        {"FARMTRACE_ALERT_KEEPER": keeper},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )


def _record(client: TestClient, key: PartyKey, said: dict, at: datetime) -> str:
    wire = {**said, "event_time": sc.event_time(at), "location": {"name": "试验基地"}}
    r = client.post("/events", json={"entry": base64.b64encode(key.sign(wire)).decode()})
    assert r.status_code == 201, r.text  # accepted: an alert never refuses
    return r.json()["event_id"]


def _hot_shipment(client: TestClient, keys: dict[str, PartyKey], lot: str, at: datetime) -> str:
    """A leafy lot harvested and tested, then shipped in a lorry whose logger read 48 °C and 35 °C
    (a cold chain broken for 10 minutes); the shipment's event id."""
    harvest = sc.harvest([sc.out(lot, "100", GREENS)], origin={"name": "1 号田"})
    head = _record(client, keys["coop"], harvest, at)
    test = sc.inspect(
        [sc.ref(lot, "100", follows=[head])], value="12.5", result="pass", report_no=f"KJ-{lot}"
    )
    head = _record(client, keys["lab"], test, at + timedelta(minutes=2))
    shipped = at + timedelta(minutes=5)
    readings = [
        {"type": "temperature", "value": "48", "unit": "Cel", "time": sc.event_time(shipped)},
        {"type": "temperature", "value": "35", "unit": "Cel", "time": sc.event_time(shipped + timedelta(minutes=10))},
    ]  # fmt: skip
    ship = sc.ship([sc.ref(lot, "100", follows=[head])], destination=PARTIES["market"][0], sensors=readings)
    return _record(client, keys["coop"], ship, shipped)


def _alerts(client: TestClient, regulator: PartyKey) -> list[dict]:
    r = client.get("/alerts", headers={"Authorization": f"FarmTrace {regulator.token()}"})
    assert r.status_code == 200, r.text
    return r.json()


def _app_alerts(app) -> Alerts:
    return Alerts.of(app.state.log, app.state.service.engine, watch=app.state.settings.price_watch())


@pytest.fixture
def scans_here(monkeypatch) -> list[int]:
    """Counts the scans of this (the serving) process; the keeper's process is spawned, not counted."""
    calls: list[int] = []
    refresh = Alerts.refresh

    def counted(self):
        calls.append(1)
        return refresh(self)

    monkeypatch.setattr(Alerts, "refresh", counted)
    return calls


def test_the_setting():
    assert Settings.from_env({}).alert_keeper == "thread"
    assert Settings.from_env({"FARMTRACE_ALERT_KEEPER": "process"}).alert_keeper == "process"
    with pytest.raises(ConfigError, match="FARMTRACE_ALERT_KEEPER"):
        Settings.from_env({"FARMTRACE_ALERT_KEEPER": "fork"})


def test_the_keeper_process_finds_a_hot_shipment_and_its_rows_are_the_thread_modes(tmp_path, scans_here):
    app = create_app(_settings(tmp_path, "process"))
    run_demo(app.state.service, tmp_path / "keys")  # its parties registered three days ago
    keys = {n: PartyKey.load(tmp_path / "keys" / f"{n}.key") for n in ("coop", "lab", "regulator")}
    regulator = keys["regulator"]
    try:
        with TestClient(app) as client:  # the lifespan starts the keeper's process, and stops it
            keeper = _app_alerts(app).keeper
            assert keeper is not None and keeper.alive()
            ship = _hot_shipment(client, keys, "AK-LEAFY-1", datetime.now(CST) - timedelta(minutes=30))
            assert keeper.wait_scanned(app.state.log.size, timeout=30), "the keeper did not catch up"
            kept = _alerts(client, regulator)
            hot = [a for a in kept if a["event_id"] == ship]
            assert [(a["signal"], a["value"], a["lot"]) for a in hot] == [("temperature", "48", "AK-LEAFY-1")]
            assert hot[0]["evidence"]["category"] == "叶菜" and hot[0]["evidence"]["readings"] == 2
            assert scans_here == [], "a page scanned in the serving process while the keeper lives"
            pid = keeper.pid
        assert not keeper.alive() and keeper.pid is None  # stopping the app stopped the process
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        close_app(app)
    # The differential: the same log scanned by the serving process itself (thread, the default)
    # from an empty alert table gives the same alerts, evidence and all.
    app = create_app(_settings(tmp_path, "thread"))
    with alert_store.alert_engine(app.state.service.engine).begin() as conn:
        conn.execute(delete(alert_store.TraceAlert.__table__))
        conn.execute(delete(alert_store.TraceAlertMark.__table__))
    try:
        with TestClient(app) as client:
            assert _alerts(client, regulator) == kept
            assert scans_here, "the thread mode scans when a page reads"
    finally:
        close_app(app)


def test_if_the_keeper_process_dies_pages_scan_again(tmp_path, scans_here):
    app = create_app(_settings(tmp_path, "process"))
    run_demo(app.state.service, tmp_path / "keys")
    keys = {n: PartyKey.load(tmp_path / "keys" / f"{n}.key") for n in ("coop", "lab", "regulator")}
    regulator = keys["regulator"]
    at = datetime.now(CST) - timedelta(minutes=40)
    try:
        with TestClient(app) as client:
            keeper = _app_alerts(app).keeper
            first = _hot_shipment(client, keys, "AK-LEAFY-1", at)
            assert keeper.wait_scanned(app.state.log.size, timeout=30)
            os.kill(keeper.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while keeper.alive():
                assert time.monotonic() < deadline, "the keeper's process did not die"
                time.sleep(0.02)
            second = _hot_shipment(client, keys, "AK-LEAFY-2", at + timedelta(minutes=10))
            found = {(a["event_id"], a["signal"]) for a in _alerts(client, regulator)}
            assert {(first, "temperature"), (second, "temperature")} <= found
            assert scans_here, "with its keeper dead, the page scanned in the serving process"
    finally:
        close_app(app)
