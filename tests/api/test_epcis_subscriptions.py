"""EPCIS webhook subscriptions (trace/epcis_subscriptions.py): the app's notifier thread POSTs a named
query's new events over real loopback HTTP to a subscriber running here, signed, with retries."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft7Validator

from farmtrace.api.app import create_app
from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import Client, PartyKey
from farmtrace.trace import epcis_subscriptions as subs
from farmtrace.trace.epcis import lot_class

from ..conftest import STANDARDS
from ..trace import test_epcis as epcis_checks

BAG = "XF-BAG-0001"
BAG_CLASS = lot_class(BAG, "6901234567892")
TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"


class Subscriber:
    """An HTTP server on loopback that records each POST and answers the statuses it is given, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.seen: list[tuple[int, dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = owner.statuses.pop(0) if owner.statuses else 200
                owner.seen.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/epcis-callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while len([s for s, _, _ in self.seen if s == 200]) < count:
            assert time.monotonic() < deadline, f"{len(self.seen)} POSTs seen, {count} accepted ones awaited"
            time.sleep(0.1)


@pytest.fixture
def subscriber_factory():
    made: list[Subscriber] = []

    def make(statuses: list[int]) -> Subscriber:
        made.append(Subscriber(statuses))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def settings(settings):
    """The subscribers here listen on loopback: the operator allows private destinations."""
    return dataclasses.replace(settings, webhook_private=True)


@pytest.fixture
def demo(client, tmp_path):
    run_demo(client.app.state.service, tmp_path / "keys")
    return {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token()}"}


def _query(client, keys, name: str = "bag") -> None:
    definition = {"name": name, "query": {"MATCH_anyEPCClass": [BAG_CLASS]}}
    assert client.post("/epcis/queries", json=definition, headers=_auth(keys["market"])).status_code == 201


def _events(body: bytes) -> list[dict]:
    return json.loads(body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def _recall_bag(client, keys) -> dict:
    lot = client.get(f"/lots/{BAG}").json()
    wire = {
        "kind": "recall",
        "event_time": datetime.now(UTC).isoformat(timespec="seconds"),
        "location": {"name": "长沙市市场监督管理局"},
        "inputs": [{"lot": BAG, "quantity": lot["quantity"], "unit": lot["unit"]}],
        "detail": {"reason": "抽检发现克百威超标 / carbofuran above the limit", "instructions": "立即下架"},
    }
    return Client(key=keys["regulator"], http=client).record(wire)


def test_a_recall_of_a_watched_lot_reaches_the_subscriber_signed_after_retries(
    client, demo, subscriber_factory
):
    keys = demo
    sub = subscriber_factory([500, 503])
    _query(client, keys)
    made = client.post(
        "/epcis/queries/bag/subscriptions",
        json={"dest": sub.url, "signatureToken": TOKEN, "stream": True},
        headers=_auth(keys["shop"]),
    )
    assert made.status_code == 201, made.text
    wire = made.json()
    sid = wire["subscriptionID"]
    assert made.headers["Location"] == f"/epcis/queries/bag/subscriptions/{sid}"
    assert wire["dest"] == sub.url and wire["stream"] is True and wire["signed"] is True
    assert TOKEN not in made.text  # the token is never shown again
    # 1. The bag's past events are not sent (stream: only what is recorded from now on).
    _recall_bag(client, keys)
    # 2. The subscriber refuses twice; the state shows it; the third try (after 2 s, then 4 s) lands.
    sub.wait_for(1)
    statuses = [s for s, _, _ in sub.seen]
    assert statuses == [500, 503, 200]
    state = client.get(f"/epcis/queries/bag/subscriptions/{sid}", headers=_auth(keys["shop"])).json()
    assert state["delivered"] == 1 and state["attempts"] == 0 and "lastNotifiedAt" in state
    for _, headers, body in sub.seen:
        expected = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
        assert headers["GS1-Signature"] == expected
        assert headers["Content-Type"] == "application/json" and headers["GS1-EPCIS-Version"] == "2.0.0"
    doc = json.loads(sub.seen[-1][2])
    assert epcis_checks._errors(doc) == []
    results = doc["epcisBody"]["queryResults"]
    assert results["queryName"] == "bag" and results["subscriptionID"] == sid
    recalls = client.get("/epcis/events", params={"MATCH_anyEPCClass": BAG_CLASS, "EQ_bizStep": "holding"})
    assert _events(sub.seen[-1][2]) == recalls.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    (event,) = _events(sub.seen[-1][2])
    assert event["disposition"] == "recalled"
    # 3. Nothing is sent twice.
    time.sleep(2.5)
    assert len(sub.seen) == 3


def test_the_failures_are_visible_while_retrying(client, demo, subscriber_factory):
    keys = demo
    sub = subscriber_factory([500] * 50)
    _query(client, keys)
    made = client.post(
        "/epcis/queries/bag/subscriptions",
        json={"dest": sub.url, "stream": True},
        headers=_auth(keys["shop"]),
    ).json()
    _recall_bag(client, keys)
    deadline = time.monotonic() + 30
    while True:
        path = f"/epcis/queries/bag/subscriptions/{made['subscriptionID']}"
        state = client.get(path, headers=_auth(keys["shop"])).json()
        if state["attempts"] >= 1:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state["delivered"] == 0 and "answered 500" in state["lastError"] and "nextAttemptAt" in state
    assert "GS1-Signature" not in sub.seen[0][1]  # no token, no signature


def test_initial_record_time_sends_the_past_too(client, demo, subscriber_factory):
    keys = demo
    sub = subscriber_factory([])
    _query(client, keys)
    body = {"dest": sub.url, "stream": True, "initialRecordTime": "2000-01-01T00:00:00Z"}
    assert (
        client.post("/epcis/queries/bag/subscriptions", json=body, headers=_auth(keys["shop"])).status_code
        == 201
    )
    sub.wait_for(1)
    past = client.get("/epcis/events", params={"MATCH_anyEPCClass": BAG_CLASS, "perPage": "1000"}).json()
    expected = past["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(expected) == 2 and _events(sub.seen[0][2]) == expected  # every event of the bag so far


def test_a_subscriber_is_sent_what_its_maker_is_shown(client, demo, subscriber_factory):
    """docs/visibility.md: a subscription made by a party is sent the shipments and receipts that party
    signed or is named in, as its own query would answer; one made by a regulator, every one."""
    keys = demo
    definition = {"name": "trade", "query": {"EQ_bizStep": ["shipping", "receiving"]}}
    assert client.post("/epcis/queries", json=definition, headers=_auth(keys["market"])).status_code == 201
    body = {"dest": "", "stream": True, "initialRecordTime": "2000-01-01T00:00:00Z"}
    seen = {}
    for name in ("shop", "regulator"):
        sub = subscriber_factory([])
        made = client.post(
            "/epcis/queries/trade/subscriptions", json={**body, "dest": sub.url}, headers=_auth(keys[name])
        )
        assert made.status_code == 201, made.text
        sub.wait_for(1)  # one batch holds them all (the demo has far fewer than BATCH)
        sent = [e for _, _, b in sub.seen for e in _events(b)]
        asked = client.get(
            "/epcis/queries/trade/events", params={"perPage": "1000"}, headers=_auth(keys[name])
        )
        assert sent == asked.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"], name
        seen[name] = sent
    assert 0 < len(seen["shop"]) < len(seen["regulator"])
    shop = f"urn:farmtrace:party:{keys['shop'].party}"
    for event in seen["shop"]:
        named = [x["source"] for x in event["sourceList"]]
        assert shop in named + [x["destination"] for x in event["destinationList"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dest": "http://127.0.0.1:9/x"}, "stream"),
        ({"dest": "http://127.0.0.1:9/x", "stream": False}, "stream"),
        ({"dest": "http://127.0.0.1:9/x", "schedule": {"hour": "1"}}, "schedule"),
        ({"dest": "ftp://example.org/x", "stream": True}, "dest"),
        ({"dest": "not a url", "stream": True}, "dest"),
        ({"stream": True}, "dest"),
        ({"dest": "http://127.0.0.1:9/x", "stream": True, "secret": "x"}, "secret"),
        ({"dest": "http://127.0.0.1:9/x", "stream": True, "signatureToken": ""}, "signatureToken"),
        ({"dest": "http://127.0.0.1:9/x", "stream": True, "initialRecordTime": "yesterday"}, "GE_recordTime"),
    ],
)
def test_bad_subscriptions_are_refused_by_name_and_nothing_is_stored(client, demo, body, field):
    keys = demo
    _query(client, keys)
    r = client.post("/epcis/queries/bag/subscriptions", json=body, headers=_auth(keys["shop"]))
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "epcisException:QueryParameterException" and r.json()["field"] == field
    assert client.get("/epcis/queries/bag/subscriptions", headers=_auth(keys["regulator"])).json() == []


def test_who_may_subscribe_and_unsubscribe(client, demo):
    keys = demo
    body = {"dest": "http://127.0.0.1:9/x", "stream": True}
    assert (
        client.post("/epcis/queries/none/subscriptions", json=body, headers=_auth(keys["shop"])).status_code
        == 404
    )
    _query(client, keys)
    assert client.post("/epcis/queries/bag/subscriptions", json=body).status_code == 403
    sid = client.post("/epcis/queries/bag/subscriptions", json=body, headers=_auth(keys["shop"])).json()[
        "subscriptionID"
    ]
    # A subscription names its maker's endpoint: its maker and regulators read it; others, nothing.
    def listed(reader: str | None) -> Any:
        r = client.get("/epcis/queries/bag/subscriptions", headers=_auth(keys[reader]) if reader else {})
        return r.status_code if r.status_code != 200 else [s["subscriptionID"] for s in r.json()]

    assert listed("shop") == [sid] and listed("regulator") == [sid] and listed("market") == []
    assert listed(None) == 403
    path = f"/epcis/queries/bag/subscriptions/{sid}"
    assert client.get(path, headers=_auth(keys["regulator"])).json()["dest"] == body["dest"]
    r = client.get(path, headers=_auth(keys["market"]))
    assert r.status_code == 404 and r.json()["type"] == "epcisException:NoSuchResourceException"
    assert client.get(path).status_code == 403
    assert client.delete(path, headers=_auth(keys["market"])).status_code == 403  # not its maker
    assert client.delete(path, headers=_auth(keys["shop"])).status_code == 204
    r = client.get(path, headers=_auth(keys["shop"]))
    assert r.status_code == 404 and r.json()["type"] == "epcisException:NoSuchResourceException"
    # Deleting the named query deletes its subscriptions.
    client.post("/epcis/queries/bag/subscriptions", json=body, headers=_auth(keys["shop"]))
    assert client.delete("/epcis/queries/bag", headers=_auth(keys["market"])).status_code == 204
    _query(client, keys)
    assert client.get("/epcis/queries/bag/subscriptions", headers=_auth(keys["regulator"])).json() == []


def _openapi_validator(schema: dict) -> Any:
    """A validator of `schema` (from the official OpenAPI) whose `#/components/...` refs resolve
    against the OpenAPI itself (tests/vectors/epcis/epcis-rest-openapi.json)."""
    openapi = json.loads((STANDARDS / "epcis" / "epcis-rest-openapi.json").read_text(encoding="utf-8"))
    return Draft7Validator({**schema, "components": openapi["components"]}), openapi


def test_answers_follow_the_official_openapi(client, demo):
    """The subscription's 201, the query document and the 400/413 problems, checked against the
    schemas the official OpenAPI gives those responses. Its 404 and 409 schemas contradict their own
    examples (epcisException:NoSuchNameException vs NoSuchResourceException; status 406 vs 409), so
    those two are checked by the other tests only, against the examples."""
    keys = demo
    _, openapi = _openapi_validator({})
    responses = openapi["components"]["responses"]
    sub_schema = openapi["paths"]["/queries/{queryName}/subscriptions"]["post"]["responses"]["201"]
    _query(client, keys)
    made = client.post(
        "/epcis/queries/bag/subscriptions",
        json={"dest": "http://127.0.0.1:9/x", "stream": True},
        headers=_auth(keys["shop"]),
    )
    cases = [
        (sub_schema["content"]["application/json"]["schema"], made),
        ({"$ref": "#/components/schemas/epcisQueryDocument"}, client.get("/epcis/queries/bag/events")),
        (
            responses["400QueryIssues"]["content"]["application/problem+json"]["schema"],
            client.get("/epcis/events", params={"colour": "red"}),
        ),
        (
            responses["413QueryScopeOrSize"]["content"]["application/problem+json"]["schema"],
            client.get("/epcis/events", params={"maxEventCount": "1"}),
        ),
    ]
    for schema, answer in cases:
        validator, _ = _openapi_validator(schema)
        body = answer.json()
        if body.get("type") == "EPCISQueryDocument":
            # The envelope only: the OpenAPI's EPCISEvent is a oneOf that every event matches twice
            # (as its type and as Extended-Event); the events meet the normative JSON Schema (above).
            assert body["epcisBody"]["queryResults"]["resultsBody"]["eventList"] != []
            assert epcis_checks._errors(body) == []
            body["epcisBody"]["queryResults"]["resultsBody"]["eventList"] = []
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], (answer.request.url, errors)


def test_a_recall_of_the_lot_a_watched_lot_was_made_from_reaches_the_subscriber(
    client, demo, subscriber_factory
):
    """The recall event names the recalled lot only; the bag packed from it is recalled with it, so
    a subscriber watching the bag (and asking only for its sales) is told."""
    keys = demo
    sub = subscriber_factory([])
    definition = {
        "name": "bag-sales",
        "query": {"MATCH_anyEPCClass": [BAG_CLASS], "EQ_bizStep": ["retail_selling"]},
    }
    assert client.post("/epcis/queries", json=definition, headers=_auth(keys["market"])).status_code == 201
    body = {"dest": sub.url, "stream": True}
    assert (
        client.post(
            "/epcis/queries/bag-sales/subscriptions", json=body, headers=_auth(keys["shop"])
        ).status_code
        == 201
    )
    graph = client.get(f"/lots/{BAG}/trace", params={"direction": "back"}).json()
    parents = sorted((n for n in graph["nodes"] if n["lot"] != BAG), key=lambda n: n["lot"])
    assert parents, graph
    parent = parents[0]
    wire = {
        "kind": "recall",
        "event_time": datetime.now(UTC).isoformat(timespec="seconds"),
        "location": {"name": "长沙市市场监督管理局"},
        "inputs": [{"lot": parent["lot"], "quantity": parent["quantity"], "unit": parent["unit"]}],
        "detail": {"reason": "抽检发现克百威超标 / carbofuran above the limit", "instructions": "立即下架"},
    }
    Client(key=keys["regulator"], http=client).record(wire)
    sub.wait_for(1)
    (event,) = _events(sub.seen[0][2])
    assert event["disposition"] == "recalled" and BAG_CLASS not in json.dumps(event)
    assert parent["lot"].replace("/", "%2F") in json.dumps(event)


# --- destinations inside the operator's network (trace/epcis_subscriptions.py, "Destinations") ---


@pytest.mark.parametrize(
    "dest",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://10.1.2.3/x",
        "http://192.168.0.7/x",
        "http://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "http://[::1]:9/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.100.100.200/latest/meta-data",  # shared address space: a cloud's metadata too
        "http://127.1/x",  # short and decimal spellings of 127.0.0.1, as a resolver reads them
        "http://2130706433/x",
    ],
)
def test_a_destination_inside_the_operators_network_is_refused_by_default(dest, settings, tmp_path):
    """Without FARMTRACE_WEBHOOK_PRIVATE=1 a party cannot aim the service's POSTs inward: 400 naming
    dest, nothing stored."""
    app = create_app(dataclasses.replace(settings, webhook_private=False))
    with TestClient(app) as client:
        run_demo(client.app.state.service, tmp_path / "keys")
        keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
        _query(client, keys)
        answer = client.post(
            "/epcis/queries/bag/subscriptions", json={"dest": dest, "stream": True}, headers=_auth(keys["shop"])
        )
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert problem["field"] == "dest" and "FARMTRACE_WEBHOOK_PRIVATE" in problem["detail"]
        regulator = _auth(keys["regulator"])
        assert client.get("/epcis/queries/bag/subscriptions", headers=regulator).json() == []


def test_names_are_resolved_and_checked_at_subscription_and_at_each_delivery():
    names = {
        "hooks.example.cn": ["10.0.0.5"],
        "mixed.example.cn": ["8.8.4.4", "fe80::1%eth0"],  # one inward address is enough to refuse
        "public.example.cn": ["8.8.4.4", "2606:4700:4700::1111"],
    }
    resolve = names.__getitem__
    with pytest.raises(subs.DestinationRefused, match=r"10\.0\.0\.5"):
        subs.check_destination("https://hooks.example.cn/epcis", resolve=resolve)
    with pytest.raises(subs.DestinationRefused, match="fe80::1"):
        subs.check_destination("https://mixed.example.cn/epcis", resolve=resolve)
    subs.check_destination("https://public.example.cn/epcis", resolve=resolve)
    subs.check_destination("https://8.8.8.8/epcis", resolve=resolve)  # a literal public address
    subs.check_destination("https://nowhere.example.cn/epcis", resolve=lambda host: [])  # fails later
    # A Unicode name is checked as httpx will connect to it (IDNA 2008: "ß" stays, as xn--zca), not
    # as the socket module would encode it (IDNA 2003: "ss", another name).
    idna = {"xn--zca.example.cn": ["169.254.169.254"], "ss.example.cn": ["8.8.8.8"]}
    with pytest.raises(subs.DestinationRefused, match=r"169\.254\.169\.254"):
        subs.check_destination("http://ß.example.cn/x", resolve=idna.__getitem__)
    # The delivery itself checks again: a name re-pointed inward after the subscription is not posted to.
    with pytest.raises(subs.DestinationRefused):
        subs._post("http://127.0.0.1:9/x", b"{}", {})
