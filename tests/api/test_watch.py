"""Consumers' "watch this product" end to end (trace/push_watch.py, docs/recall-notices.md).

A local HTTP server plays the browser's push service. A test subscription (its own P-256 key pair
and auth secret, as a browser makes them) watches a bag through POST /watch; the regulator recalls
the harvest the bag was made from; the app's background thread POSTs one Web Push message to the
push service, which the test decrypts with http_ece (an independent RFC 8188 implementation) and
whose VAPID JWT it verifies against GET /push/key. A push service answering 410 has its watch
deleted. Bad input is refused naming the field, with nothing stored.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.trace import push_watch
from farmtrace.trace.store import push_watches as sql
from farmtrace.trace.web_push import VapidKey, b64url, unb64url

from ..trace.story import REGULATOR
from .test_stories import BAGS, HARVEST, SPLITS, World, expect_problem
from .test_watch_crypto import check_vapid

CONTACT = "mailto:recalls@example.org"


class PushService:
    """A push service on 127.0.0.1: records every POST, answers `status[path]` (201 by default)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(outer.status.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


class Browser:
    """What a browser keeps of one push subscription: its key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = bytes(range(100, 116))
        self.endpoint = endpoint

    def subscription(self) -> dict[str, Any]:  # PushSubscription.toJSON()
        keys = {"p256dh": b64url(VapidKey(self.key).public_key), "auth": b64url(self.auth)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}

    def read(self, body: bytes) -> dict[str, Any]:
        return json.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )


@pytest.fixture
def push():
    service = PushService()
    yield service
    service.server.shutdown()


@pytest.fixture
def app_client(settings):
    """The app with Web Push configured; private (plain-http, loopback) endpoints allowed for the test."""
    app = create_app(replace(settings, push_contact=CONTACT, webhook_private=True))
    with TestClient(app) as c:
        yield c


def _count(client: TestClient) -> int:
    engine = client.app.state.service.engine
    if not sql.has_watch_tables(engine):
        return 0
    with engine.connect() as conn:
        return len(sql.watch_rows(conn))


def test_a_recall_of_the_harvest_reaches_the_bags_watcher(app_client, push):
    client = app_client
    w = World(client)
    w.story_one(until="repack")
    key = client.get("/push/key").json()["key"]
    assert len(unb64url(key)) == 65
    watcher, gone = Browser(f"{push.origin}/wpush/a1"), Browser(f"{push.origin}/wpush/gone")
    push.status["/wpush/gone"] = 410
    r = client.post("/watch", json={"lot": BAGS[1], "subscription": watcher.subscription(), "lang": "en"})
    assert (r.status_code, r.json()) == (201, {"lot": BAGS[1], "watching": True})
    assert (
        client.post("/watch", json={"lot": SPLITS[3], "subscription": gone.subscription()}).status_code == 201
    )
    # The same subscription watching again replaces its watch: one message, not two.
    assert (
        client.post(
            "/watch", json={"lot": BAGS[1], "subscription": watcher.subscription(), "lang": "en"}
        ).status_code
        == 201
    )
    assert _count(client) == 2
    recall = w.record(REGULATOR, w.recall_wire(HARVEST, "500"), name="recall")["event_id"]
    received = push.wait_for(2)
    by_path = {m["path"]: m for m in received}
    assert set(by_path) == {"/wpush/a1", "/wpush/gone"}, received
    message = by_path["/wpush/a1"]
    headers = {k.lower(): v for k, v in message["headers"].items()}
    assert headers["content-encoding"] == "aes128gcm" and headers["ttl"] == "86400"
    assert headers["urgency"] == "high"
    claims = check_vapid(
        headers["authorization"],
        public_key=unb64url(key),
        endpoint_origin=push.origin,
        now=client.app.state.clock(),
    )
    assert claims["sub"] == CONTACT
    payload = watcher.read(message["body"])
    assert payload["lot"] == BAGS[1] and payload["recall"] == recall
    assert payload["product"] == "Cabbage, 1 kg bag" and "carbofuran" in payload["reason"]
    assert payload["title"] == "Recall: Cabbage, 1 kg bag"
    assert f"was made from lot {HARVEST}, which has been recalled" in payload["body"]
    assert payload["url"] == f"{client.app.state.settings.public_url}/l/{BAGS[1]}?lang=en"
    # 410 Gone: that watch is deleted; the other stays, its message done (no second send).
    deadline = time.monotonic() + 10
    while _count(client) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(client) == 1
    time.sleep(1.5)
    assert len(push.received) == 2
    engine = client.app.state.service.engine
    with engine.connect() as conn:
        assert sql.due_messages(conn, time.time() + 10**6) == []
    # A watch made after the recall is not told of it (the page shows it); stop watching: 204, gone.
    late = Browser(f"{push.origin}/wpush/late")
    assert (
        client.post("/watch", json={"lot": BAGS[2], "subscription": late.subscription()}).status_code == 201
    )
    time.sleep(1.5)
    assert len(push.received) == 2
    for browser, lot in ((late, BAGS[2]), (watcher, BAGS[1])):
        r = client.request(
            "DELETE", "/watch", json={"lot": lot, "subscription": {"endpoint": browser.endpoint}}
        )
        assert r.status_code == 204
    assert _count(client) == 0


def test_a_push_service_that_fails_is_retried_with_backoff(app_client, push):
    client = app_client
    w = World(client)
    w.story_one(until="repack")
    watcher = Browser(f"{push.origin}/wpush/busy")
    push.status["/wpush/busy"] = 503
    assert (
        client.post("/watch", json={"lot": BAGS[1], "subscription": watcher.subscription()}).status_code
        == 201
    )
    w.record(REGULATOR, w.recall_wire(HARVEST, "500"), name="recall")
    push.wait_for(1)
    engine = client.app.state.service.engine
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            pending = sql.due_messages(conn, time.time() + 10**6)
        if pending and pending[0].attempts >= 1:
            break
        time.sleep(0.05)
    assert pending[0].attempts >= 1 and "503" in (pending[0].last_error or "")
    push.status["/wpush/busy"] = 201  # the service is back: the retry (2 s later) delivers
    push.wait_for(len(push.received) + 1, timeout=10)
    assert watcher.read(push.received[-1]["body"])["lot"] == BAGS[1]
    title = watcher.read(push.received[-1]["body"])["title"]
    assert title == "召回：包菜 1kg 袋装"  # the page's language by default: zh


def test_bad_watches_are_refused_naming_the_field_and_nothing_is_stored(settings, monkeypatch):
    # Endpoints must be public https on a push service's host: the test names one of its own.
    app = create_app(replace(settings, push_contact=CONTACT, push_services=("93.184.216.34",)))
    with TestClient(app) as client:
        w = World(client)
        w.story_one(until="harvest")
        good = Browser("https://93.184.216.34/wpush/abc").subscription()

        def refused(body: dict[str, Any], field: str) -> None:
            expect_problem(client.post("/watch", json=body), 400, field=field)

        refused({"lot": "NO-SUCH-LOT", "subscription": good}, "lot")
        refused({"lot": "bad lot!", "subscription": good}, "lot")
        refused(
            {"lot": HARVEST, "subscription": {**good, "endpoint": "http://93.184.216.34/x"}},
            "subscription.endpoint",
        )
        refused(
            {"lot": HARVEST, "subscription": {**good, "endpoint": "https://127.0.0.1/x"}},
            "subscription.endpoint",
        )
        refused(
            {"lot": HARVEST, "subscription": {**good, "endpoint": "https://10.0.0.8/x"}},
            "subscription.endpoint",
        )
        refused(
            {"lot": HARVEST, "subscription": {**good, "endpoint": "https://u:p@93.184.216.34/x"}},
            "subscription.endpoint",
        )
        refused(
            {"lot": HARVEST, "subscription": {**good, "endpoint": "https://x/" + "a" * 2000}},
            "subscription.endpoint",
        )
        for endpoint in (
            "https://evil.example/x",  # no push service: the platform would post to a stranger's host
            "https://fcm.googleapis.com:8443/x",  # a push service's host, another port
            "https://fcm.googleapis.com.evil.example/x",
            "https://[::1/x",  # no URL at all (was a 500)
            "https://93.184.216.34/推送",  # not ASCII
            "https://93.184.216.34/a\x00b",
        ):
            refused({"lot": HARVEST, "subscription": {**good, "endpoint": endpoint}}, "subscription.endpoint")
        refused(
            {"lot": HARVEST, "subscription": {**good, "keys": {"p256dh": "AAAA", "auth": "AAAA"}}},
            "subscription.keys.p256dh",
        )
        refused(
            {"lot": HARVEST, "subscription": {**good, "keys": {**good["keys"], "auth": b64url(bytes(15))}}},
            "subscription.keys.auth",
        )
        refused(
            {"lot": HARVEST, "subscription": {**good, "keys": {"p256dh": good["keys"]["p256dh"]}}},
            "subscription.keys",
        )
        refused({"lot": HARVEST, "subscription": {**good, "cookie": "x"}}, "subscription.cookie")
        refused({"lot": HARVEST, "subscription": "not an object"}, "subscription")
        refused({"lot": HARVEST, "subscription": good, "lang": "fr"}, "lang")
        refused({"lot": HARVEST, "subscription": good, "email": "a@b.c"}, "email")
        assert _count(client) == 0
        # A good one is stored: the lot, endpoint, keys and language, and nothing about the person.
        assert client.post("/watch", json={"lot": HARVEST, "subscription": good}).status_code == 201
        engine = client.app.state.service.engine
        with engine.connect() as conn:
            (row,) = sql.watch_rows(conn)
        assert (row.lot, row.endpoint, row.lang) == (HARVEST, good["endpoint"], "zh")
        assert set(sql.TracePushWatch.__table__.columns.keys()) == {
            "id", "lot", "endpoint", "p256dh", "auth", "lang", "created_at", "after"
        }  # fmt: skip
        # Too many watches from one network in an hour: 429 with Retry-After.
        monkeypatch.setattr(push_watch, "PER_HOUR", 2)
        again = Browser("https://93.184.216.34/wpush/def").subscription()
        assert client.post("/watch", json={"lot": HARVEST, "subscription": again}).status_code == 201
        r = client.post(
            "/watch", json={"lot": HARVEST, "subscription": Browser("https://93.184.216.34/q").subscription()}
        )
        expect_problem(r, 429)
        assert int(r.headers["retry-after"]) > 0


def test_without_a_contact_there_is_no_web_push(client):
    assert client.get("/push/key").status_code == 404
    expect_problem(client.post("/watch", json={"lot": HARVEST, "subscription": {}}), 404)


def test_the_contact_is_a_mailto_or_https_uri(tmp_path):
    from farmtrace.api.settings import ConfigError, Settings

    for good in ("mailto:recalls@example.org", "https://trace.example.gov.cn/contact"):
        assert Settings.from_env({"FARMTRACE_PUSH_CONTACT": good}).push_contact == good
    for bad in ("recalls@example.org", "http://example.org", "mailto:nobody", "https://"):
        with pytest.raises(ConfigError, match="FARMTRACE_PUSH_CONTACT must be a mailto: or https: URI"):
            Settings.from_env({"FARMTRACE_PUSH_CONTACT": bad})
    settings = Settings.from_env({"FARMTRACE_DATA_DIR": str(tmp_path)})
    assert settings.resolved_push_key_file == tmp_path / "push.key"


def test_two_deliverers_queue_a_window_once_and_claim_a_message_once(settings):
    # No lifespan: the app's own deliverer does not run; the test plays two server processes.
    app = create_app(replace(settings, push_contact=CONTACT, webhook_private=True))
    client = TestClient(app)
    w = World(client)
    w.story_one(until="repack")
    watcher = Browser("http://127.0.0.1:9/wpush/x")
    assert (
        client.post("/watch", json={"lot": BAGS[1], "subscription": watcher.subscription()}).status_code
        == 201
    )
    recall = w.record(REGULATOR, w.recall_wire(HARVEST, "500"), name="recall")["event_id"]
    engine = app.state.service.engine
    with engine.connect() as conn:
        _least, upto = sql.scan_window(conn)
        (row,) = sql.watch_rows(conn)
    index = upto
    assert sql.queue_messages(engine, [(row.id, recall, index)], upto=upto)
    assert not sql.queue_messages(engine, [(row.id, recall, index)], upto=upto)  # the other one lost
    with engine.connect() as conn:
        (message,) = sql.due_messages(conn, time.time())
        assert sql.scan_window(conn) is None  # the window is done for everyone
    with engine.begin() as conn:
        assert sql.claim_message(conn, message, until=time.time() + 30)
    with engine.begin() as conn:
        assert not sql.claim_message(conn, message, until=time.time() + 30)
    # Stopping a watch nobody made is no error; a malformed stop is refused.
    r = client.request("DELETE", "/watch", json={"lot": BAGS[1], "subscription": {"endpoint": "https://x/y"}})
    assert r.status_code == 204
    r = client.request("DELETE", "/watch", json={"lot": BAGS[1], "subscription": {}})
    expect_problem(r, 400, field="subscription.endpoint")
    app.state.log.close(close_store=True)


def test_watches_are_counted_by_network_and_forgotten_after_their_retention(settings, monkeypatch):
    """An IPv6 subscriber's /48 is one network (its /64s are not 65,536 budgets), everyone together has
    a ceiling, and a watch is deleted RETENTION_DAYS after it was made."""
    from farmtrace.trace.push_watch import _network

    assert _network("2001:db8:1:2::5") == _network("2001:db8:1:ffff::9") == "2001:db8:1::/48"
    assert _network("203.0.113.7") == "203.0.113.0/24"
    app = create_app(replace(settings, push_contact=CONTACT, webhook_private=True))
    with TestClient(app) as client:
        w = World(client)
        w.story_one(until="harvest")
        from farmtrace.web.watch import watches_of

        watches = watches_of(client.app.state)
        monkeypatch.setattr(push_watch, "ALL_PER_HOUR", 1)
        first = Browser("http://127.0.0.1:9/a").subscription()
        assert client.post("/watch", json={"lot": HARVEST, "subscription": first}).status_code == 201
        r = client.post(
            "/watch", json={"lot": HARVEST, "subscription": Browser("http://127.0.0.1:9/b").subscription()}
        )
        expect_problem(r, 429)
        assert watches.forget_old() == 0
        monkeypatch.setattr(push_watch, "RETENTION_DAYS", -1)  # made "more than -1 days ago": now
        assert watches.forget_old() == 1 and _count(client) == 0
