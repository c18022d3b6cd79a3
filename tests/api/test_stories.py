"""The five stories of MISSION.md, end to end through the HTTP API, on SQLite and PostgreSQL.

Every event is signed on the client side by the acting party's own key (`farmtrace.client`) and
posted to the real app (`client` fixture: a TestClient over `create_app`, fresh database per test).
Nothing here reaches into the service except story 4, which edits the database behind its back.

`World` is also the scaffolding of tests/api/test_rules_http.py and tests/api/test_auth.py.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import text

from farmtrace.client import Client, PartyKey
from farmtrace.ledger import merkle
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import VerificationError
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.note import Verifier
from farmtrace.trace.errors import SignatureRefused
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.model.encoding import decode_entry, event_id, verify_signed_event
from farmtrace.trace.verify_journey import check_journey

from ..conftest import STANDARDS
from ..trace.story import (
    BAG,
    CABBAGE,
    CERTIFY,
    COOP,
    CST,
    FARMER,
    INSPECT_FAIL,
    INSPECT_PASS,
    MARKET,
    NAMES,
    PROCESSOR,
    REGULATOR,
    ROLES,
    SHOP,
    STATION,
    party_wire,
    private_key,
    stamp,
)
from .conftest import LOG_SIGNER

PROBLEM = "application/problem+json"
HARVEST = "NX-CAB-001"
BAG_1 = "S-CAB-01-01"
SPLITS = [f"M-CAB-001-{i:02d}" for i in range(1, 51)]
BAGS = [f"S-CAB-01-{i:02d}" for i in range(1, 11)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text_: str) -> bytes:
    return base64.b64decode(text_, validate=True)


# --- the world: parties acting through HTTP -------------------------------------------------------


def ref(lot: str, quantity: str, unit: str = "kg") -> dict[str, Any]:
    return {"lot": lot, "quantity": quantity, "unit": unit}


def out(lot: str, quantity: str, unit: str = "kg", product: dict | None = None) -> dict[str, Any]:
    return {"lot": lot, "quantity": quantity, "unit": unit, "product": product or CABBAGE}


WHOLESALE = {"amount": "2.6", "currency": "CNY", "unit": "kg", "stage": "wholesale"}
RETAIL = {"amount": "6.8", "currency": "CNY", "unit": "kg", "stage": "retail"}


class World:
    """The parties of tests/trace/story.py, each signing with its own deterministic key, talking HTTP.

    Event times start twelve hours ago and advance one minute per signed event, so every event is
    later than the one before and never in the server's future.
    """

    def __init__(self, http: httpx.Client, *, start: datetime | None = None) -> None:
        self.http = http
        self.time = start or datetime.now(CST).replace(microsecond=0) - timedelta(hours=12)
        self.keys = {pid: PartyKey(pid, private_key(pid)) for pid in ROLES}
        self.receipts: list[tuple[bytes, dict[str, Any]]] = []
        self.ids: dict[str, str] = {}

    def tick(self) -> str:
        self.time += timedelta(minutes=1)
        return stamp(self.time)

    def client(self, party: str, key: PartyKey | None = None) -> Client:
        return Client(key=key or self.keys[party], http=self.http)

    def entry(
        self, party: str, wire: dict[str, Any], *, at: str | None = None, key: PartyKey | None = None
    ) -> bytes:
        """Sign `wire` as `party`: time, location and each input's head (fetched from the server) filled in."""
        wire = {"location": {"name": NAMES[party], "address": "湖南省长沙市"}, **wire}
        wire["event_time"] = at or self.tick()
        return self.client(party, key).entry(wire)

    def post(self, entry: bytes) -> httpx.Response:
        return self.http.post("/events", json={"entry": b64(entry)})

    def record(self, party: str, wire: dict[str, Any], *, name: str | None = None, **kw: Any) -> dict:
        """Sign and post; expect 201 and return the receipt."""
        entry = self.entry(party, wire, **kw)
        r = self.post(entry)
        assert r.status_code == 201, r.text
        receipt = r.json()
        assert receipt["event_id"] == event_id(decode_entry(entry).canonical)
        self.receipts.append((entry, receipt))
        if name:
            self.ids[name] = receipt["event_id"]
        return receipt

    def refused(self, party: str, wire: dict[str, Any], *, rule: str, **kw: Any) -> dict[str, Any]:
        """Sign and post; expect 422 refused by `rule`; return the problem."""
        r = self.post(self.entry(party, wire, **kw))
        return expect_problem(r, 422, rule=rule)

    def token(self, party: str) -> dict[str, str]:
        return {"Authorization": f"FarmTrace {self.keys[party].token()}"}

    def lot(self, code: str, *, reader: str | None = REGULATOR) -> dict[str, Any]:
        """GET /lots/{code} as `reader` (a regulator by default: every holder; None: the public)."""
        r = self.http.get(f"/lots/{code}", headers=self.token(reader) if reader else {})
        assert r.status_code == 200, r.text
        return r.json()

    def size(self) -> int:
        return open_checkpoint(self.http.get("/ledger/checkpoint").text, LOG_SIGNER.verifier).checkpoint.size

    def anomalies(self, **params: Any) -> list[dict[str, Any]]:
        r = self.http.get("/anomalies", params=params, headers=self.token(REGULATOR))
        assert r.status_code == 200, r.text
        return r.json()

    # --- steps -------------------------------------------------------------------------------------

    def register_all(
        self, parties: tuple[str, ...] = (STATION, COOP, MARKET, SHOP, PROCESSOR, FARMER)
    ) -> None:
        # The first regulator registers itself (the genesis entry), then registers everyone else.
        self.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(REGULATOR)}})
        for pid in parties:
            self.record(REGULATOR, {"kind": "party.register", "detail": {"party": party_wire(pid)}})

    def harvest(self, lot: str = HARVEST, quantity: str = "500", party: str = COOP, **kw: Any) -> dict:
        return self.record(
            party,
            {
                "kind": "harvest",
                "outputs": [out(lot, quantity)],
                "detail": {"origin": {"name": "宁乡市 东湖塘镇 3号地块", "geo": "28.2458,112.5512"}},
                "price": {"amount": "1.2", "currency": "CNY", "unit": "kg", "stage": "production"},
            },
            **kw,
        )

    def inspect(self, lot: str, quantity: str, detail: dict = INSPECT_PASS, **kw: Any) -> dict:
        return self.record(
            STATION, {"kind": "inspect", "inputs": [ref(lot, quantity)], "detail": detail}, **kw
        )

    def certify(self, lot: str, quantity: str, party: str = COOP, **kw: Any) -> dict:
        return self.record(
            party, {"kind": "certify", "inputs": [ref(lot, quantity)], "detail": CERTIFY}, **kw
        )

    def ship(
        self, party: str, lots: list[tuple[str, str]], to: str, *, price: dict | None = None, **kw: Any
    ) -> dict:
        wire: dict[str, Any] = {
            "kind": "ship",
            "inputs": [ref(*x) for x in lots],
            "detail": {"destination": to},
        }
        if price:
            wire["price"] = price
        return self.record(party, wire, **kw)

    def receive(
        self,
        party: str,
        lots: list[tuple[str, str]],
        *,
        ship_event: str,
        source: str,
        check: dict | None = None,
        **kw: Any,
    ) -> dict:
        detail = {
            "source": source,
            "ship_event": ship_event,
            "entry_check": check or {"result": "accepted", "certificate_no": CERTIFY["certificate_no"]},
        }
        return self.record(
            party, {"kind": "receive", "inputs": [ref(*x) for x in lots], "detail": detail}, **kw
        )

    def transform(
        self, party: str, kind: str, inputs: list[tuple[str, str]], outputs: list[dict], **kw: Any
    ) -> dict:
        wire = {
            "kind": "transform",
            "inputs": [ref(*x) for x in inputs],
            "outputs": outputs,
            "detail": {"type": kind},
        }
        return self.record(party, wire, **kw)

    def sell_wire(self, lot: str, quantity: str, price: dict = RETAIL) -> dict[str, Any]:
        return {"kind": "sell", "inputs": [ref(lot, quantity)], "price": price, "detail": {}}

    def recall_wire(self, lot: str, quantity: str) -> dict[str, Any]:
        return {
            "kind": "recall",
            "inputs": [ref(lot, quantity)],
            "detail": {
                "reason": "抽检发现克百威超标 / carbofuran above the limit",
                "instructions": "立即下架",
            },
        }

    def story_one(self, until: str = "sell") -> None:
        """Story 1 through HTTP, up to and including step `until` (names as in tests/trace/story.py)."""
        steps = [
            ("register", self.register_all),
            ("harvest", lambda: self.harvest(name="harvest")),
            ("inspect", lambda: self.inspect(HARVEST, "500", name="inspect")),
            ("certify", lambda: self.certify(HARVEST, "500", name="certify")),
            ("ship", lambda: self.ship(COOP, [(HARVEST, "500")], MARKET, name="ship")),
            ("receive", lambda: self.receive(MARKET, [(HARVEST, "500")], ship_event=self.ids["ship"], source=COOP, name="receive")),
            ("split", lambda: self.transform(MARKET, "split", [(HARVEST, "500")], [out(c, "10") for c in SPLITS], name="split")),
            ("ship2", lambda: self.ship(MARKET, [(SPLITS[0], "10")], SHOP, price=WHOLESALE, name="ship2")),
            ("receive2", lambda: self.receive(
                SHOP,
                [(SPLITS[0], "10")],
                ship_event=self.ids["ship2"],
                source=MARKET,
                check={"result": "accepted", "inspection_event": self.ids["inspect"]},
                name="receive2",
            )),
            ("repack", lambda: self.transform(SHOP, "repack", [(SPLITS[0], "10")], [out(c, "1", product=BAG) for c in BAGS], name="repack")),
            ("sell", lambda: self.record(SHOP, self.sell_wire(BAG_1, "1"), name="sell")),
        ]  # fmt: skip
        names = [n for n, _ in steps]
        for _, step in steps[: names.index(until) + 1]:
            step()


