"""Abuse of the enrolment desk (trace/applications.py): anyone may file, so a stranger's filing for
party P must never block P's own, and filing is limited per client address and in total (429
problem+json with Retry-After)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.trace.applications import pop_message
from farmtrace.trace.model.ids import uscc_check_char

from ..trace.story import COOP, REGULATOR, key_id, key_wire, party_wire, private_key
from .test_stories import World, expect_problem

NEWCOMER = "91430121MA4L7777" + "7" + uscc_check_char("91430121MA4L77777")


def _key_application(party: str, key: PartyKey) -> dict[str, Any]:
    """A lost-device application: a new key for `party`, proven by that key (whoever holds it)."""
    record = {"party_id": party, "key_id": key.key_id, "public_key": key.public_record_key()["public_key"]}
    proof = base64.b64encode(key._key.sign(pop_message("key", party, record))).decode()
    return {"kind": "key", "record": record, "proof": proof}


def _register_application(key: PartyKey, name: str) -> dict[str, Any]:
    record = {
        "id": key.party,
        "id_type": "uscc",
        "name_zh": name,
        "roles": ["producer"],
        "address": "湖南省长沙县",
        "keys": [key.public_record_key()],
        "contact_commitment": "ab" * 32,
    }
    proof = base64.b64encode(key._key.sign(pop_message("register", key.party, record))).decode()
    return {"kind": "register", "record": record, "proof": proof}


def _pending(w: World) -> list[dict[str, Any]]:
    r = w.http.get("/parties/applications", params={"status": "all"}, headers=w.token(REGULATOR))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def world(client) -> World:
    w = World(client)
    w.register_all()
    return w


def test_a_strangers_lost_device_filing_does_not_block_the_partys_own(world: World) -> None:
    w = world
    stranger = PartyKey.generate(COOP)  # anyone can make a key and claim it is the cooperative's
    r = w.http.post("/parties/applications", json=_key_application(COOP, stranger))
    assert r.status_code == 201, r.text
    own = PartyKey(COOP, private_key(COOP, 1))  # the cooperative's new phone
    r = w.http.post("/parties/applications", json=_key_application(COOP, own))
    assert r.status_code == 201, r.text
    # The same key twice is the one duplicate refused.
    p = expect_problem(w.http.post("/parties/applications", json=_key_application(COOP, own)), 400)
    assert p["detail"].startswith(f"key {own.key_id} already has a pending application")
    listed = {a["key_id"]: a["status"] for a in _pending(w) if a["party_id"] == COOP}
    assert listed == {stranger.key_id: "pending", own.key_id: "pending"}
    # The regulator approves the party's own (confirmed at the desk); the stranger's stays for rejection.
    w.record(REGULATOR, {"kind": "party.key_add", "detail": {"party_id": COOP, **key_wire(COOP, 1)}})
    listed = {a["key_id"]: a["status"] for a in _pending(w) if a["party_id"] == COOP}
    assert listed == {stranger.key_id: "pending", key_id(COOP, 1): "approved"}


def test_a_strangers_registration_does_not_block_the_partys_own(world: World) -> None:
    w = world
    stranger = PartyKey.generate(NEWCOMER)
    assert w.http.post("/parties/applications", json=_register_application(stranger, "冒名公司")).status_code == 201
    own = PartyKey.generate(NEWCOMER)
    r = w.http.post("/parties/applications", json=_register_application(own, "长沙县果蔬合作社"))
    assert r.status_code == 201, r.text
    record = _register_application(own, "长沙县果蔬合作社")["record"]
    w.record(REGULATOR, {"kind": "party.register", "detail": {"party": record}})
    statuses = {a["key_id"]: (a["status"], a["note"]) for a in _pending(w) if a["party_id"] == NEWCOMER}
    assert statuses[own.key_id] == ("approved", None)
    own_id = next(a["id"] for a in _pending(w) if a["key_id"] == own.key_id)
    assert statuses[stranger.key_id] == ("rejected", f"superseded: application #{own_id} for this party was approved")


def _busy(r) -> dict[str, Any]:
    p = expect_problem(r, 429)
    assert p["type"].endswith("/problems/http-429") and p["title"] == "Too many applications"
    assert int(r.headers["Retry-After"]) > 0
    return p


def test_one_address_may_file_20_an_hour(world: World, settings: Settings) -> None:
    w = world
    assert settings.applications_per_hour == 20
    for _ in range(20):
        r = w.http.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP)))
        assert r.status_code == 201, r.text
    p = _busy(w.http.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP))))
    assert p["detail"] == (
        "this address's network (testclient) filed 20 applications in the last hour, the most allowed; "
        "try again later"
    )
    # Refused filings count too (a forged proof costs the server a signature check).
    forged = dict(_key_application(COOP, PartyKey.generate(COOP)), proof=base64.b64encode(bytes(64)).decode())
    _busy(w.http.post("/parties/applications", json=forged))
    # Another address is not affected.
    with TestClient(w.http.app, client=("198.51.100.7", 40000)) as elsewhere:
        r = elsewhere.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP)))
        assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("first", "neighbour", "elsewhere", "network"),
    [
        ("198.51.100.7", "198.51.100.200", "198.51.101.7", "198.51.100.0/24"),
        ("2001:db8:0:1::7", "2001:db8:0:1:ffff:ffff:ffff:1", "2001:db8:0:2::7", "2001:db8:0:1::/64"),
    ],
)
def test_the_hourly_limit_counts_a_network_not_an_address(
    world: World, first: str, neighbour: str, elsewhere: str, network: str
) -> None:
    """Fifteen IPv4 neighbours or the addresses of one IPv6 /64 are one filer, not thousands."""
    app = world.http.app
    with TestClient(app, client=(first, 40000)) as c:
        for _ in range(20):
            r = c.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP)))
            assert r.status_code == 201, r.text
    with TestClient(app, client=(neighbour, 40000)) as c:
        p = _busy(c.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP))))
        assert f"this address's network ({network}) filed 20 applications" in p["detail"]
    with TestClient(app, client=(elsewhere, 40000)) as c:
        r = c.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP)))
        assert r.status_code == 201, r.text


@pytest.mark.slow
def test_the_301st_pending_application_is_refused(settings: Settings) -> None:
    app = create_app(Settings(**{**settings.__dict__, "applications_per_hour": 10_000}))
    with TestClient(app) as client:
        w = World(client)
        w.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(REGULATOR)}})
        w.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(COOP)}})
        for i in range(300):  # a burst of anonymous lost-device filings
            r = client.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP)))
            assert r.status_code == 201, (i, r.text)
        r = client.post("/parties/applications", json=_key_application(COOP, PartyKey.generate(COOP)))
        p = _busy(r)
        assert p["detail"] == (
            "the desk already holds 300 pending applications, the most it takes; "
            "try again once a regulator has decided some"
        )
        # Nothing half-stored: still 300 pending.
        assert len(_pending(w)) == 300
