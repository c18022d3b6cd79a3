"""Completeness by the head index (issue 17 §2): the journey's index section, checked by both twins.

trace/journey_index_check.py (Python) and web/static/completeness.js (run by verify.js, in Node) get
the same journeys, served by a real service whose head index the keeper committed
(trace/index_keeper.py), and must give the same failures, in the same order, and the same outcome
(complete / pending with the not-yet-indexed events / missing). The tampering is the server's:
events left out of the journey (the lot's latest; a recall on an ancestor), an index entry or value
edited, proofs or the whole section left out; and an operator who undoes a key's revocation in the
tables so that the write path lets an event signed by the revoked key in. One Chromium run shows the
page for a hidden tail, the complete line, and the missing-index state.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.verify_journey import check_journey

from ..trace.story import REGULATOR, SHOP, key_id
from ..trace.test_replay import _entry, _sale, record, service_at, story_entries
from .browser_support import verify_page
from .consumer_support import close_app, demo_app, served_demo
from .js.node import node

BAG, ANCESTOR = "XF-BAG-0001", "NX-BC-1120"
CHECK = (
    "async ([j, k]) => { const r = await FarmtraceVerify.checkJourney(j, k);"
    " return {ok: r.ok, failures: r.failures, index: r.index}; }"
)


def _commit_index(log) -> int:
    index = IndexKeeper(log, clock=time.time, lag=0).commit_due()
    assert index is not None
    return index


def _wire(service, code: str) -> dict:
    return json.loads(json.dumps(service.journey_bundle(code).to_wire()))


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "vmap.js", "completeness.js", "verify.js") as process:
        yield process


def _both(journey: dict, log_key: str, js) -> tuple[list[str], dict]:
    """Both twins' failure codes (asserted equal, with where they apply) and the index outcome."""
    python = check_journey(journey, log_key=log_key)
    got = js.evaluate(CHECK, [journey, log_key])
    assert [(f["reason"], f["index"], f["key"], f["lot"]) for f in got["failures"]] == [
        f.where() for f in python.failures
    ]
    assert got["ok"] is python.ok
    assert got["index"] == python.index.to_wire()
    return [f.reason for f in python.failures], got["index"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo with its index committed, then a recall of the bag's ancestor recorded after it:
    (journey with the recall not yet indexed, journey after the next index entry, log key, recall index)."""
    tmp = tmp_path_factory.mktemp("index-demo")
    app, _ = demo_app(tmp)
    service = app.state.service
    try:
        regulator = PartyKey.load(tmp / "keys" / "regulator.key")
        head = service.lot_summary(ANCESTOR).head
        receipt = service.record(
            regulator.sign(
                {
                    "kind": "recall",
                    "event_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
                    "location": {"name": "长沙市市场监督管理局"},
                    "inputs": [{"lot": ANCESTOR, "quantity": "500", "unit": "kg", "follows": [head]}],
                    "outputs": [],
                    "detail": {"reason": "农残超标 / residues", "instructions": "停止食用 / stop eating it"},
                }
            )
        )
        pending = _wire(service, BAG)
        _commit_index(service.log)
        yield pending, _wire(service, BAG), service.log.verifier.key_string(), receipt.index
    finally:
        close_app(app)


def _last_naming(journey: dict, code: str) -> int:
    """The position in `events` of the latest event naming lot `code`."""
    return max(
        i
        for i, e in enumerate(journey["events"])
        if any(r["lot"] == code for r in e["event"]["inputs"] + e["event"]["outputs"])
    )


def test_the_genuine_journey_is_complete(demo, js):
    _, journey, key, recall = demo
    assert _both(journey, key, js) == (
        [],
        {"state": "complete", "size": journey["index"]["entry"]["index"], "unindexed": []},
    )
    assert journey["index"]["entry"]["index"] > recall


def test_events_newer_than_the_index_are_recorded_not_yet_indexed(demo, js):
    pending, _, key, recall = demo
    failures, outcome = _both(pending, key, js)
    assert failures == [] and outcome["state"] == "pending" and outcome["unindexed"] == [recall]
    assert outcome["size"] < recall


def test_the_lots_latest_event_left_out_is_a_hidden_tail(demo, js):
    _, journey, key, _ = demo
    j = copy.deepcopy(journey)
    del j["events"][_last_naming(j, BAG)]
    assert _both(j, key, js)[0] == ["chain.hidden_tail"]


def test_a_recall_on_an_ancestor_left_out_is_a_hidden_tail(demo, js):
    _, journey, key, recall = demo
    j = copy.deepcopy(journey)
    j["events"] = [e for e in j["events"] if e["index"] != recall]
    j["recalls"] = []
    assert _both(j, key, js)[0] == ["chain.hidden_tail"]
    python = check_journey(j, log_key=key)
    assert python.failures[0].lot == ANCESTOR


def test_the_recall_left_out_below_an_older_index_is_not_seen(demo, js):
    """What the index cannot see: an event after its entry (it is only 'not yet indexed')."""
    pending, _, key, recall = demo
    j = copy.deepcopy(pending)
    j["events"] = [e for e in j["events"] if e["index"] != recall]
    assert _both(j, key, js) == (
        [],
        {"state": "complete", "size": pending["index"]["entry"]["index"], "unindexed": []},
    )


def _edit_entry(j: dict, edit) -> None:
    item = j["index"]["entry"]
    entry = edit(base64.b64decode(item["entry"]))
    item["entry"] = base64.b64encode(entry).decode()
    item["leaf_hash"] = base64.b64encode(leaf_hash(entry)).decode()


def test_an_edited_index_root_is_not_proven(demo, js):
    _, journey, key, _ = demo
    j = copy.deepcopy(journey)
    root = json.loads(base64.b64decode(j["index"]["entry"]["entry"]).split(b"\n")[1])["root"]
    other = base64.b64encode(bytes(b ^ 1 for b in base64.b64decode(root))).decode()
    _edit_entry(j, lambda e: e.replace(root.encode(), other.encode()))
    assert _both(j, key, js)[0] == ["index.inclusion"]


def test_an_entry_that_is_not_an_index_entry_there(demo, js):
    _, journey, key, _ = demo
    for edit in (
        lambda e: e.replace(b'"size":', b'"size":1'),  # another size than its own index
        lambda e: e.replace(b"index/v1", b"index/v2"),
        lambda e: e.replace(b'{"keys"', b'{ "keys"'),  # not RFC 8785
    ):
        j = copy.deepcopy(journey)
        _edit_entry(j, edit)
        assert _both(j, key, js)[0] == ["index.entry"]


def test_an_edited_value_or_proof_is_named(demo, js):
    _, journey, key, _ = demo
    kid = sorted(journey["index"]["keys"])[0]
    edits = [
        (
            lambda j: j["index"]["lots"][BAG]["value"].update(
                count=j["index"]["lots"][BAG]["value"]["count"] - 1
            ),
            BAG,
        ),
        (lambda j: j["index"]["lots"][ANCESTOR]["proof"]["siblings"].pop(), ANCESTOR),
        (lambda j: j["index"]["lots"][BAG].update(value=None), BAG),
        (lambda j: j["index"]["keys"][kid]["value"].update(registered_at="2020-01-01T00:00:00+08:00"), kid),
        (lambda j: j["index"]["keys"][kid]["value"].update(revoked=1), kid),  # revoked without its time
    ]
    for edit, where in edits:
        j = copy.deepcopy(journey)
        edit(j)
        failures, _ = _both(j, key, js)
        assert failures == ["index.proof"], where
        assert where in {
            check_journey(j, log_key=key).failures[0].lot,
            check_journey(j, log_key=key).failures[0].key,
        }


def test_missing_proofs_or_no_index(demo, js):
    _, journey, key, _ = demo
    j = copy.deepcopy(journey)
    del j["index"]["lots"][ANCESTOR]
    assert _both(j, key, js)[0] == ["index.missing"]
    j = copy.deepcopy(journey)
    del j["index"]["keys"][sorted(j["index"]["keys"])[-1]]
    assert _both(j, key, js)[0] == ["index.missing"]
    j = copy.deepcopy(journey)
    j["index"] = None
    assert _both(j, key, js) == (["index.missing"], {"state": "missing", "size": None, "unindexed": []})


def test_an_event_signed_after_its_keys_revocation(database_url, js):
    """The operator undoes a revocation in the tables: the write path lets the shop's sale in, the
    index (folded from the log) still holds the revocation, and both twins name the event."""
    lg, entries = story_entries()
    with service_at(database_url) as service:
        record(service, entries)
        revoke = lg.make(
            "party.key_revoke",
            REGULATOR,
            detail={"party_id": SHOP, "key_id": key_id(SHOP), "reason": "手机丢失"},
        )
        record(service, [_entry(revoke)])
        revoked_at = service.log.size - 1
        lg.clock += timedelta(minutes=1)
        with service.engine.begin() as conn:
            conn.execute(
                text("UPDATE trace_party_key SET revoked_at = NULL WHERE key_id = :k"), {"k": key_id(SHOP)}
            )
        (receipt,) = service.record_many([_entry(_sale(lg, "S-CAB-01-02", key=key_id(SHOP)))])
        assert not isinstance(receipt, Exception) and receipt.index > revoked_at
        _commit_index(service.log)
        journey = _wire(service, "S-CAB-01-02")
        assert journey["index"]["keys"][key_id(SHOP)]["value"]["revoked"] == revoked_at
        failures, outcome = _both(journey, service.log.verifier.key_string(), js)
        assert failures == ["key.revoked"] and outcome["state"] == "complete"
        assert (
            check_journey(journey, log_key=service.log.verifier.key_string()).failures[0].index
            == receipt.index
        )


# --- the page, in Chromium --------------------------------------------------------------------------


@pytest.mark.browser
def test_the_page_shows_a_hidden_tail_the_complete_line_and_a_missing_index(tmp_path, browser):
    with served_demo(tmp_path) as served:
        url = served.url
        genuine = httpx.get(f"{url}/lots/{BAG}/journey").json()
        hidden = copy.deepcopy(genuine)
        del hidden["events"][_last_naming(hidden, BAG)]
        unindexed = {**copy.deepcopy(genuine), "index": None}
        for journey, state, line in (
            (genuine, "verified", "Complete: every record of this product up to ledger entry"),
            (hidden, "failed", "Completeness not proven."),
            (unindexed, "incomplete", "Completeness not proven: there is no ledger index."),
        ):
            got = verify_page(
                browser,
                f"{url}/l/{BAG}?lang=en",
                phone=False,
                answers={f"{url}/lots/{BAG}/journey": journey},
                timeout=15_000,
            )
            assert got["state"] == state
            assert line in got["complete"]
            if state == "failed":
                assert f"The records of lot {BAG} are incomplete" in got["failures_text"]