def expect_problem(
    r: httpx.Response, status: int, *, rule: str | None = None, field: str | None = None
) -> dict:
    """Check an RFC 9457 problem: status, media type, type URI, detail; the rule and field if given."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("http://127.0.0.1:8000/problems/")  # FARMTRACE_VOCAB_BASE: the public URL
    assert body["title"] and body["detail"]
    if rule is not None:
        assert body["type"].endswith("/rule-violation")
        assert body["rule"] == rule, body
    if field is not None:
        assert body["field"] == field, body
    return body


def log_key(http: httpx.Client) -> Verifier:
    r = http.get("/ledger/key")
    assert r.status_code == 200
    return Verifier.from_key_string(r.text.strip())


def check_receipt(key: Verifier, entry: bytes, receipt: dict[str, Any]) -> None:
    """What a party does with a receipt: open the checkpoint with the log key, check the proof."""
    cp = open_checkpoint(receipt["checkpoint"], key).checkpoint
    assert receipt["size"] == cp.size and 0 <= receipt["index"] < cp.size
    leaf = leaf_hash(entry)
    assert unb64(receipt["leaf_hash"]) == leaf
    merkle.check_inclusion(
        [unb64(h) for h in receipt["proof"]], index=receipt["index"], leaf=leaf, size=cp.size, root=cp.root
    )


def check_proven(journey: dict[str, Any], item: dict[str, Any]) -> bytes:
    """Check that a journey item's entry is in the log under the journey's signed checkpoint; return it."""
    cp = open_checkpoint(journey["checkpoint"], Verifier.from_key_string(journey["log_key"])).checkpoint
    entry = unb64(item["entry"])
    merkle.check_inclusion(
        [unb64(h) for h in item["proof"]],
        index=item["index"],
        leaf=leaf_hash(entry),
        size=cp.size,
        root=cp.root,
    )
    return entry


def check_journey_event(journey: dict[str, Any], item: dict[str, Any]) -> None:
    """What the consumer's browser does with one journey event; raises if it does not verify."""
    signed = decode_entry(check_proven(journey, item))
    verify_signed_event(signed, unb64(journey["keys"][signed.event.key_id]["public_key"]))
    assert signed.id == item["id"] and signed.event.to_wire() == item["event"]


