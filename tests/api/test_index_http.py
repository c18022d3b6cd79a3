"""The head index through the app: the keeper commits index entries while events are recorded over
HTTP (FARMTRACE_INDEX_LAG=0: after every batch), and every reader of the log works around them.

A client's index entry is refused with 422 naming the entry; story 1, recorded with an
index entry after nearly every event, still give journeys the consumer's checks pass, EPCIS
documents GS1's schema accepts, the consumer's page, trace graphs, reports, the raw entry pages
and the replay audit (which recomputes every committed root).
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.trace import replay as rp
from farmtrace.trace.clock import utc_now
from farmtrace.trace.head_index import IndexEntry, decode_index_entry, encode_index_entry, is_index_entry
from farmtrace.trace.verify_journey import check_journey

from ..trace.test_head_index import reference_entry
from .conftest import LOG_SIGNER
from .test_stories import BAG_1, HARVEST, REGULATOR, SPLITS, World, b64, epcis_errors, expect_problem


@pytest.fixture
def indexed(settings: Settings):
    app = create_app(Settings.from_env({}, **{**settings.__dict__, "index_lag": 0}))
    with TestClient(app) as c:
        yield c, app


def entries(app) -> list[bytes]:
    log = app.state.log
    return [e for _, e in log.read_entries(0, log.size)]


def wait_for_index(app, timeout: float = 30) -> None:
    """Until the log's last entry is an index entry (the keeper commits after each batch)."""
    deadline = time.monotonic() + timeout
    while not is_index_entry(entries(app)[-1]):
        assert time.monotonic() < deadline, "no index entry was committed"
        time.sleep(0.05)


def test_a_client_index_entry_is_refused_with_422_and_nothing_is_stored(indexed):
    client, app = indexed
    w = World(client)
    w.register_all(())  # the genesis: the regulator registers itself
    wait_for_index(app)
    size = app.state.log.size
    forged = encode_index_entry(IndexEntry(size=size, root=bytes(32), lots=0, keys=0))
    problem = expect_problem(w.post(forged), 422, rule="role", field="entry")
    assert "index entry" in problem["detail"]
    r = client.post("/events/batch", json={"entries": [b64(forged)]})
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert not result["ok"] and result["problem"]["status"] == 422
    assert (result["problem"]["rule"], result["problem"]["field"]) == ("role", "entry")
    assert app.state.log.size == size


def test_every_reader_works_on_a_log_with_index_entries(indexed):
    client, app = indexed
    w = World(client)
    w.story_one()
    wait_for_index(app)
    log = entries(app)
    indexes = [i for i, e in enumerate(log) if is_index_entry(e)]
    assert len(indexes) >= 3  # interleaved with the events
    for i in indexes:
        assert decode_index_entry(log[i]) == reference_entry(log[:i])
    # The receipts name the events' own indexes, never an index entry's.
    assert not set(r["index"] for _, r in w.receipts) & set(indexes)

    journey = client.get(f"/lots/{BAG_1}/journey").json()
    report = check_journey(journey, log_key=LOG_SIGNER.verifier)
    assert report.ok, report.summary()
    assert not set(e["index"] for e in journey["events"]) & set(indexes)
    doc = client.get(f"/lots/{BAG_1}/epcis", headers=w.token(REGULATOR)).json()  # every event: a regulator
    assert epcis_errors(doc) == [] and len(doc["epcisBody"]["eventList"]) == report.events
    assert client.get(f"/lots/{HARVEST}/trace", params={"direction": "forward"}).status_code == 200
    assert client.get(f"/events/{w.ids['split']}").status_code == 200
    page = client.get(f"/l/{BAG_1}")
    assert page.status_code == 200 and BAG_1 in page.text
    assert client.get(f"/lots/{SPLITS[3]}").status_code == 200
    raw = client.get("/ledger/entries", params={"start": 0, "limit": 100})
    assert raw.status_code == 200, raw.text
    assert rp.replay(app.state.log, clock=utc_now).summary().startswith("OK:")


def test_the_lag_setting():
    from farmtrace.api.settings import ConfigError

    assert Settings.from_env({}).index_lag == 10
    assert Settings.from_env({"FARMTRACE_INDEX_LAG": "0"}).index_lag == 0
    assert Settings.from_env({"FARMTRACE_INDEX_LAG": "30"}).index_lag == 30
    for bad in ("-1", "1.5", "ten", "1e3"):
        with pytest.raises(ConfigError, match="FARMTRACE_INDEX_LAG"):
            Settings.from_env({"FARMTRACE_INDEX_LAG": bad})
