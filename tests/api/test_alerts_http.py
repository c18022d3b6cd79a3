"""Alerts through HTTP (issue 20 §1-§2): a 30-fold price jump and 48 °C / 35 °C readings are
accepted (alerts never block a capture) and then shown to regulators with their evidence; the
cold-chain thresholds are changed by a regulator, attributably, and refused input names the field
with nothing stored; the public price page shows prices by stage and their spreads.

The demo's parties are registered three days before the pinned clock; the clock is then moved 25
days on, and a product's history of production prices is recorded over the 20 days before it.
"""

from __future__ import annotations

import base64
import statistics
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.client import PartyKey
from farmtrace.trace.clock import CST
from farmtrace.trace.model.values import Document, Sensor
from farmtrace.trace.sensor_series import check_series, compact_series, format_series

from ..clock_support import PINNED_AT, PinnedClock
from ..web.consumer_support import close_app, demo_app

NOW = PINNED_AT + timedelta(days=25)
AMOUNTS = ["2", "2.1", "2.2", "2.3", "2.4", "2.5"]
HISTORY = [AMOUNTS[(d + k) % 6] for d in range(20, 0, -1) for k in range(2)]  # day d before NOW, k-th
MEDIAN = f"{statistics.median(Decimal(a) for a in HISTORY):.2f}"
GREENS = {"name_zh": "试验菜心", "name_en": "Test choy sum", "category": "叶菜"}


def _record(client: TestClient, key: PartyKey, wire: dict) -> dict:
    wire = {"inputs": [], "outputs": [], **wire}
    r = client.post("/events", json={"entry": base64.b64encode(key.sign(wire)).decode()})
    assert r.status_code == 201, r.text  # accepted: an alert never refuses
    return r.json()


def _harvest(client, key, lot: str, at, amount: str, *, sensors=None, unit="kg") -> dict:
    wire = {
        "kind": "harvest",
        "event_time": at.astimezone(CST).replace(microsecond=0).isoformat(),
        "location": {"name": "试验基地"},
        "outputs": [{"lot": lot, "quantity": "100", "unit": "kg", "product": GREENS}],
        "price": {"amount": amount, "currency": "CNY", "unit": unit, "stage": "production"},
        "detail": {"origin": {"name": "1 号田"}},
    }
    if sensors:
        wire["sensors"] = sensors
    return _record(client, key, wire)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts")
    clock = PinnedClock(PINNED_AT)
    app, _ = demo_app(tmp, clock=clock)
    clock.set(NOW)
    keys = {name: PartyKey.load(tmp / "keys" / f"{name}.key") for name in ("coop", "regulator", "shop")}
    with TestClient(app) as client:
        for d in range(20, 0, -1):
            for k in range(2):
                at = NOW - timedelta(days=d, minutes=-k)
                _harvest(client, keys["coop"], f"TG-{d:02d}-{k}", at, AMOUNTS[(d + k) % 6])
        at = NOW - timedelta(hours=2)
        reading = at.astimezone(CST).replace(microsecond=0)
        jump = _harvest(
            client,
            keys["coop"],
            "TG-JUMP",
            at,
            "66",
            sensors=[
                {"type": "temperature", "value": "48", "unit": "Cel", "time": reading.isoformat()},
                {"type": "temperature", "value": "35", "unit": "Cel",
                 "time": (reading + timedelta(minutes=10)).isoformat()},
                {"type": "humidity", "value": "90", "unit": "%RH", "time": reading.isoformat()},
            ],
        )  # fmt: skip
        in_range = _harvest(
            client, keys["coop"], "TG-COOL", at + timedelta(minutes=5), "2.2",
            sensors=[{"type": "temperature", "value": "4.5", "unit": "Cel", "time": reading.isoformat()}],
        )  # fmt: skip
        yield client, app, keys, jump, in_range
    close_app(app)


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token(now=NOW)}"}


def _cookie(key: PartyKey) -> dict[str, str]:
    return {"Cookie": f"ft_token={key.token(now=NOW)}"}


