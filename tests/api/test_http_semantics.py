"""HTTP semantics (RFC 9110): HEAD wherever GET is, Allow on 405, WWW-Authenticate on 401, and the
problem types and vocabulary the service names, served so that their URIs resolve."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from typing import Any

import pytest

try:  # FastAPI 0.160+ keeps included routers as such: walk them, with their prefixes
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copies every route into app.routes

    def iter_route_contexts(routes):
        return iter(routes)


from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.api.errors import PROBLEM_TYPES
from farmtrace.api.settings import ConfigError, Settings
from farmtrace.client import PartyKey
from farmtrace.trace.epcis import EXTENSIONS


@pytest.fixture
def settings(settings):
    """The API's test settings with Web Push turned on, so that GET /push/key has a key to answer."""
    return replace(settings, push_contact="mailto:ops@example.org")


@pytest.fixture
def demo(client, tmp_path):
    result = run_demo(client.app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    return result, keys


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token()}"}


def _path_values(client, keys) -> dict[str, str]:
    """A valid value for each path parameter name the app's GET routes use (from the demo ledger)."""
    journey = client.get("/lots/XF-BAG-0001/journey").json()
    sale = next(e for e in journey["events"] if e["kind"] == "sell")
    recall = client.app.state.service.recent_recalls(limit=1)[0].event_id  # the demo recalls its chillies
    return {
        "code": "XF-BAG-0001",
        "lot": "XF-BAG-0001",
        "event_id": sale["id"],
        "party_id": keys["regulator"].party,
        "size": "1",
        "gtin": "06901234567892",
        "slug": "not-found",
        "name": "page.css",
        "application_id": "1",
        "serial": "1",  # /01/{gtin}/21/{serial}: a label serial never activated (its 404 page)
        "anomaly_id": "1",
        "recall_event": recall,  # /portal/notices/{recall_event}: the demo's recall (a sign-in page here)
        "party": keys["market"].party,  # /console/stop-sale/{party}: the market's stop-sale list  # /compliance/refusals/{anomaly_id}: the demo's first refused attempt, if any
        "rest": "06901234567892/10/XF-BAG-0001",  # /01/{GTIN}/10/{lot}, the consumer page
        "kind": "harvest",  # /portal/{kind}: a form
        "event_type": "ObjectEvent",  # /epcis/eventTypes/{event_type}: the EPCIS 2.0 query interface
        "subscription_id": "0",  # /epcis/queries/{name}/subscriptions/{subscription_id}: none (404)
        "path": "0/000.p/1",  # /log/tile/{path}: the first hash of the first tile (docs/tiles.md)
    }


def _url(route: Any, values: dict[str, str]) -> str:
    def fill(m: re.Match) -> str:
        name, _, _convertor = m.group(1).partition(":")
        if name == "fmt":  # /exports/events.{fmt}, /lots/{code}/export.{fmt}, labels: the first format
            return {"/lots/{code}/export.{fmt}": "csv"}.get(route.path_format, "csv")
        if route.path.startswith("/portal/icon-"):  # the web app's icons: a size it draws
            return "192"
        assert name in values, f"add a valid {name!r} for {route.path} to this test"
        return values[name]

    return re.sub(r"\{([^}]+)\}", fill, route.path)


def test_head_answers_like_get_on_every_get_route(client, demo):
    _, keys = demo
    values = _path_values(client, keys)
    # Uncompressed: a document stamped with the time of the request compresses to a length that may
    # differ by a byte between two requests.
    headers = {**_auth(keys["regulator"]), "Accept-Encoding": "identity"}
    # Query parameters some routes need (others ignore them); an answer other than 200 must be the
    # same for HEAD too, but most answers should be 200 for the check to mean much.
    query = {
        "since": "2020-01-01T00:00:00+08:00",
        "until": "2030-01-01T00:00:00+08:00",
        "index": "0",
        "size": "1",
        "from": "1",
        "to": "1",
        "code": "XF-BAG-0001",
        "lot": "XF-BAG-0001",
    }
    checked, ok = [], 0
    for route in iter_route_contexts(client.app.routes):
        if "GET" not in (getattr(route, "methods", None) or ()):
            continue
        url = _url(route, values)
        get = client.get(url, params=query, headers=headers)
        head = client.head(url, params=query, headers=headers)
        assert head.status_code == get.status_code, (url, get.status_code, head.status_code, head.text[:200])
        assert head.content == b"", url
        assert head.headers.get("content-type") == get.headers.get("content-type"), url
        if "content-length" in get.headers:
            assert head.headers["content-length"] == get.headers["content-length"], url
        assert set(head.headers) == set(get.headers), url
        checked.append(url)
        ok += get.status_code == 200
    assert len(checked) >= 40 and ok >= 0.8 * len(checked), ok


