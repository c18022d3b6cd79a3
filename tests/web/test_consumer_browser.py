"""The consumer's page in a real browser: Debian's Chromium driven by Playwright, at a phone's
viewport (360 × 740 CSS px, device scale factor 2). Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import pytest

from farmtrace.api.cli import main as farmtrace
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME

from .browser_support import screenshot, settle
from .consumer_support import INJECTED, add_injected_lot, edit_entry, served_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BAG = "XF-BAG-0001"
BAG_URI_PATH = "/01/06901234567892/10/XF-BAG-0001"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One demo for the tests that only read it: (base URL, app, data dir)."""
    with served_demo(tmp_path_factory.mktemp("consumer")) as served:
        yield served.url, served.app, served.data


@pytest.fixture
def served(tmp_path):
    """A demo of the test's own, for tests that record events or edit the ledger: (base URL, app,
    data dir). Its public URL is the server's own."""
    with served_demo(tmp_path) as served:
        yield served.url, served.app, served.data


def _settle(page) -> str:
    return settle(page, 15_000)


def _scan(url: str, lot: str) -> str:
    """Decode the lot's printed label (PNG) the way a phone's camera app would: the URI it opens."""
    import zxingcpp
    from PIL import Image

    png = httpx.get(f"{url}/lots/{lot}/label.png", timeout=30)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    found = [
        r for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content))) if r.format.name == "QRCode"
    ]
    assert len(found) == 1, found
    return found[0].text


# --- story 1: scan, verified, in Chinese and English ------------------------------------------------


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_scan_story_turns_verified(shared, phone, locale):
    url, _, _ = shared
    uri = _scan(url, BAG)
    assert uri == url + BAG_URI_PATH
    page = phone(locale)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(uri)
    assert response.status == 200
    zh = locale.startswith("zh")
    assert page.get_attribute("html", "lang") == ("zh-CN" if zh else "en")
    assert _settle(page) == "verified"
    assert page.inner_text("#verify h2") == ("已验证" if zh else "Verified")
    assert page.locator(".step-mark.ok").count() == 10
    assert page.evaluate("window.farmtraceVerification.ms") < 2_000
    # Everything came from this server: no CDN, no fonts, no trackers.
    assert requests and all(r.startswith(url) for r in requests), requests
    # Readable at 360 px: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"story1-verified-{locale}")
    if zh:  # the visible switch: the same page in English, verified again
        page.click("a.lang")
        assert page.get_attribute("html", "lang") == "en"
        assert _settle(page) == "verified" and page.inner_text("#verify h2") == "Verified"
        screenshot(page, "story1-verified-switched-to-en")
    assert page.errors == []


# --- story 4: an edit in the database shows as not verified, and says what failed ---------------------


def _harvest_index(url: str) -> int:
    events = httpx.get(f"{url}/lots/{BAG}/journey", timeout=30).json()["events"]
    assert events[0]["kind"] == "harvest"
    return events[0]["index"]


def test_a_direct_sql_edit_shows_not_verified_and_names_the_failure(served, phone, capsys):
    url, app, tmp = served
    key = app.state.log.verifier.key_string()
    index = _harvest_index(url)
    # 500 kg harvested becomes 600 kg: still a well-formed entry, only the cryptography can tell.
    original = edit_entry(
        tmp / "db.sqlite", index, lambda e: e.replace(b'"quantity":"500"', b'"quantity":"600"', 1)
    )

    page = phone("zh-CN")
    page.goto(url + BAG_URI_PATH)
    assert _settle(page) == "failed"
    assert page.inner_text("#verify h2") == "未通过验证"
    first = page.inner_text(".verify-failures li >> nth=0")
    assert "第 1 步「采收」" in first and "签名" in first, first
    assert page.locator(".step.bad").count() >= 1
    assert page.locator(f'.step[data-index="{index}"]').get_attribute("class").endswith("bad")
    assert "采收 600 kg" in page.inner_text(f'.step[data-index="{index}"]')
    screenshot(page, "story4-tampered-zh")

    page.goto(url + BAG_URI_PATH + "?lang=en")
    assert _settle(page) == "failed"
    first = page.inner_text(".verify-failures li >> nth=0")
    assert "step 1 (Harvest)" in first and "does not match its signature" in first, first
    failures = page.evaluate("window.farmtraceVerification.failures.map(f => f.reason)")
    assert failures == ["signature.invalid", "inclusion.invalid", "chain.follows"]
    screenshot(page, "story4-tampered-en")

    # The Python twin, through the same HTTP endpoint, agrees.
    assert farmtrace(["verify-lot", BAG, "--server", url, "--key", key]) == 1
    out = capsys.readouterr().out
    assert "NOT verified" in out and "signature.invalid" in out and "inclusion.invalid" in out

    # Put the entry back: verified again, by both.
    edit_entry(tmp / "db.sqlite", index, lambda _: original)
    page.reload()
    assert _settle(page) == "verified"
    assert farmtrace(["verify-lot", BAG, "--server", url, "--key", key]) == 0
    assert "verified, 10 events" in capsys.readouterr().out


