"""Every refusal through POST /events: the right status and problem, and nothing stored.

A refusal must leave the database exactly as it was — every trace_* and ledger_* table row for row,
and the signed checkpoint — except `trace_anomaly`, which gains exactly one row when an
authenticated party broke a rule, and none for malformed or unsigned input.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text

from farmtrace.client import PartyKey
from farmtrace.ledger.sqlstore import LedgerCheckpoint, LedgerCosignature, LedgerEntry, LedgerTile
from farmtrace.trace.model.encoding import (
    ENTRY_HEADER,
    decode_entry,
    encode_entry,
    encode_event,
    event_id,
    signing_message,
)
from farmtrace.trace.model.event import Event
from farmtrace.trace.rules import RULES
from farmtrace.trace.store.map_rows import node_engine
from farmtrace.trace.store.tables import INDEX_TABLES, NODE_TABLES, TABLES

from ..trace.story import (
    CERTIFY,
    COOP,
    CST,
    FARMER,
    INSPECT_FAIL,
    MARKET,
    REGULATOR,
    SHOP,
    STATION,
    key_id,
    key_wire,
    party_wire,
    private_key,
    stamp,
    uscc,
)
from .test_stories import HARVEST, WHOLESALE, World, b64, check_receipt, expect_problem, log_key, out, ref

LEDGER_TABLES = [m.__table__ for m in (LedgerEntry, LedgerTile, LedgerCheckpoint, LedgerCosignature)]
ANOMALY = "trace_anomaly"
UNREGISTERED = "91350100M000100Y43"  # a well-formed USCC nobody registered


# --- the snapshot: every row of every table ---------------------------------------------------------


def snapshot(w: World) -> dict[str, Any]:
    """Every row of every trace_* and ledger_* table (the anomaly table by count), and the ledger size.
    The head index's tables too (its map's node rows wherever they live: on SQLite in a file of
    their own): a refused event must not reach the index either."""
    engine = w.http.app.state.service.engine  # type: ignore[attr-defined]
    tables = {t.name: t for t in [*TABLES, *INDEX_TABLES, *LEDGER_TABLES]}
    nodes = {t.name for t in NODE_TABLES}
    present = {n for n in inspect(engine).get_table_names() if n.startswith(("trace_", "ledger_"))}
    assert present - nodes == set(tables), "a table the snapshot does not know about"
    out_: dict[str, Any] = {"ledger size": w.size()}
    with engine.connect() as conn:
        for name, table in sorted(tables.items()):
            if name == ANOMALY:
                out_[name] = conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar()
            else:
                out_[name] = _rows(conn, table)
    with node_engine(engine).connect() as conn:
        for table in NODE_TABLES:
            out_[table.name] = _rows(conn, table)
    return out_


def _rows(conn, table) -> list[tuple]:
    rows = conn.execute(table.select()).all()
    return sorted((tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows), key=repr)


def assert_nothing_stored(before: dict[str, Any], after: dict[str, Any], *, anomalies: int) -> None:
    assert after[ANOMALY] == before[ANOMALY] + anomalies
    for name in before:
        if name != ANOMALY:
            assert after[name] == before[name], f"{name} changed"


# --- one case per rule code -------------------------------------------------------------------------


@dataclass
class Attempt:
    party: str
    wire: dict[str, Any]
    words: tuple[str, ...]  # each must appear in the problem's detail
    field: str
    kw: dict[str, Any] = field(default_factory=dict)
    anomaly: bool = True  # kept for regulators (False: nobody we know signed it)


def _admin(kind: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "detail": detail}


def case_party_unknown(w: World) -> Attempt:
    w.register_all()
    wire = _admin("party.suspend", {"party_id": UNREGISTERED, "reason": "违规"})
    return Attempt(REGULATOR, wire, (UNREGISTERED, "is not registered"), "detail.party_id")


def case_party_suspended(w: World) -> Attempt:
    w.register_all()
    w.record(REGULATOR, _admin("party.suspend", {"party_id": FARMER, "reason": "违规使用禁用农药"}))
    harvest = {"kind": "harvest", "outputs": [out("F-1", "50")], "detail": {"origin": {"name": "张家冲"}}}
    return Attempt(FARMER, harvest, (FARMER, "is suspended and may record nothing"), "party")


def case_party_exists(w: World) -> Attempt:
    w.register_all()
    wire = _admin("party.register", {"party": party_wire(COOP)})
    return Attempt(REGULATOR, wire, (COOP, "is already registered"), "detail.party.id")


def case_key_unknown(w: World) -> Attempt:
    w.register_all()
    wire = _admin("party.key_revoke", {"party_id": COOP, "key_id": key_id(COOP, 7), "reason": "丢失"})
    return Attempt(REGULATOR, wire, (COOP, f"has no key {key_id(COOP, 7)}"), "detail.key_id")


def case_key_inactive(w: World) -> Attempt:
    w.register_all()
    before_registration = stamp(w.time - timedelta(hours=1))
    harvest = {"kind": "harvest", "outputs": [out("NX-OLD-1", "50")], "detail": {"origin": {"name": "3号地"}}}
    words = (f"key {key_id(COOP)} of party {COOP} is valid from", before_registration)
    return Attempt(COOP, harvest, words, "key_id", {"at": before_registration})


def case_key_exists(w: World) -> Attempt:
    w.register_all()
    wire = _admin("party.key_add", {"party_id": COOP, **key_wire(COOP)})
    return Attempt(REGULATOR, wire, (f"party {COOP} already has key {key_id(COOP)}",), "detail.key_id")


def case_role(w: World) -> Attempt:
    w.register_all()
    harvest = {"kind": "harvest", "outputs": [out("S-OWN-1", "5")], "detail": {"origin": {"name": "屋顶"}}}
    return Attempt(SHOP, harvest, (SHOP, "may not record a harvest", "producer"), "kind")


def case_lot_unknown(w: World) -> Attempt:
    w.register_all()
    ghost = {**ref("NX-GHOST", "5"), "follows": ["0" * 64]}
    wire = {"kind": "ship", "inputs": [ghost], "detail": {"destination": MARKET}}
    return Attempt(COOP, wire, ("lot NX-GHOST does not exist",), "inputs[0].lot")


def case_lot_exists(w: World) -> Attempt:
    w.story_one(until="harvest")
    harvest = {"kind": "harvest", "outputs": [out(HARVEST, "50")], "detail": {"origin": {"name": "3号地"}}}
    return Attempt(COOP, harvest, (f"lot code {HARVEST} is already in use",), "outputs[0].lot")


def case_follows(w: World) -> Attempt:
    w.story_one(until="inspect")
    stale = {**ref(HARVEST, "500"), "follows": [w.ids["harvest"]]}
    wire = {"kind": "certify", "inputs": [stale], "detail": CERTIFY}
    words = (f"lot {HARVEST} is at head event {w.ids['inspect']}", w.ids["harvest"])
    return Attempt(COOP, wire, words, "inputs[0].follows")


def case_time_order(w: World) -> Attempt:
    w.story_one(until="harvest")
    before = stamp(w.time - timedelta(minutes=3))  # after the station's key, before the harvest
    wire = {"kind": "certify", "inputs": [ref(HARVEST, "500")], "detail": CERTIFY}
    return Attempt(COOP, wire, (f"event time {before} is before", HARVEST), "inputs[0]", {"at": before})


def case_future(w: World) -> Attempt:
    w.register_all()
    later = stamp(datetime.now(CST) + timedelta(minutes=10))
    harvest = {
        "kind": "harvest",
        "outputs": [out("NX-NEXT-1", "50")],
        "detail": {"origin": {"name": "3号地"}},
    }
    words = (f"event time {later} is later than now", "plus the allowed clock skew of 300 s")
    return Attempt(COOP, harvest, words, "event_time", {"at": later})


def case_unit(w: World) -> Attempt:
    w.story_one(until="certify")
    wire = {"kind": "ship", "inputs": [ref(HARVEST, "1000", "jin")], "detail": {"destination": MARKET}}
    return Attempt(COOP, wire, (f"lot {HARVEST} is measured in kg, the event says jin",), "inputs[0].unit")


def case_quantity(w: World) -> Attempt:
    w.story_one(until="harvest")
    wire = {"kind": "certify", "inputs": [ref(HARVEST, "600")], "detail": CERTIFY}
    words = (f"cannot certify 600 kg of lot {HARVEST}: it was created with 500 kg",)
    return Attempt(COOP, wire, words, "inputs[0].quantity")


def case_custody(w: World) -> Attempt:
    w.story_one(until="ship")
    wire = {"kind": "ship", "inputs": [ref(HARVEST, "1")], "detail": {"destination": MARKET}}
    return Attempt(SHOP, wire, (f"party {SHOP} does not hold lot {HARVEST}",), "inputs[0].lot")


def case_mass_balance(w: World) -> Attempt:
    w.story_one(until="receive")
    wire = w.sell_wire(HARVEST, "800", WHOLESALE)
    return Attempt(MARKET, wire, (f"cannot sell 800 kg of lot {HARVEST}: party {MARKET} holds 500 kg",), "inputs[0].quantity")  # fmt: skip


def case_origin_exit(w: World) -> Attempt:
    w.story_one(until="harvest")
    wire = {"kind": "ship", "inputs": [ref(HARVEST, "500")], "detail": {"destination": MARKET}}
    words = (f"lot {HARVEST} has no passing inspection or compliance certificate", "cannot be shipped")
    return Attempt(COOP, wire, words, "inputs[0].lot")


def case_market_entry(w: World) -> Attempt:
    w.story_one(until="ship")
    detail = {"source": COOP, "ship_event": w.ids["ship"], "entry_check": {"result": "accepted"}}
    wire = {"kind": "receive", "inputs": [ref(HARVEST, "500")], "detail": detail}
    words = (f"party {MARKET} accepts goods at market entry only against a certificate_no",)
    return Attempt(MARKET, wire, words, "detail.entry_check")


def case_blocked(w: World) -> Attempt:
    w.story_one(until="certify")
    w.inspect(HARVEST, "500", INSPECT_FAIL)
    wire = {"kind": "ship", "inputs": [ref(HARVEST, "500")], "detail": {"destination": MARKET}}
    return Attempt(COOP, wire, (f"lot {HARVEST} failed an inspection", "cannot be used in a ship event"), "inputs[0].lot")  # fmt: skip


def case_genesis(w: World) -> Attempt:
    # The operator named the regulator's key (tests/api/conftest.py): the shop may not take the seat.
    wire = _admin("party.register", {"party": party_wire(SHOP, ["regulator"])})
    words = ("the ledger has no regulator yet", f"party {SHOP} may not become the first", key_id(SHOP))
    return Attempt(SHOP, wire, words, "key_id", anomaly=False)


def case_destination(w: World) -> Attempt:
    w.story_one(until="certify")
    wire = {"kind": "ship", "inputs": [ref(HARVEST, "500")], "detail": {"destination": COOP}}
    return Attempt(COOP, wire, (f"party {COOP} cannot ship to itself",), "detail.destination")


def case_label_bound(w: World) -> Attempt:
    w.story_one(until="harvest")
    activate = {"kind": "label_activate", "detail": {"lot": HARVEST, "gtin": "6901234567892", "serials": ["R1"]}}
    w.record(COOP, activate)
    return Attempt(COOP, activate, (f"label R1 (GTIN 06901234567892) is already bound to lot {HARVEST}",), "detail.serials[0]")  # fmt: skip


def case_label_gtin(w: World) -> Attempt:
    w.register_all()
    bag = out("NX-G-1", "5", product={"name_zh": "包菜", "gtin": "6901234567892"})
    w.record(COOP, {"kind": "harvest", "outputs": [bag], "detail": {"origin": {"name": "3号地"}}})
    wire = {"kind": "label_activate", "detail": {"lot": "NX-G-1", "gtin": "6901234567885", "serials": ["R1"]}}
    return Attempt(COOP, wire, ("but lot NX-G-1 is GTIN 06901234567892",), "detail.gtin")


def _ack(recall_event: str, lot: str) -> dict[str, Any]:
    return {"kind": "recall_ack", "detail": {"recall_event": recall_event, "lot": lot}}


def case_recall_unknown(w: World) -> Attempt:
    w.story_one(until="harvest")  # the harvest is recorded, but it is no recall
    wire = _ack(w.ids["harvest"], HARVEST)
    return Attempt(COOP, wire, (f"event {w.ids['harvest']} is not a recorded recall",), "detail.recall_event")


def case_not_affected(w: World) -> Attempt:
    # The cabbage is recalled while the cooperative holds it; the market never held any.
    w.story_one(until="certify")
    recall = w.record(REGULATOR, w.recall_wire(HARVEST, "500"))["event_id"]
    words = (f"party {MARKET} holds no {HARVEST} and never held any",)
    return Attempt(MARKET, _ack(recall, HARVEST), words, "detail.lot")


def _pork_parties(w: World) -> None:
    from ..trace.story import PIG_FARM, VET

    w.register_all()
    for pid in (PIG_FARM, VET):
        w.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(pid)}})


def _pigs(w: World, lot: str, tags: list[str]) -> dict[str, Any]:
    from ..trace.story import PIG_FARM, PIGS

    pigs = {"lot": lot, "quantity": str(len(tags)), "unit": "head", "product": PIGS, "ear_tags": tags,
            "live_weight": str(115 * len(tags))}  # fmt: skip
    harvest = {"kind": "harvest", "outputs": [pigs], "detail": {"origin": {"name": "猪场"}}}
    return w.record(PIG_FARM, harvest)


def case_ear_tag(w: World) -> Attempt:
    from ..trace.story import PIG_FARM, PIGS

    _pork_parties(w)
    _pigs(w, "PIG-1", ["143018200000001", "143018200000002"])
    again = {"lot": "PIG-2", "quantity": "1", "unit": "head", "product": PIGS, "ear_tags": ["143018200000002"],
             "live_weight": "115"}  # fmt: skip
    wire = {"kind": "harvest", "outputs": [again], "detail": {"origin": {"name": "猪场"}}}
    words = ("ear tag 143018200000002 is already on record, in lot PIG-1",)
    return Attempt(PIG_FARM, wire, words, "outputs[0].ear_tags[0]")


def case_quarantine(w: World) -> Attempt:
    from ..trace.story import ABATTOIR, PIG_FARM

    _pork_parties(w)
    w.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(ABATTOIR)}})
    _pigs(w, "PIG-1", ["143018200000001"])
    wire = {"kind": "ship", "inputs": [ref("PIG-1", "1", "head")], "detail": {"destination": ABATTOIR}}
    words = ("lot PIG-1 is live animals without a valid 动物检疫合格证明", "cannot be shipped")
    return Attempt(PIG_FARM, wire, words, "inputs[0].lot")


CASES: dict[str, Callable[[World], Attempt]] = {
    name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("case_")
}


def test_every_rule_code_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_refused_over_http_and_nothing_stored(client, rule: str) -> None:
    w = World(client)
    attempt = CASES[rule](w)
    entry = w.entry(attempt.party, attempt.wire, **attempt.kw)
    before = snapshot(w)

    p = expect_problem(w.post(entry), 422, rule=rule, field=attempt.field)
    assert p["type"] == "http://127.0.0.1:8000/problems/rule-violation"
    assert p["title"] == "Refused by a rule"
    assert p["detail"].endswith(f" (rule {rule})")
    for word in attempt.words:
        assert word in p["detail"], p["detail"]

    assert_nothing_stored(before, snapshot(w), anomalies=int(attempt.anomaly))
    if not attempt.anomaly:
        return
    (anomaly,) = w.anomalies(rule=rule)
    signed = decode_entry(entry)
    assert anomaly["event_id"] == signed.id and anomaly["party"] == attempt.party
    assert anomaly["kind"] == signed.event.kind and anomaly["field"] == attempt.field
    assert anomaly["message"] == p["detail"]
    assert anomaly["event"] == {"v": 1, **signed.event.to_wire()}


# --- input that is not a signed event ---------------------------------------------------------------


@pytest.fixture
def world(client) -> World:
    w = World(client)
    w.story_one(until="harvest")
    return w


def _harvest_wire(w: World, lot: str = "NX-NEW-1", party: str = COOP) -> dict[str, Any]:
    return {
        "kind": "harvest",
        "event_time": w.tick(),
        "party": party,
        "key_id": key_id(party),
        "location": {"name": "宁乡 3号地"},
        "inputs": [],
        "outputs": [out(lot, "50")],
        "detail": {"origin": {"name": "宁乡 3号地"}},
    }


def _sign_bytes(canonical: bytes, party: str = COOP, generation: int = 0) -> bytes:
    """An entry for exactly these bytes, validly signed: only the canonical-form check can refuse it."""
    return encode_entry(canonical, private_key(party, generation).sign(signing_message(canonical)))


def _post_raw(w: World, body: Any):
    return w.http.post("/events", json=body)


def _canonical(w: World) -> bytes:
    return encode_event(Event.from_wire(_harvest_wire(w)))


def _compact(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _resigned(rewrite: Callable[[dict[str, Any]], bytes]) -> Callable[[World], dict[str, str]]:
    """A request whose event is `rewrite` of a valid event's JSON, validly signed as those bytes."""
    return lambda w: {"entry": b64(_sign_bytes(rewrite(json.loads(_canonical(w)))))}


