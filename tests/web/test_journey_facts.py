"""The verified facts of a journey, in Python (trace/journey_facts.py) and JavaScript (web/static/facts.js),
over the demo's genuine journeys (its stories 1 to 5, told with trace/scenario.py as tests/trace/story.py
tells story 1) and every tampered case of journey_cases.py: both twins must give the same facts, key for
key, and the facts must come from proven entries only (what the server says beside them changes nothing).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from farmtrace.api.demo import CABBAGE_BAG, CHILLI_BAG
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.trace import scenario as sc
from farmtrace.trace.journey_facts import journey_facts
from farmtrace.trace.verify_journey import check_journey

from ..trace.story import BAG, CABBAGE, COOP, MARKET, NAMES, SHOP, STATION
from ..trace.test_replay import record, service_at, story_entries
from . import journey_cases
from .consumer_support import demo_app
from .js.node import node

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "journey_facts"

FACTS = "async ([j, k]) => FarmtraceFacts.factsOf(j, await FarmtraceVerify.checkJourney(j, k))"
LOTS = {
    "bag": "XF-BAG-0001",  # story 1: cabbage to a 1 kg bag, sold
    "recalled": "XF-LJ-002",  # story 3: a chilli bag whose field lot is recalled
    "failed": "NX-XBC-1120",  # story 2: a failed pesticide test
    "stall": "MWD-LJ-02",  # story 3: the wet-market stall's part, sold by the jin
    "radish": "NX-LB-1121",  # story 5: certified and received (the fraudulent sale was refused)
}


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    app, _ = demo_app(tmp_path_factory.mktemp("facts"))
    service = app.state.service
    try:
        journeys = {
            name: json.loads(json.dumps(service.journey_bundle(lot).to_wire())) for name, lot in LOTS.items()
        }
        yield journeys, service.log.verifier.key_string()
    finally:
        service.log.close()


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "vmap.js", "completeness.js", "verify.js", "facts.js") as process:
        yield process


def _both(journey, key, js):
    """The facts from both twins, which must be equal."""
    python = journey_facts(journey, check_journey(journey, log_key=key))
    assert js.evaluate(FACTS, [journey, key]) == python
    return python


@pytest.mark.parametrize("case", journey_cases.CASES, ids=lambda c: c.name)
def test_twins_agree_on_every_tampered_case(case, genuine, js):
    journey, pinned = journey_cases.build(case, *genuine)
    facts = _both(journey, pinned, js)
    assert facts["verified"] is (not case.expect)
    if not case.expect:
        assert facts["proven"] == [e["index"] for e in journey["events"]] and facts["unproven"] == []


@pytest.mark.parametrize("name", sorted(LOTS))
def test_twins_agree_on_every_genuine_journey(name, genuine, js):
    journeys, key = genuine
    facts = _both(journeys[name], key, js)
    assert facts["verified"] and facts["lot"] == LOTS[name]
    assert facts["hands"] and set(facts["hands"]) == set(facts["parties"])  # every hand has a proven name


def test_the_bags_facts(genuine, js):
    journeys, key = genuine
    facts = _both(journeys["bag"], key, js)
    assert facts["product"] == CABBAGE_BAG
    assert facts["quantity"] == {"quantity": "1", "unit": "kg"}
    assert [t["result"] for t in facts["tests"]] == ["pass"] and len(facts["certificates"]) == 1
    assert [(p["kind"], p["price"]["stage"], p["price"]["amount"]) for p in facts["prices"]] == [
        ("harvest", "production", "1.2"),
        ("ship", "wholesale", "2"),
        ("sell", "retail", "4.5"),
    ]
    assert facts["status"] == {"recalled": False, "failed": False, "rejected": False}
    names = [facts["parties"][p]["name_zh"] for p in facts["hands"]]
    assert names[0] == "宁乡市绿源蔬菜种植专业合作社" and "长沙马王堆蔬菜批发市场" in names
    assert facts["origins"][0]["lots"] == ["NX-BC-1120"]
    assert facts["origins"][0]["origin"]["name"] == "金洲镇 3 号蔬菜基地"


def test_recall_and_failure_come_from_the_signed_events(genuine, js):
    journeys, key = genuine
    recalled = _both(journeys["recalled"], key, js)
    assert recalled["status"]["recalled"] and [r["lot"] for r in recalled["recalls"]] == ["ZJ-LJ-1119"]
    assert recalled["product"] == CHILLI_BAG and recalled["quantity"]["quantity"] == "0.5"
    failed = _both(journeys["failed"], key, js)
    assert failed["status"]["failed"] and [t["result"] for t in failed["tests"]] == ["fail"]


def _server_lies(journey):
    """Every field the server adds beside the proven entries, changed as a projection edit would."""
    j = copy.deepcopy(journey)
    j["product"] = {"name_zh": "有机草莓", "name_en": "Organic strawberries"}
    j["quantity"], j["unit"] = "500", "kg"
    j["status"] = {k: False for k in j["status"]}
    j["recalls"] = []
    for e in j["events"]:
        e["party_name"] = "Honest Farm"
        e["kind"] = "harvest"
        if e["event"] is not None:
            e["event"]["detail"] = {"result": "pass"}
            e["event"].pop("price", None)
    return j


@pytest.mark.parametrize("name", ["recalled", "failed", "bag"])
def test_what_the_server_says_beside_the_proofs_changes_nothing(name, genuine, js):
    journeys, key = genuine
    assert _both(_server_lies(journeys[name]), key, js) == _both(journeys[name], key, js)


def test_a_forged_event_is_not_a_fact(genuine, js):
    """The bag's harvest re-written to 600 kg (its signature no longer matches): that event and the
    one linked to it are not facts; the rest still are, but the journey is not verified."""
    journeys, key = genuine
    case = next(c for c in journey_cases.CASES if c.name.startswith("entry byte changed"))
    journey, pinned = journey_cases.build(
        case, {"bag": journeys["bag"], "recalled": journeys["recalled"]}, key
    )
    facts = _both(journey, pinned, js)
    harvest, inspect = (e["index"] for e in journey["events"][:2])
    assert not facts["verified"] and facts["unproven"] == [harvest, inspect]
    assert facts["origins"] == [] and facts["tests"] == []
    assert '"600"' not in json.dumps(facts) and facts["product"] == CABBAGE_BAG


def test_without_a_trusted_checkpoint_nothing_is_a_fact(genuine, js):
    journeys, _ = genuine
    facts = _both(journeys["bag"], journey_cases.OTHER_LOG_KEY, js)
    assert facts["proven"] == [] and facts["product"] is None and facts["parties"] == {}
    assert len(facts["unproven"]) == len(journeys["bag"]["events"])


def test_a_name_needs_a_proven_registration(genuine, js):
    journeys, key = genuine
    journey = copy.deepcopy(journeys["bag"])
    kid = next(e["event"]["key_id"] for e in journey["events"] if e["kind"] == "inspect")
    reg = journey["keys"][kid]["registered_in"]
    reg["proof"][0] = base64.b64encode(bytes(32)).decode()
    facts = _both(journey, key, js)
    station = journey["keys"][kid]["party"]
    assert station not in facts["parties"] and facts["tests"] == []


def test_a_buyer_that_has_not_signed_is_named_from_its_proven_registration(tmp_path, js):
    """The market ships a 10 kg lot to the stall, which has not received it: the stall signed nothing
    on this lot, so the journey carries one of its keys with its party.register entry, proven, and
    its name is a fact. Without that proof (a flipped hash), it is not."""
    app, _ = demo_app(tmp_path)
    service = app.state.service
    try:
        market = PartyKey.load(tmp_path / "keys" / "market.key")
        stall = PartyKey.load(tmp_path / "keys" / "stall.key").party
        head = service.lot_summary("MWD-BC-02").head
        now = app.state.clock().astimezone(CHINA_STANDARD_TIME).replace(microsecond=0).isoformat()
        said = sc.ship(
            [{"lot": "MWD-BC-02", "quantity": "10", "unit": "kg", "follows": [head]}], destination=stall
        )
        service.record(market.sign({**said, "event_time": now, "location": {"name": "马王堆"}}))
        journey = json.loads(json.dumps(service.journey_bundle("MWD-BC-02").to_wire()))
        key = service.log.verifier.key_string()
    finally:
        service.log.close()
    signers = {e["event"]["key_id"] for e in journey["events"]}
    (extra,) = [k for k in journey["keys"] if k not in signers]
    assert journey["keys"][extra]["party"] == stall
    facts = _both(journey, key, js)
    assert facts["verified"] and facts["hands"][-1] == stall
    assert facts["parties"][stall]["name_zh"] == "四方坪农贸市场李记蔬菜摊"
    reg = journey["keys"][extra]["registered_in"]
    reg["proof"][0] = base64.b64encode(bytes(32)).decode()
    facts = _both(journey, key, js)
    assert not facts["verified"] and stall in facts["hands"] and stall not in facts["parties"]
    assert facts["unproven"] == []  # the key signed nothing: every event is still a fact


# --- story 1 (tests/trace/story.py), recorded on SQLite and PostgreSQL ------------------------------


STORY_LOTS = ("NX-CAB-001", "M-CAB-001-01", "M-CAB-001-02", "S-CAB-01-01", "S-CAB-01-02")


def test_twins_agree_on_story_one(database_url, js):
    """Story 1 recorded through the write path, each of its lots' journeys as the endpoint serves it."""
    _, entries = story_entries()
    with service_at(database_url) as service:
        record(service, entries)
        key = service.log.verifier.key_string()
        journeys = {lot: json.loads(json.dumps(service.journey_bundle(lot).to_wire())) for lot in STORY_LOTS}
    for lot, journey in journeys.items():
        facts = _both(journey, key, js)
        assert facts["proven"] and facts["unproven"] == [] and facts["lot"] == lot
        assert [facts["parties"][p]["name_zh"] for p in facts["hands"][:2]] == [NAMES[COOP], NAMES[STATION]]
    bag = _both(journeys["S-CAB-01-01"], key, js)
    assert bag["product"] == BAG and bag["quantity"] == {"quantity": "1", "unit": "kg"}
    assert bag["hands"] == [COOP, STATION, MARKET, SHOP]
    assert [(p["price"]["stage"], p["price"]["amount"]) for p in bag["prices"]] == [
        ("production", "1.2"),
        ("wholesale", "2.6"),
        ("retail", "6.8"),
    ]
    field = _both(journeys["NX-CAB-001"], key, js)
    assert field["product"] == CABBAGE and field["quantity"] == {"quantity": "500", "unit": "kg"}
    assert field["origins"][0]["origin"]["name"] == "宁乡市 东湖塘镇 3号地块"
    assert [c["certificate_no"] for c in field["certificates"]] == ["HGZ-430124-20261120-001"]


@pytest.mark.parametrize("name", ["story1-bag", "story1-bag-tampered"])
def test_golden_vectors(name, js):
    """tests/vectors/journey_facts/: a journey, the log key to pin, and the facts both twins must give
    (written once, by hand-checked output, never by the code under test). `verified` is compared
    with the check's own verdict instead: later checks (the head index, witnesses) may refuse an old
    journey that was complete when the vector was written, without changing what it proves."""
    vector = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    journey, key, expect = vector["journey"], vector["log_key"], vector["facts"]
    report = check_journey(journey, log_key=key)
    python = journey_facts(journey, report)
    assert python["verified"] is report.ok
    assert {**python, "verified": None} == {**expect, "verified": None}
    assert js.evaluate(FACTS, [journey, key]) == python
