"""The regulator console in a real browser: Debian's Chromium driven by Playwright, against a live
server holding the demo's Changsha data. Every flow of the console, signed in by importing the demo
regulator's key file (so every action is signed in the browser). Screenshots of each page, at a
phone's 360 px and a desktop's 1280 px, go to test-artifacts/console/."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timedelta

import pytest

from farmtrace.client import Client, ClientError, PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME

from ..trace import test_epcis as epcis_checks
from .console_support import ARTIFACTS, Signer, application, boxes_overlap, edit_entry, party_record
from .consumer_support import PHONE, close_app, demo_app, free_port, live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PAGES = [
    "/console",
    "/console/parties",
    "/console/lots",
    "/console/lots/NX-BC-1120",
    "/console/anomalies",
    "/console/prices",
    "/console/exports",
]
STORY_ONE = {
    "NX-BC-1120",
    *(f"MWD-BC-{i:02d}" for i in range(1, 51)),
    *(f"XF-BAG-{i:04d}" for i in range(1, 11)),
}


class Served:
    """A live demo server: its URL, app, data directory, and the demo parties' keys."""

    def __init__(self, url, app, tmp, parties):
        self.url, self.app, self.tmp, self.parties = url, app, tmp, parties

    def key_file(self, name: str):
        return self.tmp / "keys" / f"{name}.key"

    def key(self, name: str) -> PartyKey:
        return PartyKey.load(self.key_file(name))

    def client(self, name: str | None = None, key: PartyKey | None = None) -> Client:
        return Client(self.url, key=key or (self.key(name) if name else None))


@pytest.fixture
def served(tmp_path):
    port = free_port()
    app, demo = demo_app(tmp_path, port=port)
    with live_server(app, port) as url:
        yield Served(url, app, tmp_path, demo["parties"])
    close_app(app)