def _entry_edit(old: bytes, new: bytes) -> Callable[[World], dict[str, str]]:
    return lambda w: {"entry": b64(w.entry(COOP, _harvest_wire(w)).replace(old, new))}


MALFORMED: dict[str, tuple[Callable[[World], Any], int, str, str]] = {
    # name: (request body, status, problem type, field)
    "not base64": (lambda w: {"entry": "not base64!"}, 400, "invalid-event", "entry"),
    "not a string": (lambda w: {"entry": 5}, 400, "invalid-parameter", "entry"),
    "no entry": (lambda w: {}, 400, "invalid-parameter", "entry"),
    "not an entry": (lambda w: {"entry": b64(b"hello")}, 400, "invalid-event", "entry"),
    "wrong header": (_entry_edit(ENTRY_HEADER, b"farmtrace/entry/v2"), 400, "invalid-event", "entry"),
    "signature not canonical base64": (_entry_edit(b"=\n", b"\n"), 400, "invalid-event", "sig"),
    "event missing its kind": (lambda w: {"entry": b64(_sign_bytes(b'{"v":1}'))}, 400, "invalid-event", "kind"),
    "event with an unknown field": (_resigned(lambda o: _compact({"colour": "red", **o})), 400, "invalid-event", "colour"),
    "not canonical: white space": (_resigned(lambda o: json.dumps(o, ensure_ascii=False).encode()), 400, "invalid-event", "event"),
    "not canonical: key order": (_resigned(lambda o: _compact(dict(reversed(o.items())))), 400, "invalid-event", "event"),
    "not canonical: escaped unicode": (_resigned(lambda o: json.dumps(o, separators=(",", ":")).encode()), 400, "invalid-event", "event"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_is_400_naming_the_field_and_nothing_stored(world: World, name: str) -> None:
    make, status, kind, field_ = MALFORMED[name]
    body = make(world)
    before = snapshot(world)
    p = expect_problem(_post_raw(world, body), status, field=field_)
    assert p["type"] == f"http://127.0.0.1:8000/problems/{kind}"
    if field_ == "event" and kind == "invalid-event":
        assert (
            p["detail"]
            == "invalid event: is not in canonical form (RFC 8785); re-encode it and sign those bytes"
        )
    elif kind == "invalid-event":
        assert p["detail"].startswith(f"invalid {field_}: ")
    else:
        assert p["detail"].startswith(f"{field_}: ")
    assert_nothing_stored(before, snapshot(world), anomalies=0)


def _flip(data: bytes, at: int, bit: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1 :]


def test_a_flipped_signature_bit_is_401_and_nothing_stored(world: World) -> None:
    entry = world.entry(COOP, _harvest_wire(world))
    signed = decode_entry(entry)
    forged = encode_entry(signed.canonical, _flip(signed.signature, 10, 3))
    before = snapshot(world)
    p = expect_problem(world.post(forged), 401)
    assert p["type"] == "http://127.0.0.1:8000/problems/signature-refused"
    assert p["detail"] == f"the signature of event {signed.id} does not verify with key {key_id(COOP)}"
    assert_nothing_stored(before, snapshot(world), anomalies=0)
    # Every bit of the signature matters (a sample of positions; the ledger suite flips them all).
    for at in (0, 31, 32, 63):
        r = world.post(encode_entry(signed.canonical, _flip(signed.signature, at, 7)))
        expect_problem(r, 401)
    assert world.post(entry).status_code == 201  # the genuine one still goes in


def test_an_edited_event_under_a_genuine_signature_is_401(world: World) -> None:
    entry = world.entry(COOP, _harvest_wire(world))
    signed = decode_entry(entry)
    edited = signed.canonical.replace(b'"quantity":"50"', b'"quantity":"80"')  # still canonical
    assert edited != signed.canonical
    before = snapshot(world)
    p = expect_problem(world.post(encode_entry(edited, signed.signature)), 401)
    assert p["detail"] == f"the signature of event {event_id(edited)} does not verify with key {key_id(COOP)}"
    assert_nothing_stored(before, snapshot(world), anomalies=0)


@pytest.mark.parametrize(
    ("party", "generation"),
    [(COOP, 5), (UNREGISTERED, 0)],
    ids=["registered party, unknown key", "unregistered party"],
)
def test_an_unknown_key_is_401_and_not_an_anomaly(world: World, party: str, generation: int) -> None:
    key = PartyKey(party, private_key(party, generation))
    entry = key.sign(_harvest_wire(world, party=party))  # sign() sets party and key_id to the key's
    before = snapshot(world)
    p = expect_problem(world.post(entry), 401)
    assert p["detail"] == f"party {party} has no registered key {key.key_id}"
    assert_nothing_stored(before, snapshot(world), anomalies=0)


def test_another_partys_key_is_401(world: World) -> None:
    # The market's genuine key, claiming to be the cooperative: the key is not the cooperative's.
    canonical = encode_event(Event.from_wire(_harvest_wire(world) | {"key_id": key_id(MARKET)}))
    entry = encode_entry(canonical, private_key(MARKET).sign(signing_message(canonical)))
    before = snapshot(world)
    p = expect_problem(world.post(entry), 401)
    assert p["detail"] == f"party {COOP} has no registered key {key_id(MARKET)}"
    assert_nothing_stored(before, snapshot(world), anomalies=0)


# --- idempotency and batches ------------------------------------------------------------------------


def test_resubmission_is_idempotent(world: World) -> None:
    entry = world.entry(COOP, _harvest_wire(world))
    first = world.post(entry)
    assert first.status_code == 201 and first.json()["duplicate"] is False
    before = snapshot(world)
    again = world.post(entry)
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["duplicate"] is True
    assert (body["event_id"], body["index"], body["leaf_hash"]) == (
        first.json()["event_id"],
        first.json()["index"],
        first.json()["leaf_hash"],
    )
    check_receipt(log_key(world.http), entry, body)
    assert_nothing_stored(before, snapshot(world), anomalies=0)


def test_batch_mixes_good_and_bad_entries_in_order(world: World) -> None:
    w = world
    harvest = w.entry(COOP, _harvest_wire(w, "B-1"))
    harvest_id = decode_entry(harvest).id
    bad_sig = decode_entry(w.entry(COOP, _harvest_wire(w, "B-BAD")))
    certify = w.entry(
        COOP,
        {"kind": "certify", "inputs": [{**ref("B-1", "50"), "follows": [harvest_id]}], "detail": CERTIFY},
    )  # follows an event of the same batch
    again = w.entry(COOP, _harvest_wire(w, "B-1"))  # the lot code the batch's first entry takes
    farmer = w.entry(FARMER, _harvest_wire(w, "B-2", party=FARMER))
    entries = [
        b64(harvest),
        b64(encode_entry(bad_sig.canonical, _flip(bad_sig.signature, 5))),
        b64(certify),
        "%%% not base64",
        b64(again),
        b64(harvest),  # the first entry again: a duplicate within the batch
        b64(b"farmtrace/entry/v1\nnot json\n" + base64.b64encode(bytes(64)) + b"\n"),
        b64(farmer),
    ]
    before = snapshot(w)
    r = w.http.post("/events/batch", json={"entries": entries})
    assert r.status_code == 200, r.text
    body = r.json()
    # Compact UTF-8 JSON, as every other JSON answer (rendered with orjson here, for speed).
    assert r.headers["content-type"] == "application/json"
    assert r.content == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    results = body["results"]
    assert [x["ok"] for x in results] == [True, False, True, False, False, True, False, True]
    assert body["accepted"] == 4
    problems = {i: x["problem"] for i, x in enumerate(results) if not x["ok"]}
    assert {i: (p["status"], p.get("rule"), p.get("field")) for i, p in problems.items()} == {
        1: (401, None, None),
        3: (400, None, "entries[3]"),
        4: (422, "lot_exists", "outputs[0].lot"),
        6: (400, None, "event"),
    }
    assert "B-1" in problems[4]["detail"] and problems[1]["type"].endswith("/signature-refused")
    receipts = {i: x["receipt"] for i, x in enumerate(results) if x["ok"]}
    size = before["ledger size"]
    assert [receipts[i]["index"] for i in (0, 2, 7)] == [size, size + 1, size + 2]
    assert receipts[5]["duplicate"] is True and receipts[5]["index"] == receipts[0]["index"]
    key = log_key(w.http)
    for i, raw in ((0, harvest), (2, certify), (5, harvest), (7, farmer)):
        check_receipt(key, raw, receipts[i])

    after = snapshot(w)
    assert after["ledger size"] == size + 3 and after[ANOMALY] == before[ANOMALY] + 1
    assert len(after["trace_event"]) == len(before["trace_event"]) + 3
    assert w.lot("B-1")["status"]["cleared"] and w.lot("B-2")["holders"] == {FARMER: "50"}
    assert w.http.get("/lots/B-BAD").status_code == 404
    (anomaly,) = w.anomalies(rule="lot_exists")
    assert anomaly["lots"] == ["B-1"] and anomaly["party"] == COOP


def test_resubmitting_a_batch_gets_every_receipt_again(world: World) -> None:
    w = world
    h = [w.entry(COOP, _harvest_wire(w, f"R-{k}")) for k in range(5)]
    size = snapshot(w)["ledger size"]
    first = w.http.post("/events/batch", json={"entries": [b64(e) for e in h[:3]]}).json()["results"]
    assert w.post(h[3]).status_code == 201
    # Duplicates at scattered indexes (size + 2, size, size + 3) around one new entry.
    again = [h[2], h[4], h[0], h[3], h[0]]
    before = snapshot(w)
    r = w.http.post("/events/batch", json={"entries": [b64(e) for e in again]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 5
    receipts = [x["receipt"] for x in body["results"]]
    assert [(x["index"], x["duplicate"]) for x in receipts] == [
        (size + 2, True), (size + 4, False), (size, True), (size + 3, True), (size, True),
    ]  # fmt: skip
    assert receipts[2]["leaf_hash"] == first[0]["receipt"]["leaf_hash"]
    key = log_key(w.http)
    for raw, receipt in zip(again, receipts, strict=True):
        assert receipt["size"] == size + 5
        check_receipt(key, raw, receipt)
    after = snapshot(w)
    assert after["ledger size"] == before["ledger size"] + 1
    assert after[ANOMALY] == before[ANOMALY]


def test_batch_size_is_limited(world: World) -> None:
    p = expect_problem(world.http.post("/events/batch", json={"entries": ["x"] * 5001}), 413, field="entries")
    assert "at most 5000 entries" in p["detail"]


def test_an_empty_batch_stores_nothing(world: World) -> None:
    before = snapshot(world)
    r = world.http.post("/events/batch", json={"entries": []})
    assert r.status_code == 200 and r.json() == {"accepted": 0, "results": []}
    assert_nothing_stored(before, snapshot(world), anomalies=0)


def test_event_ids_are_content_hashes(world: World) -> None:
    entry = world.entry(COOP, _harvest_wire(world))
    receipt = world.post(entry).json()
    assert receipt["event_id"] == hashlib.sha256(entry.split(b"\n")[1]).hexdigest()
    r = world.http.get(f"/events/{receipt['event_id']}")
    assert r.status_code == 200 and r.json()["index"] == receipt["index"]
    assert base64.b64decode(r.json()["signature"]) == decode_entry(entry).signature


def test_a_batch_may_register_a_party_and_then_act_as_it(client) -> None:
    w = World(client)
    w.register_all(parties=(STATION, COOP))
    register = w.entry(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(FARMER)}})
    harvest = w.entry(FARMER, _harvest_wire(w, "F-FIRST", party=FARMER))
    r = w.http.post("/events/batch", json={"entries": [b64(register), b64(harvest)]})
    assert r.status_code == 200
    assert [x["ok"] for x in r.json()["results"]] == [True, True], r.json()["results"][1]


# --- issue 14: genesis, forged anomalies, revocation, market entry ----------------------------------


@pytest.fixture
def closed_client(settings):
    """An app whose operator named no bootstrap key: the first regulator comes from `farmtrace init`."""
    from fastapi.testclient import TestClient

    from farmtrace.api.app import create_app

    with TestClient(create_app(replace(settings, bootstrap_key=None))) as c:
        yield c


def test_genesis_over_http_needs_the_operators_bootstrap_key(closed_client) -> None:
    w = World(closed_client)
    genesis = w.entry(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(REGULATOR)}})
    before = snapshot(w)
    p = expect_problem(w.post(genesis), 422, rule="genesis", field="key_id")
    assert "no bootstrap key is configured" in p["detail"] and "farmtrace init" in p["detail"]
    assert_nothing_stored(before, snapshot(w), anomalies=0)
    # Nor in a batch, nor by anyone else: the ledger stays without parties.
    shop = w.entry(SHOP, {"kind": "party.register", "detail": {"party": party_wire(SHOP, ["regulator"])}})
    r = w.http.post("/events/batch", json={"entries": [b64(genesis), b64(shop)]}).json()["results"]
    assert [x["problem"].get("rule") for x in r] == ["genesis", None]  # the second: no key is known
    assert w.http.get("/parties").json() == []
    # The operator, on the machine (what `farmtrace init --regulator-id` does), may.
    receipt = w.http.app.state.service.record_genesis(genesis)  # type: ignore[attr-defined]
    assert receipt.index == 0
    w.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(COOP)}})


