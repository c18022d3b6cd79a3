"""MISSION.md story 1, done only through the portal: four parties, four phones, four browser-held keys.

A cooperative, a market's test room, a wholesale market and a supermarket each enroll on their own
phone (a browser context of its own: its own IndexedDB, so its own non-extractable key); the first
regulator (made as `farmtrace init` makes it) approves them with its key file. Then, every step in
the portal's forms: harvest 500 kg → test pass → 合格证 → ship → market entry check and receipt →
split into 50 × 10 kg → ship one → supermarket receipt → repack into 1 kg bags → labels → sale.
A consumer scans a bag's printed label (decoded from the PNG by zxing-cpp) and the page turns
"verified". Screenshots go to test-artifacts/portal/story-*.png.
"""

from __future__ import annotations

import base64
import io
import time

import httpx
import pytest

from farmtrace.trace.model.encoding import decode_entry

from .browser_support import settle
from .consumer_support import chromium, close_app, free_port, live_server
from .portal_support import approve_all, genesis_app, new_phone, open_form, shot, submit, uscc

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PARTIES = {
    "coop": {
        "id": uscc("93430124MA4L0201X"),
        "zh": "宁乡市绿源蔬菜种植专业合作社",
        "en": "Ningxiang Lüyuan Vegetable Cooperative",
        "roles": ["producer"],
        "address": "湖南省长沙市宁乡市金洲镇",
        "lang": "zh",
    },
    "lab": {
        "id": uscc("12430100MB0000202"),
        "zh": "马王堆蔬菜批发市场农残快检室",
        "en": "Mawangdui Market Pesticide Rapid-Test Room",
        "roles": ["inspector"],
        "address": "湖南省长沙市芙蓉区马王堆中路",
        "lang": "zh",
    },
    "market": {
        "id": uscc("91430100MA4L0203Y"),
        "zh": "长沙马王堆蔬菜批发市场",
        "en": "Changsha Mawangdui Vegetable Wholesale Market",
        "roles": ["wholesaler"],
        "address": "湖南省长沙市芙蓉区马王堆中路",
        "lang": "en",
    },
    "shop": {
        "id": uscc("91430100MA4L0204U"),
        "zh": "长沙鲜丰超市五一广场店",
        "en": "Xianfeng Supermarket, Wuyi Square",
        "roles": ["retailer"],
        "address": "湖南省长沙市芙蓉区五一大道",
        "lang": "zh",
    },
}
HARVEST = "NX-BC-2001"
CERTIFICATE = "HGZ-430124-20261120-017"


def _decode_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    return code.text


def _enroll(page, base: str, p: dict) -> str:
    page.goto(f"{base}/portal/enroll?lang={p['lang']}")
    page.wait_for_selector("html[data-portal-ready]", state="attached")
    page.fill("#f-party_id", p["id"])
    page.fill("#f-name_zh", p["zh"])
    page.fill("#f-name_en", p["en"])
    for role in p["roles"]:
        page.check(f"input[name=roles][value={role}]")
    page.fill("#f-address", p["address"])
    page.fill("#f-contact", "王经理")
    page.fill("#f-phone", "0731-88880001")
    page.click("#enroll-form button[type=submit]")
    page.wait_for_selector("#pending:not([hidden])")
    return page.inner_text("#pending .key-id")


def test_story_one_through_the_portal(tmp_path):
    port = free_port()
    app, regulator, _ = genesis_app(tmp_path, port)
    try:
        with live_server(app, port) as base, chromium() as browser:
            _story(base, browser, regulator, nudge=app.state.service.recorder.after_batch)
    finally:
        close_app(app)


