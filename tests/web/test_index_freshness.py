"""Is the journey's index entry the latest? Step 6c2 (index.stale) in both twins, and on the page.

A dishonest server can show an older index entry than the latest: every event after it falls in the
"not yet indexed" window, and a sale (or a recall) recorded there can be left out of the journey
while every other check passes. The entry carries its commit time; trace/journey_index_check.py and
web/static/completeness.js (run by verify.js, in Node) refuse an entry more than the page's max age
older than the newest valid witness cosignature on the checkpoint (the reader's clock without
witnesses), unless it is the log's last entry before the checkpoint (docs/index.md §4 step 1b).

A real service (SQLite and PostgreSQL) records story 1, a keeper on a pinned clock commits index
entry N1, the shop sells from the lot, the keeper commits N2 a thousand seconds later, and the shop
sells again. Both twins must give the same failures and outcome for: the latest entry (passes), the
old entry N1 with the sales dropped (index.stale; without the age policy it passes, which is the
gap), the boundary of the max age, the old entry when it is the last before its checkpoint (passes
however old), and the reader's clock standing in for witnesses. One Chromium run shows the page's
"not proven complete" state for the old entry.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime

import httpx
import pytest

from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.note import CosignatureSigner, NoteSignature
from farmtrace.ledger.policy import Policy, format_policy
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.verify_journey import check_journey

from ..trace.story import SHOP, key_id
from ..trace.test_index_keeper import Ticker
from ..trace.test_replay import _entry, record, service_at, story_entries
from .browser_support import verify_page
from .consumer_support import served_demo
from .js.node import node

LOT = "S-CAB-01-02"
BAG, ANCESTOR = "XF-BAG-0001", "NX-BC-1120"
T1 = 1_800_000_000  # the keeper's clock at N1
T2 = T1 + 1000  # at N2
MAX_AGE = 70
WITNESS, OTHER = (
    CosignatureSigner.from_seed(f"witness{n}.example/fresh", bytes([77 + n]) * 32) for n in range(2)
)
POLICY = Policy.of_witnesses([WITNESS.verifier, OTHER.verifier], quorum=1, max_age=10**9)
CHECK = (
    "async ([j, k, w, a]) => { const r = await FarmtraceVerify.checkJourney(j, k, w, a);"
    " return {ok: r.ok, failures: r.failures, index: r.index}; }"
)


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "vmap.js", "completeness.js", "witnessed.js", "verify.js") as process:
        yield process


def _wire(service) -> dict:
    return json.loads(json.dumps(service.journey_bundle(LOT).to_wire()))


def _cosigned(journey: dict, at: int, witness: CosignatureSigner = WITNESS) -> dict:
    """`journey` with `witness`'s cosignature of its checkpoint at time `at` appended."""
    j = copy.deepcopy(journey)
    text = j["checkpoint"][: j["checkpoint"].rfind("\n\n") + 1]
    signer = witness.at_time(at)
    j["checkpoint"] += NoteSignature(signer.name, signer.key_id, signer.sign_note_text(text)).line()
    return j


def _both(journey: dict, key: str, js, *, now: int, witnessed: bool = True, max_age: int | None = MAX_AGE):
    """Both twins' failure codes (asserted equal, with where they apply) and the index outcome."""
    policy = POLICY if witnessed else None
    python = check_journey(journey, log_key=key, policy=policy, now=now, index_max_age=max_age)
    witness = {"policy": format_policy(POLICY), "maxAge": POLICY.max_age, "now": now} if witnessed else None
    age = {"maxAge": max_age, "now": now} if max_age is not None else None
    got = js.evaluate(CHECK, [journey, key, witness, age])
    assert [(f["reason"], f["index"], f["key"], f["lot"]) for f in got["failures"]] == [
        f.where() for f in python.failures
    ]
    assert got["ok"] is python.ok and got["index"] == python.index.to_wire()
    return [f.reason for f in python.failures], got["index"]


@pytest.fixture
def story(database_url):
    """(journey read at N1, journey at the end, log, N1, N2, the sales' indexes)."""
    lg, entries = story_entries()
    with service_at(database_url) as service:
        record(service, entries)
        clock = Ticker(T1 - 10)
        keeper = IndexKeeper(service.log, clock=clock, lag=10)
        clock.advance(10)
        n1 = keeper.commit_due()
        at_n1 = _wire(service)
        (first,) = service.record_many([_entry(_sold(lg))])
        clock.advance(T2 - T1)
        n2 = keeper.commit_due()
        (second,) = service.record_many([_entry(_sold(lg))])
        assert n1 is not None and n2 is not None and n1 < first.index < n2 < second.index
        yield at_n1, _wire(service), service.log, n1, n2, (first.index, second.index)


def _sold(lg):
    """A retail sale of 0.4 kg from the 1 kg lot, recorded in the story's ledger too (its next head)."""
    sale = lg.make(
        "sell", SHOP, inputs=[lg.inp(LOT, "0.4")], detail={}, key=key_id(SHOP),
        price={"amount": "2.7", "currency": "CNY", "unit": "kg", "stage": "retail"},
    )  # fmt: skip
    lg.submit(sale)
    return sale