@pytest.fixture
def open_page(browser):
    """open_page(phone=True, locale="zh-CN") -> a page in a fresh browser profile (no key, no cookie)."""
    contexts = []

    def make(*, phone: bool = True, locale: str = "zh-CN"):
        ctx = browser.new_context(**(PHONE if phone else DESKTOP), locale=locale, accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    """A full-page screenshot kept as a test artefact (test-artifacts/console/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page, served: Served, who: str = "regulator", *, lang: str = "zh") -> None:
    """Import the party's key file on the sign-in page; the browser lands on the console."""
    page.goto(f"{served.url}/console/signin?lang={lang}")
    page.set_input_files("#keyfile", str(served.key_file(who)))
    with page.expect_navigation(url=f"{served.url}/console**"):
        page.click("[data-import] button[type=submit]")
    page.wait_for_load_state()


def act(page, form: str, done: str, *, fill: dict[str, str] | None = None) -> None:
    """Fill and submit an action form; wait for the page to come back with ?done=<done>."""
    for field, value in (fill or {}).items():
        page.fill(f"{form} [name={field}]", value)
    with page.expect_navigation(url=f"**done={done}**", timeout=15_000):
        page.click(f"{form} button[type=submit]")
    assert page.locator(".flash").is_visible()


def lot_wire(served: Served, kind: str, lot: str, qty: str, **extra) -> dict:
    head = served.client().lot(lot)["head"]
    return {
        "kind": kind,
        "location": {"name": "门店"},
        "inputs": [{"lot": lot, "quantity": qty, "unit": "kg", "follows": [head]}],
        **extra,
    }


def sale(served: Served, lot: str, qty: str = "1") -> dict:
    price = {"amount": "4.5", "currency": "CNY", "unit": "kg", "stage": "retail"}
    return lot_wire(served, "sell", lot, qty, price=price, detail={})


# --- sign-in, ledger health, audits ----------------------------------------------------------------------


def test_sign_in_then_run_an_audit_with_progress_and_find_a_tampered_entry(served, open_page):
    page = open_page()
    first = page.goto(f"{served.url}/console")
    assert first.status == 403 and page.locator("[data-signin]").is_visible()
    shot(page, "signin-403-phone-zh")
    sign_in(page, served)
    assert page.url.startswith(f"{served.url}/console?lang=zh") or page.url == f"{served.url}/console"
    size = served.app.state.log.size
    assert page.inner_text("[data-ledger-size]") == f"{size} 条记录"
    assert page.locator("[data-audit-none]").is_visible()

    # Hold the audit back a moment, so the progress the page polls for is there to see.
    job = served.app.state.audit_job
    run = job._run
    job._run = lambda run_id: (time.sleep(1.5), run(run_id))
    page.click("[data-audit-start]")
    page.wait_for_selector("[data-progress]:not([hidden])")
    assert page.inner_text("[data-progress-text]").endswith(f"/ {size} 条记录")
    shot(page, "health-audit-running-phone")
    page.wait_for_url("**run=**", timeout=15_000)
    verdict = page.locator("[data-audit-id]")
    assert verdict.get_attribute("data-audit-ok") == "true"
    assert f"已核对 {size} / {size} 条记录" in verdict.inner_text()
    shot(page, "health-audit-passed-phone")
    job._run = run

    # Story 4: someone edits a row behind the server's back; the next audit names the entry.
    edit_entry(served.tmp / "db.sqlite", 20, lambda e: e.replace(b'"name":"', b'"name":"X', 1))
    first_run = verdict.get_attribute("data-audit-id")
    page.click("[data-audit-start]")
    page.wait_for_function(
        "id => (document.querySelector('[data-audit-id]') || {}).dataset?.auditId !== id", arg=first_run
    )
    verdict = page.locator("[data-audit-id]")
    assert verdict.get_attribute("data-audit-ok") == "false"
    failure = page.locator("[data-first-failure]")
    assert failure.get_attribute("data-first-failure") == "20"
    assert "第一条未通过验证的记录：第 20 条" in failure.inner_text() and "entry 20" in failure.inner_text()
    # What entry 20 was, from the tables written when it was accepted.
    altered = served.app.state.service.entry_event(20)
    assert page.get_attribute("[data-altered-event]", "data-altered-event") == altered.event_id
    assert altered.lots and all(lot in page.inner_text("[data-altered-event]") for lot in altered.lots)
    shot(page, "health-audit-tampered-phone")
    desk = open_page(phone=False, locale="en-US")
    sign_in(desk, served, lang="en")
    assert "First entry that does not verify: entry 20." in desk.inner_text("[data-first-failure]")
    shot(desk, "health-audit-tampered-desktop-en")
    assert page.errors == [] and desk.errors == []


# --- parties: applications, suspension, lost devices ----------------------------------------------------


def test_approve_one_application_and_reject_another(served, open_page):
    # Two farms apply with keys of their own, proving possession (trace/applications.py).
    http = served.client().http
    farm = Signer("F430124-000888", bytes(range(40, 72)))
    record, private = party_record(farm, "宁乡市金洲镇周记家庭农场", ["producer"], "湖南省长沙市宁乡市金洲镇")
    approved = http.post("/parties/applications", json=application("register", record, farm, private=private))
    assert approved.status_code == 201, approved.text
    other = Signer("F430124-000889", bytes(range(80, 112)))
    record2, _ = party_record(other, "可疑的申请人", ["producer"], "不详")
    rejected = http.post("/parties/applications", json=application("register", record2, other))
    assert rejected.status_code == 201, rejected.text

    page = open_page()
    sign_in(page, served)
    page.goto(f"{served.url}/console/parties")
    assert page.locator("article.application").count() == 2
    shot(page, "parties-applications-phone")
    act(page, f"article[data-application-id='{approved.json()['id']}'] form[data-action=approve]", "approved")
    # On the ledger, signed by the regulator in the browser; the farm's own key now works.
    party = served.app.state.service.party(farm.party)
    assert party.status == "active" and [k.key_id for k in party.keys] == [farm.key_id]
    row = page.locator(f"article.party[data-party='{farm.party}']")
    assert "宁乡市金洲镇周记家庭农场" in row.inner_text() and private["details"]["phone"] in row.inner_text()
    harvest = {
        "kind": "harvest",
        "location": {"name": "金洲镇 9 号地块"},
        "outputs": [{"lot": "ZJ-NEW-0001", "quantity": "100", "unit": "kg", "product": {"name_zh": "菜心"}}],
        "detail": {"origin": {"name": "金洲镇 9 号地块"}},
    }
    assert served.client(key=farm.party_key()).record(harvest)["index"] > 0

    act(
        page,
        f"article[data-application-id='{rejected.json()['id']}'] form[data-action=reject]",
        "rejected",
        fill={"note": "身份材料不全"},
    )
    assert page.locator("article.application").count() == 0
    assert served.app.state.applications.get(rejected.json()["id"])["status"] == "rejected"
    shot(page, "parties-after-decisions-phone")
    assert page.errors == []


def test_a_suspended_party_is_refused_and_the_refusal_shows_as_an_anomaly(served, open_page):
    page = open_page(phone=False)
    sign_in(page, served)
    page.goto(f"{served.url}/console/parties")
    stall = served.parties["stall"]
    act(
        page,
        f"article.party[data-party='{stall}'] form[data-action=suspend]",
        "suspended",
        fill={"reason": "无证经营"},
    )
    assert page.get_attribute(f"article.party[data-party='{stall}']", "data-status") == "suspended"
    assert page.locator(f"article.party[data-party='{stall}'] form").count() == 0  # nothing more to do
    shot(page, "parties-suspended-desktop")
    with pytest.raises(ClientError) as refused:
        served.client("stall").record(sale(served, "MWD-LJ-02", "1"))
    assert refused.value.status == 422 and refused.value.problem["rule"] == "party_suspended"
    page.goto(f"{served.url}/console/anomalies?rule=party_suspended")
    rows = page.locator("tr[data-rule=party_suspended]")
    assert rows.count() == 1 and rows.first.get_attribute("data-party") == stall
    assert page.errors == []


def test_lost_device_revoke_the_key_and_approve_a_new_one(served, open_page):
    page = open_page()
    sign_in(page, served)
    page.goto(f"{served.url}/console/parties")
    shop = served.key("shop")
    form = f"li[data-key='{shop.key_id}'] form[data-action=revoke]"
    act(page, form, "revoked", fill={"reason": "店长手机丢失"})
    assert page.get_attribute(f"li[data-key='{shop.key_id}']", "data-revoked") == "true"

    # The shop applies for its new phone's key (proof of possession); the regulator approves.
    phone = Signer(shop.party, bytes(range(7, 39)))
    body = application("key", {"party_id": shop.party, **phone.record_key()}, phone)
    applied = served.client().http.post("/parties/applications", json=body)
    assert applied.status_code == 201, applied.text
    page.reload()
    app_form = f"article[data-application-id='{applied.json()['id']}'] form[data-action=approve]"
    assert shop.party in page.inner_text(f"article[data-application-id='{applied.json()['id']}']")
    act(page, app_form, "approved")
    keys = page.locator(f"article.party[data-party='{shop.party}'] li[data-key]")
    assert keys.count() == 2
    shot(page, "parties-new-key-phone")

    with pytest.raises(ClientError) as refused:
        served.client(key=shop).record(sale(served, "XF-BAG-0002"))
    assert refused.value.problem["rule"] == "key_inactive"
    receipt = served.client(key=phone.party_key()).record(sale(served, "XF-BAG-0002"))
    assert receipt["index"] > 0
    assert page.errors == []


# --- a lot: the graph, the recall ------------------------------------------------------------------------


def test_the_trace_graph_of_61_lots_is_readable(served, open_page):
    page = open_page(phone=False)
    sign_in(page, served)
    page.goto(f"{served.url}/console/lots/NX-BC-1120")
    nodes = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg.trace-graph a.node')).map(a => {
            const r = a.querySelector('rect.box').getBBox();
            const t = a.querySelector('text.lot');
            const tb = t.getBBox();
            return {lot: a.dataset.lot, label: t.textContent, cls: a.getAttribute('class'),
                    box: [r.x, r.y, r.width, r.height], text: [tb.x, tb.y, tb.width, tb.height],
                    font: parseFloat(getComputedStyle(t).fontSize)};
        })"""
    )
    assert {n["lot"] for n in nodes} == STORY_ONE and {n["label"] for n in nodes} == STORY_ONE
    for i, a in enumerate(nodes):
        x, y, w, h = a["box"]
        tx, ty, tw, th = a["text"]
        assert x <= tx and tx + tw <= x + w and y <= ty and ty + th <= y + h, a  # the label fits its box
        assert a["font"] >= 12
        for b in nodes[i + 1 :]:
            assert not boxes_overlap(a["box"], b["box"]), (a["lot"], b["lot"])
    assert [n["lot"] for n in nodes if "selected" in n["cls"]] == ["NX-BC-1120"]
    quantities = page.eval_on_selector_all("svg.trace-graph text.qty", "ts => ts.map(t => t.textContent)")
    assert sorted(quantities) == sorted(["10 kg"] * 50 + ["1 kg"] * 10)
    # The selected lot is scrolled into the graph's view.
    assert page.evaluate(
        """() => { const box = document.querySelector('[data-graph]').getBoundingClientRect();
                   const r = document.querySelector('.node.selected rect').getBoundingClientRect();
                   return r.top >= box.top && r.bottom <= box.bottom; }"""
    )
    shot(page, "lot-trace-graph-desktop")
    phone = open_page()
    sign_in(phone, served)
    phone.goto(f"{served.url}/console/lots/NX-BC-1120")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # the graph scrolls in its box
    phone.screenshot(path=str(ARTIFACTS / "lot-trace-graph-phone.png"))
    assert page.errors == [] and phone.errors == []


def test_recall_from_the_lot_page_warns_every_consumer_downstream(served, open_page):
    page = open_page()
    sign_in(page, served)
    page.goto(f"{served.url}/console/lots/NX-BC-1120")
    assert page.locator("[data-recalled]").count() == 0
    act(
        page,
        "form[data-action=recall]",
        "recalled",
        fill={"reason": "市级抽检检出毒死蜱超标", "instructions": "请立即停止销售和食用，退回购买处。"},
    )
    assert "毒死蜱" in page.inner_text("[data-recalled]")
    assert page.locator("svg.trace-graph a.node.recalled").count() == 61
    shot(page, "lot-recalled-phone")
    # Every descendant's consumer page (someone scanning a bag) now shows the recall first.
    consumer = open_page()
    consumer.goto(f"{served.url}/l/XF-BAG-0007")
    banner = consumer.locator("section.alert.recall")
    assert banner.is_visible() and "毒死蜱" in banner.inner_text() and "NX-BC-1120" in banner.inner_text()
    shot(consumer, "consumer-after-console-recall-phone")
    assert page.errors == []


# --- anomalies, prices, exports --------------------------------------------------------------------------


def test_anomalies_are_filtered_by_rule_party_and_days(served, open_page):
    page = open_page()
    sign_in(page, served)
    page.goto(f"{served.url}/console/anomalies")
    assert sorted(page.eval_on_selector_all("tr[data-rule]", "rs => rs.map(r => r.dataset.rule)")) == [
        "blocked",
        "mass_balance",
    ]
    page.select_option("select[name=rule]", "mass_balance")
    with page.expect_navigation():
        page.click("[data-filters] button[type=submit]")
    assert "rule=mass_balance" in page.url
    assert page.eval_on_selector_all("tr[data-rule]", "rs => rs.map(r => r.dataset.rule)") == ["mass_balance"]
    row = page.inner_text("tr[data-rule=mass_balance]")
    assert "出货或销售的数量超过了提交方持有的数量" in row  # the rule, in the page's language
    page.click("tr[data-rule=mass_balance] summary")  # the rules' own message, kept as evidence
    assert "cannot sell 800 kg" in page.inner_text("tr[data-rule=mass_balance]")
    shot(page, "anomalies-mass-balance-phone")
    page.select_option("select[name=rule]", "")
    page.select_option("select[name=party]", served.parties["coop"])
    with page.expect_navigation():
        page.click("[data-filters] button[type=submit]")
    assert page.eval_on_selector_all("tr[data-rule]", "rs => rs.map(r => r.dataset.rule)") == ["blocked"]
    page.select_option("select[name=party]", "")
    page.fill("input[name=until]", "2020-01-01")
    with page.expect_navigation():
        page.click("[data-filters] button[type=submit]")
    assert page.locator("tr[data-rule]").count() == 0 and page.locator("[data-none]").is_visible()
    assert page.errors == []


def test_prices_by_stage_are_charted(served, open_page):
    page = open_page(phone=False, locale="en-US")
    sign_in(page, served, lang="en")
    page.goto(f"{served.url}/console/prices?lang=en")
    page.select_option("select[name=product]", "宁乡朝天椒")
    with page.expect_navigation():
        page.click("[data-filters] button[type=submit]")
    chart = page.locator("[data-chart] svg.price-chart")
    assert chart.is_visible()
    stages = page.eval_on_selector_all("svg.price-chart g.series", "gs => gs.map(g => g.dataset.stage)")
    assert stages == ["production", "wholesale", "retail"]
    legend = page.text_content("svg.price-chart g.legend")
    assert "Farm-gate" in legend and "Wholesale" in legend and "Retail" in legend
    assert "CNY per kg" in page.text_content("svg.price-chart")
    shot(page, "prices-desktop-en")
    phone = open_page()
    sign_in(phone, served)
    phone.goto(f"{served.url}/console/prices?product=宁乡朝天椒")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    shot(phone, "prices-phone")
    assert page.errors == [] and phone.errors == []


def _download(page, button: str):
    with page.expect_download(timeout=30_000) as info:
        page.click(button)
    download = info.value
    return download.suggested_filename, download.path().read_bytes()


def test_exports_download_and_validate(served, open_page):
    from openpyxl import load_workbook

    page = open_page(phone=False)
    sign_in(page, served)
    page.goto(f"{served.url}/console/exports")
    today = datetime.now(CHINA_STANDARD_TIME).date()
    page.fill("[data-export-range] input[name=since]", (today - timedelta(days=7)).isoformat())
    page.fill("[data-export-range] input[name=until]", today.isoformat())
    shot(page, "exports-desktop")

    name, body = _download(page, "[data-export-range] button[value=jsonld]")
    assert name.endswith(".jsonld")
    document = json.loads(body)
    assert epcis_checks._errors(document) == []  # the official GS1 EPCIS 2.0 JSON Schema, offline
    since = datetime.combine(today - timedelta(days=7), datetime.min.time(), CHINA_STANDARD_TIME)
    recorded = served.app.state.service.events_between(since, since + timedelta(days=8))
    lot_events = [e for e, _, _ in recorded if not e.kind.startswith("party.")]  # EPCIS has no party events
    assert len(document["epcisBody"]["eventList"]) == len(lot_events) >= 29

    name, body = _download(page, "[data-export-range] button[value=csv]")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert name.endswith(".csv") and rows[0][:4] == ["事件时间", "事件类型", "业务步骤", "批次号"]
    assert any(r[3] == "XF-BAG-0001" for r in rows[1:])

    name, body = _download(page, "[data-export-range] button[value=xlsx]")
    sheet = load_workbook(io.BytesIO(body), read_only=False).active
    values = list(sheet.iter_rows(values_only=True))
    (table,) = sheet.tables.values()  # a table: every column gets a sort and filter button
    assert name.endswith(".xlsx") and table.ref == f"A1:W{len(values)}"
    assert [str(v) for v in values[0]] == rows[0] and len(values) == len(rows)

    page.fill("[data-export-lot] input[name=code]", "NX-BC-1120")
    name, body = _download(page, "[data-export-lot] button[value=jsonld]")
    assert name == "farmtrace-trace-NX-BC-1120.jsonld" and epcis_checks._errors(json.loads(body)) == []
    name, body = _download(page, "[data-export-lot] button[value=csv]")
    lots = {r[3] for r in csv.reader(io.StringIO(body.decode("utf-8-sig")))}
    assert lots >= STORY_ONE
    assert page.errors == []


# --- everyone else ----------------------------------------------------------------------------------------


def test_non_regulators_get_403_on_every_console_page(served, open_page):
    anonymous = open_page()
    for path in PAGES:
        r = anonymous.goto(served.url + path)
        assert r.status == 403 and anonymous.get_attribute("html", "lang") == "zh-CN", path
        assert "此页面仅限监管人员访问" in anonymous.inner_text("main")
    # Not a key file: said so, in the page's language, and nothing is stored.
    bad = {"name": "notes.key", "mimeType": "application/json", "buffer": b'{"format": "something-else"}'}
    anonymous.set_input_files("#keyfile", files=[bad])
    anonymous.click("[data-import] button[type=submit]")
    anonymous.wait_for_selector("[data-signin] [data-result][data-state=error]")
    assert "这不是 farmtrace 密钥文件" in anonymous.inner_text("[data-signin] [data-result]")
    assert anonymous.evaluate("FarmtraceSigning.load()") is None
    shop = open_page(locale="en-US")
    sign_in(shop, served, "shop", lang="en")  # lands on /console: refused
    assert "is not a regulator" in shop.inner_text("main")
    for path in PAGES:
        r = shop.goto(served.url + path)
        assert r.status == 403 and shop.get_attribute("html", "lang") == "en", path
        assert f"Party {served.parties['shop']} is not a regulator" in shop.inner_text("main")
        assert "NX-BC-1120" not in shop.inner_text("main")
    assert shop.locator("[data-stored]").is_hidden()  # the shop's key is not offered again
    shot(shop, "forbidden-shop-phone-en")
    # A regulator whose token has expired is refused too, and offered the key it already holds.
    lapsed = open_page()
    sign_in(lapsed, served)
    lapsed.context.clear_cookies()
    lapsed.context.add_cookies([{"name": "ft_token", "value": "ft1.x.y.1.z", "url": served.url}])
    r = lapsed.goto(f"{served.url}/console/parties")
    assert r.status == 403 and "无效或已过期" in lapsed.inner_text("main")
    lapsed.wait_for_selector("[data-stored]:not([hidden])")
    with lapsed.expect_navigation(url=f"{served.url}/console/parties**"):
        lapsed.click("[data-use-stored]")
    assert lapsed.locator("nav.console-nav").is_visible()  # back where it was, signed in again


def test_every_page_fits_a_phone_and_loads_nothing_from_elsewhere(served, open_page):
    for phone in (True, False):
        page = open_page(phone=phone)
        requests = []
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        sign_in(page, served)
        for path in PAGES:
            page.goto(served.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= (360 if phone else 1280), (path, width)
            name = path.strip("/").replace("/", "-")
            shot(page, f"{name}-{'phone' if phone else 'desktop'}")
        assert requests and all(r.startswith(served.url) for r in requests)
        assert page.errors == []
