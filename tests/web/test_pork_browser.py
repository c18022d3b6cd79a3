"""The demo's pork story on the consumer page in Chromium (issue 20 §5): a consumer scans the pork
stall's label, the phone verifies the chain from the 宁乡 pig farm through the slaughterhouse, and
the page shows the farm, both 动物检疫合格证明 numbers, the 肉品品质检验合格证 number and the
slaughterhouse; a certificate number forged in the database is noticed (in the signed entry) or
never shown (in the projection table the rules read)."""

from __future__ import annotations

import io
import sqlite3

import httpx
import pytest

from farmtrace.api.demo import PARTIES, PORK, PORK_LOT

from .browser_support import screenshot, settle
from .consumer_support import edit_entry, served_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PORK_URI_PATH = f"/01/0{PORK['gtin']}/10/{PORK_LOT}"
FORGED = "4301820009999"  # a 动物检疫合格证明 number no veterinarian issued


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo, served: (base URL, app, data dir, the pork lot's livestock certificate numbers)."""
    with served_demo(tmp_path_factory.mktemp("pork")) as s:
        journey = httpx.get(f"{s.url}/lots/{PORK_LOT}/journey", timeout=30).json()
        events = [e["event"] for e in journey["events"]]
        forms = {
            e["detail"]["form"]: e["detail"]["certificate_no"] for e in events if e["kind"] == "quarantine"
        }
        (meat,) = [e["detail"]["certificate_no"] for e in events if e["detail"].get("type") == "slaughter"]
        product_index = next(
            x["index"] for x in journey["events"] if x["event"]["detail"].get("form") == "product_b"
        )
        certs = {
            "animal": forms["animal_b"],
            "product": forms["product_b"],
            "meat": meat,
            "index": product_index,
        }
        yield s.url, s.app, s.data, certs


def _scan(url: str) -> str:
    """Decode the pork lot's printed label (PNG) as a phone's camera app would: the URI it opens."""
    import zxingcpp
    from PIL import Image

    png = httpx.get(f"{url}/lots/{PORK_LOT}/label.png", timeout=30)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    (found,) = [
        r for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content))) if r.format.name == "QRCode"
    ]
    return found.text


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_scanned_pork_label_verifies_and_names_farm_certificates_and_slaughterhouse(
    served, phone, locale
):
    url, _, _, certs = served
    uri = _scan(url)
    assert uri == url + PORK_URI_PATH
    page = phone(locale)
    assert page.goto(uri).status == 200
    zh = locale.startswith("zh")
    assert settle(page, 15_000) == "verified"
    assert page.inner_text("#verify h2") == ("已验证" if zh else "Verified")
    main = page.inner_text("main")
    name = 1 if zh else 2  # PARTIES: (id, name_zh, name_en, ...)
    for party in ("pigfarm", "abattoir", "vet", "porkstall"):
        assert PARTIES[party][name] in main, party
    assert "宁乡" in PARTIES["pigfarm"][1] and "定点屠宰厂" in PARTIES["abattoir"][1]
    for number in (certs["animal"], certs["product"], certs["meat"]):
        assert number in main, number
    # Every step of the 12 (pigs to the stall's sale) is checked; the slaughter names its certificate.
    assert page.locator(".step-mark.ok").count() == 12
    assert certs["meat"] in page.inner_text(".step[data-kind=transform][data-type=slaughter]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.errors == []
    screenshot(page, f"pork-verified-{locale}")


def test_a_forged_certificate_number_is_noticed_or_never_shown(served, phone):
    url, _, data, certs = served
    db = data / "db.sqlite"
    index, real = certs["index"], certs["product"].encode()
    page = phone("zh-CN")

    # 1. The product certificate's number rewritten in the signed entry: the signature no longer holds.
    original = edit_entry(db, index, lambda e: e.replace(real, FORGED.encode()))
    try:
        page.goto(url + PORK_URI_PATH)
        assert settle(page, 15_000) == "failed"
        assert page.inner_text("#verify h2") == "未通过验证"
        step = page.locator(f'.step[data-index="{index}"]')
        assert step.get_attribute("class").endswith("bad")
        assert "签名" in page.inner_text(".verify-failures li >> nth=0")
        # The forged number is shown only on the step marked as failing.
        showing = page.locator(".step", has_text=FORGED)
        assert showing.count() == 1 and showing.get_attribute("data-index") == str(index)
        screenshot(page, "pork-forged-entry-zh")
    finally:
        edit_entry(db, index, lambda _: original)

    # 2. The number forged in the projection table: the page shows what was signed, never the forgery.
    with sqlite3.connect(db) as conn:
        changed = conn.execute(
            "UPDATE trace_livestock_certificate SET certificate_no = ? WHERE certificate_no = ?",
            (FORGED, certs["product"]),
        ).rowcount
    conn.close()
    assert changed == 1
    try:
        page.goto(url + PORK_URI_PATH)
        assert settle(page, 15_000) == "verified"
        main = page.inner_text("main")
        assert FORGED not in main and certs["product"] in main
    finally:
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE trace_livestock_certificate SET certificate_no = ? WHERE certificate_no = ?",
                (certs["product"], FORGED),
            )
        conn.close()
    assert page.errors == []
