"""The parties' portal in a real browser (Debian's Chromium through Playwright, at a phone's viewport),
against a live server holding api/demo.py's Changsha scenario. Each phone is a browser context of its
own: its key is either generated there (enrollment, a new key) or imported once from the demo's key
files. Screenshots go to test-artifacts/portal/.

The whole of MISSION.md story 1 through the portal is tests/web/test_portal_story.py.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import httpx
import pytest

from farmtrace.client import Client, PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.web.i18n import LANGS, MESSAGES

from .consumer_support import close_app, demo_app, free_port, live_server
from .portal_support import (
    approve_all,
    field_error,
    new_phone,
    open_form,
    shot,
    sign_in_with_key_file,
    submit,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo served over HTTP: (base URL, app, key directory, {name: party id})."""
    tmp = tmp_path_factory.mktemp("portal")
    port = free_port()
    app, result = demo_app(tmp, port=port)
    with live_server(app, port) as base:
        yield base, app, tmp / "keys", result["parties"]
    close_app(app)


@pytest.fixture
def phones(browser):
    """phone(locale) -> page, each in a context of its own; all closed after the test."""
    made = []

    def make(locale: str = "zh-CN"):
        ctx, page = new_phone(browser, locale=locale)
        made.append((ctx, page))
        return page

    yield make
    for ctx, page in made:
        assert page.errors == [], page.errors  # no script error, no CSP violation
        ctx.close()


def _text(key: str, lang: str, **params) -> str:
    text = MESSAGES[key][LANGS.index(lang)]
    return text.format(**params) if params else text


def _refused(page, path: str, rule: str, lang: str, form: str = "#event-form") -> str:
    """Assert that the rule's message in `lang` shows next to the input of `path`; return the detail."""
    err = field_error(page, path, form)
    err.wait_for()
    assert err.locator(".error-text").inner_text() == _text(f"portal.rule.{rule}", lang)
    detail = err.locator(".error-detail").inner_text()
    assert f"rule {rule}" in detail  # the server's own words, under ours
    return detail


def _client(base: str, keys, name: str) -> Client:
    return Client(base, key=PartyKey.load(keys / f"{name}.key"))


def _ship_to_market(base: str, keys, parties, lot: str) -> None:
    """A certified lot from the cooperative on its way to the market (recorded off the portal)."""
    coop = _client(base, keys, "coop")
    product = {"name_zh": "白萝卜", "name_en": "White radish"}
    coop.record(
        {
            "kind": "harvest",
            "location": {"name": "金洲镇"},
            "outputs": [{"lot": lot, "quantity": "100", "unit": "kg", "product": product}],
            "detail": {"origin": {"name": "7 号地"}},
        }
    )
    certificate = {
        "certificate_no": f"HGZ-{lot}",
        "product_name": "白萝卜",
        "origin": "宁乡市",
        "commitments": ["no_banned_substances"],
        "contact": "0731-1",
    }
    coop.record(
        {
            "kind": "certify",
            "location": {"name": "金洲镇"},
            "inputs": [{"lot": lot, "quantity": "100", "unit": "kg"}],
            "detail": certificate,
        }
    )
    coop.record(
        {
            "kind": "ship",
            "location": {"name": "金洲镇"},
            "inputs": [{"lot": lot, "quantity": "100", "unit": "kg"}],
            "detail": {"destination": parties["market"]},
        }
    )


# --- enrollment and sign-in -----------------------------------------------------------------------