# --- EPCIS, validated offline against GS1's schema (as tests/trace/test_epcis.py does) -----------

SCHEMA_PATH = STANDARDS / "epcis" / "EPCIS-JSON-Schema.json"


def epcis_errors(doc: dict[str, Any]) -> list[str]:
    import re

    uri = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")
    checker = FormatChecker(["date-time"])
    checker.checks("uri")(lambda v: not isinstance(v, str) or bool(uri.fullmatch(v)))
    validator = Draft7Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")), format_checker=checker)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


# --- story 1 ----------------------------------------------------------------------------------------


def test_story_one_field_to_bag_verified(client) -> None:
    w = World(client)
    w.story_one()
    key = log_key(client)
    assert key == LOG_SIGNER.verifier  # the key the server announces is the one we pinned

    # Receipts: consecutive indexes from the genesis entry, each proven in its signed checkpoint.
    assert [r["index"] for _, r in w.receipts] == list(range(len(w.receipts)))
    assert not any(r["duplicate"] for _, r in w.receipts)
    for entry, receipt in w.receipts:
        check_receipt(key, entry, receipt)
    assert w.size() == len(w.receipts) == 7 + 10

    # The bag: cleared, sold, and the nine others still on the shop's shelf.
    bag = w.lot(BAG_1)
    assert bag["status"] == {"failed": False, "recalled": False, "rejected": False, "cleared": True}
    assert bag["parents"] == [SPLITS[0]] and bag["holders"] == {}
    assert bag["product"] == BAG and bag["quantity"] == "1" and bag["created_by"] == SHOP
    assert [e["id"] for e in bag["events"]] == [w.ids["repack"], w.ids["sell"]]
    assert w.lot(BAGS[1])["holders"] == {SHOP: "1"}
    assert w.lot(SPLITS[2])["holders"] == {MARKET: "10"}
    assert w.lot(HARVEST)["holders"] == {} and len(w.lot(HARVEST)["children"]) == 50

    # Trace back: the bag reaches the harvest lot and the cooperative that made it.
    r = client.get(f"/lots/{BAG_1}/trace", params={"direction": "back"})
    assert r.status_code == 200, r.text
    graph = r.json()
    assert graph["origins"] == [HARVEST]
    nodes = {n["lot"]: n for n in graph["nodes"]}
    assert set(nodes) == {BAG_1, SPLITS[0], HARVEST}
    assert nodes[HARVEST]["created_by"] == COOP and nodes[HARVEST]["created_by_name"] == NAMES[COOP]
    assert nodes[HARVEST]["origin"] and nodes[HARVEST]["direction"] == "back"
    assert nodes[BAG_1]["direction"] == "self" and nodes[BAG_1]["holders"] == []
    edges = {(e["from"], e["to"]): e["quantity"] for e in graph["edges"]}
    assert edges == {(HARVEST, SPLITS[0]): "10 kg", (SPLITS[0], BAG_1): "1 kg"}
    # ... and forward from the harvest: every split and every bag, with the holders each reader is
    # shown (docs/visibility.md). A regulator: the market's stock and the shop's. The public: no one.
    def forward_holders(reader: str | None) -> set[str]:
        headers = w.token(reader) if reader else {}
        graph = client.get(f"/lots/{HARVEST}/trace", params={"direction": "forward"}, headers=headers).json()
        assert len(graph["nodes"]) == 1 + 50 + 10 and graph["origins"] == [HARVEST]
        assert graph["audience"] == ("public" if reader is None else "regulator" if reader == REGULATOR else "party")
        return {h["party"] for n in graph["nodes"] for h in n["holders"]}

    assert forward_holders(REGULATOR) == {MARKET, SHOP}
    assert forward_holders(None) == set()
    # The market sees its own stock, not what the shop made of its bag lot; the shop sees its own
    # bags; the cooperative, whose harvest the market split up, sees neither.
    assert forward_holders(MARKET) == {MARKET}
    assert forward_holders(SHOP) == {SHOP}
    assert forward_holders(COOP) == set()

    # The journey: every event of the bag and the lots it came from, in order, each hash-linked,
    # complete by the head index (committed here rather than FARMTRACE_INDEX_LAG seconds later).
    _commit_index(client)
    journey = client.get(f"/lots/{BAG_1}/journey").json()
    assert journey["lots"] == sorted([BAG_1, SPLITS[0], HARVEST]) and journey["recalls"] == []
    chain = [
        "harvest",
        "inspect",
        "certify",
        "ship",
        "receive",
        "split",
        "ship2",
        "receive2",
        "repack",
        "sell",
    ]
    assert [e["id"] for e in journey["events"]] == [w.ids[n] for n in chain]
    indexes = [e["index"] for e in journey["events"]]
    assert indexes == sorted(indexes)
    head: dict[str, str] = {}
    for item in journey["events"]:
        check_journey_event(journey, item)
        event = item["event"]
        for r_ in event["inputs"]:
            assert r_["follows"] == [head[r_["lot"]]], (item["kind"], r_["lot"])
        for lot in [x["lot"] for x in event["inputs"]] + [x["lot"] for x in event["outputs"]]:
            head[lot] = item["id"]
        assert item["party_name"] == NAMES[item["party"]]
    assert head[BAG_1] == w.ids["sell"]
    # ... and the checks the consumer's page runs (trace/verify_journey.py, twin of verify.js) all pass.
    report = check_journey(journey, log_key=LOG_SIGNER.verifier)
    assert report.ok, report.summary()
    assert report.events == len(chain)
    # Each signing key is itself on the record, with its registration proven.
    for kid, k in journey["keys"].items():
        reg = k["registered_in"]
        assert reg is not None, kid
        registration = decode_entry(check_proven(journey, reg)).event
        assert registration.kind == "party.register" and registration.party == REGULATOR
        assert any(x.key_id == kid for x in registration.detail.party.keys)  # type: ignore[attr-defined]

    # EPCIS 2.0 export of the bag's history validates against GS1's JSON Schema. A regulator is
    # shown every event; the public every one but the shipments and receipts (docs/visibility.md);
    # the shop, besides, the shipment to it and its own receipt, not the cooperative's to the market.
    def epcis_steps(reader: str | None) -> list[str]:
        r = client.get(f"/lots/{BAG_1}/epcis", headers=w.token(reader) if reader else {})
        assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
        doc = r.json()
        assert epcis_errors(doc) == []
        return [e["bizStep"] for e in doc["epcisBody"]["eventList"]]

    everything = epcis_steps(REGULATOR)
    assert len(everything) == len(chain) and everything[-1] == "retail_selling"
    custody = {"shipping", "receiving"}
    assert epcis_steps(None) == [s for s in everything if s not in custody]
    assert sorted(epcis_steps(SHOP)) == sorted([s for s in everything if s not in custody] + list(custody))
    r = client.get(f"/events/{w.ids['ship']}/epcis")  # the cooperative's shipment: its parties' only
    assert r.status_code == 403 and "shown to its parties and to regulators" in r.json()["detail"]
    assert client.get(f"/events/{w.ids['ship']}/epcis", headers=w.token(MARKET)).status_code == 200
    assert client.get(f"/events/{w.ids['ship']}/epcis", headers=w.token(SHOP)).status_code == 403
    assert client.get(f"/events/{w.ids['ship']}", headers=w.token(SHOP)).status_code == 200  # the log is public