def test_a_price_jump_and_hot_readings_are_accepted_and_raise_alerts_with_evidence(site):
    client, _, keys, jump, in_range = site
    r = client.get("/alerts", headers=_auth(keys["regulator"]))
    assert r.status_code == 200, r.text
    found = {(a["event_id"], a["signal"]): a for a in r.json()}
    assert set(found) == {(jump["event_id"], "price"), (jump["event_id"], "temperature")}
    price = found[(jump["event_id"], "price")]
    assert price["lot"] == "TG-JUMP" and price["value"] == "66" and price["product"] == "试验菜心"
    ev = price["evidence"]
    assert ev["count"] == 40 and ev["stage"] == "production" and ev["threshold"] == "5"
    assert ev["median"] == MEDIAN and float(ev["score"]) > 100
    # The window: the 30 CST days before the price's own day.
    day = (NOW - timedelta(hours=2)).astimezone(CST).date()
    assert ev["until_day"] == (day - timedelta(days=1)).isoformat()
    assert ev["since_day"] == (day - timedelta(days=30)).isoformat()
    hot = found[(jump["event_id"], "temperature")]
    assert hot["value"] == "48" and hot["unit"] == "Cel"
    cold = hot["evidence"]
    assert cold["category"] == "叶菜" and cold["high"] == "8" and cold["readings"] == 2
    assert cold["set_by"] == "farmtrace" and cold["lasted"] == 10
    # Humidity 90 %RH is within the leafy greens' 85-100; the 4.5 °C lot stayed in range.
    assert all(a["event_id"] != in_range["event_id"] for a in r.json())
    only = client.get("/alerts?signal=temperature", headers=_auth(keys["regulator"])).json()
    assert [a["signal"] for a in only] == ["temperature"]


def test_alerts_are_for_regulators_only(site):
    client, _, keys, *_ = site
    assert client.get("/alerts").status_code == 403
    assert client.get("/alerts", headers=_auth(keys["shop"])).status_code == 403
    bad = client.get("/alerts?signal=smell", headers=_auth(keys["regulator"]))
    assert bad.status_code in (400, 422) and "signal" in bad.text


def test_the_console_shows_alerts_with_links_baseline_and_rule(site):
    client, _, keys, jump, _ = site
    page = client.get("/console/alerts", headers=_cookie(keys["regulator"]))
    assert page.status_code == 200
    html = page.text
    assert f'href="/events/{jump["event_id"]}"' in html and "/console/lots/TG-JUMP" in html
    assert f"中位数 {MEDIAN}" in html and "阈值 5" in html  # the baseline and the threshold
    assert "规则 #" in html and "（叶菜）" in html and "最差读数 48" in html
    en = client.get("/console/alerts?lang=en&signal=price", headers=_cookie(keys["regulator"])).text
    assert f"median {MEDIAN}" in en and 'data-alert="price"' in en and 'data-alert="temperature"' not in en
    assert client.get("/console/alerts", headers=_cookie(keys["shop"])).status_code == 403
    bad = client.get("/console/alerts?since=2026-13-01", headers=_cookie(keys["regulator"]))
    assert bad.status_code == 400


def test_a_regulator_changes_a_threshold_attributably_and_bad_input_names_the_field(site):
    client, _, keys, *_ = site
    before = client.get("/alerts/thresholds?all=true").json()
    refused = {
        "category": {"category": " ", "measure": "temperature", "high": "5"},
        "measure": {"category": "叶菜", "measure": "smell", "high": "5"},
        "low": {"category": "叶菜", "measure": "temperature", "low": "9", "high": "5"},
        "high": {"category": "叶菜", "measure": "humidity", "high": "120"},
        "minutes": {"category": "叶菜", "measure": "temperature", "high": "5", "minutes": -1},
    }
    for field, body in refused.items():
        r = client.post("/alerts/thresholds", json=body, headers=_auth(keys["regulator"]))
        assert r.status_code == 400, (field, r.text)
        assert field in r.json()["detail"], (field, r.json())
    shop = client.post("/alerts/thresholds", json={"category": "叶菜", "measure": "temperature", "high": "5"},
                       headers=_auth(keys["shop"]))  # fmt: skip
    assert shop.status_code == 403
    assert client.get("/alerts/thresholds?all=true").json() == before  # nothing half-stored
    r = client.post(
        "/alerts/thresholds",
        json={"category": "叶菜", "measure": "temperature", "low": "1", "high": "6", "minutes": 15},
        headers=_auth(keys["regulator"]),
    )
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["set_by"] == keys["regulator"].party and v["low"] == "1" and v["minutes"] == 15
    current = [t for t in client.get("/alerts/thresholds").json() if t["category"] == "叶菜"]
    assert {t["measure"]: t["id"] for t in current}["temperature"] == v["id"]
    page = client.get("/console/thresholds", headers=_cookie(keys["regulator"])).text
    assert keys["regulator"].party in page and "1 °C 至 6 °C，持续 ≥ 15 分钟" in page
    assert "0 °C 至 8 °C" in page  # the earlier version stays in the history
    # The earlier alert keeps the rule in force at its time.
    hot = client.get("/alerts?signal=temperature", headers=_auth(keys["regulator"])).json()
    assert hot[0]["evidence"]["set_by"] == "farmtrace"