def test_enrollment_makes_a_non_extractable_key_and_waits_for_approval(demo, phones):
    base, _, keys, _ = demo
    page = phones()
    page.goto(f"{base}/portal/enroll?lang=zh")
    page.wait_for_selector("html[data-portal-ready]", state="attached")
    # A typo in the credit code is caught before anything is signed, next to the field, in Chinese.
    page.fill("#f-party_id", "91430100MA4L0777X0")
    page.click("#enroll-form button[type=submit]")
    err = field_error(page, "record.id", "#enroll-form")
    err.wait_for()
    assert "最后一位应为" in err.inner_text()
    assert page.evaluate("FarmtraceSigning.load()") is None  # no key made for a refused form
    page.fill("#f-party_id", "f430124-000777")  # lower case is fixed, not refused
    page.fill("#f-name_zh", "宁乡市金洲镇刘记家庭农场")
    page.check("input[name=roles][value=producer]")
    page.fill("#f-address", "湖南省长沙市宁乡市金洲镇")
    page.fill("#f-contact", "刘建国")
    page.fill("#f-phone", "13800000000")
    page.click("#enroll-form button[type=submit]")
    page.wait_for_selector("#pending:not([hidden])")
    key_id = page.inner_text("#pending .key-id")
    assert "F430124-000777" in page.inner_text("#pending")
    shot(page, "enroll-pending-zh")

    # The key is in IndexedDB, non-extractable, also when loaded again after a reload.
    page.reload()
    kept = page.evaluate(
        """async () => {
            const k = await FarmtraceSigning.load();
            let exported = true;
            try { await crypto.subtle.exportKey("pkcs8", k.privateKey); } catch (e) { exported = false; }
            return {extractable: k.privateKey.extractable, exported, party: k.party, keyId: k.keyId,
                    type: k.privateKey.type, algorithm: k.privateKey.algorithm.name};
        }"""
    )
    assert kept == {
        "extractable": False,
        "exported": False,
        "party": "F430124-000777",
        "keyId": key_id,
        "type": "private",
        "algorithm": "Ed25519",
    }
    # The application holds the public key only; the contact details are committed to, not published.
    regulator = PartyKey.load(keys / "regulator.key")
    (application,) = [
        a
        for a in httpx.get(
            f"{base}/parties/applications", headers={"Authorization": f"FarmTrace {regulator.token()}"}
        ).json()
        if a["party_id"] == "F430124-000777"
    ]
    assert application["key_id"] == key_id
    assert "13800000000" not in str(application["record"])

    # Before approval the sign-in page says so; after it, the page signs in by itself.
    page.goto(f"{base}/portal?lang=zh")
    page.wait_for_selector("#key-status[data-state=pending]")
    assert _text("portal.home.state.pending", "zh") in page.inner_text("#key-status")
    approve_all(base, regulator)
    page.click("#key-status [data-action=recheck]")
    page.wait_for_url("**/portal/lots**")
    assert "刘记家庭农场" in page.inner_text(".pnav")
    assert [a.inner_text() for a in page.locator(".pnav ul a").all()] == [
        "我的批次",
        "召回通知",
        "采收",
        "开合格证",
        "分批/合并/分装",
        "发货",
        "激活标签",
        "导入台账",
    ]
    # Signing out drops the cookie, not the key: one tap signs in again.
    page.click("[data-action=signout]")
    page.wait_for_url("**/portal?lang=zh")
    assert page.context.cookies() == []
    page.click("#key-status [data-action=signin]")
    page.wait_for_url("**/portal/lots**")
    assert page.context.cookies()[0]["name"] == "ft_token"
    assert page.context.cookies()[0]["sameSite"] == "Strict"


def test_a_page_needs_a_session_and_the_role(demo, phones):
    base, _, keys, _ = demo
    page = phones("en-US")
    page.goto(f"{base}/portal/sell?lang=en")
    page.wait_for_url("**/portal?next=*")
    page.wait_for_selector("#key-status[data-state=none]")
    shot(page, "signin-no-key-en")
    sign_in_with_key_file(page, base, keys / "coop.key", lang="en")
    page.goto(f"{base}/portal/sell?lang=en")
    assert "Not available to you" in page.inner_text("main")