def test_story_one_epcis_validator_is_not_vacuous(client) -> None:
    w = World(client)
    w.story_one(until="harvest")
    doc = client.get(f"/lots/{HARVEST}/epcis").json()
    assert epcis_errors(doc) == []
    doc["epcisBody"]["eventList"][0]["bizStep"] = "harvesting"
    del doc["epcisBody"]["eventList"][0]["eventTimeZoneOffset"]
    assert len(epcis_errors(doc)) >= 2


# --- story 2 ----------------------------------------------------------------------------------------


def test_story_two_failed_test_blocks_ship_and_sale(client) -> None:
    w = World(client)
    w.story_one(until="receive")
    w.inspect(HARVEST, "500", INSPECT_FAIL, name="fail")  # the market's test room: residues too high
    lot = w.lot(HARVEST)
    assert lot["status"]["failed"] and lot["holders"] == {MARKET: "500"}
    size = w.size()

    ship = {"kind": "ship", "inputs": [ref(HARVEST, "100")], "detail": {"destination": SHOP}}
    p = w.refused(MARKET, ship, rule="blocked")
    assert p["detail"] == (
        f"lot {HARVEST} failed an inspection (itself or a lot it was made from) and cannot be used in a ship "
        "event (rule blocked)"
    )
    assert p["field"] == "inputs[0].lot"
    p = w.refused(MARKET, w.sell_wire(HARVEST, "10", WHOLESALE), rule="blocked")
    assert f"lot {HARVEST} failed an inspection" in p["detail"] and "sell" in p["detail"]
    assert w.size() == size and w.lot(HARVEST) == lot  # nothing stored

    # A failed lot of the cooperative's own cannot leave the farm either.
    w.harvest("NX-XBC-002", "300")
    w.certify("NX-XBC-002", "300")
    w.inspect("NX-XBC-002", "300", INSPECT_FAIL)
    w.refused(
        COOP,
        {"kind": "ship", "inputs": [ref("NX-XBC-002", "300")], "detail": {"destination": MARKET}},
        rule="blocked",
    )

    # The regulator sees every attempt, newest first, with who, what and why.
    seen = w.anomalies(rule="blocked")
    assert [(a["party"], a["kind"], a["lots"]) for a in seen] == [
        (COOP, "ship", ["NX-XBC-002"]),
        (MARKET, "sell", [HARVEST]),
        (MARKET, "ship", [HARVEST]),
    ]
    assert all(a["rule"] == "blocked" and "failed an inspection" in a["message"] for a in seen)
    assert seen[2]["event"]["detail"] == {"destination": SHOP} and seen[2]["field"] == "inputs[0].lot"
    assert w.anomalies(party=COOP)[0]["lots"] == ["NX-XBC-002"]

    # Anyone else is turned away.
    r = client.get("/anomalies", headers=w.token(MARKET))
    p = expect_problem(r, 403)
    assert p["type"].endswith("/forbidden")
    assert p["detail"] == f"this needs the regulator role; party {MARKET} has wholesaler"
    expect_problem(client.get("/anomalies"), 403)


