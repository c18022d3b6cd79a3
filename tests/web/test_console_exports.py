"""The console on a city's data (tests/web/console_support.py's generator, two thinned days): the
exports it links to validate (EPCIS 2.0 against the GS1 schema; the spreadsheets open and agree),
and the anomalies, prices and trace pages hold up on many parties and lots. The 90-day figures are
bench/export_bench.py's."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter

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
    app.state.log.close()
    app.state.log.store.close()


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
    assert table.ref == f"A1:Q{len(values)}"  # every column sortable and filterable
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
    expected = {n["lot"] for n in app.state.service.trace(lot)["nodes"]}
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
    sizes = {lot: len(app.state.service.trace(lot)["nodes"]) for lot in stats.harvests[:10]}
    lot = max(sizes, key=sizes.get)
    page = client.get(f"/console/lots/{lot}").text
    boxes = svg_boxes(first_svg(page))
    assert len(boxes) == sizes[lot] > 10
    items = list(boxes.values())
    assert not any(boxes_overlap(a, b) for i, a in enumerate(items) for b in items[i + 1 :])
