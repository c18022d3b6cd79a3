"""The public home page over HTTP (no browser): content in both languages, the lot search's three
answers, recalls and prices from the demo ledger, escaping, headers, and an empty ledger."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME

from .consumer_support import (
    INJECTED,
    INJECTED_LOT,
    LOG_SIGNER,
    add_injected_lot,
    close_app,
    demo_app,
    edit_entry,
)

RECALLED = "ZJ-LJ-1119"  # api/demo.py, story 3: 宁乡朝天椒, recalled by the city regulator


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("home")
    app, _ = demo_app(tmp)
    with TestClient(app) as client:
        yield client, app, tmp


@pytest.fixture
def client(site):
    return site[0]


def _html(r) -> str:
    assert r.headers["content-type"] == "text/html; charset=utf-8", r.text[:200]
    return r.text


def _section(page: str, css_class: str) -> str:
    m = re.search(rf'<(section|nav|footer) class="card {css_class}".*?</\1>', page, re.DOTALL)
    assert m, f"no {css_class} section"
    return m.group(0)


# --- the page ------------------------------------------------------------------------------------------


def test_home_is_a_page_in_chinese_by_default(client):
    r = client.get("/")
    assert r.status_code == 200
    page = _html(r)
    assert '<html lang="zh-CN">' in page and r.headers["content-language"] == "zh-CN"
    assert '<h1 id="home-title">农产品质量安全追溯平台</h1>' in page
    assert "从农田到餐桌" in page
    for heading in ("查询产品来历", "近期召回", "公开价格", "它是怎么做到可信的", "入口", "账本"):
        assert f">{heading}</h2>" in page
    # The switch to English keeps the reader on the home page.
    assert 'href="/?lang=en"' in page and ">English</a>" in page


def test_home_in_english_by_accept_language_and_by_switch(client):
    by_header = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})
    by_switch = client.get("/?lang=en", headers={"accept-language": "zh-CN"})
    for r in (by_header, by_switch):
        page = _html(r)
        assert r.status_code == 200 and '<html lang="en">' in page
        assert "Farm-to-table traceability platform" in page and "From field to table" in page
        for heading in ("Find a product", "Recent recalls", "Public prices", "Why you can trust it"):
            assert f">{heading}</h2>" in page
        assert "近期召回" not in page
    assert 'href="/?lang=zh"' in by_switch.text and ">中文</a>" in by_switch.text


def test_the_search_form_goes_to_search_in_the_page_language(client):
    form = _section(_html(client.get("/?lang=en")), "home-search")
    assert '<form class="lookup" method="get" action="/search"' in form
    assert 'name="lot"' in form and '<input type="hidden" name="lang" value="en">' in form


def test_recent_recalls_show_lot_product_reason_date_and_link(client):
    zh = _section(_html(client.get("/")), "recalls")
    assert "宁乡朝天椒" in zh and f"批次 {RECALLED}" in zh
    assert "原因：市级抽检检出禁用农药甲拌磷超标" in zh
    assert f'href="/l/{RECALLED}?lang=zh"' in zh
    date = re.search(r'<time datetime="(\d{4}-\d\d-\d\d)">(.*?)</time>', zh)
    assert date and date.group(2) == f"{date.group(1)} 由长沙市市场监督管理局召回"
    assert "12315" in zh
    en = _section(_html(client.get("/?lang=en")), "recalls")
    assert "Ningxiang bird&#39;s-eye chilli" in en and f"Lot {RECALLED}" in en
    assert "by Changsha Market Supervision Administration" in en
    assert f'href="/l/{RECALLED}?lang=en"' in en


def test_public_prices_show_the_latest_price_at_each_stage(site):
    client, app, _ = site
    zh = _section(_html(client.get("/")), "home-prices")
    rows = dict(re.findall(r'<tr data-product="([^"]+)">(.*?)</tr>', zh, re.DOTALL))
    assert 1 <= len(rows) <= 4
    # The demo's cabbage: harvested at 1.20 yuan per kg and sold on by the market at 2.00.
    cabbage = rows["宁乡包菜"]
    stages = dict(re.findall(r'data-stage="(\w+)">([^<]+)<', cabbage))
    assert stages["production"] == "1.20 元/kg" and stages["wholesale"] == "2.00 元/kg"
    assert re.search(r'class="small day">最近记录日 \d{4}-\d\d-\d\d<', zh)
    # A stage with no price says so to a screen reader too.
    assert '<span class="sr-only">无记录</span>' in zh
    # A chart only when the prices span more than one day (one day's points make no trend). The demo's
    # stories take about half a day from a start that follows the clock, so at some hours they run
    # past midnight (China Standard Time) and the prices fall on two days.
    days: dict[str, set[str]] = {}
    for row in app.state.service.prices():
        days.setdefault(row.product, set()).add(row.day)
    assert ("price-chart" in zh) == any(len(d) > 1 for d in days.values()), days
    en = _section(_html(client.get("/?lang=en")), "home-prices")
    assert "¥1.20 per kg" in en and "Farm-gate" in en and "Wholesale" in en and "Retail" in en
    assert "Latest day" in en and '<span class="sr-only">none recorded</span>' in en


def add_price_history(app, key_dir, *, product: str, prices: dict[int, str]) -> None:
    """Register a farm (signed by the demo's regulator) that harvested `product` at these prices
    (yuan per jin) this many days ago: one lot each, every event genuine."""
    service = app.state.service
    regulator = PartyKey.load(key_dir / "regulator.key")
    farm = PartyKey.generate("F430124-000777")
    now = service.clock().astimezone(CHINA_STANDARD_TIME).replace(microsecond=0)
    oldest = max(prices)

    def record(key, at, wire):
        service.record(key.sign({"inputs": [], "outputs": [], **wire, "event_time": at.isoformat()}))

    party = {
        "id": farm.party,
        "id_type": "farmer_reg",
        "name_zh": "宁乡市历史价格家庭农场",
        "roles": ["producer"],
        "address": "湖南省长沙市宁乡市",
        "keys": [farm.public_record_key()],
        "contact_commitment": hashlib.sha256(b"kept off the ledger").hexdigest(),
    }
    at = now - timedelta(days=oldest, hours=1)
    record(
        regulator,
        at,
        {"kind": "party.register", "location": {"name": "登记窗口"}, "detail": {"party": party}},
    )
    for n, (days_ago, price) in enumerate(sorted(prices.items(), reverse=True)):
        record(
            farm,
            now - timedelta(days=days_ago),
            {
                "kind": "harvest",
                "location": {"name": "历史地块"},
                "outputs": [
                    {"lot": f"HIST-{n:03d}", "quantity": "100", "unit": "kg", "product": {"name_zh": product}}
                ],
                "price": {"amount": price, "currency": "CNY", "unit": "jin", "stage": "production"},
                "detail": {"origin": {"name": "历史地块"}},
            },
        )


def test_the_chart_draws_the_product_with_prices_on_the_most_days(tmp_path):
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )
    app = create_app(settings)
    try:
        # The demo's stories end 35 days ago: their prices are outside the 30-day window.
        run_demo(app.state.service, tmp_path / "keys", now=app.state.service.clock() - timedelta(days=35))
        # Farm-gate cabbage on three days of the last three weeks, per jin (1.00 to 1.20 yuan per kg).
        add_price_history(
            app, tmp_path / "keys", product="宁乡包菜", prices={20: "0.5", 10: "0.55", 5: "0.6"}
        )
        with TestClient(app) as client:
            zh = _section(_html(client.get("/")), "home-prices")
            en = _section(_html(client.get("/?lang=en")), "home-prices")
    finally:
        close_app(app)
    rows = dict(re.findall(r'<tr data-product="([^"]+)">(.*?)</tr>', zh, re.DOTALL))
    assert list(rows) == ["宁乡包菜"]  # the demo's other products were priced before the window
    assert dict(re.findall(r'data-stage="(\w+)">([^<]+)<', rows["宁乡包菜"])) == {"production": "1.20 元/kg"}
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="price-chart"' in zh
    assert "<title>宁乡包菜：各环节价格走势</title>" in zh and ">元/kg</text>" in zh
    assert '<figcaption id="chart-title">宁乡包菜：各环节价格走势</figcaption>' in zh
    assert "<title>宁乡包菜: prices by stage</title>" in en and ">CNY per kg</text>" in en
    farm_gate = re.search(r'<g class="series" data-stage="production">.*?</g>', zh, re.DOTALL).group(0)
    (points,) = re.findall(r'<polyline points="([^"]+)"', farm_gate)
    assert len(points.split()) == 3  # one point a day


def test_links_to_portal_console_docs_and_the_ledger(client):
    page = _html(client.get("/?lang=en"))
    links = _section(page, "links")
    for href in ('href="/portal?lang=en"', 'href="/console?lang=en"', 'href="/docs"'):
        assert href in links
    ledger = _section(page, "foot ledger")
    assert 'href="/ledger/checkpoint"' in ledger and 'href="/ledger/key"' in ledger
    size = client.app.state.log.size
    assert f"The ledger now holds {size} entries" in ledger
    assert LOG_SIGNER.verifier.key_string() in ledger
    # Each link lands on a page that exists.
    for href in ("/portal?lang=en", "/console?lang=en", "/docs", "/ledger/checkpoint", "/ledger/key"):
        assert client.get(href).status_code in (200, 403), href  # the console is for regulators


def test_nothing_is_loaded_from_another_server_and_no_script_runs(client):
    r = client.get("/")
    page = _html(r)
    loaded = re.findall(r'<(?:link|script|img|iframe)[^>]*(?:src|href)="([^"]+)"', page)
    assert loaded and all(u.startswith("/") or u.startswith("data:") for u in loaded), loaded
    assert "<script" not in page and " style=" not in page
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "http" not in csp
    assert r.headers["cache-control"] == "no-cache"  # a recall must show at once
    assert r.headers["x-content-type-options"] == "nosniff"
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/home\.css\?v=\w+)">', page)
    assert stylesheet and client.get(stylesheet.group(1)).status_code == 200


# --- the lot search ----------------------------------------------------------------------------------


def test_search_for_a_known_lot_goes_to_its_page(client):
    r = client.get("/search", params={"lot": "XF-BAG-0001", "lang": "en"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/l/XF-BAG-0001?lang=en"
    # A pasted code with spaces around it is still found; the landing page is the lot's.
    r = client.get("/search", params={"lot": "  XF-BAG-0001 "}, follow_redirects=True)
    assert r.status_code == 200 and str(r.url).endswith("/l/XF-BAG-0001?lang=zh")
    assert '<dd class="code">XF-BAG-0001</dd>' in r.text  # the lot's consumer page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_search_for_an_unknown_lot_is_a_helpful_404(client, lang):
    r = client.get("/search", params={"lot": "NX-BC-9999", "lang": lang})
    assert r.status_code == 404
    page = _html(r)
    if lang == "zh":
        assert "没有找到这个批次" in page and "账本中没有批次号为「NX-BC-9999」的产品。" in page
        assert "返回首页" in page
    else:
        assert "No such lot" in page and "The ledger has no product with lot code “NX-BC-9999”." in page
        assert "Back to the home page" in page
    # The form again, with the code filled in for correcting, and the switch keeps the search.
    assert 'value="NX-BC-9999"' in page and 'action="/search"' in page
    other = "en" if lang == "zh" else "zh"
    assert f'href="/search?lot=NX-BC-9999&amp;lang={other}"' in page
    assert "近期召回" not in page and "Recent recalls" not in page


@pytest.mark.parametrize(
    ("lot", "zh", "en"),
    [
        ("", "请输入批次号。", "Please type a lot code."),
        ("   ", "请输入批次号。", "Please type a lot code."),
        (
            "X" * 21,
            "批次号最多 20 个字符，您输入了 21 个。",
            "A lot code has at most 20 characters; this one has 21.",
        ),
        ("XF BAG#1", "不能包含：空格 #", "not: spaces #"),
        ("宁乡-01", "不能包含：宁 乡", "not: 宁 乡"),
    ],
)
def test_search_for_what_cannot_be_a_lot_code_is_a_400_with_the_reason(client, lot, zh, en):
    r_zh = client.get("/search", params={"lot": lot})
    r_en = client.get("/search", params={"lot": lot, "lang": "en"})
    assert r_zh.status_code == r_en.status_code == 400
    assert "批次号格式不正确" in _html(r_zh) and zh in r_zh.text
    assert "That is not a lot code" in _html(r_en) and en in r_en.text
    assert 'aria-describedby="search-message"' in r_zh.text


def test_search_echoes_the_code_escaped(client):
    r = client.get("/search", params={"lot": '"><script>alert(1)</script>'})
    assert r.status_code == 400
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text


# --- recalls and prices made by a party's own texts, and an empty ledger ------------------------------


def test_a_recall_and_price_with_injected_texts_are_shown_escaped(tmp_path):
    app, _ = demo_app(tmp_path)
    try:
        add_injected_lot(app, tmp_path / "keys")
        with TestClient(app) as client:
            page = _html(client.get("/"))
        recalls = _section(page, "recalls")
        # Newest first: the injected lot's recall, then the demo's.
        assert recalls.index(INJECTED_LOT) < recalls.index(RECALLED)
        assert "<img src=x" not in page and "<svg onload" not in page and "<script>window" not in page
        assert "&lt;img src=x onerror=window.__pwned=5&gt; 农残超标" in recalls
        assert "&#34;&gt;&lt;svg onload=window.__pwned=3&gt;" in recalls  # the lot's product name
        assert INJECTED["reason"] not in page
    finally:
        close_app(app)


def test_home_on_an_empty_ledger(tmp_path):
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
    )
    with TestClient(create_app(settings)) as client:
        zh = client.get("/")
        en = client.get("/?lang=en")
    assert zh.status_code == en.status_code == 200
    assert "近 90 天没有召回。" in zh.text and "近 30 天没有价格记录。" in zh.text
    assert "账本还没有记录。" in zh.text
    assert (
        "No recalls in the last 90 days." in en.text
        and "No prices were recorded in the last 30 days." in en.text
    )
    assert "price-chart" not in zh.text


# --- TraceService.recent_recalls: what the recalls section reads ---------------------------------------


def test_recent_recalls_read_the_signed_recall_events(site):
    _, app, _ = site
    service = app.state.service
    (notice,) = service.recent_recalls()
    assert notice.lot == RECALLED
    assert notice.product["name_zh"] == "宁乡朝天椒"
    assert notice.regulator_names["name_en"] == "Changsha Market Supervision Administration"
    # Reason, instructions, time and party are the signed event's own.
    signed, index = service.signed_event(notice.event_id)
    assert index == notice.index and signed.event.kind == "recall"
    assert notice.reason == signed.event.detail.reason and "甲拌磷" in notice.reason
    assert notice.instructions == signed.event.detail.instructions
    assert notice.event_time == signed.event.event_time and notice.regulator == signed.event.party


def test_recent_recalls_newest_first_limited_and_bounded_by_time(tmp_path):
    app, _ = demo_app(tmp_path)
    try:
        add_injected_lot(app, tmp_path / "keys")
        service = app.state.service
        now = service.clock()
        assert [n.lot for n in service.recent_recalls()] == [INJECTED_LOT, RECALLED]
        assert [n.lot for n in service.recent_recalls(limit=1)] == [INJECTED_LOT]
        assert [n.lot for n in service.recent_recalls(since=now - timedelta(days=30))] == [
            INJECTED_LOT,
            RECALLED,
        ]
        assert service.recent_recalls(since=now + timedelta(minutes=1)) == []
        with pytest.raises(ValueError, match="limit must be at least 1"):
            service.recent_recalls(limit=0)
    finally:
        close_app(app)


def test_a_recall_whose_entry_is_damaged_is_still_listed(tmp_path):
    app, _ = demo_app(tmp_path)
    try:
        service = app.state.service
        (notice,) = service.recent_recalls()
        edit_entry(tmp_path / "db.sqlite", notice.index, lambda entry: b"not an event any more")
        (damaged,) = service.recent_recalls()
        assert damaged.lot == RECALLED and damaged.event_id == notice.event_id
        assert damaged.reason is None and damaged.instructions is None
        assert damaged.product["name_zh"] == "宁乡朝天椒"
        with TestClient(app) as client:
            recalls = _section(_html(client.get("/")), "recalls")
        assert RECALLED in recalls and "这条召回记录在账本中无法读取" in recalls
    finally:
        close_app(app)
