"""Wording: every page of the demo speaks one language, names parties and products in it, and says
what happened to the lot it is about (issue 14, item 3).

The language scans read what a person sees (text and the title, aria-label, placeholder and alt
attributes), not scripts or styles, and leave alone what is not words of a language: codes and ids
(lot codes, GTINs, party codes, key ids, hashes), numbers and units, text inside an element marked
as another language (`lang`, e.g. the language switch) or as code (class "code": rule codes, the
rules' raw messages kept as evidence). On an English page, Chinese may remain only in what parties
recorded with no English counterpart: addresses, field names, test methods, a recall's reason, a
person's name (the demo's own data, listed below).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.demo import CONTACTS, PARTIES, RECALL_REASON, TEST_PASS
from farmtrace.client import PartyKey
from farmtrace.trace.model.details import STANDARD_RECALL_INSTRUCTIONS

from .consumer_support import (
    PHONE,
    chromium,
    close_app,
    demo_app,
    free_port,
    live_server,
    screenshot,
)

CONSUMER = [
    "/l/XF-BAG-0001",
    "/l/NX-BC-1120",
    "/l/ZJ-LJ-1119",
    "/l/MWD-LJ-01",
    "/l/MWD-LJ-02",
    "/l/XF-LJ-001",
    "/l/NX-XBC-1120",
    "/l/NX-LB-1121",
    "/l/NO-SUCH-LOT",
]
CONSOLE = [
    "/console",
    "/console/parties",
    "/console/lots",
    "/console/lots/NX-BC-1120",
    "/console/lots/ZJ-LJ-1119",
    "/console/anomalies",
    "/console/prices",
    "/console/prices?product=宁乡朝天椒",
    "/console/exports",
    "/console/signin",
]
PORTAL = ["/portal", "/portal/lots", "/portal/labels/XF-BAG-0001", "/portal/ship", "/portal/sell"]

# Chinese the demo's parties recorded with no English counterpart (see the module docstring).
ZH_DATA = (
    *(p[4] for p in PARTIES.values()),
    "金洲镇 3 号蔬菜基地",
    "金洲镇 5 号蔬菜基地",
    "金洲镇 7 号蔬菜基地",
    "双江口镇张家冲",
    "湖南省长沙市宁乡市",
    TEST_PASS["analyte"],
    TEST_PASS["method"],
    TEST_PASS["unit"],
    "京丰一号",
    "蔬菜",
    RECALL_REASON,
    *CONTACTS.values(),
)
# Words that are names of things, the same in every language.
NAMES = {"JavaScript", "Schema", "farmtrace", "init", ".key", "kg", "g", "t", "jin", "mm"}
_TOKEN = re.compile(r"\.?[A-Za-z][A-Za-z0-9_+/.'’-]*")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff01-\uff60]+")


class _Visible(HTMLParser):
    """(text, the element's language, inside code?) for each piece of visible text and labelling attribute."""

    VOID: ClassVar = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "wbr",
    }

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str, bool]] = [("", lang, False)]
        self.hidden = 0
        self.found: list[tuple[str, str, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        _, lang, code = self.stack[-1]
        lang = a.get("lang") or lang
        code = code or tag in ("code", "kbd", "samp", "pre") or "code" in (a.get("class") or "").split()
        for name in ("title", "aria-label", "placeholder", "alt"):
            if a.get(name):
                self.found.append((a[name], lang, code))
        if tag in ("script", "style"):
            self.hidden += 1
        if tag not in self.VOID:
            self.stack.append((tag, lang, code))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self.hidden and data.strip():
            _, lang, code = self.stack[-1]
            self.found.append((" ".join(data.split()), lang, code))


def _texts(page: str, lang: str):
    parser = _Visible(lang)
    parser.feed(page)
    return [(text, code) for text, element_lang, code in parser.found if element_lang == lang]


def english_words(page: str) -> list[str]:
    """Texts of a Chinese page that carry English words (not codes, numbers, units or names)."""
    bad = []
    for text, code in _texts(page, "zh-CN"):
        if code:
            continue
        words = [
            w
            for w in _TOKEN.findall(text)
            if not re.search(r"[0-9]", w) and not w.isupper() and w not in NAMES
        ]
        if words:
            bad.append(text)
    return bad


def chinese_words(page: str) -> list[str]:
    """Texts of an English page with Chinese that is not data the parties recorded only in Chinese."""
    bad = []
    for text, code in _texts(page, "en"):
        if code:
            continue
        if any(not any(run in data for data in ZH_DATA) for run in _CJK.findall(text)):
            bad.append(text)
    return bad


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wording")
    app, demo = demo_app(tmp)
    keys = {name: PartyKey.load(tmp / "keys" / f"{name}.key") for name in demo["parties"]}
    with TestClient(app) as client:
        yield client, app, keys
    close_app(app)


def _get(client, path: str, lang: str, key: PartyKey | None = None) -> str:
    sep = "&" if "?" in path else "?"
    cookies = {"cookie": f"ft_token={key.token()}"} if key else {}
    r = client.get(f"{path}{sep}lang={lang}", headers=cookies)
    assert r.status_code in (200, 404), (path, r.status_code)
    assert r.headers["content-type"].startswith("text/html"), path
    return r.text


def _pages(site, lang: str):
    client, _, keys = site
    for path in CONSUMER:
        yield path, _get(client, path, lang)
    for path in CONSOLE:
        yield path, _get(client, path, lang, keys["regulator"])
    for path in PORTAL:
        yield path, _get(client, path, lang, keys["shop"])


# --- the scanners themselves ----------------------------------------------------------------------------


def test_the_scanners_flag_mixed_text_and_leave_codes_alone():
    zh = (
        '<html lang="zh-CN"><p>批次 XF-BAG-0001，GTIN 06901234567892，10 kg，91430100MA4L0003YF</p>'
        '<span class="code">mass_balance</span><a lang="en" aria-label="Switch to English">English</a>'
        "<p>contact: 张三</p><p>phone: 0731</p><script>var x = 'hello'</script>"
    )
    assert english_words(zh) == ["contact: 张三", "phone: 0731"]
    en = (
        '<html lang="en"><p>Lot XF-BAG-0001 · 10 kg</p><p>Address: 湖南省长沙市宁乡市金洲镇</p>'
        '<a lang="zh-CN">中文</a><p>Held by 长沙马王堆蔬菜批发市场 10 kg</p><p title="宁乡包菜">x</p>'
    )
    assert chinese_words(en) == ["Held by 长沙马王堆蔬菜批发市场 10 kg", "宁乡包菜"]


# --- every page of the demo, in each language ------------------------------------------------------------


def test_chinese_pages_have_no_english_words(site):
    found = {path: bad for path, page in _pages(site, "zh") if (bad := english_words(page))}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


def test_english_pages_have_no_chinese_but_the_parties_own_data(site):
    found = {path: bad for path, page in _pages(site, "en") if (bad := chinese_words(page))}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


# --- what the pages say ----------------------------------------------------------------------------------


def test_a_recalled_lot_that_was_split_says_it_is_recalled_itself_and_where_it_went(site):
    client = site[0]
    zh = _get(client, "/l/ZJ-LJ-1119", "zh")
    assert "本批次 ZJ-LJ-1119 已于" in zh and "本产品的来源批次" not in zh
    assert "本品来自其中的" not in zh
    assert "分成 4 批：MWD-LJ-01、MWD-LJ-02、MWD-LJ-03、MWD-LJ-04" in zh
    assert "由本批次制成的批次：MWD-LJ-01、MWD-LJ-02、MWD-LJ-03、MWD-LJ-04" in zh
    en = _get(client, "/l/ZJ-LJ-1119", "en")
    assert "This lot (ZJ-LJ-1119) was recalled" in en and "this product comes from" not in en
    assert "Lots made from it: MWD-LJ-01, MWD-LJ-02, MWD-LJ-03, MWD-LJ-04" in en
    # A lot repacked into 100 packs names the first few and how many in all.
    shop_lot = _get(client, "/l/MWD-LJ-01", "en")
    assert "this product is XF-LJ-001" not in shop_lot
    assert (
        "Repacked into 100 packs: XF-LJ-001, XF-LJ-002, XF-LJ-003, XF-LJ-004, XF-LJ-005 and more" in shop_lot
    )


def test_a_lot_made_from_a_recalled_one_names_the_ancestor(site):
    client = site[0]
    zh = _get(client, "/l/XF-LJ-001", "zh")
    assert "本产品的来源批次 ZJ-LJ-1119 已于" in zh and "本品来自其中的 MWD-LJ-01" in zh
    assert "由本批次制成的批次" not in zh


def test_the_standard_recall_instructions_are_shown_in_the_readers_language(site):
    client = site[0]
    assert STANDARD_RECALL_INSTRUCTIONS[1] in _get(client, "/l/MWD-LJ-02", "en")
    assert STANDARD_RECALL_INSTRUCTIONS[0] in _get(client, "/l/MWD-LJ-02", "zh")


def test_a_shipment_of_the_pages_lot_to_a_buyer_that_has_not_sold_it_names_no_buyer(site):
    """A shipment recorded alone (as `farmtrace event` does): the buyer signed nothing on the lot, and
    has not sold it, so the shipment is not on the path to this page's lot (docs/visibility.md)."""
    client, app, keys = site
    service = app.state.service
    head = service.lot_summary("MWD-BC-02").head
    wire = {
        "kind": "ship",
        "event_time": service.clock().isoformat(timespec="seconds"),
        "location": {"name": PARTIES["market"][1]},
        "inputs": [{"lot": "MWD-BC-02", "quantity": "10", "unit": "kg", "follows": [head]}],
        "outputs": [],
        "detail": {"destination": PARTIES["stall"][0]},
    }
    service.record(keys["market"].sign(wire))
    zh, en = _get(client, "/l/MWD-BC-02", "zh"), _get(client, "/l/MWD-BC-02", "en")
    assert "发往其他买方，10 kg" in zh and "10 kg to another buyer" in en
    assert PARTIES["stall"][1] not in zh and PARTIES["stall"][2].replace("'", "&#39;") not in en
    assert PARTIES["stall"][0] not in zh.split('id="ft-config"')[0]


def test_the_console_names_parties_and_products_in_english(site):
    client, _, keys = site
    page = _get(client, "/console/lots/ZJ-LJ-1119", "en", keys["regulator"])
    assert "Changsha Mawangdui Vegetable Wholesale Market" in page and "Ningxiang bird" in page
    assert "长沙马王堆蔬菜批发市场" not in page and "宁乡朝天椒" not in page
    prices = _get(client, "/console/prices", "en", keys["regulator"])
    assert ">Ningxiang cabbage</option>" in prices and 'value="宁乡包菜"' in prices


def test_anomalies_are_explained_in_the_readers_language_with_the_raw_message_kept(site):
    client, _, keys = site
    zh = _get(client, "/console/anomalies", "zh", keys["regulator"])
    assert "出货或销售的数量超过了提交方持有的数量。" in zh
    assert "系统原文" in zh and "cannot sell 800 kg of lot NX-LB-1121" in zh
    en = _get(client, "/console/anomalies", "en", keys["regulator"])
    assert "More was shipped or sold than the submitting party holds." in en


def test_contact_details_are_labelled_in_the_readers_language(site):
    client, _, keys = site
    zh = _get(client, "/console/parties", "zh", keys["regulator"])
    assert f"联系人：{CONTACTS['market']}" in zh and "电话：0731-8888" in zh
    assert "contact:" not in zh and "phone:" not in zh
    en = _get(client, "/console/parties", "en", keys["regulator"])
    assert f"Contact: {CONTACTS['market']}" in en and "Phone: 0731-8888" in en


# --- price labels in a browser -------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_price_and_fact_labels_never_break_inside_a_word(tmp_path, width, lang):
    port = free_port()
    app, _ = demo_app(tmp_path, port=port)
    try:
        with live_server(app, port) as url, chromium() as browser:
            context = browser.new_context(
                **{**PHONE, "viewport": {"width": width, "height": 900}}
                if width == 360
                else {"viewport": {"width": width, "height": 900}}
            )
            page = context.new_page()
            page.goto(f"{url}/l/XF-BAG-0001?lang={lang}")
            lines = page.evaluate(
                """() => [...document.querySelectorAll('.price-stage, .facts dt')].map(el => {
                    const range = document.createRange();
                    range.selectNodeContents(el);
                    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                    return [el.textContent, tops.size];
                })"""
            )
            screenshot(page, f"wording-prices-{lang}-{width}")
            context.close()
    finally:
        close_app(app)
    labels = {text for text, _ in lines}
    assert (
        {"Farm-gate", "Wholesale", "Retail"} <= labels
        if lang == "en"
        else {"产地价", "批发价", "零售价"} <= labels
    )
    assert [(text, n) for text, n in lines if n != 1] == []