def test_a_refused_registration_lends_its_key_to_nobody(client) -> None:
    """A batch [refused party.register carrying key K for party V, an event signed with K as V]:
    the second is unauthenticated (401), and no anomaly is kept in V's name."""
    w = World(client)
    w.register_all()
    forged = PartyKey(MARKET, private_key(MARKET, 9))  # the attacker's key, made to look like the market's
    victim = party_wire(MARKET) | {"keys": [forged.public_record_key()]}
    nobody = PartyKey(UNREGISTERED, private_key(UNREGISTERED, 9))
    unknown = party_wire(UNREGISTERED, ["producer"]) | {"keys": [nobody.public_record_key()]}
    entries = [
        w.entry(COOP, {"kind": "party.register", "detail": {"party": victim}}),  # refused: role
        w.entry(MARKET, _harvest_wire(w, "FORGED-1", party=MARKET), key=forged),
        w.entry(COOP, {"kind": "party.register", "detail": {"party": unknown}}),  # refused: role
        nobody.sign(_harvest_wire(w, "FORGED-2", party=UNREGISTERED)),
    ]
    before = snapshot(w)
    r = w.http.post("/events/batch", json={"entries": [b64(e) for e in entries]})
    problems = [x["problem"] for x in r.json()["results"]]
    assert [(p["status"], p.get("rule")) for p in problems] == [(422, "role"), (401, None), (422, "role"), (401, None)]
    assert problems[1]["detail"] == f"party {MARKET} has no registered key {forged.key_id}"
    assert_nothing_stored(before, snapshot(w), anomalies=2)  # the cooperative's two, nobody else's
    assert w.anomalies(party=MARKET) == [] and w.anomalies(party=UNREGISTERED) == []
    assert {a["party"] for a in w.anomalies()} == {COOP}