# --- every form's refusal, next to its field, in both languages ----------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_refusals_show_next_to_the_field(demo, phones, lang):
    base, _, keys, parties = demo
    locale = "zh-CN" if lang == "zh" else "en-US"
    coop = phones(locale)
    sign_in_with_key_file(coop, base, keys / "coop.key", lang=lang)

    # A lot code already in use; what was typed is all still there.
    open_form(coop, base, "harvest", lang=lang)
    coop.fill("#f-product_name_zh", "宁乡包菜")
    coop.fill("#f-quantity", "1.2345")
    coop.fill("#f-origin_name", "金洲镇 3 号地")
    coop.fill("#f-lot", "NX-BC-1120")
    assert submit(coop) == "refused"  # checked before signing: too many decimals
    assert field_error(coop, "outputs[0].quantity").inner_text() == _text(
        "portal.check.places", lang, places=3
    )
    coop.fill("#f-quantity", "200.50")
    assert submit(coop) == "refused"
    _refused(coop, "outputs[0].lot", "lot_exists", lang)
    assert coop.input_value("#f-product_name_zh") == "宁乡包菜"
    assert coop.input_value("#f-quantity") == "200.5"
    assert coop.input_value("#f-origin_name") == "金洲镇 3 号地"
    shot(coop, f"refused-lot-exists-{lang}")

    # A time in the future: the field is in the folded "time and place" section, which opens.
    later = (datetime.now(CHINA_STANDARD_TIME) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    coop.locator(".more summary").click()
    coop.fill("#f-event_time", later)
    coop.fill("#f-lot", f"H-FUT-{lang}")
    assert submit(coop) == "refused"
    _refused(coop, "event_time", "future", lang)
    coop.fill("#f-event_time", "")

    # Origin exit: a fresh harvest cannot leave without a test or a certificate.
    fresh = f"NX-NEW-{lang}"
    coop.fill("#f-lot", fresh)
    assert submit(coop) == "ok"
    open_form(coop, base, "ship", lang=lang, lot=fresh)
    coop.select_option("#f-destination", parties["market"])
    assert submit(coop) == "refused"
    _refused(coop, "inputs[0].lot", "origin_exit", lang)
    shot(coop, f"refused-origin-exit-{lang}")

    # A failed lot is blocked (story 2): no shipment, and no certificate either.
    open_form(coop, base, "ship", lang=lang, lot="NX-XBC-1120")
    coop.select_option("#f-destination", parties["market"])
    assert submit(coop) == "refused"
    _refused(coop, "inputs[0].lot", "blocked", lang)
    open_form(coop, base, "certify", lang=lang, lot="NX-XBC-1120")
    coop.fill("#f-contact", "0731-1")
    assert submit(coop) == "refused"
    _refused(coop, "inputs[0].lot", "blocked", lang)

    # A test room cannot test more than the lot holds.
    lab = phones(locale)
    sign_in_with_key_file(lab, base, keys / "lab.key", lang=lang)
    open_form(lab, base, "inspect", lang=lang, lot="NX-LB-1121")
    lab.fill("#f-quantity", "600")
    lab.fill("#f-value", "12")
    lab.check("input[name=result][value=pass]")
    assert submit(lab) == "refused"
    _refused(lab, "inputs[0].quantity", "quantity", lang)
    lab.check("input[name=result][value=fail]")
    assert submit(lab) == "refused"  # checked here: 12 is within the limit of 50
    assert field_error(lab, "detail.result").inner_text() == _text("portal.check.fail_under_limit", lang)

    market = phones(locale)
    sign_in_with_key_file(market, base, keys / "market.key", lang=lang)

    # Fraud by quantity (story 5): 800 kg out of a 500 kg lot.
    open_form(market, base, "sell", lang=lang, lot="NX-LB-1121")
    market.fill("#f-quantity-0", "800")
    market.fill("#f-price", "1.6")
    market.check("input[name=price_stage][value=wholesale]")
    assert submit(market) == "refused"
    _refused(market, "inputs[0].quantity", "mass_balance", lang)
    shot(market, f"refused-mass-balance-{lang}")

    # A split that yields more than went in.
    open_form(market, base, "transform", lang=lang, lot="NX-LB-1121")
    market.fill("input[name=helper_n]", "6")
    market.fill("input[name=helper_q]", "100")
    market.fill("input[name=helper_prefix]", f"LB-{lang}-")
    market.click("[data-action=fill-outputs]")
    assert market.locator(".balance.over").count() == 1
    assert submit(market) == "refused"
    _refused(market, "outputs", "mass_balance", lang)

    # Custody: the lot was shipped away (from another device) while this form was open. The page
    # first meets the moved head (rule follows), signs again on the new head, then shows custody.
    away = "MWD-BC-40" if lang == "zh" else "MWD-BC-41"
    open_form(market, base, "sell", lang=lang, lot=away)
    market.fill("#f-quantity-0", "10")
    market.fill("#f-price", "2.5")
    _client(base, keys, "market").record(
        {
            "kind": "ship",
            "location": {"name": "马王堆"},
            "inputs": [{"lot": away, "quantity": "10", "unit": "kg"}],
            "detail": {"destination": parties["shop"]},
        }
    )
    assert submit(market) == "refused"
    _refused(market, "inputs[0].lot", "custody", lang)

    # Market entry: accepting goods needs a certificate or a test record.
    _ship_to_market(base, keys, parties, f"NX-RAD-{lang}")
    open_form(market, base, "receive", lang=lang)
    form = f"form.receive:has-text('NX-RAD-{lang}')"
    assert submit(market, form) == "refused"
    _refused(market, "detail.entry_check", "market_entry", lang, form)
    shot(market, f"refused-market-entry-{lang}")
    market.fill(f"{form} input[name=certificate_no]", f"HGZ-NX-RAD-{lang}")
    assert submit(market, form) == "ok"


# --- my lots, certificates, labels ----------------------------------------------------------------


def test_my_lots_shows_status_and_chain(demo, phones):
    base, _, keys, parties = demo
    shop = phones()
    sign_in_with_key_file(shop, base, keys / "shop.key")
    recalled = shop.locator("#holdings article[data-status=recalled]")
    assert recalled.count() >= 1
    assert "已召回" in recalled.first.inner_text()
    passed = shop.locator("#holdings article.group[data-status=passed]").first
    assert "XF-BAG-0002" in passed.inner_text()
    shot(shop, "lots-shop-zh")

    coop = phones("en-US")
    sign_in_with_key_file(coop, base, keys / "coop.key", lang="en")
    _ship_to_market(base, keys, parties, "NX-TRANSIT")
    coop.reload()
    failed = coop.locator("#holdings article[data-lot=NX-XBC-1120]")
    assert failed.get_attribute("data-status") == "failed"
    assert "Failed test" in failed.inner_text()
    assert coop.locator("#sent article[data-lot=NX-TRANSIT][data-status=transit]").count() == 1
    assert coop.locator("#sent article[data-lot=NX-BC-1120][data-status=delivered]").count() == 1
    # Each lot links to its chain: the consumer's page.
    coop.locator("#holdings article[data-lot=NX-XBC-1120] a", has_text="See its chain").click()
    coop.wait_for_url("**/l/NX-XBC-1120?lang=en")
    shot(coop, "lots-chain-failed-en")

    market = phones()
    sign_in_with_key_file(market, base, keys / "market.key")
    assert market.locator("#incoming").count() == 1  # NX-TRANSIT waits for the market
    shot(market, "lots-market-zh")


def test_certificate_prints_with_a_qr_that_scans(demo, phones):
    import zxingcpp
    from PIL import Image

    base, app, _, _ = demo
    service = app.state.service
    certify = next(
        e.id
        for e in service.lot_summary("ZJ-LJ-1119").events
        if service.signed_event(e.id)[0].event.kind == "certify"
    )
    page = phones("en-US")
    page.goto(f"{base}/portal/certificate/{certify}?lang=en")
    text = page.inner_text("#certificate")
    for words in ("HGZ-430124-", "-004", "宁乡朝天椒", "200 kg", "宁乡市双江口镇张记家庭农场"):
        assert words in text
    assert "recalled" in page.inner_text("main")  # the chillies were recalled: the certificate says so
    (code,) = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(page.locator(".cert-qr svg").screenshot())).convert("L")
    )
    assert code.text == f"{base}/l/ZJ-LJ-1119"
    shot(page, "certificate-en")
    page.emulate_media(media="print")
    assert not page.locator(".pnav").is_visible() and not page.locator("[data-action=print]").is_visible()
    assert page.goto(f"{base}/portal/certificate/{'0' * 64}").status == 404


