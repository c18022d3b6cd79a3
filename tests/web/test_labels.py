"""Labels: URIs, QR codes, PNG/SVG/PDF renderings, and the label routes, through the real app.

Every kind of label is decoded by an independent decoder (zxing-cpp) from a raster of it at its
printed size: PNGs as served (300 dpi), SVGs rasterised by Chromium, PDF sheets by poppler's
pdftoppm at 300 dpi. Each decoded URI must be the lot's `label_uri`, parse back to the lot, and
open the consumer page for the lot.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import qrcode
import zxingcpp
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps
from qrcode.constants import ERROR_CORRECT_M

from farmtrace.api.app import create_app
from farmtrace.api.demo import CABBAGE_BAG, PARTIES, run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.ledger.note import Signer
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.ids import gs1_check_digit, is_valid_lot_code, uscc_check_char
from farmtrace.web.labels import layout
from farmtrace.web.labels.layout import MAX_SHEET_LABELS, Label, label_for, layout_label
from farmtrace.web.labels.qr import qr_code, qr_matrix
from farmtrace.web.labels.render import render_png, render_sheet, render_svg
from farmtrace.web.labels.uri import label_uri, parse_label_uri

BASE = "https://trace.changsha.example"
GTIN = CABBAGE_BAG["gtin"]  # 6901234567892
GTIN14 = "0" + GTIN
LOG_SIGNER = Signer.from_seed("farmtrace.local/log", bytes(range(32)))
EVIL_NAME = '<script>alert("x")</script> & 张记<b>合作社</b>'
EVIL_LOT = "EVIL/2026-01"
EVIL_PRODUCT = "<img src=x onerror=alert(1)> & 萝卜"


def _tool(name: str, package: str) -> str:
    """A Debian tool the test needs: fails under CI, skips elsewhere, naming the package."""
    path = shutil.which(name)
    if path is None:
        why = f"{name} is not installed: apt-get install {package}"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return path


def _decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormat.QRCode, text_mode=zxingcpp.TextMode.Plain
    )


def _decode_one(image: Image.Image) -> zxingcpp.Barcode:
    found = _decode(image)
    assert len(found) == 1, f"expected one QR code, found {[b.text for b in found]}"
    assert found[0].valid
    return found[0]


# --- the app: the demo, plus a party and a lot whose names are hostile markup ----------------------


def _add_hostile_lot(service, key_dir: Path) -> None:
    regulator = PartyKey.load(key_dir / "regulator.key")
    pid = "93430124MA4L0099" + "0"
    pid = pid[:17] + uscc_check_char(pid[:17])
    farm = PartyKey.generate(pid)
    now = datetime.now(CHINA_STANDARD_TIME).replace(microsecond=0)
    place = {"name": "测试基地 & <田>", "address": "湖南省长沙市宁乡市"}
    service.record(
        regulator.sign(
            {
                "kind": "party.register",
                "event_time": now.isoformat(),
                "location": {"name": PARTIES["regulator"][1], "address": PARTIES["regulator"][4]},
                "inputs": [],
                "outputs": [],
                "detail": {
                    "party": {
                        "id": pid,
                        "id_type": "uscc",
                        "name_zh": EVIL_NAME,
                        "name_en": "Hostile <Name> & Co",
                        "roles": ["producer"],
                        "address": "湖南省长沙市宁乡市",
                        "keys": [farm.public_record_key()],
                        "contact_commitment": "0" * 64,
                    }
                },
            }
        )
    )
    service.record(
        farm.sign(
            {
                "kind": "harvest",
                "event_time": now.isoformat(),
                "location": place,
                "inputs": [],
                "outputs": [
                    {
                        "lot": EVIL_LOT,
                        "quantity": "20",
                        "unit": "kg",
                        "product": {"name_zh": EVIL_PRODUCT, "category": "蔬菜"},
                    }
                ],
                "detail": {"origin": place},
            }
        )
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data = tmp_path_factory.mktemp("labels")
    settings = Settings.from_env(
        {},
        data_dir=data,
        database_url=f"sqlite:///{data / 'farmtrace.db'}",
        log_key=LOG_SIGNER.key_string(),
        public_url=BASE,
    )
    app = create_app(settings)
    run_demo(app.state.service, data / "keys")
    _add_hostile_lot(app.state.service, data / "keys")
    return app


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def _expected_uri(lot: str) -> str:
    return label_uri(lot, base=BASE, gtin=GTIN if lot.startswith("XF-BAG-") else None)


# --- URIs ------------------------------------------------------------------------------------------


def test_label_uri_spellings():
    assert label_uri("XF-BAG-0001", base=BASE, gtin=GTIN) == f"{BASE}/01/06901234567892/10/XF-BAG-0001"
    assert label_uri("XF-BAG-0001", base=BASE, gtin=GTIN14) == f"{BASE}/01/06901234567892/10/XF-BAG-0001"
    assert label_uri("MWD-BC-01", base=BASE) == f"{BASE}/l/MWD-BC-01"
    # GS1 Digital Link: "/" inside an AI value is percent-encoded; the rest of a lot code is unreserved.
    assert label_uri("A/B_c.9", base=BASE) == f"{BASE}/l/A%2FB_c.9"
    assert label_uri("A/B", base=BASE, gtin="96385074") == f"{BASE}/01/00000096385074/10/A%2FB"
    assert label_uri("L1", base="http://127.0.0.1:8000/trace") == "http://127.0.0.1:8000/trace/l/L1"


@pytest.mark.parametrize(
    ("call", "field", "says"),
    [
        (lambda: label_uri("XF-BAG-0001", base=BASE, gtin="6901234567891"), "gtin", "check digit"),
        (lambda: label_uri("XF-BAG-0001", base=BASE, gtin="690123456789"), "gtin", "check digit"),
        (lambda: label_uri("XF-BAG-0001", base=BASE, gtin="69012345678"), "gtin", "8 or 12 or 13 or 14"),
        (lambda: label_uri("has space", base=BASE), "lot", "a lot code is"),
        (lambda: label_uri("A" * 21, base=BASE), "lot", "a lot code is"),
        (lambda: label_uri("L1", base=BASE + "/"), "base", "no trailing slash"),
        (lambda: label_uri("L1", base=BASE + "?x=1"), "base", "found"),
        (lambda: label_uri("L1", base="ftp://trace.example"), "base", "http or https"),
        (lambda: label_uri("L1", base="https://user@trace.example"), "base", "found"),
        (lambda: label_uri("L1", base="trace.example"), "base", "found"),
    ],
)
def test_label_uri_refuses(call, field, says):
    with pytest.raises(InvalidEvent) as info:
        call()
    assert info.value.field == field
    assert says in info.value.message


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("https://evil.example/l/MWD-BC-01", "expected a label URI on https://trace.changsha.example/"),
        ("https://trace.changsha.example.evil/l/X", "expected a label URI on"),
        ("http://trace.changsha.example/l/MWD-BC-01", "expected a label URI on"),
        (f"{BASE}/l/MWD-BC-01/", "expected https://trace.changsha.example/l/{lot} or"),
        (f"{BASE}/l/MWD-BC-01?utm=x", "expected https://trace.changsha.example/l/{lot} or"),
        (f"{BASE}/l/MWD-BC-01#top", "expected"),
        (f"{BASE}/l/", "expected"),
        (f"{BASE}/lots/MWD-BC-01", "expected"),
        (f"{BASE}/l/A%2fB", "expected"),  # the canonical spelling is upper-case %2F
        (f"{BASE}/l/A%2DB", "expected"),  # "-" needs no escape
        (f"{BASE}/l/{'A' * 21}", "a lot code is 1 to 20 characters"),
        (f"{BASE}/01/6901234567892/10/XF-BAG-0001", "expected"),  # GTIN-13: Digital Link wants 14
        (f"{BASE}/01/06901234567891/10/XF-BAG-0001", "check digit"),
        (f"{BASE}/01/06901234567892/XF-BAG-0001", "expected"),
        (f"{BASE}/01/06901234567892/10/XF-BAG-0001/21/1", "expected"),
        (f"{BASE}/01/06901234567892", "expected"),
        ("", "expected a label URI on"),
    ],
)
def test_parse_label_uri_refuses_foreign_and_malformed(uri, says):
    with pytest.raises(InvalidEvent) as info:
        parse_label_uri(uri, base=BASE)
    assert info.value.field == "uri"
    assert says in info.value.message


def test_parse_label_uri_reads_its_own():
    assert parse_label_uri(f"{BASE}/01/06901234567892/10/XF-BAG-0001", base=BASE) == (
        "XF-BAG-0001",
        "06901234567892",
    )
    assert parse_label_uri(f"{BASE}/l/A%2FB", base=BASE) == ("A/B", None)


lots = st.from_regex(r"[A-Za-z0-9\-._/]{1,20}", fullmatch=True).filter(is_valid_lot_code)
bodies = st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
)
gtins = bodies.map(lambda body: body + gs1_check_digit(body))
bases = st.sampled_from([BASE, "http://127.0.0.1:8000", "https://trace.example:8443/farm-trace"])


@given(lot=lots, gtin=st.none() | gtins, base=bases)
def test_label_uri_round_trip(lot, gtin, base):
    uri = label_uri(lot, base=base, gtin=gtin)
    got_lot, got_gtin = parse_label_uri(uri, base=base)
    assert got_lot == lot
    assert got_gtin == (None if gtin is None else gtin.zfill(14))
    assert label_uri(got_lot, base=base, gtin=got_gtin) == uri
    assert urlsplit(uri).query == "" and urlsplit(uri).fragment == ""


@given(body=bodies, wrong=st.integers(1, 9), lot=lots)
def test_a_wrong_gtin_check_digit_is_refused(body, wrong, lot):
    bad = body + str((int(gs1_check_digit(body)) + wrong) % 10)
    with pytest.raises(InvalidEvent, match="check digit"):
        label_uri(lot, base=BASE, gtin=bad)
    with pytest.raises(InvalidEvent, match="check digit"):
        parse_label_uri(f"{BASE}/01/{bad.zfill(14)}/10/{lot.replace('/', '%2F')}", base=BASE)


@given(rest=st.text(max_size=80) | st.from_regex(r"/(l|01/[0-9]{14}/10)/[A-Za-z0-9%/._\-]{0,30}"))
def test_parse_label_uri_raises_only_its_own_error(rest):
    try:
        lot, gtin = parse_label_uri(BASE + rest, base=BASE)
    except InvalidEvent as exc:
        assert exc.field == "uri"
    else:
        assert label_uri(lot, base=BASE, gtin=gtin) == BASE + rest


# --- the QR code -----------------------------------------------------------------------------------

REALISTIC = [
    ("XF-BAG-0001", GTIN),  # the demo's 1 kg bag of cabbage
    ("XF-LJ-001", GTIN),
    ("NX-BC-1120", None),  # a cooperative's harvest
    ("MWD-BC-01", None),  # a market's split
    ("ZJ-LJ-1119", None),
    ("XF-BAG-20261120-0001", GTIN),  # 20 characters, the longest a lot code can be
    ("430124-20261120-0017", None),
    ("LS/2026/11/20-017", GTIN),  # slashes, written %2F
]


def test_realistic_label_uris_stay_at_version_4_or_lower(capsys):
    rows = []
    for lot, gtin in REALISTIC:
        uri = label_uri(lot, base=BASE, gtin=gtin)
        code = qr_code(uri)
        rows.append((code.version, len(uri), uri))
        assert code.error_correction == ERROR_CORRECT_M
        assert code.border == 4
        matrix = qr_matrix(uri)
        assert len(matrix) == 17 + 4 * code.version + 2 * 4
        assert not any(matrix[0]) and not any(row[3] for row in matrix)  # quiet zone
    with capsys.disabled():
        print(f"\nQR versions at error correction M (base {BASE}):")
        for version, length, uri in rows:
            print(f"  version {version}  {length:3d} chars  {uri}")
    assert [uri for version, _, uri in rows if version > 4] == []


@settings(max_examples=60, deadline=None)  # QR encoding twice; a loaded CI machine took 646 ms once
@given(lot=lots, gtin=st.none() | gtins)
def test_segmentation_is_never_worse_than_qrcodes_own(lot, gtin):
    uri = label_uri(lot, base=BASE, gtin=gtin)
    theirs = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
    theirs.add_data(uri)
    theirs.make(fit=True)
    assert qr_code(uri).version <= theirs.version
    assert qr_code(uri).version <= 6


def test_the_worst_lot_codes_stay_small():
    # 20 lower-case characters (byte mode) need version 5 with a GTIN; nine "/" (each written %2F,
    # the most a code may hold: "/" only between parts) need 6: the bound for any lot code on this base.
    assert qr_code(label_uri("a" * 20, base=BASE)).version == 4
    assert qr_code(label_uri("a" * 20, base=BASE, gtin=GTIN)).version == 5
    assert qr_code(label_uri("a/" * 9 + "a1", base=BASE, gtin=GTIN)).version == 6


# --- PNG, at its printed size ----------------------------------------------------------------------


@pytest.mark.parametrize("lot", ["XF-BAG-0001", "MWD-BC-01", "NX-BC-1120", EVIL_LOT])
@pytest.mark.parametrize("size_mm", [40, 30, 70])
def test_png_label_decodes_at_printed_size(client, lot, size_mm):
    r = client.get(f"/lots/{lot.replace('/', '%2F')}/label.png", params={"size_mm": size_mm})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert image.width == round(size_mm / 25.4 * 300)  # printed at 300 dpi it is size_mm wide
    found = _decode_one(image)
    assert found.text == _expected_uri(lot)
    assert found.ec_level == "M"
    assert parse_label_uri(found.text, base=BASE)[0] == lot
    _open_page(client, found.text, lot)
    # The printed symbol (dark modules, no quiet zone) is 62 % of the width less the quiet zone,
    # about 20 mm on a 40 mm label, with each module rounded down to whole pixels to stay sharp.
    modules = 17 + 4 * int(found.extra["Version"])
    qr_bottom = round((1.5 / 40 + 0.62) * size_mm / 25.4 * 300)
    left, top, right, bottom = ImageOps.invert(image.crop((0, 0, image.width, qr_bottom))).getbbox()
    assert bottom - top == right - left == modules * math.floor(0.62 * size_mm / (modules + 8) / 25.4 * 300)
    module_mm = (right - left) / modules / 300 * 25.4
    assert module_mm >= 0.4  # phones read modules of 0.4 mm and up comfortably
    if size_mm == 40:
        assert 17 <= module_mm * modules <= 21  # a code of about 20 mm (version 3 or 4)


def test_png_dpi_can_be_chosen_for_thermal_printers(client):
    r = client.get("/lots/XF-BAG-0001/label.png", params={"dpi": 203})
    assert r.status_code == 200
    image = Image.open(io.BytesIO(r.content))
    assert image.width == round(40 / 25.4 * 203)
    assert _decode_one(image).text == _expected_uri("XF-BAG-0001")


# --- SVG, rasterised by a browser ------------------------------------------------------------------


def _chromium_raster(svg: str, tmp_path: Path, *, width_mm: float, height_mm: float) -> Image.Image:
    chromium = _tool("chromium", "chromium")
    source, shot = tmp_path / "label.svg", tmp_path / "label.png"
    source.write_text(svg, encoding="utf-8")
    css_px = lambda v: int(v / 25.4 * 96) + 2  # noqa: E731 - CSS pixels are 1/96 in
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--force-device-scale-factor=3.125",  # 96 × 3.125 = 300 dpi
            f"--window-size={css_px(width_mm)},{css_px(height_mm)}",
            f"--screenshot={shot}",
            source.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    return Image.open(shot)


@pytest.mark.browser
@pytest.mark.parametrize("lot", ["XF-BAG-0001", "MWD-BC-01", EVIL_LOT])
def test_svg_label_decodes_when_rasterised_by_chromium(client, lot, tmp_path):
    r = client.get(f"/lots/{lot.replace('/', '%2F')}/label.svg")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    root = ET.fromstring(r.content)
    width_mm = float(root.get("width").removesuffix("mm"))
    height_mm = float(root.get("height").removesuffix("mm"))
    assert width_mm == 40
    image = _chromium_raster(r.text, tmp_path, width_mm=width_mm, height_mm=height_mm)
    (tmp_path / "kept").mkdir()
    image.save(tmp_path / "kept" / "svg-raster.png")  # an artefact to look at when this fails
    found = _decode_one(image)
    assert found.text == _expected_uri(lot)
    assert found.ec_level == "M"
    _open_page(client, found.text, lot)


def test_svg_is_self_contained_and_escaped(client):
    r = client.get(f"/lots/{EVIL_LOT.replace('/', '%2F')}/label.svg")
    assert r.status_code == 200
    body = r.text
    assert "<script" not in body and "<img" not in body and "<b>" not in body
    assert "&lt;script&gt;" in body and "&amp;" in body
    root = ET.fromstring(body)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    tags = {el.tag.removeprefix(ns) for el in root.iter()}
    assert tags <= {"svg", "title", "rect", "path", "g", "text"}
    assert not any(k.endswith("href") or k.startswith("on") for el in root.iter() for k in el.attrib)
    texts = [el.text for el in root.iter(ns + "text")]
    joined = "".join(texts)
    assert EVIL_PRODUCT.replace(" ", "") in joined.replace(" ", "")
    assert f"批次 {EVIL_LOT}" in texts
    assert "张记<b>合作社</b>" in joined.replace(" ", "")
    family = root.find(ns + "g").get("font-family")
    assert family.startswith("'WenQuanYi Zen Hei','Noto Sans CJK SC'") and family.endswith("sans-serif")


def test_hostile_names_render_in_every_format(client, tmp_path):
    code = EVIL_LOT.replace("/", "%2F")
    png = client.get(f"/lots/{code}/label.png")
    assert png.status_code == 200
    assert _decode_one(Image.open(io.BytesIO(png.content))).text == f"{BASE}/l/EVIL%2F2026-01"
    pdf = client.get(f"/lots/{code}/labels.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-disposition"] == 'inline; filename="labels-EVIL_2026-01.pdf"'
    text = _pdf_text(pdf.content, tmp_path).replace("\n", "").replace(" ", "")
    assert "<script>" in text and "张记<b>合作社</b>" in text
    (page,) = _pdf_pages_as_images(pdf.content, tmp_path)
    assert [b.text for b in _decode(page)] == [f"{BASE}/l/EVIL%2F2026-01"]


# --- the label's words -----------------------------------------------------------------------------


def test_label_names_the_packer_and_the_farm(app):
    service = app.state.service
    coop, market, shop = (PARTIES[k][1] for k in ("coop", "market", "shop"))
    bag = label_for(service, "XF-BAG-0001", base=BASE)
    assert bag == Label(
        uri=f"{BASE}/01/{GTIN14}/10/XF-BAG-0001",
        product=CABBAGE_BAG["name_zh"],
        lot="XF-BAG-0001",
        producer=coop,
        packer=shop,
    )
    assert label_for(service, "MWD-BC-01", base=BASE).packer == market
    harvest = label_for(service, "NX-BC-1120", base=BASE)
    assert (harvest.producer, harvest.packer, harvest.product) == (coop, None, "宁乡包菜")
    chilli = label_for(service, "ZJ-LJ-1119", base=BASE)
    assert chilli.producer == PARTIES["farm"][1]


@pytest.mark.parametrize("size_mm", [30, 40, 120])
def test_text_is_legible_and_stays_on_the_label(app, size_mm):
    label = label_for(app.state.service, "XF-BAG-0001", base=BASE)
    lay = layout_label(label, size_mm=size_mm)
    assert [line.text for line in lay.lines][:3] == [
        CABBAGE_BAG["name_zh"],
        "批次 XF-BAG-0001",
        "分装：" + PARTIES["shop"][1],
    ]
    assert "".join(line.text for line in lay.lines[3:]) == "生产者：" + PARTIES["coop"][1]
    qr_bottom = lay.qr_y + lay.module * len(lay.matrix)
    assert lay.lines[0].y - lay.lines[0].size > qr_bottom - 1e-9  # clear of the quiet zone
    for line in lay.lines:
        assert line.size >= 2.0 * size_mm / 40  # 2 mm ≈ 5.7 pt at 40 mm; 1.5 mm at the smallest
        assert layout._em_width(line.text) * line.size <= size_mm - 3 * size_mm / 40
    assert lay.lines[-1].y < lay.height
    assert lay.height < 1.3 * size_mm


def test_long_names_are_shortened_not_spilled():
    long = Label(uri=f"{BASE}/l/L1", product="很长的产品名称" * 30, lot="L1", producer="农场" * 100)
    lay = layout_label(long)
    assert len(lay.lines) == 5  # two for the product, one for the lot, two for the producer
    assert lay.lines[1].text.endswith("…") and lay.lines[-1].text.endswith("…")
    assert lay.lines[2].text == "批次 L1"


def test_a_missing_font_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(layout, "CJK_FONT_FILES", (Path("/nonexistent/wqy-zenhei.ttc"),))
    with pytest.raises(layout.FontMissing, match="fonts-wqy-zenhei"):
        layout.cjk_font_file()
    with pytest.raises(layout.FontMissing, match="apt-get install fonts-wqy-zenhei"):
        render_png(Label(uri=f"{BASE}/l/L1", product="菜", lot="L1", producer="农场"))


def test_renderers_check_their_bounds():
    label = Label(uri=f"{BASE}/l/L1", product="菜", lot="L1", producer="农场")
    for call, field in [
        (lambda: render_png(label, size_mm=29.9), "size_mm"),
        (lambda: render_svg(label, size_mm=120.5), "size_mm"),
        (lambda: render_png(label, dpi=100), "dpi"),
        (lambda: render_sheet([label], size_mm=10), "size_mm"),
        (lambda: render_sheet([], size_mm=40), "labels"),
    ]:
        with pytest.raises(InvalidEvent) as info:
            call()
        assert info.value.field == field


# --- the PDF sheet ---------------------------------------------------------------------------------


def _pdf_pages_as_images(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    (tmp_path / "sheet.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "300", "-gray", "-png", str(tmp_path / "sheet.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    return [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = _tool("pdftotext", "poppler-utils")
    (tmp_path / "text.pdf").write_bytes(pdf)
    return subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(tmp_path / "text.pdf"), "-"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.decode("utf-8")


def test_pdf_sheet_of_a_repacked_lot_has_every_bag(client, tmp_path):
    r = client.get("/lots/MWD-BC-01/labels.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pages = _pdf_pages_as_images(r.content, tmp_path)
    assert len(pages) == 1
    assert pages[0].size == (2481, 3508)  # A4 at 300 dpi
    found = _decode(pages[0])
    bags = [f"XF-BAG-{i:04d}" for i in range(1, 11)]
    assert sorted(b.text for b in found) == [_expected_uri(b) for b in bags]
    assert all(b.valid and b.ec_level == "M" for b in found)
    assert sorted(parse_label_uri(b.text, base=BASE) for b in found) == [(b, GTIN14) for b in bags]
    for barcode in found:
        _open_page(client, barcode.text, parse_label_uri(barcode.text, base=BASE)[0])

    text = _pdf_text(r.content, tmp_path)
    assert text.count(f"{CABBAGE_BAG['name_zh']}\n") == 10
    assert text.count("分装：长沙鲜丰超市五一广场店") == 10
    for bag in bags:
        assert f"批次 {bag}" in text
    fonts = subprocess.run(
        [_tool("pdffonts", "poppler-utils"), str(tmp_path / "sheet.pdf")], capture_output=True, timeout=60
    ).stdout.decode()
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all(row[0].endswith("WenQuanYiZenHei-0") for row in rows), fonts
    assert all(row[-5] == "yes" for row in rows), fonts  # embedded: prints the same everywhere


def test_pdf_sheet_of_a_lot_without_children_holds_copies(client, tmp_path):
    r = client.get("/lots/XF-BAG-0003/labels.pdf", params={"copies": 30})
    assert r.status_code == 200, r.text
    pages = _pdf_pages_as_images(r.content, tmp_path)
    assert len(pages) == 2  # 4 × 6 labels of 40 mm fit a page
    texts = [b.text for page in pages for b in _decode(page)]
    assert texts == [_expected_uri("XF-BAG-0003")] * 30
    assert client.get("/lots/XF-BAG-0003/labels.pdf", params={"copies": 30}).content == r.content


@pytest.mark.slow
def test_pdf_sheet_of_a_split_harvest_at_a_larger_size(client, tmp_path):
    r = client.get("/lots/NX-BC-1120/labels.pdf", params={"size_mm": 60})
    assert r.status_code == 200, r.text
    pages = _pdf_pages_as_images(r.content, tmp_path)
    texts = sorted(b.text for page in pages for b in _decode(page))
    assert texts == [_expected_uri(f"MWD-BC-{i:02d}") for i in range(1, 51)]
    assert "生产者：宁乡市绿源蔬菜种植专业合作社" in _pdf_text(r.content, tmp_path).replace("\n", "")


# --- routes: errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "field", "says"),
    [
        ("/lots/NOPE-1/label.png", {}, 404, None, "no lot 'NOPE-1' is known"),
        ("/lots/NOPE-1/label.svg", {}, 404, None, "no lot 'NOPE-1' is known"),
        ("/lots/NOPE-1/labels.pdf", {}, 404, None, "no lot 'NOPE-1' is known"),
        ("/lots/XF-BAG-0001/label.png", {"size_mm": 29}, 400, "size_mm", "30 to 120 mm wide, found 29"),
        ("/lots/XF-BAG-0001/label.svg", {"size_mm": 121}, 400, "size_mm", "30 to 120 mm wide"),
        ("/lots/XF-BAG-0001/label.svg", {"size_mm": "nan"}, 400, "size_mm", "found nan"),
        ("/lots/XF-BAG-0001/labels.pdf", {"size_mm": 0}, 400, "size_mm", "30 to 120 mm wide"),
        ("/lots/XF-BAG-0001/label.png", {"dpi": 1200}, 400, "dpi", "150 to 600 dots per inch"),
        ("/lots/XF-BAG-0001/labels.pdf", {"copies": 0}, 400, "copies", "1 to 500 copies, found 0"),
        ("/lots/XF-BAG-0001/labels.pdf", {"copies": 501}, 400, "copies", "found 501"),
        ("/lots/NX-BC-1120/labels.pdf", {"copies": 21}, 400, "copies", f"at most {MAX_SHEET_LABELS}"),
        ("/lots/has%20space/label.png", {}, 400, "code", "a lot code is 1 to 20 characters"),
    ],
)
def test_label_route_errors_are_problems(client, path, params, status, field, says):
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == status
    assert problem.get("field") == field
    assert says in problem["detail"]


# --- following the decoded URI ---------------------------------------------------------------------


def _open_page(client, uri: str, lot: str) -> None:
    """Follow a decoded label URI to the consumer page (web/consumer.py): it must be the lot's."""
    path = urlsplit(uri).path  # the base is https://trace.changsha.example; the test app serves it
    page = client.get(path)
    assert page.status_code == 200, f"GET {path}: {page.status_code}"
    assert page.headers["content-type"].startswith("text/html")
    assert lot in page.text


@pytest.mark.parametrize("lot", ["XF-BAG-0001", "MWD-BC-01", EVIL_LOT])
def test_decoded_uri_opens_the_lots_page(client, lot):
    r = client.get(f"/lots/{lot.replace('/', '%2F')}/label.png")
    uri = _decode_one(Image.open(io.BytesIO(r.content))).text
    assert uri == _expected_uri(lot)
    _open_page(client, uri, lot)
