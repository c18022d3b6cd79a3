"""The portal as an installable app, without a browser (web/portal/offline.py): the worker's script and
headers, the manifest in both languages, the icons, the outbox page, and the CSP that lets a page
link the manifest. The worker at work (offline pages, the outbox, updates) is in test_portal_offline.py.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from farmtrace.web.assets import ASSETS, asset_url
from farmtrace.web.i18n import LANGS, MESSAGES
from farmtrace.web.i18n.offline import OFFLINE_MESSAGES
from farmtrace.web.portal import offline

from .consumer_support import close_app, demo_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app, _ = demo_app(tmp_path_factory.mktemp("portal-app"))
    yield TestClient(app)
    close_app(app)


def test_the_worker_is_scoped_to_the_portal_and_names_its_build(client):
    r = client.get("/portal/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["service-worker-allowed"] == "/portal"
    assert r.headers["cache-control"] == "no-cache"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    head = dict(re.findall(r"^const (VERSION|PRECACHE|IMPORTS) = (.*);$", r.text, re.M))
    assert re.fullmatch(r'"[0-9a-f]{16}"', head["VERSION"])
    precache = json.loads(head["PRECACHE"])
    # Every script and the stylesheet the portal's pages load, under its content-hash URL.
    layout = (Path(offline.__file__).parent.parent / "templates" / "portal" / "layout.html").read_text()
    for name in re.findall(r"asset_url\('([^']+)'\)", layout):
        assert asset_url(name) in precache, name
    assert asset_url("portal.css") in precache
    assert {"/portal/outbox?lang=zh", "/portal/outbox?lang=en"} <= set(precache)
    assert json.loads(head["IMPORTS"]) == [
        asset_url(n) for n in ("codec.js", "signing.js", "portal-queue.js")
    ]
    assert r.text.endswith(ASSETS["sw.js"].body.decode())


def test_a_new_file_is_a_new_worker(monkeypatch):
    """A precached file's URL carries its digest: a changed file changes the worker's VERSION."""
    version = re.compile(rb'^const VERSION = "([0-9a-f]+)";$', re.M)
    before = version.search(offline.worker_script()).group(1)
    changed = tuple(u.replace("?v=", "?v=0") if "portal-queue.js" in u else u for u in offline.PRECACHE)
    monkeypatch.setattr(offline, "PRECACHE", changed)
    offline.worker_script.cache_clear()
    try:
        after = version.search(offline.worker_script()).group(1)
    finally:
        offline.worker_script.cache_clear()
    assert before != after


@pytest.mark.parametrize("lang", LANGS)
def test_the_manifest_in_each_language(client, lang):
    r = client.get(f"/portal/manifest.webmanifest?lang={lang}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/manifest+json"
    doc = r.json()
    column = LANGS.index(lang)
    assert doc["name"] == f"{MESSAGES['portal.name'][column]} · {MESSAGES['site.name'][column]}"
    assert doc["short_name"] == MESSAGES["portal.offline.app_short"][column]
    assert doc["start_url"] == f"/portal?lang={lang}"
    assert doc["scope"] == "/portal" and doc["display"] == "standalone"
    purposes = {(i["src"], i["purpose"]) for i in doc["icons"]}
    assert ("/portal/icon-512.png", "maskable") in purposes
    for icon in doc["icons"]:
        assert client.get(icon["src"]).status_code == 200


@pytest.mark.parametrize("size", [192, 512])
def test_the_icons_are_pngs_of_their_size(client, size):
    r = client.get(f"/portal/icon-{size}.png")
    assert r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    assert image.size == (size, size)
    # The mark stays inside a maskable icon's safe zone (the middle 80 %): the border is background.
    edge = size // 10
    rgb = image.convert("RGB")
    border = {rgb.getpixel((x, y)) for x in range(size) for y in (0, edge - 1)}
    border |= {rgb.getpixel((x, y)) for y in range(size) for x in (0, size - 1)}
    assert border == {(0x17, 0x4F, 0x31)}
    assert len(rgb.getcolors(maxcolors=1 << 16)) > 2  # and there is a mark


def test_only_the_drawn_icon_sizes_exist(client):
    assert client.get("/portal/icon-64.png").status_code == 404
    svg = client.get("/portal/icon.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")


@pytest.mark.parametrize("lang", LANGS)
def test_the_outbox_page_is_the_same_for_everyone(client, lang):
    r = client.get(f"/portal/outbox?lang={lang}")
    assert r.status_code == 200
    assert MESSAGES["portal.page.outbox"][LANGS.index(lang)] in r.text
    config = json.loads(re.search(r'id="portal-config">(.*?)</script>', r.text).group(1))
    assert config["party"] is None  # no party data: the worker may keep it for anyone
    assert (
        config["messages"]["portal.offline.queued_title"]
        == MESSAGES["portal.offline.queued_title"][LANGS.index(lang)]
    )
    csp = r.headers["content-security-policy"]
    assert "manifest-src 'self'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert f'<link rel="manifest" href="/portal/manifest.webmanifest?lang={lang}">' in r.text


def test_the_offline_words_exist_in_both_languages_with_the_same_placeholders():
    placeholder = re.compile(r"\{([a-z_]+)\}")
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for key, (zh, en) in OFFLINE_MESSAGES.items():
        assert sorted(placeholder.findall(zh)) == sorted(placeholder.findall(en)), key
        assert cjk.search(zh) and not cjk.search(en), key
        assert not re.search(r"[A-Za-z]{2,}", placeholder.sub("", zh)), key  # no English in the Chinese