def test_labels_page_links_png_svg_and_the_pdf_sheet(demo, phones):
    base, _, keys, _ = demo
    page = phones()
    sign_in_with_key_file(page, base, keys / "shop.key")
    page.goto(f"{base}/portal/labels/MWD-BC-01?lang=zh")
    page.wait_for_function("document.querySelector('.label-preview').naturalWidth > 0")
    assert "10" in page.inner_text("main")  # ten bags were repacked from this crate: one sheet
    for kind, media in (("png", "image/png"), ("svg", "image/svg+xml"), ("pdf-link", "application/pdf")):
        r = httpx.get(base + page.get_attribute(f"[data-kind={kind}]", "href"), timeout=60)
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), kind
    with page.expect_response(lambda r: "labels.pdf" in r.url) as pdf:
        page.fill("input[name=copies]", "2")
        page.click("[data-kind=pdf]")
    assert pdf.value.status == 200 and "copies=2" in pdf.value.url
    page.goto(f"{base}/portal/labels/XF-BAG-0003?lang=zh")
    shot(page, "labels-zh")


def test_merge_then_sell_at_a_price(demo, phones):
    base, app, keys, _ = demo
    page = phones("en-US")
    sign_in_with_key_file(page, base, keys / "market.key", lang="en")
    open_form(page, base, "transform", lang="en", lot="MWD-BC-02")
    page.check("input[name=type][value=merge]")
    page.click("[data-action=add-row][data-rows=inputs]")
    page.select_option("#f-lot-1", "MWD-BC-03")
    assert page.input_value("#f-quantity-1") == "10"
    page.fill("[data-rows=outputs] input[name=out_lot]", "MWD-MIX-01")
    page.fill("[data-rows=outputs] input[name=out_quantity]", "19.5")
    assert submit(page) == "ok"
    lot = app.state.service.lot_summary("MWD-MIX-01")
    assert sorted(lot.parents) == ["MWD-BC-02", "MWD-BC-03"] and lot.quantity == "19.5"
    open_form(page, base, "sell", lang="en", lot="MWD-MIX-01")
    page.fill("#f-quantity-0", "5")
    page.fill("#f-price", "2.80")
    page.check("input[name=price_stage][value=wholesale]")
    assert submit(page) == "ok"
    assert page.input_value("#f-price") == "2.8"
    assert dict(app.state.service.lot_summary("MWD-MIX-01").holders) == {lot.created_by: "14.5"}
    shot(page, "sell-ok-en")


