"""The EPCIS 2.0 query interface (/epcis, api/routes/epcis_query.py) over HTTP, on the demo's ledger.

Every answer is checked against the official EPCIS 2.0 JSON Schema (tests/vectors/epcis/); the
filters are checked against a filter written here over the full, unfiltered list; paging walks the
`Link: rel="next"` headers; every query parameter the official OpenAPI names is either answered or
refused with a QueryParameterException that names it."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from farmtrace.api.app import create_app
from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import PartyKey
from farmtrace.trace.epcis import lot_class, party_uri
from farmtrace.trace.model.encoding import decode_entry

from ..conftest import STANDARDS
from ..trace import test_epcis as epcis_checks

BAG = "XF-BAG-0001"  # a 1 kg bag of cabbage, made by repacking; its product has a GTIN
BAG_CLASS = lot_class(BAG, "6901234567892")
OPENAPI = json.loads((STANDARDS / "epcis" / "epcis-rest-openapi.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo(client, tmp_path):
    """The demo's ledger and its parties' keys. The client reads as the regulator, who is shown every
    event (docs/visibility.md): the filters below are checked against the full list."""
    run_demo(client.app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    client.headers.update(_auth(keys["regulator"]))
    return keys


def _auth(key: PartyKey) -> dict[str, str]:
    return {"Authorization": f"FarmTrace {key.token()}"}


def _events(doc: dict) -> list[dict]:
    return doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def _get(client, path: str, **params) -> dict:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["GS1-EPCIS-Version"] == "2.0.0" and r.headers["GS1-CBV-Version"] == "2.0.0"
    assert r.headers["GS1-Extensions"] == "farmtrace=http://127.0.0.1:8000/ns#"
    doc = r.json()
    assert doc["type"] == "EPCISQueryDocument"
    assert epcis_checks._errors(doc) == []
    return doc


def _all(client) -> list[dict]:
    return _events(_get(client, "/epcis/events", perPage="1000"))


def _walk(client, path: str, **params) -> tuple[list[dict], int]:
    """Every event of a paged answer, following Link rel="next"; and how many pages there were."""
    r = client.get(path, params=params)
    out, pages = [], 0
    while True:
        assert r.status_code == 200, r.text
        assert epcis_checks._errors(r.json()) == []
        out += _events(r.json())
        pages += 1
        link = r.headers.get("Link")
        if link is None:
            return out, pages
        assert link.startswith("<http://testserver/epcis/") and link.endswith('>; rel="next"')
        r = client.get(link[1 : link.index(">")])


def _problem(r, status: int, exception: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"epcisException:{exception}" and body["status"] == status
    if field is not None:
        assert body["field"] == field and field in body["detail"]
    return body


def test_pages_follow_link_and_together_hold_every_event_once(client, demo):
    everything = _all(client)
    ids = [e["eventID"] for e in everything]
    journey = client.get(f"/lots/{BAG}/epcis").json()["epcisBody"]["eventList"]
    assert len(ids) == len(set(ids)) > 20 and {e["eventID"] for e in journey} <= set(ids)
    for per_page in (1, 4, 7):
        paged, pages = _walk(client, "/epcis/events", perPage=str(per_page))
        assert [e["eventID"] for e in paged] == ids  # ledger order, nothing repeated or lost
        assert pages == -(-len(ids) // per_page)
    # recordTime order is ledger order
    assert [e["recordTime"] for e in everything] == sorted(e["recordTime"] for e in everything)


def _time(e: dict, key: str) -> datetime:
    return datetime.fromisoformat(e[key])


def _ids(events: list[dict]) -> list[str]:
    return [e["eventID"] for e in events]


def test_each_filter_answers_what_a_plain_filter_over_every_event_finds(client, demo):
    everything = _all(client)
    times = sorted({_time(e, "eventTime") for e in everything})
    mid, late = times[len(times) // 3], times[2 * len(times) // 3]
    recorded = sorted(e["recordTime"] for e in everything)[len(everything) // 2]
    some = everything[5]["eventID"]
    cases = [
        ({"eventType": "TransformationEvent"}, lambda e: e["type"] == "TransformationEvent"),
        ({"EQ_bizStep": "shipping|receiving"}, lambda e: e.get("bizStep") in ("shipping", "receiving")),
        (
            {"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"},  # the URI form of a CBV value
            lambda e: e.get("bizStep") == "shipping",
        ),
        ({"EQ_action": "ADD"}, lambda e: e.get("action") == "ADD"),
        ({"EQ_disposition": "in_transit"}, lambda e: e.get("disposition") == "in_transit"),
        ({"MATCH_anyEPCClass": BAG_CLASS}, lambda e: BAG_CLASS in json.dumps(e)),
        (
            {"MATCH_outputEPCClass": BAG_CLASS},
            lambda e: BAG_CLASS in [q["epcClass"] for q in e.get("outputQuantityList", [])],
        ),
        (
            {"MATCH_epcClass": BAG_CLASS},
            lambda e: BAG_CLASS in [q["epcClass"] for q in e.get("quantityList", [])],
        ),
        (
            {"GE_eventTime": mid.isoformat(), "LT_eventTime": late.isoformat()},
            lambda e: mid <= _time(e, "eventTime") < late,
        ),
        ({"GE_recordTime": recorded}, lambda e: e["recordTime"] >= recorded),
        ({"LT_recordTime": recorded}, lambda e: e["recordTime"] < recorded),
        ({"EQ_eventID": some}, lambda e: e["eventID"] == some),
        (
            {"eventType": "ObjectEvent", "EQ_bizStep": "retail_selling", "MATCH_anyEPCClass": BAG_CLASS},
            lambda e: (
                e["type"] == "ObjectEvent"
                and e.get("bizStep") == "retail_selling"
                and BAG_CLASS in json.dumps(e)
            ),
        ),
    ]
    for params, keep in cases:
        expected = _ids([e for e in everything if keep(e)])
        assert 0 < len(expected) < len(everything), params  # the case tells something
        assert _ids(_events(_get(client, "/epcis/events", perPage="1000", **params))) == expected, params
        assert _ids(_walk(client, "/epcis/events", perPage="2", **params)[0]) == expected, params
    # Instance EPCs and foreign classes: farmtrace's events name lots (classes), so nothing matches.
    for params in (
        {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.2017"},
        {"MATCH_anyEPC": BAG_CLASS},
        {"MATCH_anyEPCClass": "urn:epc:class:lgtin:4012345.012345.998877"},
        {"eventType": "AggregationEvent"},
        {"EQ_readPoint": "urn:epc:id:sgln:0614141.07346.1234"},
    ):
        assert _events(_get(client, "/epcis/events", **params)) == [], params


def test_order_and_event_count_limit(client, demo):
    everything = _all(client)
    asc = _events(_get(client, "/epcis/events", perPage="1000", orderBy="eventTime", orderDirection="ASC"))
    assert sorted(_ids(asc)) == sorted(_ids(everything))
    assert [_time(e, "eventTime") for e in asc] == sorted(_time(e, "eventTime") for e in everything)
    desc, _ = _walk(client, "/epcis/events", perPage="3", orderBy="eventTime")  # DESC by default (§8.2.7.1)
    assert [_time(e, "eventTime") for e in desc] == sorted(
        (_time(e, "eventTime") for e in everything), reverse=True
    )
    by_record = _events(
        _get(client, "/epcis/events", perPage="1000", orderBy="recordTime", orderDirection="DESC")
    )
    assert _ids(by_record) == _ids(everything)[::-1]
    latest_sale = _events(
        _get(client, "/epcis/events", EQ_bizStep="retail_selling", orderBy="eventTime", eventCountLimit="1")
    )
    sales = [e for e in everything if e.get("bizStep") == "retail_selling"]
    assert len(sales) > 1 and _ids(latest_sale) == [
        max(sales, key=lambda e: _time(e, "eventTime"))["eventID"]
    ]
    limited, pages = _walk(
        client, "/epcis/events", perPage="2", orderBy="recordTime", orderDirection="ASC", eventCountLimit="5"
    )
    assert _ids(limited) == _ids(everything)[:5] and pages == 3


def test_max_event_count(client, demo):
    n = len(_events(_get(client, "/epcis/events", perPage="1000", EQ_bizStep="shipping")))
    assert n > 1
    assert len(_events(_get(client, "/epcis/events", EQ_bizStep="shipping", maxEventCount=str(n)))) == n
    body = _problem(
        client.get("/epcis/events", params={"EQ_bizStep": "shipping", "maxEventCount": str(n - 1)}),
        413,
        "QueryTooLargeException",
    )
    assert f"maxEventCount={n - 1}" in body["detail"]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"colour": "red"}, "colour", "not a query parameter"),
        (
            {"WD_readPoint": "urn:x:y"},
            "WD_readPoint",
            "not supported: farmtrace keeps no location master data",
        ),
        ({"GE_eventTime": "2026-12-01"}, "GE_eventTime", "RFC 3339 date-time with a time zone"),
        ({"GE_eventTime": "2026-12-01T08:00:00"}, "GE_eventTime", "with a time zone"),
        ({"eventType": "QuantityEvent"}, "eventType", "'QuantityEvent'"),
        ({"EQ_action": "ADD|REMOVE"}, "EQ_action", "ADD, OBSERVE or DELETE"),
        ({"EQ_bizStep": "shipping||receiving"}, "EQ_bizStep", "non-empty values"),
        ({"eventCountLimit": "2"}, "eventCountLimit", "needs orderBy"),
        (
            {"orderBy": "eventTime", "eventCountLimit": "1", "maxEventCount": "3"},
            "eventCountLimit",
            "mutually exclusive",
        ),
        ({"orderBy": "quantity"}, "orderBy", "eventTime, recordTime"),
        ({"orderBy": "eventTime", "orderDirection": "UP"}, "orderDirection", "ASC, DESC"),
        ({"maxEventCount": "007"}, "maxEventCount", "positive integer"),
        ({"perPage": "0"}, "perPage", "positive integer"),
        ({"perPage": "ten"}, "perPage", "positive integer"),
        (
            {"GE_eventTime": "2026-12-02T00:00:00Z", "LT_eventTime": "2026-12-01T00:00:00Z"},
            "LT_eventTime",
            "later than GE_eventTime",
        ),
    ],
)
def test_bad_parameters_are_refused_by_name(client, params, field, words):
    body = _problem(client.get("/epcis/events", params=params), 400, "QueryParameterException", field)
    assert words in body["detail"]


def test_a_parameter_given_twice_is_refused(client):
    r = client.get("/epcis/events?EQ_bizStep=shipping&EQ_bizStep=receiving")
    assert "pipe-delimited" in _problem(r, 400, "QueryParameterException", "EQ_bizStep")["detail"]


def test_every_openapi_query_parameter_is_answered_or_refused_by_name(client, demo):
    """Each standard parameter of GET /events in the official OpenAPI gets an answer (200, or 413 for
    a maxEventCount of 1) or a 400 naming it: none is silently ignored (EPCIS 2.0 §8.2.7.1)."""
    params = OPENAPI["components"]["parameters"]
    names = [
        params[ref["$ref"].rsplit("/", 1)[1]] for ref in OPENAPI["paths"]["/events"]["get"]["parameters"]
    ]
    samples = {"integer": "1", "boolean": "true"}
    answered = []
    for p in names:
        if p["in"] != "query" or p["name"] in ("nextPageToken", "perPage"):
            continue
        schema = p.get("schema", {})
        kind = schema.get("type")
        item = schema.get("items", {})
        value = (
            ("eventTime" if p["name"] == "orderBy" else None)  # its schema is any string
            or p.get("example")
            or (item.get("enum") or [None])[0]
            or (schema.get("enum") or [None])[0]
            or ("2026-12-01T00:00:00Z" if "Time" in p["name"] else samples.get(kind, "urn:example:1"))
        )
        extra = {"orderBy": "eventTime"} if p["name"] in ("eventCountLimit", "orderDirection") else {}
        r = client.get("/epcis/events", params={p["name"]: str(value), **extra})
        if r.status_code == 200:
            answered.append(p["name"])
        elif p["name"] == "maxEventCount":  # 1: more events match than that
            _problem(r, 413, "QueryTooLargeException")
            answered.append(p["name"])
        else:
            _problem(r, 400, "QueryParameterException", p["name"])
    assert {
        "eventType",
        "GE_eventTime",
        "EQ_bizStep",
        "MATCH_anyEPCClass",
        "orderBy",
        "eventCountLimit",
    } <= set(answered)


def test_page_tokens_are_tamper_evident_and_bound_to_their_query(client, demo):
    r = client.get("/epcis/events", params={"perPage": "2", "EQ_bizStep": "shipping|receiving"})
    link = r.headers["Link"]
    token = link[link.index("nextPageToken=") + len("nextPageToken=") : link.index(">")]
    head, tail = token.split(".")
    flipped = head[:-3] + ("A" if head[-3] != "A" else "B") + head[-2:]
    for bad in (f"{flipped}.{tail}", f"{head}.{tail[::-1]}", "abc", "", f"{head}."):
        _problem(
            client.get("/epcis/events", params={"nextPageToken": bad}),
            400,
            "QueryParameterException",
            "nextPageToken",
        )
    # The same parameters again with the token are fine; other ones are not.
    again = client.get(
        "/epcis/events", params={"perPage": "2", "EQ_bizStep": "shipping|receiving", "nextPageToken": token}
    )
    assert again.status_code == 200 and len(_events(again.json())) == 2
    other = client.get("/epcis/events", params={"EQ_bizStep": "shipping", "nextPageToken": token})
    _problem(other, 400, "QueryParameterException", "nextPageToken")
    # A path's own parameters are the token's too: this token is not one for TransformationEvents'.
    path = client.get("/epcis/eventTypes/TransformationEvent/events", params={"nextPageToken": token})
    _problem(path, 400, "QueryParameterException", "nextPageToken")
    typed = client.get("/epcis/eventTypes/ObjectEvent/events", params={"perPage": "2"})
    link = typed.headers["Link"]
    own = link[link.index("nextPageToken=") + len("nextPageToken=") : link.index(">")]
    assert (
        client.get("/epcis/eventTypes/ObjectEvent/events", params={"nextPageToken": own}).status_code == 200
    )
    _problem(
        client.get("/epcis/eventTypes/TransformationEvent/events", params={"nextPageToken": own}),
        400,
        "QueryParameterException",
        "nextPageToken",
    )


def test_another_worker_of_the_same_log_takes_the_next_page(client, demo, settings):
    """`serve --workers N`: the token key comes from the log's key, which every worker holds, so a
    load balancer may send the next page anywhere."""
    r = client.get("/epcis/events", params={"perPage": "2"})
    link = r.headers["Link"]
    token = link[link.index("nextPageToken=") + len("nextPageToken=") : link.index(">")]
    with TestClient(create_app(settings)) as other:
        page = other.get("/epcis/events", params={"perPage": "2", "nextPageToken": token})
        assert page.status_code == 200 and len(_events(page.json())) == 2


def test_each_audience_is_shown_its_own_shipments_and_receipts(client, demo):
    """docs/visibility.md: the public is shown no shipment or receipt, a party those it signed or is
    named in, a regulator all; a page skips the others as if they did not match, and one such event
    asked for by its ID is a 403."""
    everything = _all(client)
    custody = [e for e in everything if e.get("sourceList") or e.get("destinationList")]
    assert {e["bizStep"] for e in custody} == {"shipping", "receiving"}
    del client.headers["Authorization"]
    public = _all(client)
    assert public == [e for e in everything if e not in custody]
    paged, _ = _walk(client, "/epcis/events", perPage="3", EQ_bizStep="shipping|receiving")
    assert paged == []
    hidden = custody[0]
    r = client.get("/epcis/events/" + quote(hidden["eventID"], safe=""))
    assert r.status_code == 403 and "shown to its parties and to regulators" in r.json()["detail"]
    seen: dict[str, int] = {}
    for name, key in demo.items():
        client.headers.update(_auth(key))
        mine = _events(_get(client, "/epcis/events", perPage="1000", EQ_bizStep="shipping|receiving"))
        expected = [
            e
            for e in custody
            if e["farmtrace:party"] == key.party
            or party_uri(key.party) in [x["source"] for x in e["sourceList"]]
            or party_uri(key.party) in [x["destination"] for x in e["destinationList"]]
        ]
        assert mine == (custody if name == "regulator" else expected), name
        seen[name] = len(mine)
        del client.headers["Authorization"]
    # The market trades in every shipment of the demo's vegetables and pork, but not in the live pigs'
    # way from the farm to the slaughterhouse (api/demo.py); the shop sees only its own.
    assert 0 < seen["shop"] < seen["market"] <= len(custody)


def test_one_event_by_its_event_id(client, demo):
    everything = _all(client)
    for e in (everything[0], everything[-1]):
        r = client.get("/epcis/events/" + quote(e["eventID"], safe=""))
        assert r.status_code == 200, r.text
        assert r.headers["GS1-EPCIS-Version"] == "2.0.0"
        body = r.json()
        assert epcis_checks._errors(body) == [] and body["type"] == "EPCISQueryDocument"
        assert _events(body) == [e]
        by_hex = client.get("/epcis/events/" + e["farmtrace:eventId"]).json()
        assert _events(by_hex) == [e]
    missing = "ni:///sha-256;" + "A" * 43
    _problem(client.get("/epcis/events/" + quote(missing, safe="")), 404, "NoSuchResourceException")
    (first_entry,) = client.app.state.log.read_entries(0, 1)
    party_event = decode_entry(
        first_entry[1]
    ).id  # the genesis: a party.register, which EPCIS has no form for
    assert client.get(f"/events/{party_event}").status_code == 200
    _problem(client.get(f"/epcis/events/{party_event}"), 404, "NoSuchResourceException")


def test_event_types(client, demo):
    types = client.get("/epcis/eventTypes")
    assert types.status_code == 200 and "TransformationEvent" in types.json()
    assert client.get("/epcis/eventTypes/ObjectEvent").json()["member"] == ["events"]
    everything = _all(client)
    only = _events(_get(client, "/epcis/eventTypes/TransformationEvent/events", perPage="1000"))
    assert _ids(only) == _ids([e for e in everything if e["type"] == "TransformationEvent"]) != []
    _problem(client.get("/epcis/eventTypes/QuantityEvent/events"), 404, "NoSuchResourceException")
    clash = client.get("/epcis/eventTypes/ObjectEvent/events", params={"eventType": "ObjectEvent"})
    _problem(clash, 400, "QueryParameterException", "eventType")


def test_named_queries(client, demo):
    keys = demo
    definition = {
        "name": "shipments-of-the-bag",
        "query": {"EQ_bizStep": ["retail_selling"], "MATCH_anyEPCClass": [BAG_CLASS]},
    }
    # 1. Creating needs a party's credentials; reading does not.
    del client.headers["Authorization"]  # the demo fixture's regulator
    anonymous = client.post("/epcis/queries", json=definition)
    assert anonymous.status_code == 403 and anonymous.json()["type"].endswith("/problems/forbidden")
    made = client.post("/epcis/queries", json=definition, headers=_auth(keys["market"]))
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == "/epcis/queries/shipments-of-the-bag"
    assert made.headers["GS1-EPCIS-Version"] == "2.0.0"
    # 2. A name is taken once; bad definitions are refused and store nothing.
    again = client.post("/epcis/queries", json={**definition, "query": {}}, headers=_auth(keys["shop"]))
    _problem(again, 409, "ResourceAlreadyExistsException")
    for bad, field in (
        ({"name": "x", "query": {"EQ_bizStep": "shipping", "colour": ["red"]}}, "colour"),
        ({"name": "has space", "query": {}}, "name"),
        ({"name": "y", "query": ["EQ_bizStep"]}, "query"),
        ({"name": "z", "query": {}, "owner": "me"}, "owner"),
        ({"name": "w", "query": {"eventCountLimit": 3}}, "eventCountLimit"),
    ):
        r = client.post("/epcis/queries", json=bad, headers=_auth(keys["market"]))
        _problem(r, 400, "QueryParameterException", field)
    listed = client.get("/epcis/queries")
    assert listed.status_code == 200 and listed.json() == [definition]
    assert client.get("/epcis/queries/shipments-of-the-bag").json() == definition
    # 3. Its events are those of the same parameters on /epcis/events.
    direct = _events(_get(client, "/epcis/events", EQ_bizStep="retail_selling", MATCH_anyEPCClass=BAG_CLASS))
    named = _get(client, "/epcis/queries/shipments-of-the-bag/events")
    assert named["epcisBody"]["queryResults"]["queryName"] == "shipments-of-the-bag"
    assert _events(named) == direct != []
    fixed = client.get("/epcis/queries/shipments-of-the-bag/events", params={"EQ_bizStep": "receiving"})
    _problem(fixed, 400, "QueryParameterException", "EQ_bizStep")
    # 4. Only its creator (or a regulator) deletes it.
    other = client.delete("/epcis/queries/shipments-of-the-bag", headers=_auth(keys["shop"]))
    assert other.status_code == 403
    gone = client.delete("/epcis/queries/shipments-of-the-bag", headers=_auth(keys["market"]))
    assert gone.status_code == 204
    for path in ("/epcis/queries/shipments-of-the-bag", "/epcis/queries/shipments-of-the-bag/events"):
        _problem(client.get(path), 404, "NoSuchResourceException")
    assert client.get("/epcis/queries").json() == []
    reg = client.post("/epcis/queries", json=definition, headers=_auth(keys["market"]))
    assert reg.status_code == 201
    assert (
        client.delete("/epcis/queries/shipments-of-the-bag", headers=_auth(keys["regulator"])).status_code
        == 204
    )


def test_reading_makes_no_tables(client):
    """The query interface is read-only: on a ledger where nobody made a named query or a
    subscription, reading them answers empty or 404 and adds nothing to the schema."""
    engine = client.app.state.service.engine
    before = set(inspect(engine).get_table_names())
    assert client.get("/epcis/queries").json() == []
    _problem(client.get("/epcis/queries/q"), 404, "NoSuchResourceException")
    _problem(client.get("/epcis/queries/q/events"), 404, "NoSuchResourceException")
    # Subscriptions are their makers' (and regulators'): without credentials, 403 before any lookup.
    assert client.get("/epcis/queries/q/subscriptions").status_code == 403
    assert client.get("/epcis/queries/q/subscriptions/s").status_code == 403
    assert _events(_get(client, "/epcis/events")) == []
    assert set(inspect(engine).get_table_names()) == before
