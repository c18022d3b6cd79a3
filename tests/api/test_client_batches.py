"""farmtrace.client's bulk upload: events signed in order, each input following the batch's own
earlier event on its lot, sent in as many POST /events/batch as the server's limit needs."""

from __future__ import annotations

from typing import Any

import pytest

from farmtrace.api.routes.trace import MAX_BATCH as SERVER_MAX_BATCH
from farmtrace.client import client as client_module
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.encoding import decode_entry

from ..trace.story import CERTIFY, COOP, MARKET
from .test_stories import HARVEST, World, check_receipt, log_key, out, ref


@pytest.fixture
def world(client) -> World:
    w = World(client)
    w.story_one(until="harvest")  # every party registered; HARVEST (500 kg) held by the cooperative
    return w


def _chain(w: World) -> list[dict[str, Any]]:
    """Certify HARVEST (its head is on the server), split it, ship one half, and harvest a new lot:
    the split follows the certificate and the shipment the split, neither recorded yet."""
    place = {"name": "宁乡 3号地"}
    return [
        {"kind": "certify", "event_time": w.tick(), "location": place,
         "inputs": [ref(HARVEST, "500")], "detail": CERTIFY},
        {"kind": "transform", "event_time": w.tick(), "location": place, "inputs": [ref(HARVEST, "500")],
         "outputs": [out("HALF-A", "250"), out("HALF-B", "250")], "detail": {"type": "split"}},
        {"kind": "ship", "event_time": w.tick(), "location": place,
         "inputs": [ref("HALF-A", "250")], "detail": {"destination": MARKET}},
        {"kind": "harvest", "event_time": w.tick(), "location": place,
         "outputs": [out("NEW-1", "40")], "detail": {"origin": place}},
    ]  # fmt: skip


def test_the_client_has_the_servers_batch_limit() -> None:
    assert client_module.MAX_BATCH == SERVER_MAX_BATCH


def test_a_chain_is_signed_and_recorded_in_one_upload(world: World) -> None:
    w = world
    harvest_head = w.lot(HARVEST)["head"]
    coop = w.client(COOP)
    entries = coop.entries(_chain(w))
    events = [decode_entry(e) for e in entries]
    # Follows: the server's head for the first touch of HARVEST, the batch's own events after that.
    assert events[0].event.inputs[0].follows == (harvest_head,)
    assert events[1].event.inputs[0].follows == (events[0].id,)
    assert events[2].event.inputs[0].follows == (events[1].id,)
    size = w.size()
    answer = coop.submit_many(entries)
    assert answer["accepted"] == 4, answer
    receipts = [r["receipt"] for r in answer["results"]]
    assert [r["index"] for r in receipts] == [size, size + 1, size + 2, size + 3]
    for entry, receipt in zip(entries, receipts, strict=True):
        check_receipt(log_key(w.http), entry, receipt)
    assert w.lot("HALF-A")["head"] == events[2].id and w.lot("HALF-B")["holders"] == {COOP: "250"}
    assert w.lot("NEW-1")["holders"] == {COOP: "40"}


def test_a_refusal_breaks_the_chain_that_follows_it(world: World) -> None:
    w = world
    harvest_head = w.lot(HARVEST)["head"]
    chain = _chain(w)
    chain[0]["inputs"][0]["quantity"] = "600"  # a certificate for more than the lot holds: refused
    answer = w.client(COOP).record_many(chain)
    results = answer["results"]
    assert [r["ok"] for r in results] == [False, False, False, True] and answer["accepted"] == 1
    assert results[0]["problem"]["status"] == 422
    # The split followed the refused certificate, which never became HARVEST's head.
    assert results[1]["problem"]["rule"] == "follows"
    assert results[2]["problem"]["rule"] == "lot_unknown"  # HALF-A was never made
    assert w.lot(HARVEST)["head"] == harvest_head


def test_a_large_upload_is_sent_in_several_requests(world: World, monkeypatch) -> None:
    w = world
    monkeypatch.setattr(client_module, "MAX_BATCH", 3)
    sent: list[int] = []
    post = w.http.post

    def counting(url: str, **kw: Any) -> Any:
        if url == "/events/batch":
            sent.append(len(kw["json"]["entries"]))
        return post(url, **kw)

    monkeypatch.setattr(w.http, "post", counting)
    chain = _chain(w) + [
        {"kind": "harvest", "event_time": w.tick(), "location": {"name": "宁乡 4号地"},
         "outputs": [out(f"MORE-{k}", "10")], "detail": {"origin": {"name": "宁乡 4号地"}}}
        for k in range(3)
    ]  # fmt: skip
    answer = w.client(COOP).record_many(chain)
    assert sent == [3, 3, 1]
    assert answer["accepted"] == 7 and all(r["ok"] for r in answer["results"])
    assert [r["receipt"]["index"] for r in answer["results"]] == sorted(
        r["receipt"]["index"] for r in answer["results"]
    )


def test_an_event_that_cannot_be_signed_stops_the_upload_before_anything_is_sent(world: World) -> None:
    w = world
    chain = _chain(w)
    chain[2]["inputs"][0]["quantity"] = "-5"
    size = w.size()
    with pytest.raises(InvalidEvent) as caught:
        w.client(COOP).record_many(chain)
    assert caught.value.field == "[2].inputs[0].quantity"
    assert w.size() == size