def _story(base: str, browser, regulator, *, nudge) -> None:
    contexts = []
    try:
        phones = {}
        for name in PARTIES:
            ctx, page = new_phone(browser, locale="en-US" if PARTIES[name]["lang"] == "en" else "zh-CN")
            contexts.append(ctx)
            phones[name] = page

        # 1. Each party enrolls on its own phone: the key is made there and never leaves it.
        key_ids = {name: _enroll(page, base, PARTIES[name]) for name, page in phones.items()}
        assert len(set(key_ids.values())) == 4
        shot(phones["coop"], "story-01-enrolled-coop")
        kept = phones["coop"].evaluate(
            """async () => {
                const k = await FarmtraceSigning.load();
                const refused = async (f) => { try { await crypto.subtle.exportKey(f, k.privateKey); return false; }
                                               catch (e) { return true; } };
                return {extractable: k.privateKey.extractable, pkcs8: await refused("pkcs8"),
                        jwk: await refused("jwk"), keyId: k.keyId, party: k.party};
            }"""
        )
        assert kept == {
            "extractable": False,
            "pkcs8": True,
            "jwk": True,
            "keyId": key_ids["coop"],
            "party": PARTIES["coop"]["id"],
        }

        # 2. The regulator approves the four applications with its own key (off the portal).
        assert sorted(approve_all(base, regulator)) == sorted(p["id"] for p in PARTIES.values())
        for page in phones.values():
            page.click("#pending [data-action=recheck]")
            page.wait_for_url("**/portal/lots**")

        # 3. The cooperative harvests 500 kg of 宁乡 cabbage.
        coop = phones["coop"]
        open_form(coop, base, "harvest")
        coop.fill("#f-product_name_zh", "宁乡包菜")
        coop.fill("#f-product_name_en", "Ningxiang cabbage")
        coop.fill("#f-variety", "京丰一号")
        coop.fill("#f-quantity", "500")
        coop.fill("#f-lot", HARVEST)
        coop.fill("#f-origin_name", "金洲镇 3 号蔬菜基地")
        coop.fill("#f-price", "1.20")
        assert submit(coop) == "ok"
        assert coop.input_value("#f-price") == "1.2"  # shown as signed: one spelling per number
        shot(coop, "story-02-harvest")

        # 4. The market's test room records a pass.
        lab = phones["lab"]
        open_form(lab, base, "inspect")
        lab.fill("#f-lot", HARVEST)
        lab.click("[data-action=lookup]")
        lab.wait_for_selector(".lot-info:has-text('宁乡包菜')")
        assert lab.input_value("#f-quantity") == "500"
        lab.fill("#f-value", "12.5")
        lab.check("input[name=result][value=pass]")
        lab.fill("#f-report_no", "KJ-20261120-0031")
        assert submit(lab) == "ok"
        shot(lab, "story-03-inspect")

        # 5. The cooperative issues the 合格证 and prints it with the lot's QR code.
        open_form(coop, base, "certify", lot=HARVEST)
        assert coop.input_value("#f-quantity") == "500"
        assert coop.input_value("#f-product_name") == "宁乡包菜"
        coop.fill("#f-certificate_no", CERTIFICATE)
        coop.fill("#f-contact", "0731-87654321")
        coop.check("input[name=commitments][value=self_tested]")
        coop.click("#event-form button[type=submit]")
        coop.wait_for_url("**/portal/certificate/**")
        assert CERTIFICATE in coop.inner_text("#certificate")
        qr = _decode_qr(coop.locator(".cert-qr svg").screenshot())
        assert qr == f"{base}/l/{HARVEST}"
        shot(coop, "story-04-certificate")

        # 6. ... and ships the lot to the market.
        open_form(coop, base, "ship", lot=HARVEST)
        assert coop.input_value("#f-quantity-0") == "500"
        coop.select_option("#f-destination", PARTIES["market"]["id"])
        coop.fill("#f-temperature", "4.5")
        assert submit(coop) == "ok"

        # 7. The market checks the certificate at entry (in English) and receives.
        market = phones["market"]
        open_form(market, base, "receive", lang="en")
        form = "form.receive"
        assert CERTIFICATE in market.inner_text(f"{form} .evidence")
        market.fill(f"{form} input[name=certificate_no]", CERTIFICATE)
        market.select_option(f"{form} select[name=inspection_event]", index=1)
        shot(market, "story-05-receive-entry-check")
        assert submit(market, form) == "ok"

        # 8. It splits the 500 kg into 50 lots of 10 kg with the helper.
        open_form(market, base, "transform", lang="en", lot=HARVEST)
        market.fill("input[name=helper_n]", "50")
        market.fill("input[name=helper_q]", "10")
        market.fill("input[name=helper_prefix]", "MWD-BC-")
        market.click("[data-action=fill-outputs]")
        assert market.locator("[data-rows=outputs] > [data-row]").count() == 50
        assert market.input_value("[data-rows=outputs] > [data-row]:nth-child(50) input[name=out_lot]") == (
            "MWD-BC-50"
        )
        assert "Out 500 of 500 in" in market.inner_text(".balance")
        assert market.input_value("#f-product_name_zh") == "宁乡包菜"
        assert submit(market) == "ok"
        shot(market, "story-06-split")

        # 9. ... and ships one of them to the supermarket at a wholesale price.
        open_form(market, base, "ship", lang="en", lot="MWD-BC-01")
        market.select_option("#f-destination", PARTIES["shop"]["id"])
        market.fill("#f-price", "2")
        assert submit(market) == "ok"

        # 10. The supermarket receives (entry check against the certificate upstream) ...
        shop = phones["shop"]
        open_form(shop, base, "receive")
        shop.fill("form.receive input[name=certificate_no]", CERTIFICATE)
        assert submit(shop, "form.receive") == "ok"

        # 11. ... repacks into 1 kg bags with the bag's own product and GTIN ...
        open_form(shop, base, "transform", lot="MWD-BC-01")
        shop.check("input[name=type][value=repack]")
        shop.fill("input[name=helper_n]", "10")
        shop.fill("input[name=helper_q]", "1")
        shop.fill("input[name=helper_prefix]", "XF-BAG-")
        shop.click("[data-action=fill-outputs]")
        shop.fill("#f-product_name_zh", "宁乡包菜 1kg 袋装")
        shop.fill("#f-product_name_en", "Ningxiang cabbage, 1 kg bag")
        shop.fill("#f-gtin", "6901234567892")
        assert submit(shop) == "ok"
        shot(shop, "story-07-repack")

        # 12. ... prints the labels: the sheet of the ten bags, and one bag's PNG ...
        shop.goto(f"{base}/portal/labels/MWD-BC-01?lang=zh")
        sheet = shop.get_attribute("[data-kind=pdf-link]", "href")
        pdf = httpx.get(base + sheet, timeout=60)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        shop.goto(f"{base}/portal/labels/XF-BAG-01?lang=zh")
        shop.wait_for_function("document.querySelector('.label-preview').naturalWidth > 0")
        shot(shop, "story-08-labels")
        png = httpx.get(base + shop.get_attribute("[data-kind=png]", "href"), timeout=60)
        assert png.headers["content-type"] == "image/png"

        # 13. ... and sells one bag.
        open_form(shop, base, "sell", lot="XF-BAG-01")
        shop.fill("#f-quantity-0", "1")
        shop.fill("#f-price", "4.50")
        assert submit(shop) == "ok"
        shop.goto(f"{base}/portal/lots?lang=zh")
        assert shop.locator("article.group[data-status=passed]").count() == 1
        assert "XF-BAG-02" in shop.inner_text("article.group")
        shot(shop, "story-09-shop-lots")

        # 14. A consumer scans the bag's label: the page opens and verifies everything. A new log's
        # first index entry is due FARMTRACE_INDEX_LAG (10 s) after its keeper started; until then a
        # page can prove no lot complete (index.missing). This server runs without its lifespan, so
        # no keeper thread polls: the test nudges the keeper as the thread would, until it commits.
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/lots/XF-BAG-01/journey", timeout=30).json().get("index") is None:
            assert time.monotonic() < deadline, "no index entry was committed within 60 s"
            nudge()
            time.sleep(0.5)
        uri = _decode_qr(png.content)
        assert uri == f"{base}/01/06901234567892/10/XF-BAG-01"
        ctx, consumer = new_phone(browser)
        contexts.append(ctx)
        consumer.goto(uri)
        state = settle(consumer, 60_000)
        outcome = consumer.evaluate("window.farmtraceVerification")
        assert state == "verified", outcome  # the failures name the check that did not hold
        steps = consumer.locator(".timeline .step").count()
        assert steps == 10  # harvest, inspect, certify, ship, receive, split, ship, receive, repack, sell
        shot(consumer, "story-10-consumer-verified")

        # Every event was signed by a browser key: the ledger names the four enrolled keys.
        journey = httpx.get(f"{base}/lots/XF-BAG-01/journey", timeout=30).json()
        signers = {decode_entry(base64.b64decode(e["entry"])).event.key_id for e in journey["events"]}
        assert signers == set(key_ids.values())
        for page in [*phones.values(), consumer]:
            assert page.errors == []
    finally:
        for ctx in contexts:
            ctx.close()