# --- story 3 ----------------------------------------------------------------------------------------


def test_story_three_recall_reaches_every_lot_and_holder(client) -> None:
    w = World(client)
    w.story_one()
    # A second shipment to the shop, only partly received: 4 kg are still on the road at the recall.
    w.ship(MARKET, [(SPLITS[1], "10")], SHOP, price=WHOLESALE, name="ship3")
    w.receive(SHOP, [(SPLITS[1], "6")], ship_event=w.ids["ship3"], source=MARKET, check={"result": "accepted", "inspection_event": w.ids["inspect"]})  # fmt: skip
    w.record(REGULATOR, w.recall_wire(HARVEST, "500"), name="recall")

    lots = [HARVEST, *SPLITS, *BAGS]
    for code in lots:
        assert w.lot(code)["status"]["recalled"], code
    graph = client.get(f"/lots/{HARVEST}/trace", params={"direction": "forward"}).json()
    assert {n["lot"] for n in graph["nodes"]} == set(lots)
    assert all(n["status"]["recalled"] for n in graph["nodes"])

    r = client.get(f"/lots/{HARVEST}/recall", headers=w.token(REGULATOR))
    assert r.status_code == 200, r.text
    report = r.json()
    affected = {a["lot"]: a for a in report["affected_lots"]}
    assert set(affected) == set(lots) and all(a["recalled"] for a in affected.values())
    assert affected[BAG_1]["sold"] == "1" and affected[BAGS[1]]["sold"] == "0"
    parties = {p["party"]: p for p in report["parties"]}
    assert set(parties) == {MARKET, SHOP}
    assert parties[SHOP]["name"] == NAMES[SHOP]
    market = {x["lot"]: Decimal(x["quantity"]) for x in parties[MARKET]["lots"]}
    assert market == {code: Decimal(10) for code in SPLITS[2:]}
    shop = {x["lot"]: Decimal(x["quantity"]) for x in parties[SHOP]["lots"]}
    assert shop == {SPLITS[1]: Decimal(6)} | {code: Decimal(1) for code in BAGS[1:]}
    assert parties[SHOP]["in_transit"] == [{"lot": SPLITS[1], "quantity": "4", "unit": "kg"}]
    assert "in_transit" not in parties[MARKET]
    shipments = {(s["ship_event"], s["lot"]): s for s in report["shipments"]}
    assert {k: (s["shipped"], s["received"], s["outstanding"]) for k, s in shipments.items()} == {
        (w.ids["ship"], HARVEST): ("500", "500", "0"),
        (w.ids["ship2"], SPLITS[0]): ("10", "10", "0"),
        (w.ids["ship3"], SPLITS[1]): ("10", "6", "4"),
    }
    assert shipments[(w.ids["ship3"], SPLITS[1])]["to_name"] == NAMES[SHOP]

    # Nothing made from it moves on, and a consumer scanning a bag is warned.
    p = w.refused(SHOP, w.sell_wire(BAGS[1], "1"), rule="blocked")
    assert BAGS[1] in p["detail"] and "recalled" in p["detail"]
    w.refused(
        MARKET,
        {"kind": "ship", "inputs": [ref(SPLITS[5], "10")], "detail": {"destination": SHOP}},
        rule="blocked",
    )
    journey = client.get(f"/lots/{BAGS[1]}/journey").json()
    assert journey["status"]["recalled"]
    assert [(x["id"], x["lot"]) for x in journey["recalls"]] == [(w.ids["recall"], HARVEST)]
    assert "克百威" in journey["recalls"][0]["reason"]
    # The report is for regulators only.
    expect_problem(client.get(f"/lots/{HARVEST}/recall", headers=w.token(SHOP)), 403)