def test_a_key_registered_earlier_in_the_batch_still_signs(client) -> None:
    w = World(client)
    w.register_all(parties=(COOP,))
    extra = PartyKey(COOP, private_key(COOP, 3))
    add = w.entry(REGULATOR, {"kind": "party.key_add", "detail": {"party_id": COOP, **extra.public_record_key()}})
    harvest = w.entry(COOP, _harvest_wire(w, "NEW-KEY-1") | {"key_id": extra.key_id}, key=extra)
    r = w.http.post("/events/batch", json={"entries": [b64(add), b64(harvest)]}).json()["results"]
    assert [x["ok"] for x in r] == [True, True], r


@pytest.mark.parametrize("batch", [False, True], ids=["one at a time", "one batch"])
def test_a_future_dated_revocation_takes_effect_when_recorded(client, batch: bool) -> None:
    w = World(client)
    w.register_all(parties=(COOP,))
    ahead = stamp(datetime.now(CST) + timedelta(minutes=4))  # within the allowed clock skew
    revoke = w.entry(
        REGULATOR,
        _admin("party.key_revoke", {"party_id": COOP, "key_id": key_id(COOP), "reason": "手机丢失"}),
        at=ahead,
    )
    harvest = w.entry(COOP, _harvest_wire(w, "AFTER-LOSS-1"))
    if batch:
        results = w.http.post("/events/batch", json={"entries": [b64(revoke), b64(harvest)]}).json()["results"]
        assert results[0]["ok"], results[0]
        p = results[1]["problem"]
        assert (p["status"], p["rule"], p["field"]) == (422, "key_inactive", "key_id")
    else:
        assert w.post(revoke).status_code == 201
        p = expect_problem(w.post(harvest), 422, rule="key_inactive", field="key_id")
    assert "takes effect when it is recorded" in p["detail"]
    assert w.http.get("/lots/AFTER-LOSS-1").status_code == 404


