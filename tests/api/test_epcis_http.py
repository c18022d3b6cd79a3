"""EPCIS over HTTP: one lot has one identifier in every document, recordTime is the ledger's, and
the documents' JSON-LD expands with the context the service serves (pyld, offline)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from farmtrace.api.demo import PARTIES, run_demo
from farmtrace.client import PartyKey
from farmtrace.trace.epcis import EPCIS_CONTEXT, lot_class
from farmtrace.trace.epcis_hash import check_event_hash

from ..trace import test_epcis as epcis_checks

BAG = "XF-BAG-0001"  # a 1 kg bag of cabbage, made by repacking; its product has a GTIN
BAG_CLASS = lot_class(BAG, "6901234567892")


@pytest.fixture
def demo(client, tmp_path):
    """The demo's ledger; the client reads as its regulator, who is shown every event (a shipment or a
    receipt only to its parties and regulators: docs/visibility.md, tests/api/test_epcis_query.py)."""
    result = run_demo(client.app.state.service, tmp_path / "keys")
    keys = {name: PartyKey.load(tmp_path / "keys" / f"{name}.key") for name in PARTIES}
    client.headers["Authorization"] = f"FarmTrace {keys['regulator'].token()}"
    return result, keys


def _classes(doc: dict, lot: str) -> set[str]:
    """The epcClass URIs the document gives `lot` (its code, percent-encoded, ends each)."""
    return {
        q["epcClass"]
        for e in doc["epcisBody"]["eventList"]
        for key in ("quantityList", "inputQuantityList", "outputQuantityList")
        for q in e.get(key, [])
        if q["epcClass"].endswith(f":{lot}") or q["epcClass"].endswith(f"/{lot}")
    }


def test_one_lot_has_one_identifier_in_every_document(client, demo):
    _, keys = demo
    journey = client.get(f"/lots/{BAG}/journey").json()
    sale = next(e for e in journey["events"] if e["kind"] == "sell")

    alone = client.get(f"/events/{sale['id']}/epcis")
    assert alone.status_code == 200 and alone.headers["content-type"] == "application/ld+json"
    lot_doc = client.get(f"/lots/{BAG}/epcis").json()
    at = datetime.fromisoformat(sale["event"]["event_time"])
    export = client.get(
        "/exports/events.jsonld",
        params={"since": at.isoformat(), "until": (at + timedelta(seconds=1)).isoformat()},
        headers={"Authorization": f"FarmTrace {keys['regulator'].token()}"},
    )
    assert export.status_code == 200, export.text
    docs = {"event": alone.json(), "lot": lot_doc, "export": export.json()}
    assert len(docs["export"]["epcisBody"]["eventList"]) == 1  # the sale only: not the bag's making
    for name, doc in docs.items():
        assert _classes(doc, BAG) == {BAG_CLASS}, name
        assert epcis_checks._errors(doc) == [], name


def test_one_event_has_one_hash_id_in_every_document(client, demo):
    # eventID is the CBV 2.0 event hash ID: the event's own document, its lot's and the regulator's
    # export give it the same one, and it is the hash of what each document shows.
    _, keys = demo
    journey = client.get(f"/lots/{BAG}/journey").json()
    sale = next(e for e in journey["events"] if e["kind"] == "sell")
    at = datetime.fromisoformat(sale["event"]["event_time"])
    docs = [
        client.get(f"/events/{sale['id']}/epcis").json(),
        client.get(f"/lots/{BAG}/epcis").json(),
        client.get(
            "/exports/events.jsonld",
            params={"since": at.isoformat(), "until": (at + timedelta(seconds=1)).isoformat()},
            headers={"Authorization": f"FarmTrace {keys['regulator'].token()}"},
        ).json(),
    ]
    prefixes = {"farmtrace": "http://127.0.0.1:8000/ns#"}
    found = set()
    for doc in docs:
        events = doc["epcisBody"]["eventList"]
        for event in events:
            check_event_hash(event, event["eventID"], prefixes=prefixes)
        found |= {e["eventID"] for e in events if e["farmtrace:eventId"] == sale["id"]}
    assert len(found) == 1
    lot_ids = [e["eventID"] for e in docs[1]["epcisBody"]["eventList"]]
    assert len(set(lot_ids)) == len(lot_ids) == len(journey["events"])


def test_record_time_is_when_the_ledger_recorded_the_event(client, demo):
    journey = client.get(f"/lots/{BAG}/journey").json()
    doc = client.get(f"/lots/{BAG}/epcis").json()
    events = doc["epcisBody"]["eventList"]
    assert len(events) == len(journey["events"]) and all("recordTime" in e for e in events)
    signed = {cp.size: cp.signed_at for cp in client.app.state.log.checkpoints()}
    for item, event in zip(journey["events"], events, strict=True):
        first = min(size for size in signed if size > item["index"])  # the first checkpoint holding it
        recorded = datetime.fromisoformat(event["recordTime"]).timestamp()
        assert abs(recorded - signed[first]) < 0.001, item["index"]
    one = client.get(f"/events/{journey['events'][0]['id']}/epcis").json()["epcisBody"]["eventList"][0]
    assert one["recordTime"] == events[0]["recordTime"]


def test_the_served_context_keeps_every_extension_key(client, demo):
    doc = client.get(f"/lots/{BAG}/epcis").json()
    ours = doc["@context"][1]
    assert doc["@context"] == [EPCIS_CONTEXT, "http://127.0.0.1:8000/ns/epcis-context.jsonld"]
    contexts = {
        EPCIS_CONTEXT: json.loads(epcis_checks.EPCIS_CONTEXT_FILE.read_text(encoding="utf-8")),
        ours: client.get(ours.removeprefix("http://127.0.0.1:8000")).json(),
    }
    expanded = epcis_checks.expand(doc, contexts)
    seen = epcis_checks.check_extensions_survive(doc, expanded, "http://127.0.0.1:8000/ns#")
    assert {"location.name", "price.amount", "inspection.result", "certificate.certificate_no"} <= seen