def test_recall_report_of_an_unknown_lot_is_404(client) -> None:
    w = World(client)
    w.register_all()
    p = expect_problem(client.get("/lots/NOPE-1/recall", headers=w.token(REGULATOR)), 404)
    assert p["detail"] == "no lot 'NOPE-1' is known"


# --- story 4 ----------------------------------------------------------------------------------------


def _audit(client) -> Any:
    return client.app.state.log.audit()


def _next_index(journey: dict[str, Any], index: int) -> int:
    """The ledger index of the journey's event after `index` (here: the next event on the same lot)."""
    return min(e["index"] for e in journey["events"] if e["index"] > index)


def _commit_index(client) -> None:
    """Commit the head index's entry now (issue 17 §2), as the server does at its lag (unless its
    own keeper just did: then None, and the index is current)."""
    IndexKeeper(client.app.state.service.log, clock=time.time, lag=0).commit_due()


def _sql(client, statement: str, **params: Any) -> None:
    with client.app.state.service.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_story_four_an_edited_entry_is_named_and_fails_verification(client) -> None:
    w = World(client)
    w.story_one()
    _commit_index(client)
    assert _audit(client).ok
    journey = client.get(f"/lots/{BAG_1}/journey").json()
    target = next(e for e in journey["events"] if e["kind"] == "inspect")
    index = target["index"]
    original = unb64(target["entry"])
    assert b'"value":"12.5"' in original
    forged = original.replace(b'"value":"12.5"', b'"value":"10.5"')  # still canonical, still parses

    _sql(client, "UPDATE ledger_entry SET entry = :e WHERE idx = :i", e=forged, i=index)

    # The audit names the first entry that no longer verifies.
    report = _audit(client)
    assert not report.ok
    assert report.first_failure.index == index
    assert report.first_failure.message.startswith(f"entry {index} does not match the hash the log recorded")

    # The consumer's page: the server now serves the forged bytes, but they no longer lead to the
    # signed root, and the party's signature no longer covers them.
    journey = client.get(f"/lots/{BAG_1}/journey").json()
    served = next(e for e in journey["events"] if e["index"] == index)
    entry = unb64(served["entry"])
    assert entry == forged
    proof = client.get("/ledger/proof/inclusion", params={"index": index, "size": journey["size"]}).json()
    assert unb64(proof["leaf_hash"]) == leaf_hash(original) != leaf_hash(entry)
    with pytest.raises(VerificationError):
        check_journey_event(journey, served)
    with pytest.raises(SignatureRefused):
        verify_signed_event(
            decode_entry(entry), unb64(journey["keys"][decode_entry(entry).event.key_id]["public_key"])
        )
    # Every other event of the journey still verifies: the page can say exactly which one is wrong.
    for item in journey["events"]:
        if item["index"] != index:
            check_journey_event(journey, item)
    report = check_journey(journey, log_key=LOG_SIGNER.verifier)
    assert not report.ok and report.summary().startswith(f"lot {BAG_1}: NOT verified: ")
    # The forged event, and the next event on the lot, which follows the genuine event's id.
    after = _next_index(journey, index)
    assert [f.where()[:2] for f in report.failures] == [
        ("signature.invalid", index),
        ("inclusion.invalid", index),
        ("chain.follows", after),
    ]


