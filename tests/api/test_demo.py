"""The Changsha demo (`farmtrace demo`, api/demo.py) is consistent with itself: documents carry the
dates of the events that issue them, every stage of a product's prices is one series, and no text
it records mixes two languages."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.ledger.note import Signer

LOG_SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))
# Far from the dates the demo once hard-coded (2026-11-19/20/21), and three days after a month's end,
# so the events fall on 2025-02-28.
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA_STANDARD_TIME)
_CJK = re.compile(r"[\u2e80-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    settings = Settings.from_env(
        {},
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )
    app = create_app(settings)
    result = run_demo(app.state.service, tmp / "keys", now=NOW)
    events = [e for e, _ in _events(app.state.service)]
    yield app.state.service, result, events
    app.state.log.close(close_store=True)


def _events(service):
    codes = ("NX-BC-1120", "NX-XBC-1120", "ZJ-LJ-1119", "NX-LB-1121")
    seen = {}
    for code in codes:
        for event, _, index in service.trace_events(code):
            seen[index] = (event, index)
    return [seen[i] for i in sorted(seen)]


def _day(event) -> str:
    when = event["event_time"] if isinstance(event, dict) else event.event_time
    return datetime.fromisoformat(str(when)).astimezone(CHINA_STANDARD_TIME).strftime("%Y%m%d")


def _wire(event):
    return event if isinstance(event, dict) else event.to_wire()


def test_certificates_and_test_reports_carry_the_dates_of_their_events(demo):
    _, result, events = demo
    wires = [_wire(e) for e in events]
    certified = [e for e in wires if e["kind"] == "certify"]
    inspected = [e for e in wires if e["kind"] == "inspect"]
    assert len(certified) == 3 and len(inspected) == 2
    for e in certified:
        number = e["detail"]["certificate_no"]
        assert re.fullmatch(r"HGZ-430124-\d{8}-\d{3}", number), number
        assert number.split("-")[2] == _day(e) == "20250228"
    for e in inspected:
        assert e["detail"]["report_no"].split("-")[1] == _day(e)
        assert e["documents"][0]["id"] == e["detail"]["report_no"]
    # Receipts check the very certificates that were issued.
    checked = {e["detail"]["entry_check"].get("certificate_no") for e in wires if e["kind"] == "receive"}
    assert checked == set(result["certificates"].values())


def test_the_cabbage_has_farm_gate_wholesale_and_retail_prices(demo):
    service, _, _ = demo
    stages = {r.stage for r in service.prices(product="宁乡包菜")}
    assert stages == {"production", "wholesale", "retail"}
    chilli = {r.stage for r in service.prices(product="宁乡朝天椒")}
    assert chilli == {"production", "wholesale", "retail"}
    bag = service.lot_summary("XF-BAG-0001").product
    assert bag["name_zh"] == "宁乡包菜" and bag["gtin"] == "6901234567892"


def test_no_text_the_demo_records_mixes_chinese_and_english(demo):
    _, _, events = demo

    def texts(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                if k != "name_en":  # the one field that is English beside a Chinese one
                    yield from texts(v)
        elif isinstance(value, list):
            for v in value:
                yield from texts(v)

    mixed = [
        t
        for e in events
        for t in texts(_wire(e).get("detail", {}))
        if _CJK.search(t) and _LATIN.search(re.sub(r"GB/T", "", t))
    ]
    assert mixed == []