# --- a lost device ------------------------------------------------------------------------------------


def test_lost_device_new_key_replaces_the_revoked_one(demo, phones):
    base, app, keys, parties = demo
    stall = parties["stall"]
    old = PartyKey.load(keys / "stall.key")
    page = phones()  # the new phone: no key yet
    page.goto(f"{base}/portal/key?lang=zh")
    page.wait_for_selector("html[data-portal-ready]", state="attached")
    page.fill("#f-party_id", stall)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#pending:not([hidden])")
    assert old.key_id in page.inner_text("#pending .old-key-ids")  # the key the regulator must revoke
    new_key = page.inner_text("#pending .key-id")
    shot(page, "key-pending-zh")

    approve_all(base, PartyKey.load(keys / "regulator.key"), revoke={stall: old.key_id})
    page.click("#pending [data-action=recheck]")
    page.wait_for_url("**/portal/lots**")
    keys_now = {k.key_id: k.revoked_at for k in app.state.service.party(stall).keys}
    assert keys_now[new_key] is None and keys_now[old.key_id] is not None

    # The lost phone, still holding the old key, can record nothing more.
    lost = phones("en-US")
    lost.goto(f"{base}/portal?lang=en")
    lost.locator("#no-key summary").first.click()
    lost.set_input_files("#f-keyfile", str(keys / "stall.key"))
    lost.wait_for_selector("#key-status[data-state=revoked]")
    assert "revoked" in lost.inner_text("#key-status")
    # The new phone sells from the stall's stock.
    open_form(page, base, "sell", lot="MWD-LJ-02")
    assert page.locator("#f-lot-0 option:checked").inner_text().endswith("已召回")
    page.fill("#f-quantity-0", "1")
    page.fill("#f-price", "14")
    assert submit(page) == "refused"
    _refused(page, "inputs[0].lot", "blocked", "zh")  # signed with the new key; refused for the recall
