"""/docs works offline: Swagger UI and everything it loads come from this server (api/docs.py).

The browser half (Swagger UI really renders the operations with every other host cut off) is in
tests/web/test_home_browser.py.
"""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings

from .conftest import LOG_SIGNER


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    settings = Settings.from_env(
        {}, data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}", log_key=LOG_SIGNER.key_string()
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _linked(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_page_links_only_this_server(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    links = _linked(r.text)
    assert len(links) == 3, links  # stylesheet, favicon, script
    assert all(u.startswith("/docs/assets/") for u in links), links
    assert "cdn" not in r.text.lower() and "://" not in r.text
    assert "url: '/openapi.json'" in r.text


def test_docs_page_forbids_other_servers_and_pins_its_inline_script(client):
    import base64
    import hashlib

    r = client.get("/docs")
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'"
    assert "http" not in r.headers["content-security-policy"]
    (inline,) = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    pinned = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{pinned}'"


@pytest.mark.parametrize("name", ["swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"])
def test_each_linked_asset_is_served_as_packaged(client, name):
    url = next(u for u in _linked(client.get("/docs").text) if f"/{name}?" in u)
    packaged = files("fastapi_offline").joinpath("static", name).read_bytes()
    r = client.get(url)
    assert r.status_code == 200
    assert r.content == packaged
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    # Revalidation by ETag, and unversioned URLs are not cached for a year.
    assert client.get(url, headers={"if-none-match": r.headers["etag"]}).status_code == 304
    assert client.get(f"/docs/assets/{name}").headers["cache-control"] == "no-cache"


def test_the_bundle_is_swagger_ui_5_and_sent_gzipped(client):
    # Swagger UI 4 cannot read the OpenAPI 3.1 documents FastAPI writes: the bundle must be 5.x.
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    bundle = files("fastapi_offline").joinpath("static", "swagger-ui-bundle.js").read_bytes()
    assert re.search(rb'"5\.\d+\.\d+"', bundle)
    url = next(u for u in _linked(client.get("/docs").text) if "swagger-ui-bundle.js" in u)
    raw = client.get(url, headers={"accept-encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["content-type"] == "text/javascript; charset=utf-8"
    # httpx decodes the body; the size on the wire is the compressed one.
    assert int(raw.headers["content-length"]) < len(bundle) / 2
    assert raw.content == bundle


def test_unknown_docs_assets_and_redoc_are_not_found(client):
    assert client.get("/docs/assets/core.py").status_code == 404
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not served


def test_the_api_reference_still_lists_the_ledger_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/ledger/proof/inclusion" in paths
    assert not any(p.startswith("/docs") for p in paths)