def _old_entry(latest: dict, at_n1: dict, log, sales: tuple[int, ...]) -> dict:
    """What a dishonest server shows: the latest checkpoint, the index section of N1 (its entry
    proven in that checkpoint) and the journey without the sales recorded after N1."""
    forged = copy.deepcopy(latest)
    forged["index"] = copy.deepcopy(at_n1["index"])
    entry = forged["index"]["entry"]
    size = int(latest["checkpoint"].split("\n")[1])
    entry["proof"] = [_b64(h) for h in log.prove_inclusion(entry["index"], size)]
    assert entry["leaf_hash"] == _b64(leaf_hash(base64.b64decode(entry["entry"])))
    forged["events"] = [e for e in forged["events"] if e["index"] not in sales]
    return forged


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_the_latest_entry_passes_and_an_old_one_is_stale(story, js):
    at_n1, latest, log, n1, n2, sales = story
    key = log.verifier.key_string()
    w = T2 + 30  # the witness cosigned the checkpoint 30 s after N2
    failures, outcome = _both(_cosigned(latest, w), key, js, now=w + 5)
    assert failures == [] and outcome == {"state": "pending", "size": n2, "unindexed": [sales[1]]}
    old = _cosigned(_old_entry(latest, at_n1, log, sales), w)
    # Without the age policy the old entry hides both sales and every check passes: the gap.
    assert _both(old, key, js, now=w + 5, max_age=None) == (
        [],
        {"state": "complete", "size": n1, "unindexed": []},
    )
    failures, outcome = _both(old, key, js, now=w + 5)
    assert failures == ["index.stale"] and outcome == {"state": "stale", "size": n1, "unindexed": []}
    report = check_journey(old, log_key=key, policy=POLICY, now=w + 5, index_max_age=MAX_AGE)
    assert report.failures[0].index == n1 and "a later index entry may exist" in report.failures[0].message


def test_the_newest_cosignature_and_the_boundary_of_the_max_age(story, js):
    at_n1, latest, log, _, _, sales = story
    key = log.verifier.key_string()
    old = _old_entry(latest, at_n1, log, sales)
    # The newest valid cosignature is the measure: an older one beside it does not make the entry
    # fresh, whichever comes first in the note.
    for w, expect in ((T1 + MAX_AGE, []), (T1 + MAX_AGE + 1, ["index.stale"])):
        assert _both(_cosigned(_cosigned(old, T1), w, OTHER), key, js, now=w)[0] == expect, w
        assert _both(_cosigned(_cosigned(old, w, OTHER), T1), key, js, now=w)[0] == expect, w


def test_the_last_entry_before_its_checkpoint_is_fresh_however_old(story, js):
    at_n1, _, log, n1, _, _ = story
    key = log.verifier.key_string()
    assert int(at_n1["checkpoint"].split("\n")[1]) == n1 + 1  # nothing after it
    failures, outcome = _both(_cosigned(at_n1, T1 + 10**6), key, js, now=T1 + 10**6)
    assert failures == [] and outcome["state"] == "complete"


def test_without_witnesses_the_readers_clock_is_the_measure(story, js):
    at_n1, latest, log, _, _, sales = story
    key = log.verifier.key_string()
    old = _old_entry(latest, at_n1, log, sales)
    assert _both(old, key, js, now=T1 + MAX_AGE, witnessed=False)[0] == []
    assert _both(old, key, js, now=T1 + MAX_AGE + 1, witnessed=False)[0] == ["index.stale"]
    assert _both(latest, key, js, now=T2 + MAX_AGE, witnessed=False)[0] == []
    # A cosignature that does not verify (it signs another checkpoint) is no measure, even one that
    # would make the entry fresh: the reader's clock is.
    bad = copy.deepcopy(old)
    bad["checkpoint"] += _last_line(_cosigned(at_n1, T1))
    failures, _ = _both(bad, key, js, now=T1 + MAX_AGE + 1)
    assert failures == ["checkpoint.cosignature", "checkpoint.unwitnessed", "index.stale"]


def _last_line(journey: dict) -> str:
    return journey["checkpoint"].rstrip("\n").rsplit("\n", 1)[1] + "\n"


# --- the page, in Chromium --------------------------------------------------------------------------


@pytest.mark.browser
def test_the_page_shows_an_old_entry_as_not_proven_complete(tmp_path, browser):
    """The demo's bag, on a page whose clock runs 200 s ahead (no witnesses: the page's clock is the
    measure; max age: the default, the lag + 60 s). Its index entry is the log's last: verified. A
    recall on the bag's ancestor is recorded after it, and the server serves the new checkpoint
    with the old index entry and without the recall: not proven complete, never Verified."""
    with served_demo(tmp_path) as served:
        url, service = served.url, served.app.state.service
        genuine = httpx.get(f"{url}/lots/{BAG}/journey").json()
        n0 = genuine["index"]["entry"]["index"]
        assert int(genuine["checkpoint"].split("\n")[1]) == n0 + 1
        show = _page(browser, url, ahead=200)
        assert show(genuine) == (
            "verified",
            f"Complete: every record of this product up to ledger entry {n0} is shown.",
        )
        recall = _record_recall(tmp_path, service)
        later = httpx.get(f"{url}/lots/{BAG}/journey").json()
        hidden = _old_entry(later, genuine, service.log, (recall,))
        assert hidden["index"]["entry"]["index"] == n0 and recall > n0
        assert show(hidden) == ("incomplete", "Completeness not proven: the ledger index is out of date.")


def _page(browser, url: str, *, ahead: int):
    def show(served: dict) -> tuple[str, str]:
        got = verify_page(
            browser,
            f"{url}/l/{BAG}?lang=en",
            phone=False,
            ahead=ahead,
            answers={f"{url}/lots/{BAG}/journey": served},
            timeout=15_000,
        )
        if got["state"] == "incomplete":
            assert "the ledger index is out of date" in got["detail"]
            assert got["heading"] == "Records checked, completeness not proven"
        return got["state"], got["complete"].strip()

    return show


def _record_recall(tmp_path, service) -> int:
    """The regulator recalls the bag's ancestor (as tests/web/test_journey_index.py does); its index."""
    regulator = PartyKey.load(tmp_path / "keys" / "regulator.key")
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
    return receipt.index
