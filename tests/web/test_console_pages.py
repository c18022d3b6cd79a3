"""The regulator console over HTTP (no browser): who may see it, what each page shows, in zh and en,
escaping, filters, redirects to the exports, and security headers.

Every app here reads a clock pinned at 23:30 UTC on 6 December 2026 (tests/clock_support.py), when
the day in China is already 7 December: day filters and defaults must follow China Standard Time,
whatever the hour of the machine running the tests.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from markupsafe import escape

from farmtrace.api.app import create_app
from farmtrace.api.demo import run_demo
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.ledger.note import CosignatureSigner, open_note, sign_note
from farmtrace.trace.auth import make_token
from farmtrace.trace.clock import CST
from farmtrace.web.i18n import MESSAGES

from ..clock_support import PINNED_AT, PinnedClock
from .console_support import Signer, application, first_svg, party_record, svg_boxes
from .consumer_support import INJECTED, LOG_SIGNER, add_injected_lot, demo_app

PAGES = [
    "/console",
    "/console/parties",
    "/console/lots",
    "/console/lots/NX-BC-1120",
    "/console/anomalies",
    "/console/prices",
    "/console/exports",
    "/console/exports/range?since=2026-11-01&until=2026-11-30&fmt=csv",
    "/console/exports/lot?code=NX-BC-1120&fmt=jsonld",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    app, demo = demo_app(tmp, clock=PinnedClock(PINNED_AT))
    add_injected_lot(app, tmp / "keys")
    keys = {name: PartyKey.load(tmp / "keys" / f"{name}.key") for name in demo["parties"]}
    with TestClient(app) as client:
        yield client, app, keys


@pytest.fixture
def client(site):
    return site[0]


@pytest.fixture
def regulator(site):
    """The cookie of a signed-in regulator."""
    return _cookie(_token(site[2]["regulator"]))


def _token(key: PartyKey) -> str:
    """A token valid at the apps' pinned time (the machine's own time may be days away)."""
    return key.token(now=PINNED_AT)


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"ft_token={token}"}


def _html(r) -> str:
    assert r.headers["content-type"] == "text/html; charset=utf-8", r.text[:300]
    return r.text


def _bad_credentials(keys) -> dict[str, dict]:
    """Request options that must all be refused: (name -> httpx request kwargs)."""
    reg = keys["regulator"]
    pinned = int(PINNED_AT.timestamp())
    expired = make_token(reg.party, reg._key, origin=LOG_SIGNER.name, expires=pinned - 10)
    forged = make_token(reg.party, Ed25519PrivateKey.generate(), origin=LOG_SIGNER.name, expires=pinned + 600)
    # The regulator's party and key id on a token signed by someone else's key.
    parts = forged.split(".")
    parts[2] = reg.key_id
    forged = ".".join(parts)
    return {
        "no token": {},
        "shop cookie": _cookie(_token(keys["shop"])),
        "shop header": {"Authorization": f"FarmTrace {_token(keys['shop'])}"},
        "test room cookie": _cookie(_token(keys["lab"])),
        "expired regulator token": _cookie(expired),
        "forged regulator token": _cookie(forged),
        "garbage": _cookie("ft1.<script>.x.1.y"),
    }


# --- who may see the console ------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_console_page_is_403_for_anyone_but_a_regulator(site, path):
    client, _, keys = site
    for name, headers in _bad_credentials(keys).items():
        client.cookies.clear()
        r = client.get(path, follow_redirects=False, headers=headers)
        assert r.status_code == 403, (name, r.status_code)
        page = _html(r)
        assert '<html lang="zh-CN">' in page and "无权访问" in page, name
        assert "data-signin" in page and 'id="keyfile"' in page  # the sign-in form, right there
        assert r.headers["cache-control"] == "no-store"
        assert "NX-BC-1120</" not in page and "长沙马王堆" not in page  # nothing of the data
        en = client.get(path, follow_redirects=False, headers={"accept-language": "en", **headers})
        assert en.status_code == 403 and '<html lang="en">' in en.text and "Access denied" in en.text
    client.cookies.clear()
    page = client.get(path, headers=_cookie(_token(keys["shop"]))).text
    assert (
        f"Party {keys['shop'].party} is not a regulator"
        in client.get(
            path + ("&" if "?" in path else "?") + "lang=en", headers=_cookie(_token(keys["shop"]))
        ).text
    )
    assert "不是监管机构" in page
    ok = client.get(path, headers=_cookie(_token(keys["regulator"])), follow_redirects=False)
    assert ok.status_code in (200, 303), ok.text[:500]


def test_the_sign_in_page_is_open_to_everyone(client):
    page = _html(client.get("/console/signin"))
    assert "用您的密钥登录" in page and 'type="file"' in page and "console.js" in page
    assert "Sign in with your key" in client.get("/console/signin?lang=en").text
    # After signing in, the browser returns where it came from, but only to a console page.
    assert (
        'data-next="/console/anomalies?rule=custody"'
        in client.get("/console/signin", params={"next": "/console/anomalies?rule=custody"}).text
    )
    for evil in ("https://evil.example/console", "//evil.example", "/console/../l/x", "/consolex\\@evil"):
        page = client.get("/console/signin", params={"next": evil}).text
        assert 'data-next="/console?lang=zh"' in page or "evil" not in page.split("data-next=")[1][:40], evil


def test_a_revoked_or_suspended_regulator_is_refused_too(tmp_path, clock):
    app, _ = demo_app(tmp_path, clock=clock)
    service = app.state.service
    first = PartyKey.load(tmp_path / "keys" / "regulator.key")
    # A second regulator, registered by the first, then suspended by it.
    second = Signer(_valid_uscc("11430100MB000009"), bytes(range(1, 33)))
    record, _ = party_record(second, "岳阳市市场监督管理局", ["regulator"], "湖南省岳阳市")
    now = clock().astimezone(CST)
    wire = {"kind": "party.register", "location": {"name": "登记窗口"}, "inputs": [], "outputs": []}
    service.record(first.sign({**wire, "event_time": now.isoformat(), "detail": {"party": record}}))
    with TestClient(app) as client:
        token = _token(second.party_key())
        assert client.get("/console", headers=_cookie(token)).status_code == 200
        suspend = {**wire, "kind": "party.suspend", "event_time": now.isoformat()}
        service.record(first.sign({**suspend, "detail": {"party_id": second.party, "reason": "调离"}}))
        r = client.get("/console", headers=_cookie(token))
        assert r.status_code == 403 and "无效或已过期" in r.text


def _valid_uscc(first16: str) -> str:
    from farmtrace.trace.model.ids import uscc_check_char

    return first16 + "0" + uscc_check_char(first16 + "0")


# --- the pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages_with_nothing_from_elsewhere(client, regulator, lang):
    for path in [*PAGES[:7], "/console/signin", "/console/lots/ZJ-LJ-1119", "/console/lots/EVIL-0001"]:
        r = client.get(path, params={"lang": lang}, headers=regulator)
        assert r.status_code == 200, (path, r.text[:500])
        page = _html(r)
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page
        assert r.headers["content-language"] == ("zh-CN" if lang == "zh" else "en")
        # No external assets: every src and href stays on this server.
        for url in re.findall(r'(?:src|href)="([^"]*)"', page):
            assert url.startswith(("/", "#", "data:", "?")), (path, url)
        # Scripts only as files from here; inline <script> only as JSON data.
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
        # The language switch keeps the page (and its filters).
        other = "en" if lang == "zh" else "zh"
        assert f"lang={other}" in re.search(r'<a class="lang" href="([^"]*)"', page).group(1)


def test_security_headers(client, regulator):
    r = client.get("/console", headers=regulator)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    for name in ("console.js", "console.css"):
        asset = re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]+)"', r.text).group(1)
        static = client.get(asset)
        assert static.status_code == 200 and "immutable" in static.headers["cache-control"]


def test_health_page_shows_the_ledger_and_the_last_audit(site, regulator):
    client, app, _ = site
    page = _html(client.get("/console", headers=regulator))
    size = app.state.log.size
    assert f"{size} 条记录" in page and app.state.log.origin in page and "尚未进行过审计" in page
    assert "data-audit-start" in page and "根哈希" in page
    app.state.audit_job.start(requested_by="test")
    app.state.audit_job.wait(30)
    page = _html(client.get("/console", headers=regulator))
    assert 'data-audit-ok="true"' in page and f"已核对 {size} / {size} 条记录" in page
    en = client.get("/console?lang=en", headers=regulator).text
    assert "Passed" in en and f"{size} of {size} entries checked" in en


def test_parties_page_lists_parties_with_their_private_details_and_pending_applications(site, regulator):
    client, _, keys = site
    signer = Signer("F430124-000777", bytes(range(100, 132)))
    record, private = party_record(signer, "宁乡市测试家庭农场", ["producer"], "湖南省长沙市宁乡市")
    r = client.post("/parties/applications", json=application("register", record, signer, private=private))
    assert r.status_code == 201, r.text
    page = _html(client.get("/console/parties", headers=regulator))
    assert "宁乡市测试家庭农场" in page and 'data-action="approve"' in page and 'data-action="reject"' in page
    assert private["details"]["phone"] in page  # the applicant's contact details, for the regulator
    assert "0731-88880003" in page  # a registered party's details from the desk
    for pid in (keys["shop"].party, keys["stall"].party, keys["coop"].party):
        assert f'data-party="{pid}" data-status="active"' in page
    # Every party but the regulator itself: the demo's others and the injected farm.
    assert page.count('data-action="revoke"') >= 7 and page.count('data-action="suspend"') == len(keys)
    # The approve button carries the record to sign, escaped into an attribute.
    payload = re.search(r'data-action="approve" data-payload="([^"]*)"', page).group(1)
    assert "&#34;" in payload and signer.key_id in payload


def test_lot_page_draws_the_trace_and_the_recall_reach(client, regulator):
    page = _html(client.get("/console/lots/NX-BC-1120", headers=regulator))
    boxes = svg_boxes(first_svg(page))
    assert len(boxes) == 61 and "NX-BC-1120" in boxes and "XF-BAG-0010" in boxes
    assert '<a class="node selected"' in page
    assert "61 个批次，60 条流向" in page and "召回此批次将影响 61 个批次" in page
    assert 'data-action="recall"' in page and 'data-lot="NX-BC-1120"' in page
    # The shop holds 9 bags (one was sold); the market 49 parts.
    assert "长沙鲜丰超市五一广场店" in page and "长沙马王堆蔬菜批发市场" in page
    back = _html(client.get("/console/lots/XF-BAG-0001?direction=back", headers=regulator))
    assert set(svg_boxes(first_svg(back))) == {"XF-BAG-0001", "MWD-BC-01", "NX-BC-1120"}
    recalled = _html(client.get("/console/lots/ZJ-LJ-1119", headers=regulator))
    assert "data-recalled" in recalled and recalled.count('class="node recalled') == 105
    # Shipped vs received: 50 kg sent to the stall, 40 received, 10 outstanding.
    assert re.search(r'<tr class="open"><td class="code">MWD-LJ-02</td>.*?10 kg</td></tr>', recalled)


def test_unknown_lots_get_a_404_page(client, regulator):
    for code in ("NO-SUCH", "has space", "X" * 30, "<script>"):
        r = client.get(f"/console/lots/{code}", headers=regulator)
        assert r.status_code == 404 and "找不到批次" in r.text and "<script>" not in r.text.split("<main")[1]
    r = client.get(
        "/console/lots", params={"code": " NX-BC-1120 "}, headers=regulator, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/lots/NX-BC-1120?lang=zh"


def test_text_parties_entered_is_escaped(client, regulator):
    for path in ("/console/lots/EVIL-0001", "/console/parties", "/console/anomalies", "/console/prices"):
        page = _html(client.get(path, headers=regulator))
        for text in INJECTED.values():
            assert text not in page, (path, text)
    page = client.get("/console/lots/EVIL-0001", headers=regulator).text
    for text in (INJECTED["name"], INJECTED["product"], INJECTED["reason"]):
        assert str(escape(text)) in page or str(escape(text))[:40] in page, text


def test_anomalies_filter_by_rule_party_and_days(site, regulator):
    client, _, keys = site

    def rows(**params) -> list[str]:
        page = _html(client.get("/console/anomalies", params=params, headers=regulator))
        return re.findall(r'<tr data-rule="(\w+)"', page)

    assert sorted(rows()) == ["blocked", "mass_balance"]
    assert rows(rule="mass_balance") == ["mass_balance"]
    assert rows(party=keys["coop"].party) == ["blocked"]
    assert rows(rule="custody") == []
    # The demo's refusals were kept at the pinned time, 23:30 UTC on 6 December: 07:30 on the 7th in
    # China. A day filter is a China Standard Time day, never the UTC (or the machine's) day.
    assert sorted(rows(since="2026-12-07", until="2026-12-07")) == ["blocked", "mass_balance"]
    assert sorted(rows(since="2026-12-07")) == ["blocked", "mass_balance"]
    assert rows(since="2026-12-06", until="2026-12-06") == []
    assert rows(since="2026-12-08") == []
    assert rows(until="2020-01-01") == []
    page = client.get("/console/anomalies?rule=mass_balance&lang=en", headers=regulator).text
    assert "Mass balance" in page and "cannot sell 800 kg" in page
    bad = client.get("/console/anomalies", params={"since": "2026-13-45"}, headers=regulator)
    assert bad.status_code == 400 and "不是有效日期" in bad.text
    assert client.get("/console/anomalies", params={"rule": "nonsense"}, headers=regulator).status_code == 200


def test_prices_page_charts_a_product(client, regulator):
    page = _html(client.get("/console/prices", params={"product": "宁乡朝天椒"}, headers=regulator))
    assert '<option value="宁乡朝天椒" selected>' in page and 'class="price-chart"' in page
    assert 'data-stage="production"' in page and 'data-stage="wholesale"' in page
    other = _html(client.get("/console/prices", params={"product": "no such thing"}, headers=regulator))
    assert 'class="price-chart"' in other  # falls back to the first product
    empty = _html(client.get("/console/prices", params={"until": "2000-01-01"}, headers=regulator))
    assert "data-no-prices" in empty


def test_export_forms_redirect_to_the_exports_in_china_standard_time(client, regulator):
    r = client.get(
        "/console/exports/range",
        params={"since": "2026-11-01", "until": "2026-11-30", "fmt": "jsonld", "lang": "en"},
        headers=regulator,
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = urlsplit(r.headers["location"])
    assert url.path == "/exports/events.jsonld"
    assert parse_qs(url.query) == {
        "since": ["2026-11-01T00:00:00+08:00"],
        "until": ["2026-12-01T00:00:00+08:00"],  # the end day is included
        "lang": ["en"],
    }
    for params, message in (
        ({"since": "2026-11-30", "until": "2026-11-01"}, "结束日期早于开始日期"),
        ({"since": "2025-01-01", "until": "2026-11-01"}, "最多导出 366 天"),
        ({"since": "2026-11-01"}, "请选择开始和结束日期"),
        ({"since": "2026-11-01", "until": "2026-11-02", "fmt": "pdf"}, "未知的导出格式"),
    ):
        bad = client.get("/console/exports/range", params=params, headers=regulator)
        assert bad.status_code == 400 and message in bad.text, params
    lot = client.get(
        "/console/exports/lot?code=NX-BC-1120&fmt=xlsx", headers=regulator, follow_redirects=False
    )
    assert lot.status_code == 303 and lot.headers["location"] == "/lots/NX-BC-1120/export.xlsx?lang=zh"
    epcis = client.get("/console/exports/lot?code=NX-BC-1120&fmt=jsonld", headers=regulator)
    assert epcis.headers["content-type"] == "application/ld+json"
    assert 'filename="farmtrace-trace-NX-BC-1120.jsonld"' in epcis.headers["content-disposition"]
    assert len(epcis.json()["epcisBody"]["eventList"]) == 10  # harvest to the sale of a bag
    assert epcis.json()["creationDate"] == "2026-12-06T23:30:00.000+00:00"  # the app's clock's time
    unknown = client.get("/console/exports/lot?code=NOPE&fmt=csv", headers=regulator)
    assert unknown.status_code == 404 and "找不到批次 NOPE" in unknown.text


def test_the_exports_page_offers_days_that_end_today_in_china(client, regulator):
    # At the pinned 23:30 UTC on 6 December it is already 7 December in China: "today" is the 7th.
    page = _html(client.get("/console/exports", headers=regulator))
    assert 'name="until" value="2026-12-07"' in page and 'name="since" value="2026-09-09"' in page  # 90 days
    assert "(2026-12-01 – 2026-12-07)" in page  # the last 7 days, today included
    links = [html.unescape(u) for u in re.findall(r'href="(/exports/events\.csv\?[^"]*)"', page)]
    assert len(links) == 3
    assert parse_qs(urlsplit(links[0]).query) == {
        "since": ["2026-12-01T00:00:00+08:00"],
        "until": ["2026-12-08T00:00:00+08:00"],
        "lang": ["zh"],
    }


def test_done_notices_are_shown_only_for_known_actions(client, regulator):
    assert "已召回" in client.get("/console/lots/NX-BC-1120?done=recalled", headers=regulator).text
    page = client.get("/console?done=<script>", headers=regulator).text
    assert 'class="flash"' not in page


def test_every_console_message_has_both_languages_and_the_same_placeholders():
    keys = [k for k in MESSAGES if k.startswith("console.")]
    assert len(keys) > 200
    for key in keys:
        zh, en = MESSAGES[key]
        assert zh and en, key
        assert sorted(re.findall(r"\{(\w+)\}", zh)) == sorted(re.findall(r"\{(\w+)\}", en)), key


def test_the_browser_gets_its_messages_and_the_regulators_place(client, regulator):
    page = client.get("/console/parties", headers=regulator).text
    found = re.search(r'<script type="application/json" id="console-config">(.*?)</script>', page).group(1)
    config = json.loads(found)
    assert "console.js.no_key" in config["messages"] and config["regulator"] == "11430100MB0000001G"
    assert config["location"] == {
        "name": "长沙市市场监督管理局",
        "address": "湖南省长沙市岳麓区岳麓大道218号",
    }


def test_health_page_names_the_witnesses_that_cosigned_the_latest_checkpoint(tmp_path, clock):
    witness = CosignatureSigner.from_seed("witness.changsha.example/w1", bytes(range(32)))
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        witness_keys=(witness.verifier.key_string(),),
    )
    app = create_app(settings, clock=clock)
    run_demo(app.state.service, tmp_path / "keys")
    log = app.state.log
    note = log.checkpoint().note
    text = open_note(note, [log.verifier]).text
    cosigned = sign_note(text, witness.at_time(int(clock().timestamp())))
    log.add_cosignature(note + cosigned[len(text) + 1 :], witness.verifier)
    with TestClient(app) as client:
        token = _token(PartyKey.load(tmp_path / "keys" / "regulator.key"))
        page = _html(client.get("/console", headers=_cookie(token)))
        assert "data-witnesses" in page and "witness.changsha.example/w1" in page and "已联署" in page
        assert "unknown.example/w9" not in page
    log.close(close_store=True)