def test_the_public_price_page_shows_stages_and_spreads(site):
    client, *_ = site
    r = client.get("/market-prices?product=试验菜心&days=30")
    assert r.status_code == 200
    html = r.text
    assert "农产品价格" in html and "data-price-days" in html and "<svg" in html
    assert 'data-stage="production"' in html and "data-gap=" not in html  # one stage: no spread
    en = client.get("/market-prices?product=试验菜心&lang=en").text
    assert "Farm produce prices" in en and "Test choy sum" in en
    assert 'href="/market-prices?lang=zh"' in client.get("/").text  # the home page links it
    bad = client.get("/market-prices?days=1000")
    assert bad.status_code == 400 and "days" in bad.text
    assert client.get("/market-prices?product=nothing").status_code == 404


def test_a_logger_series_is_signed_as_a_sample_and_a_digest_and_its_hot_spell_is_an_alert(site):
    client, _, keys, *_ = site
    start = (NOW - timedelta(days=1)).astimezone(CST).replace(microsecond=0)
    series = []
    for i in range(288):  # a day at 5-minute steps; 40 minutes at 12 °C from the tenth hour
        at = (start + timedelta(minutes=5 * i)).isoformat()
        series.append(
            Sensor(type="temperature", value=Decimal(12 if 120 <= i < 128 else 4), unit="Cel", time=at)
        )
    compact = compact_series(series)
    assert len(compact.sensors) == 100  # MAX_LIST: the event model is unchanged
    wire = {
        "kind": "harvest",
        "event_time": (start + timedelta(days=1, minutes=-30)).isoformat(),
        "location": {"name": "试验基地"},
        "outputs": [{"lot": "TG-SERIES", "quantity": "100", "unit": "kg", "product": GREENS}],
        "detail": {"origin": {"name": "1 号田"}},
        "sensors": [r.to_wire() for r in compact.sensors],
        "documents": [d.to_wire() for d in compact.documents],
    }
    receipt = _record(client, keys["coop"], wire)
    signed = client.get(f"/events/{receipt['event_id']}").json()
    document = Document(**signed["event"]["documents"][0])
    assert check_series(format_series(series), document) is None  # the full series is the one signed
    hot = [a for a in client.get("/alerts?signal=temperature", headers=_auth(keys["regulator"])).json()
           if a["event_id"] == receipt["event_id"]]  # fmt: skip
    assert len(hot) == 1 and hot[0]["value"] == "12" and hot[0]["lot"] == "TG-SERIES"
    assert hot[0]["evidence"]["lasted"] >= 40  # measured to the next sampled reading back in range


def test_alerts_on_sqlite_and_postgresql(settings, tmp_path):
    """The scan, its tables (on SQLite a file of their own) and a threshold change, on each database."""
    app = create_app(settings)
    run_demo(app.state.service, tmp_path / "keys")  # its parties registered three days ago
    coop, regulator = (PartyKey.load(tmp_path / "keys" / f"{n}.key") for n in ("coop", "regulator"))
    at = datetime.now(CST) - timedelta(minutes=20)  # the jump; its baseline: the two CST days before its own
    with TestClient(app) as client:
        for i in range(12):
            day = at.date() - timedelta(days=1 + i % 2)
            _harvest(client, coop, f"PG-{i:02d}", datetime(day.year, day.month, day.day, 8, i, tzinfo=CST),
                     AMOUNTS[i % 6])  # fmt: skip
        jump = _harvest(client, coop, "PG-JUMP", at, "70", sensors=[
            {"type": "temperature", "value": "35", "unit": "Cel", "time": at.replace(microsecond=0).isoformat()}
        ])  # fmt: skip
        headers = {"Authorization": f"FarmTrace {regulator.token()}"}
        found = {(a["signal"], a["lot"]) for a in client.get("/alerts", headers=headers).json()}
        assert found == {("price", "PG-JUMP"), ("temperature", "PG-JUMP")}, jump
        r = client.post("/alerts/thresholds", headers=headers,
                        json={"category": "叶菜", "measure": "humidity", "low": "80", "minutes": 30})  # fmt: skip
        assert r.status_code == 201 and r.json()["high"] is None
        assert client.get("/alerts?signal=price", headers=headers).json()[0]["evidence"]["count"] == 12
    close_app(app)