# --- story 3: a recall upstream shows at the top, in both languages -----------------------------------


def test_a_recall_upstream_shows_the_red_banner(served, phone):
    url, app, tmp = served
    page = phone("zh-CN")
    page.goto(f"{url}/l/XF-BAG-0002")
    assert _settle(page) == "verified"
    assert page.locator(".alert.recall").count() == 0

    # The regulator recalls the 500 kg harvest lot the bag came from.
    service = app.state.service
    regulator = PartyKey.load(tmp / "keys" / "regulator.key")
    head = service.lot_summary("NX-BC-1120").head
    reason = "复检发现农残超标 / Residues over the limit on re-test"
    todo = "请停止食用，凭小票退货 / Stop eating it; return it with the receipt"
    service.record(
        regulator.sign(
            {
                "kind": "recall",
                "event_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
                "location": {"name": "长沙市市场监督管理局"},
                "inputs": [{"lot": "NX-BC-1120", "quantity": "500", "unit": "kg", "follows": [head]}],
                "outputs": [],
                "detail": {"reason": reason, "instructions": todo},
            }
        )
    )
    for lang, title in (("zh", "召回警告：请勿食用"), ("en", "Recall: do not eat this product")):
        page.goto(f"{url}/l/XF-BAG-0002?lang={lang}")
        banner = page.locator(".alert.recall")
        assert banner.count() == 1 and banner.get_attribute("role") == "alert"
        text = banner.inner_text()
        assert title in text and reason in text and todo in text and "NX-BC-1120" in text and "12315" in text
        # The banner is the first thing on the page, and the chain (recall included) still verifies.
        assert page.evaluate("document.querySelector('main').firstElementChild.classList.contains('recall')")
        assert _settle(page) == "verified"
        screenshot(page, f"story3-recall-banner-{lang}")


def test_the_demo_recall_shows_on_a_descendant(shared, phone):
    url, _, _ = shared
    for locale, title in (("zh-CN", "召回警告"), ("en-US", "Recall")):
        page = phone(locale)
        page.goto(f"{url}/l/XF-LJ-002")
        assert title in page.inner_text(".alert.recall")
        assert _settle(page) == "verified"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, f"recall-descendant-{locale}")


# --- escaping, 404 ----------------------------------------------------------------------------------


def test_script_injection_is_shown_as_text_never_run(served, phone):
    url, app, tmp = served
    lot = add_injected_lot(app, tmp / "keys")
    # Without the page's CSP: escaping alone must keep the texts inert.
    page = phone("zh-CN", bypass_csp=True)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{url}/l/{lot}")
    assert _settle(page) == "verified"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == [] and page.errors == []
    body = page.inner_text("main")
    for text in (INJECTED["name"], INJECTED["place"], INJECTED["field"], INJECTED["reason"]):
        assert text in body, text
    assert page.inner_text("h1") == INJECTED["product"]
    assert page.locator("main script, main img, main svg").count() == 1  # the JSON configuration only
    screenshot(page, "injection-escaped")


def test_unknown_lot_gets_the_friendly_404_page(shared, phone):
    url, _, _ = shared
    page = phone("zh-CN")
    response = page.goto(f"{url}/l/NO-SUCH-LOT")
    assert response.status == 404
    assert page.inner_text("h1") == "未找到该产品"
    assert "NO-SUCH-LOT" in page.inner_text("main")
    page.fill("#code", BAG)
    page.click("form.lookup button")
    page.wait_for_url(f"{url}/l/{BAG}?lang=zh")
    assert _settle(page) == "verified"
    page.goto(f"{url}/01/00000000000000/10/{BAG}?lang=en")
    assert page.inner_text("h1") == "Product not found"
    screenshot(page, "notfound-en")
