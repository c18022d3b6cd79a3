"""The portal's pages without a browser: who may see what, in which language, under which CSP.

Browser flows (signing, refusals next to fields, the story) are in test_portal_browser.py and
test_portal_story.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from farmtrace.client import PartyKey
from farmtrace.trace.rules import RULES
from farmtrace.web.i18n import LANGS, MESSAGES
from farmtrace.web.i18n.portal import PORTAL_MESSAGES

from .consumer_support import close_app, demo_app

WEB = Path(__file__).resolve().parents[2] / "web"
FORMS = ("harvest", "inspect", "certify", "receive", "transform", "ship", "sell")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal-pages")
    app, result = demo_app(tmp)
    keys = {name: PartyKey.load(tmp / "keys" / f"{name}.key") for name in result["parties"]}
    yield TestClient(app), app, keys, tmp / "keys"
    close_app(app)


def _get(client: TestClient, path: str, key: PartyKey | None = None):
    client.cookies.clear()
    if key is not None:
        client.cookies.set("ft_token", key.token())
    return client.get(path, follow_redirects=False)


def _config(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="portal-config">(.*?)</script>', html, re.S)
    assert m, "the page embeds its configuration"
    return json.loads(m.group(1))


def test_every_rule_has_a_message_in_both_languages():
    for rule in RULES:
        zh, en = MESSAGES[f"portal.rule.{rule}"]
        assert zh and en and zh != en
    placeholder = re.compile(r"\{([a-z_]+)\}")
    for key, texts in PORTAL_MESSAGES.items():
        assert key.startswith("portal.")
        assert len(texts) == len(LANGS)
        assert sorted(placeholder.findall(texts[0])) == sorted(placeholder.findall(texts[1])), key


def test_every_message_the_pages_name_exists():
    js = "".join(path.read_text() for path in sorted((WEB / "static").glob("portal*.js")))  # all its parts
    for key in re.findall(r'msg\("([a-z_.]+)"[,)]', js):
        assert f"portal.{key}" in MESSAGES, key
    for prefix in re.findall(r'msg\("([a-z_.]+)\." \+', js):
        assert any(k.startswith(f"portal.{prefix}.") for k in MESSAGES), prefix
    for template in (WEB / "templates" / "portal").glob("*.html"):
        for key in re.findall(r't\("(portal\.[a-z_.]+[a-z_])"\)', template.read_text()):
            assert key in MESSAGES, (template.name, key)


def test_sign_in_and_enrollment_pages_in_both_languages(demo):
    client, _, _, _ = demo
    for path in ("/portal", "/portal/enroll", "/portal/key"):
        for lang, words in (("zh", "经营主体工作台"), ("en", "Producers' and traders' portal")):
            r = _get(client, f"{path}?lang={lang}")
            assert r.status_code == 200
            assert words in r.text
            assert r.headers["content-language"] == ("zh-CN" if lang == "zh" else "en")
            assert _config(r.text)["lang"] == lang
    # The language switch keeps the page's other parameters.
    r = _get(client, "/portal/sell?lang=en&lot=XF-BAG-0002", PartyKey.load(demo[3] / "shop.key"))
    assert 'class="lang" href="/portal/sell?lot=XF-BAG-0002&amp;lang=zh"' in r.text


def test_pages_are_strict_about_scripts_and_styles(demo):
    client, _, keys, _ = demo
    r = _get(client, "/portal/lots?lang=zh", keys["shop"])
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "default-src 'none'" in csp
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text and " style=" not in r.text and " on" + "click" not in r.text
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        asset = client.get(src)
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"], src


def test_forms_need_a_session_and_a_role(demo):
    client, _, keys, _ = demo
    for kind in FORMS:
        r = _get(client, f"/portal/{kind}?lang=en")
        assert r.status_code == 303
        assert r.headers["location"] == f"/portal?next=%2Fportal%2F{kind}%3Flang%3Den&lang=en"
    allowed = {
        "coop": {"harvest", "certify", "transform", "ship"},
        "lab": {"inspect"},
        "market": {"receive", "transform", "ship", "sell"},
        "shop": {"receive", "transform", "ship", "sell"},
    }
    for who, kinds in allowed.items():
        for kind in FORMS:
            r = _get(client, f"/portal/{kind}", keys[who])
            assert r.status_code == (200 if kind in kinds else 403), (who, kind)
        nav = re.findall(
            r'<li><a href="/portal/([a-z]+)\?lang=zh"', _get(client, "/portal/lots", keys[who]).text
        )
        assert nav == ["lots", "notices", *[k for k in FORMS if k in kinds], "import"], who
    assert _get(client, "/portal/bogus", keys["shop"]).status_code == 404
    # A forged cookie is no session.
    client.cookies.set("ft_token", keys["shop"].token()[:-4] + "AAAA")
    assert client.get("/portal/lots", follow_redirects=False).status_code == 303


def test_next_stays_inside_the_portal(demo):
    client, _, _, _ = demo
    for bad in ("https://evil.example/", "//evil.example/portal/", "/l/XF-BAG-0001"):
        assert _config(_get(client, f"/portal?next={bad}").text)["next"] == "/portal/lots?lang=zh"
    assert _config(_get(client, "/portal?next=/portal/sell%3Flot%3DA").text)["next"] == "/portal/sell?lot=A"


def test_forms_offer_what_the_party_holds_and_can_receive(demo):
    client, app, keys, _ = demo
    service = app.state.service
    r = _get(client, "/portal/sell?lot=XF-BAG-0002", keys["shop"])
    assert 'value="XF-BAG-0002"' in r.text and "selected>XF-BAG-0002" in r.text
    assert 'value="NX-LB-1121"' not in r.text  # the market's radish is not the shop's to sell
    r = _get(client, "/portal/ship", keys["coop"])
    for name in ("market", "shop", "stall"):
        assert service.party(keys[name].party).name_zh in r.text
    assert f'value="{keys["lab"].party}"' not in r.text  # a test room receives no goods
    assert f'value="{keys["coop"].party}"' not in r.text  # nor ships to itself
    r = _get(client, "/portal/receive?lang=en", keys["market"])
    assert "Nothing is waiting for you" in r.text


def test_my_lots_groups_sibling_lots_and_lists_shipments(demo):
    client, app, keys, _ = demo
    r = _get(client, "/portal/lots", keys["shop"])
    assert "9 个批次，每个 1 kg" in r.text  # XF-BAG-0002 … 0010
    assert '/lots/MWD-BC-01/labels.pdf"' in r.text  # the whole bag sheet, from the crate they came from
    assert r.text.count('data-status="recalled"') == 1  # 99 chilli boxes: one row
    sent = app.state.service.shipments_from(keys["market"].party)
    assert {s.lot for s in sent} >= {"MWD-BC-01", "MWD-LJ-01", "MWD-LJ-02"}
    stall_line = next(s for s in sent if s.lot == "MWD-LJ-02")
    assert stall_line.outstanding == "10" and stall_line.to == keys["stall"].party
    r = _get(client, "/portal/lots?lang=en", keys["market"])
    assert "In transit" in r.text and "Delivered" in r.text


def test_certificate_page_is_public_and_only_for_certificates(demo):
    client, app, _, _ = demo
    service = app.state.service
    events = {
        service.signed_event(e.id)[0].event.kind: e.id for e in service.lot_summary("NX-BC-1120").events
    }
    r = _get(client, f"/portal/certificate/{events['certify']}?lang=zh")
    assert r.status_code == 200
    for words in ("承诺达标合格证", "宁乡包菜", "500 kg", "☑", "<svg"):
        assert words in r.text
    assert re.search(r"HGZ-430124-\d{8}-017", r.text)  # numbered by the day it was issued (api/demo.py)
    assert _get(client, f"/portal/certificate/{events['inspect']}").status_code == 404
    assert _get(client, "/portal/certificate/not-an-id").status_code == 404


def test_labels_page_links_the_label_routes(demo):
    client, _, keys, _ = demo
    r = _get(client, "/portal/labels/MWD-BC-01?lang=en", keys["shop"])
    assert r.status_code == 200
    for href in ("/lots/MWD-BC-01/label.png", "/lots/MWD-BC-01/label.svg", "/lots/MWD-BC-01/labels.pdf"):
        assert f'href="{href}"' in r.text
    assert "split into 10 new lots" in r.text
    assert _get(client, "/portal/labels/NO-SUCH-LOT", keys["shop"]).status_code == 404