def _receive_wire(w: World, lot: str, qty: str, ship: str, source: str, check: dict) -> dict[str, Any]:
    detail = {"source": source, "ship_event": ship, "entry_check": check}
    return {"kind": "receive", "inputs": [ref(lot, qty)], "detail": detail}


def test_market_entry_matches_a_certificate_on_the_lineage_or_says_paper(client) -> None:
    w = World(client)
    w.story_one(until="ship2")  # the market split the certified harvest and shipped a split lot on
    split = "M-CAB-001-01"
    made_up = {"result": "accepted", "certificate_no": "NO-SUCH-CERT-999"}
    before = snapshot(w)
    p = expect_problem(
        w.post(w.entry(SHOP, _receive_wire(w, split, "10", w.ids["ship2"], MARKET, made_up))),
        422,
        rule="market_entry",
        field="detail.entry_check.certificate_no",
    )
    assert "certificate NO-SUCH-CERT-999 is not a 合格证 or livestock certificate recorded on lot M-CAB-001-01" in p[
        "detail"
    ]
    assert_nothing_stored(before, snapshot(w), anomalies=1)
    # The harvest's own 合格证, an ancestor's, is accepted for the split lot.
    real = {"result": "accepted", "certificate_no": CERTIFY["certificate_no"]}
    w.record(SHOP, _receive_wire(w, split, "4", w.ids["ship2"], MARKET, real))
    # A paper certificate the ledger does not hold is accepted as such, and the consumer page says so.
    paper = made_up | {"certificate_source": "paper"}
    w.record(SHOP, _receive_wire(w, split, "6", w.ids["ship2"], MARKET, paper))
    zh = w.http.get(f"/l/{split}").text
    assert "纸质合格证 NO-SUCH-CERT-999 已查验，未在账本上" in zh
    assert f"查验合格证 {CERTIFY['certificate_no']}" in zh
    en = w.http.get(f"/l/{split}", params={"lang": "en"}).text
    assert "certificate NO-SUCH-CERT-999 checked on paper, not on the ledger" in en
    assert f"certificate {CERTIFY['certificate_no']} checked" in en



