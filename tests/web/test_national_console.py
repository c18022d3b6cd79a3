"""The console with the national platform's codes: the lookup form takes a 追溯码 or a 主体码, the
parties page shows each party's 主体码, and the exports page sends a party's 来源/去向 record."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.trace.clock import CST

from .test_national_labels import FARM, FARM_NAME, LOG_SIGNER, LOT, SUBJECT, TRACING, _coded_farm


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    data = tmp_path_factory.mktemp("national-console")
    settings = Settings.from_env(
        {}, data_dir=data, database_url=f"sqlite:///{data / 'farmtrace.db'}", log_key=LOG_SIGNER.key_string()
    )
    app = create_app(settings)
    run_demo(app.state.service, data / "keys")
    _coded_farm(app.state.service, data / "keys")
    with TestClient(app) as c:
        c.cookies.set("ft_token", PartyKey.load(data / "keys" / "regulator.key").token())
        yield c


def test_a_tracing_code_leads_to_its_lot(client):
    r = client.get("/console/lots", params={"code": TRACING, "lang": "zh"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/console/lots/{LOT}")
    r = client.get("/console/lots", params={"code": "NX-BC-1120"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/lots/NX-BC-1120")


@pytest.mark.parametrize(("lang", "says"), [("zh", "国家平台码"), ("en", "National platform code")])
def test_a_subject_code_lists_its_party(client, lang, says):
    r = client.get("/console/lots", params={"code": SUBJECT, "lang": lang})
    assert r.status_code == 200
    assert f"{says} {SUBJECT}" in r.text and FARM_NAME in r.text
    assert f'href="/console/parties?lang={lang}#party-{FARM}"' in r.text
    parties = client.get(f"/console/parties?lang={lang}").text
    assert f'id="party-{FARM}"' in parties and f'<dd class="code">{SUBJECT}</dd>' in parties


def test_an_unknown_code_is_an_unknown_lot(client):
    r = client.get("/console/lots", params={"code": "43012499999999999999"})
    assert r.status_code == 404  # followed to the lot page, which says there is no such lot


def _days() -> dict[str, str]:
    today = datetime.now(CST).date()  # the console's days are China's, whatever the machine's zone
    return {"since": (today - timedelta(days=30)).isoformat(), "until": (today + timedelta(days=1)).isoformat()}


def test_the_exports_page_sends_a_partys_flows(client):
    page = client.get("/console/exports?lang=zh").text
    assert 'action="/console/exports/flows"' in page and "NY/T 4712" in page
    r = client.get(
        "/console/exports/flows", params={"party": FARM, "fmt": "csv", "lang": "zh", **_days()}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/exports/parties/{FARM}/flows.csv?")
    rows = list(csv.DictReader(io.StringIO(client.get(r.headers["location"]).content.decode("utf-8-sig"))))
    assert [(x["批次号"], x["追溯码"], x["主体码"], x["出入库"]) for x in rows] == [(LOT, TRACING, SUBJECT, "入库")]


def test_the_flows_form_names_what_is_wrong(client):
    r = client.get("/console/exports/flows", params={"party": "91430100MA4L0000X", "fmt": "csv", **_days()})
    assert r.status_code == 404 and "91430100MA4L0000X" in r.text
    days = _days()
    r = client.get(
        "/console/exports/flows",
        params={"party": PARTIES["market"][0], "fmt": "pdf", "since": days["until"], "until": days["since"]},
    )
    assert r.status_code == 400