def test_story_four_a_deleted_entry_is_named(client) -> None:
    w = World(client)
    w.story_one()
    index = next(r["index"] for e, r in w.receipts if r["event_id"] == w.ids["certify"])
    _sql(client, "DELETE FROM ledger_entry WHERE idx = :i", i=index)
    report = _audit(client)
    assert report.first_failure.index == index
    assert report.first_failure.message.startswith(f"entry {index} is missing from the log")


def test_story_four_a_deleted_entry_makes_the_journey_unverifiable(client) -> None:
    w = World(client)
    w.story_one()
    _commit_index(client)
    index = next(r["index"] for e, r in w.receipts if r["event_id"] == w.ids["certify"])
    _sql(client, "DELETE FROM ledger_entry WHERE idx = :i", i=index)
    r = client.get(f"/lots/{BAG_1}/journey")
    assert r.status_code == 200, r.text
    journey = r.json()
    gone = next(e for e in journey["events"] if e["index"] == index)
    assert gone["id"] == w.ids["certify"] and gone["entry"] is None and gone["event"] is None
    report = check_journey(journey, log_key=LOG_SIGNER.verifier)
    after = _next_index(journey, index)
    # Below the head index the lot's chain is one event short of what the index holds.
    assert [f.where()[:2] for f in report.failures] == [
        ("entry.malformed", index),
        ("chain.follows", after),
        ("chain.hidden_tail", None),
    ]


