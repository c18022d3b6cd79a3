"""Pre-printed labels over HTTP (web/label_scans.py): the label's Digital Link before and after
activation (zh and en), the scan beacon and its rate limit, warnings for a label scanned too often
or far from where its lot was sold, on the consumer page and the console."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client.keys import PartyKey
from farmtrace.ledger.note import Signer
from farmtrace.trace import scenario as sc
from farmtrace.trace.model.event import Event

from ..trace.story import BAG, REGULATOR, SHOP, START, STATION, Ledger, private_key, story_one, wire
from ..trace.test_replay import _entry, _genesis, record

GTIN = "0" + BAG["gtin"]
LOG_SIGNER = Signer.from_seed("test.local/labels", b"\x05" * 32)
CHANGSHA = "28.19,112.97"  # where the shop sells (its sell event's signed location)


def _story() -> Ledger:
    lg = story_one(until="repack")
    serials = [f"R7-{i:04d}" for i in range(1, 4)]
    lg.record("label_activate", SHOP, detail={"lot": "S-CAB-01-02", "gtin": BAG["gtin"], "serials": serials})
    sale = wire(
        "sell", SHOP, time=lg.clock, detail={}, inputs=[lg.inp("S-CAB-01-02", "1")],
        price=sc.price("6.8", "retail"),
    )  # fmt: skip
    sale["location"]["geo"] = CHANGSHA
    lg.submit(Event.from_wire(sale))
    return lg


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("labels")
    lg = _story()
    settings = Settings.from_env(
        {"FARMTRACE_LABEL_SCAN_OFTEN": "6", "FARMTRACE_LABEL_SCAN_PER_WINDOW": "4"},
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        log_origin="test.local/labels",
    )
    clock = [START + timedelta(hours=3)]
    app = create_app(settings, clock=lambda: clock[0])
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in lg.log)])
    with TestClient(app) as client:
        yield client, clock, app
    app.state.log.close(close_store=True)


def _config(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="ft-config">(.*?)</script>', html, re.S)[1])


def _scan(client, serial: str, **more) -> int:
    body = json.dumps({"gtin": GTIN, "serial": serial, **more})
    return client.post("/labels/scan", content=body, headers={"Content-Type": "text/plain"}).status_code


def test_a_label_not_activated_says_so(site):
    client = site[0]
    zh = client.get(f"/01/{GTIN}/21/R7-0009")
    assert zh.status_code == 404 and "标签尚未激活" in zh.text and "R7-0009" in zh.text
    en = client.get(f"/01/{GTIN}/21/R7-0009?lang=en")
    assert en.status_code == 404 and "is not activated" in en.text
    machine = client.get(f"/01/{GTIN}/21/R7-0009", headers={"Accept": "application/json"})
    assert machine.status_code == 404 and machine.headers["content-type"].startswith("application/problem+json")
    assert client.get("/01/06901234567891/21/R7-0001").status_code == 400  # a wrong check digit
    assert _scan(client, "R7-0009") == 404  # not counted: no table for invented codes


def test_an_activated_label_opens_its_lot_and_counts_its_scans(site):
    client, clock, _ = site
    page = client.get(f"/01/{GTIN}/21/R7-0001")
    assert page.status_code == 200 and "S-CAB-01-02" in page.text
    assert _config(page.text)["label"] == {"gtin": GTIN, "serial": "R7-0001", "scan": "/labels/scan"}
    assert "label-scan.js" in page.text and 'data-label-count="0"' in page.text
    # Four scans count in a window; the fifth is answered alike but not counted.
    assert [_scan(client, "R7-0001") for _ in range(5)] == [204] * 5
    page = client.get(f"/01/{GTIN}/21/R7-0001?lang=en")
    assert 'data-label-count="4"' in page.text and "scanned 4 times" in page.text
    assert "may have been copied" not in page.text
    # A new window: three more, seven in all, above FARMTRACE_LABEL_SCAN_OFTEN=6.
    clock[0] += timedelta(minutes=11)
    assert [_scan(client, "R7-0001") for _ in range(3)] == [204] * 3
    zh = client.get(f"/01/{GTIN}/21/R7-0001")
    assert "警告：此标签可能被复制" in zh.text and "已被扫描 7 次" in zh.text


def test_an_area_far_from_the_sale_warns(site):
    client = site[0]
    assert _scan(client, "R7-0002", area="28.2,113.0") == 204  # Changsha: near the sale
    page = client.get(f"/01/{GTIN}/21/R7-0002?lang=en")
    assert "may have been copied" not in page.text and "First area shared: 28.2,113.0" in page.text
    assert _scan(client, "R7-0002", area="45.8,126.5") == 204  # Harbin
    page = client.get(f"/01/{GTIN}/21/R7-0002?lang=en")
    assert re.search(r"scanned near 45\.8,126\.5, about 22\d\d km from where the lot was sold", page.text)
    for bad, field in [({"area": "45.83,126.5"}, "area"), ({"area": "north"}, "area"), ({"x": 1}, "body")]:
        r = client.post("/labels/scan", content=json.dumps({"gtin": GTIN, "serial": "R7-0002", **bad}))
        assert r.status_code == 400 and r.json()["field"] == field, r.text


def test_the_console_lists_suspect_labels(site):
    client, clock, _ = site
    key = PartyKey(REGULATOR, private_key(REGULATOR))
    cookie = {"Cookie": f"ft_token={key.token(origin='test.local/labels', now=clock[0])}"}
    assert _scan(client, "R7-0003") == 204  # scanned once, near nothing: no warning
    assert _scan(client, "R7-0002", area="45.8,126.5") == 204  # far from the sale: warns
    for lang, says, why in (("zh", "可疑标签", "公里"), ("en", "Suspect labels", "km from where")):
        page = client.get(f"/console/labels?lang={lang}", headers=cookie)
        assert page.status_code == 200 and says in page.text and why in page.text
        rows = re.findall(r'<tr data-label="([^"]+)"', page.text)
        assert "R7-0002" in rows and "R7-0003" not in rows, rows
    assert client.get("/console/labels").status_code in (401, 403)


def test_the_portal_form_is_offered_to_traders_in_both_languages(site):
    client, clock, _ = site

    def cookie(party: str) -> dict[str, str]:
        token = PartyKey(party, private_key(party)).token(origin="test.local/labels", now=clock[0])
        return {"Cookie": f"ft_token={token}"}

    labels = client.get("/portal/labels/S-CAB-01-03?lang=en", headers=cookie(SHOP))
    assert labels.status_code == 200 and 'href="/portal/label_activate?lot=S-CAB-01-03&amp;lang=en"' in labels.text
    for lang, says in (("zh", "激活预印标签"), ("en", "Activate pre-printed labels")):
        page = client.get(f"/portal/label_activate?lang={lang}&lot=S-CAB-01-03", headers=cookie(SHOP))
        assert page.status_code == 200 and says in page.text and 'data-form="label_activate"' in page.text
        assert 'value="S-CAB-01-03"' in page.text and "portal-labels.js" in page.text
    assert client.get("/portal/label_activate", headers=cookie(STATION)).status_code == 403  # a test room
    assert client.get("/portal/label_activate", follow_redirects=False).status_code == 303  # sign in first