def test_head_on_a_route_without_get_is_405_with_allow(client):
    r = client.head("/events")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


def test_405_names_the_allowed_methods(client):
    r = client.delete("/parties")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["allow"] == "GET, HEAD"
    assert r.json()["type"].endswith("/problems/method-not-allowed")
    r = client.put("/events/batch", json={})
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def _forged_entry(key: PartyKey, wire: dict[str, Any]) -> bytes:
    """The party's entry for `wire` (version line, event, base64 signature) with one signature bit flipped."""
    head, _, signature = key.sign(wire).rstrip(b"\n").rpartition(b"\n")
    forged = bytearray(base64.b64decode(signature))
    forged[0] ^= 1
    return head + b"\n" + base64.b64encode(bytes(forged)) + b"\n"


def test_a_401_carries_www_authenticate(client, demo):
    _, keys = demo
    journey = client.get("/lots/XF-BAG-0001/journey").json()
    harvest = next(e for e in journey["events"] if e["kind"] == "harvest")["event"]
    wire = {**harvest, "outputs": [{**harvest["outputs"][0], "lot": "NEW-LOT-401"}]}
    coop = keys[next(name for name in PARTIES if keys[name].party == harvest["party"])]
    r = client.post("/events", json={"entry": base64.b64encode(_forged_entry(coop, wire)).decode()})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == 'FarmTrace realm="farmtrace.local/log"'
    assert r.json()["type"].endswith("/problems/signature-refused")


# --- the URIs the service names resolve ---------------------------------------------------------


def test_problem_types_are_under_the_vocabulary_base_and_resolve(client):
    r = client.get("/lots/NO-SUCH-LOT")
    assert r.status_code == 404
    kind = r.json()["type"]
    assert kind == "http://127.0.0.1:8000/problems/not-found"
    path = kind.removeprefix("http://127.0.0.1:8000")
    described = client.get(path)
    assert described.status_code == 200
    assert described.json()["status"] == 404 and described.json()["type"] == kind
    for slug, problem in PROBLEM_TYPES.items():
        page = client.get(f"/problems/{slug}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert problem.title in page.text and problem.title_zh in page.text  # English and Chinese
    assert client.get("/problems/http-429").json()["status"] == 429
    missing = client.get("/problems/no-such-problem")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_the_vocabulary_base_is_a_setting(tmp_path, sqlite_url):
    from fastapi.testclient import TestClient

    from farmtrace.api.app import create_app

    from .conftest import LOG_SIGNER

    env = {"FARMTRACE_VOCAB_BASE": "https://trace.changsha.example.cn/"}
    settings = Settings.from_env(env, data_dir=tmp_path, database_url=sqlite_url, log_key=LOG_SIGNER.key_string())
    assert settings.vocabulary_base == "https://trace.changsha.example.cn"
    assert Settings.from_env({}).vocabulary_base == "http://127.0.0.1:8000"  # the public URL, served here
    assert Settings.from_env({"FARMTRACE_PUBLIC_URL": "https://a.example"}).vocabulary_base == "https://a.example"
    for bad in ("ftp://x.example", "https://x.example/?q=1", "farmtrace.example", "https://x.example/#f"):
        with pytest.raises(ConfigError, match="FARMTRACE_VOCAB_BASE"):
            Settings.from_env({"FARMTRACE_VOCAB_BASE": bad})
    with TestClient(create_app(settings)) as c:
        assert c.get("/lots/NO-SUCH-LOT").json()["type"] == "https://trace.changsha.example.cn/problems/not-found"
        context = c.get("/ns/epcis-context.jsonld")
        assert context.headers["content-type"] == "application/ld+json"
        assert context.json()["@context"]["farmtrace"] == "https://trace.changsha.example.cn/ns#"


def test_the_vocabulary_is_served(client):
    terms = client.get("/ns").json()
    assert terms["namespace"] == "http://127.0.0.1:8000/ns#"
    assert terms["context"] == "http://127.0.0.1:8000/ns/epcis-context.jsonld"
    assert set(terms["terms"]) == set(EXTENSIONS)
    page = client.get("/ns", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "扩展词汇" in page.text and "extension vocabulary" in page.text
    assert 'id="location"' in page.text  # {base}/ns#location lands on the term
