"""The national platform's codes in print: a lot's 追溯码 on its labels (PNG, SVG, PDF sheet), and the
party's 主体码 and the lot's 追溯码 on the 合格证 certificate, in the style of tests/web/test_labels.py
(the QR code still decodes; the text is read back from the SVG and from the PDF by poppler)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from farmtrace.api.app import create_app
from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.ledger.note import Signer
from farmtrace.trace import scenario as sc
from farmtrace.trace.model.ids import uscc_check_char
from farmtrace.web.labels.layout import label_for, layout_label
from farmtrace.web.labels.uri import label_uri

from .test_labels import _decode_one, _pdf_text

BASE = "https://trace.changsha.example"
LOG_SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))
SUBJECT = "430124000000123456"
TRACING = "43012420261207000001"
LOT = "GM-BC-0001"
FARM = "93430124MA4L0098" + "0"
FARM = FARM[:17] + uscc_check_char(FARM[:17])
FARM_NAME = "宁乡市金洲镇国码示范农场"


def _coded_farm(service, key_dir) -> str:
    """Register a farm with its 主体码, harvest a lot with its 追溯码 and certify it; the certify event id."""
    regulator = PartyKey.load(key_dir / "regulator.key")
    farm = PartyKey.generate(FARM)
    now = datetime.now(CHINA_STANDARD_TIME).replace(microsecond=0)
    place = {"name": "金洲镇 9 号蔬菜基地"}
    record = sc.party_record(
        FARM, name_zh=FARM_NAME, roles=["producer"], address="湖南省长沙市宁乡市金洲镇",
        keys=[farm.public_record_key()], contact_commitment="0" * 64,
    )  # fmt: skip
    said = {**sc.register({**record, "subject_code": SUBJECT}), "location": {"name": PARTIES["regulator"][1]}}
    service.record(regulator.sign({**said, "event_time": now.isoformat()}))
    out = {**sc.out(LOT, "80", {"name_zh": "宁乡包菜", "category": "蔬菜"}), "tracing_code": TRACING}
    harvest = {**sc.harvest([out], origin=place), "location": place}
    receipt = service.record(farm.sign({**harvest, "event_time": (now + timedelta(minutes=1)).isoformat()}))
    certify = sc.certify(
        [sc.ref(LOT, "80", follows=[receipt.event_id])], certificate_no="HGZ-GM-0001",
        product_name="宁乡包菜", origin="宁乡市金洲镇", contact="0731-88880000",
    )  # fmt: skip
    at = (now + timedelta(minutes=2)).isoformat()
    return service.record(farm.sign({**certify, "location": place, "event_time": at})).event_id


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data = tmp_path_factory.mktemp("national-labels")
    settings = Settings.from_env(
        {},
        data_dir=data,
        database_url=f"sqlite:///{data / 'farmtrace.db'}",
        log_key=LOG_SIGNER.key_string(),
        public_url=BASE,
    )
    app = create_app(settings)
    run_demo(app.state.service, data / "keys")
    app.state.certify_event = _coded_farm(app.state.service, data / "keys")
    return app


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def test_the_label_says_the_tracing_code_under_the_lot(app):
    label = label_for(app.state.service, LOT, base=BASE)
    assert label.tracing_code == TRACING
    for size_mm in (30, 40, 120):
        texts = [line.text for line in layout_label(label, size_mm=size_mm).lines]
        assert texts[:3] == ["宁乡包菜", f"批次 {LOT}", f"追溯码 {TRACING}"]
    assert label_for(app.state.service, "ZJ-LJ-1119", base=BASE).tracing_code is None  # none given: none printed


def test_svg_and_png_labels_print_the_code_and_still_scan(client):
    svg = client.get(f"/lots/{LOT}/label.svg")
    assert svg.status_code == 200
    ns = "{http://www.w3.org/2000/svg}"
    texts = [el.text for el in ET.fromstring(svg.text).iter(ns + "text")]
    assert f"追溯码 {TRACING}" in texts
    png = client.get(f"/lots/{LOT}/label.png")
    assert _decode_one(Image.open(io.BytesIO(png.content))).text == label_uri(LOT, base=BASE)
    plain = client.get("/lots/ZJ-LJ-1119/label.svg").text
    assert "追溯码" not in plain


def test_the_pdf_sheet_prints_the_code(client, tmp_path):
    pdf = client.get(f"/lots/{LOT}/labels.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    text = _pdf_text(pdf.content, tmp_path).replace(" ", "")
    assert f"追溯码{TRACING}" in text


@pytest.mark.parametrize(("lang", "subject", "tracing"), [("zh", "主体码", "追溯码"), ("en", "Subject code", "Tracing code")])
def test_the_certificate_prints_the_subject_and_tracing_codes(client, app, lang, subject, tracing):
    r = client.get(f"/portal/certificate/{app.state.certify_event}?lang={lang}")
    assert r.status_code == 200
    page = r.text
    assert f'<dt>{subject}' in page and f'<dd class="code">{SUBJECT}</dd>' in page
    assert f'<dt>{tracing}' in page and f'<dd class="code">{TRACING}</dd>' in page
    assert FARM_NAME in page


def test_a_certificate_without_codes_prints_no_empty_rows(client, app):
    events = app.state.service.trace_events("ZJ-LJ-1119")
    certify = next(e.id for e in events if e.event.kind == "certify")
    page = client.get(f"/portal/certificate/{certify}?lang=zh").text
    assert "主体码" not in page and "追溯码" not in page