def test_market_entry_matches_a_passing_inspection_on_the_lineage(client) -> None:
    """Any recorded event id used to pass for an inspection: a harvest, another lot's inspection, a
    failed one. Each is refused naming detail.entry_check.inspection_event, and nothing but the
    anomaly is stored; a passing inspection of an ancestor is accepted."""
    w = World(client)
    w.story_one(until="ship2")  # the market split the inspected harvest and shipped a split lot on
    split, ship2 = "M-CAB-001-01", w.ids["ship2"]
    w.harvest("OTHER-LOT-1", "20")
    other = w.inspect("OTHER-LOT-1", "20")["event_id"]
    other_failed = w.inspect("OTHER-LOT-1", "20", INSPECT_FAIL)["event_id"]
    cases = [
        (w.ids["harvest"], f"event {w.ids['harvest']} is not an inspection"),
        (other, f"inspection event {other} tested lot OTHER-LOT-1, not lot {split}"),
        (other_failed, f"inspection event {other_failed} tested lot OTHER-LOT-1, not lot {split}"),
    ]
    for cited, words in cases:
        before = snapshot(w)
        check = {"result": "accepted", "inspection_event": cited}
        p = expect_problem(
            w.post(w.entry(SHOP, _receive_wire(w, split, "4", ship2, MARKET, check))),
            422,
            rule="market_entry",
            field="detail.entry_check.inspection_event",
        )
        assert words in p["detail"], p["detail"]
        assert_nothing_stored(before, snapshot(w), anomalies=1)
    # The harvest's passing inspection, an ancestor's, clears the split lot.
    w.record(SHOP, _receive_wire(w, split, "4", ship2, MARKET, {"result": "accepted", "inspection_event": w.ids["inspect"]}))
    # A failed retest of the split lot's sibling in transit is on the lineage, and is refused by name.
    sibling = "M-CAB-001-02"
    ship3 = w.ship(MARKET, [(sibling, "10")], SHOP)["event_id"]
    failed = w.inspect(sibling, "10", INSPECT_FAIL)["event_id"]
    before = snapshot(w)
    p = expect_problem(
        w.post(w.entry(SHOP, _receive_wire(w, sibling, "10", ship3, MARKET, {"result": "accepted", "inspection_event": failed}))),
        422,
        rule="market_entry",
        field="detail.entry_check.inspection_event",
    )
    assert f"inspection event {failed} did not clear lot {sibling}" in p["detail"]
    assert_nothing_stored(before, snapshot(w), anomalies=1)


def test_a_future_dated_revocation_ends_a_regulators_tokens_at_once(client) -> None:
    w = World(client)
    w.register_all(parties=(COOP,))
    second = uscc("11430100MB7654321")
    w.keys[second] = PartyKey(second, private_key(second))
    w.record(REGULATOR, _admin("party.register", {"party": party_wire(second, ["regulator"])}))
    assert w.http.get("/anomalies", headers=w.token(second)).status_code == 200
    ahead = stamp(datetime.now(CST) + timedelta(minutes=4))
    revoke = {"party_id": second, "key_id": key_id(second), "reason": "手机丢失"}
    w.record(REGULATOR, _admin("party.key_revoke", revoke), at=ahead)
    r = w.http.get("/anomalies", headers=w.token(second))
    assert r.status_code == 403 and "no longer active" in r.text