def test_story_four_an_unparseable_entry_makes_the_journey_unverifiable(client) -> None:
    w = World(client)
    w.story_one()
    _commit_index(client)
    index = next(r["index"] for e, r in w.receipts if r["event_id"] == w.ids["inspect"])
    _sql(client, "UPDATE ledger_entry SET entry = :e WHERE idx = :i", e=b"garbage", i=index)
    r = client.get(f"/lots/{BAG_1}/journey")
    assert r.status_code == 200, r.text
    journey = r.json()
    bad = next(e for e in journey["events"] if e["index"] == index)
    assert unb64(bad["entry"]) == b"garbage" and bad["event"] is None  # served as stored
    with pytest.raises(VerificationError):
        check_proven(journey, bad)
    report = check_journey(journey, log_key=LOG_SIGNER.verifier)
    after = _next_index(journey, index)
    assert [f.where()[:2] for f in report.failures] == [
        ("entry.malformed", index),
        ("inclusion.invalid", index),
        ("chain.follows", after),
        ("chain.hidden_tail", None),  # below the head index, the lot's chain is one event short
    ]
    assert _audit(client).first_failure.index == index


# --- story 5 ----------------------------------------------------------------------------------------


def test_story_five_selling_more_than_the_lot_is_refused_and_flagged(client) -> None:
    w = World(client)
    w.story_one(until="receive")
    before = w.lot(HARVEST)
    size = w.size()

    p = w.refused(MARKET, w.sell_wire(HARVEST, "800", WHOLESALE), rule="mass_balance")
    assert p["detail"] == (
        f"cannot sell 800 kg of lot {HARVEST}: party {MARKET} holds 500 kg (rule mass_balance)"
    )
    assert p["field"] == "inputs[0].quantity"
    assert w.size() == size and w.lot(HARVEST) == before  # nothing stored

    (a,) = w.anomalies(rule="mass_balance")
    assert (a["party"], a["kind"], a["lots"], a["field"]) == (MARKET, "sell", [HARVEST], "inputs[0].quantity")
    assert "800 kg" in a["message"] and "500 kg" in a["message"]
    assert a["event"]["inputs"][0]["quantity"] == "800"
    # The honest sale still goes through afterwards.
    w.record(MARKET, w.sell_wire(HARVEST, "500", WHOLESALE))
    assert w.lot(HARVEST)["holders"] == {}
