"""The product's path through a journey (web/journey_path.py and its twin web/static/journey-path.js):
which shipments and receipts the consumer page names. Hand-made journeys pin the rule of
docs/visibility.md; generated ones (Hypothesis) and the demo's journeys hold the two twins to the
same answer.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.web.journey_path import journey_path

from .consumer_support import close_app, demo_app
from .js.node import node

PATH = "([lot, steps]) => FarmtracePath.pathOf(lot, steps)"


@pytest.fixture(scope="module")
def js():
    with node("journey-path.js") as process:
        yield process


def _both(lot: str, steps: list[dict], js) -> dict[str, list[str]]:
    """The off-path transfers (index -> the parties each may name) from both twins, which must agree."""
    python = journey_path(lot, steps).to_wire()
    assert js.evaluate(PATH, [lot, steps]) == python
    return {int(i): named for i, named in python["off_path"].items()}


class _Book:
    """A journey written step by step in the shape of facts.js's `steps`."""

    def __init__(self) -> None:
        self.steps: list[dict] = []

    def add(self, kind: str, party: str, ins=(), outs=(), **detail) -> int:
        index = len(self.steps) + 1
        ref = lambda lot: {"lot": lot, "quantity": "1", "unit": "kg"}  # noqa: E731
        self.steps.append(
            {
                "index": index,
                "kind": kind,
                "party": party,
                "inputs": [ref(x) for x in ins],
                "outputs": [ref(x) for x in outs],
                "detail": detail,
            }
        )
        return index


def test_a_harvest_shipped_to_two_markets_names_only_the_bags_market(js):
    b = _Book()
    b.add("harvest", "farm", outs=["H"])
    to_m1 = b.add("ship", "farm", ["H"], destination="m1")
    to_m2 = b.add("ship", "farm", ["H"], destination="m2")
    at_m1 = b.add("receive", "m1", ["H"], source="farm")
    at_m2 = b.add("receive", "m2", ["H"], source="farm")
    b.add("transform", "m1", ["H"], ["A"], type="split")
    b.add("transform", "m2", ["H"], ["B"], type="split")
    off = _both("A", b.steps, js)
    assert set(off) == {to_m2, at_m2}
    assert off[to_m2] == ["farm", "m1"]  # the maker of H and the parties on its path to A
    off = _both("B", b.steps, js)
    assert set(off) == {to_m1, at_m1}
    # The farm's own page: no one sold H itself, so none of its shipments names its buyer.
    assert set(_both("H", b.steps, js)) == {to_m1, to_m2, at_m1, at_m2}


def test_a_wholesaler_between_the_farm_and_the_market_is_on_the_path(js):
    b = _Book()
    b.add("harvest", "farm", outs=["H"])
    b.add("ship", "farm", ["H"], destination="wholesaler")
    b.add("receive", "wholesaler", ["H"], source="farm")
    b.add("ship", "wholesaler", ["H"], destination="market")
    b.add("receive", "market", ["H"], source="wholesaler")
    resold = b.add("ship", "wholesaler", ["H"], destination="canteen")
    # A buyer of the farm reselling H elsewhere: neither it nor its customer is named.
    other = b.add("ship", "farm", ["H"], destination="trader")
    b.add("receive", "trader", ["H"], source="farm")
    to_other = b.add("ship", "trader", ["H"], destination="stall")
    b.add("transform", "market", ["H"], ["A"], type="split")
    off = _both("A", b.steps, js)
    assert set(off) == {resold, other, other + 1, to_other}
    assert off[to_other] == ["farm", "market", "wholesaler"]  # the trader is not among them


def test_a_receipt_is_on_the_path_only_from_the_shipper_of_a_shipment_on_it(js):
    b = _Book()
    b.add("harvest", "farm", outs=["H"])
    b.add("ship", "farm", ["H"], destination="market")
    b.add("receive", "market", ["H"], source="farm")
    forged = b.add("receive", "market", ["H"], source="trader")  # names a source that never shipped
    b.add("transform", "market", ["H"], ["A"], type="split")
    assert set(_both("A", b.steps, js)) == {forged}


def test_the_pages_own_lot_names_only_the_buyers_that_sold_it(js):
    b = _Book()
    b.add("harvest", "farm", outs=["H"])
    b.add("transform", "market", ["H"], ["A", "A2"], type="split")
    b.add("ship", "market", ["A"], destination="shop")
    b.add("receive", "shop", ["A"], source="market")
    to_other = b.add("ship", "market", ["A"], destination="other-shop")
    b.add("sell", "shop", ["A"])
    assert set(_both("A", b.steps, js)) == {to_other}
    # Unsold, every shipment of the page's lot is unnamed.
    assert len(_both("A", b.steps[:-1], js)) == 3


def test_a_merge_puts_every_parent_on_the_path(js):
    b = _Book()
    b.add("harvest", "farm1", outs=["H1"])
    b.add("harvest", "farm2", outs=["H2"])
    b.add("ship", "farm1", ["H1"], destination="packer")
    b.add("ship", "farm2", ["H2"], destination="packer")
    b.add("transform", "packer", ["H1", "H2"], ["M"], type="merge")
    assert _both("M", b.steps, js) == {}


# --- generated journeys: the twins agree -----------------------------------------------------------

PARTIES = ["p0", "p1", "p2", "p3", "p4"]
KINDS = ["harvest", "transform", "transform", "ship", "ship", "ship", "receive", "receive", "sell", "inspect"]


@st.composite
def journeys(draw) -> tuple[str, list[dict]]:
    """A history of lots made, moved and sold by a few parties, its steps in any order, and a lot."""
    lots: list[str] = []
    steps: list[dict] = []
    parties = PARTIES[: draw(st.integers(2, len(PARTIES)))]
    index = draw(st.integers(0, 3))
    for _ in range(draw(st.integers(1, 24))):
        index += draw(st.integers(1, 3))
        kind = draw(st.sampled_from(KINDS if lots else ["harvest"]))
        some = st.lists(st.sampled_from(lots or ["x"]), min_size=1, max_size=3, unique=True)
        ins = draw(some) if kind != "harvest" else []
        fresh = [f"L{len(lots) + i}" for i in range(draw(st.integers(1, 3)))]
        outs = fresh if kind in ("harvest", "transform") else []
        if kind == "transform" and draw(st.booleans()):
            outs = [*outs, draw(st.sampled_from(lots))]  # a lot named as made twice: its first maker counts
        lots += fresh if outs else []
        detail = {}
        party = draw(st.sampled_from(parties))
        if kind == "ship":
            detail["destination"] = draw(st.sampled_from([*parties, None]))
        if kind == "receive":
            detail["source"] = draw(st.sampled_from([*parties, None]))
            ships = [x for x in steps if x["kind"] == "ship" and x["detail"].get("destination")]
            if ships and draw(st.booleans()):  # most receipts take in a shipment
                shipped = draw(st.sampled_from(ships))
                ins = [r["lot"] for r in shipped["inputs"]]
                party, detail["source"] = shipped["detail"]["destination"], shipped["party"]
        ref = lambda lot: {"lot": lot, "quantity": "1", "unit": "kg"}  # noqa: E731
        steps.append(
            {
                "index": index,
                "kind": kind,
                "party": party,
                "inputs": [ref(x) for x in ins],
                "outputs": [ref(x) for x in outs],
                "detail": {k: v for k, v in detail.items() if v is not None},
            }
        )
    lot = draw(st.sampled_from(lots[-2:] if draw(st.booleans()) else lots))  # a made lot, most often
    return lot, draw(st.permutations(steps))


@settings(max_examples=400, deadline=None)
@given(journeys())
def test_the_twins_agree_on_generated_journeys(js, journey):
    lot, steps = journey
    off = _both(lot, steps, js)
    transfers = {s["index"] for s in steps if s["kind"] in ("ship", "receive")}
    assert set(off) <= transfers
    # A shipment of the page's lot goes on its path once its buyer sells the lot.
    for s in steps:
        buyer = s["detail"].get("destination")
        if s["index"] in off and s["kind"] == "ship" and buyer and lot in [r["lot"] for r in s["inputs"]]:
            sale = {"index": 10**6, "kind": "sell", "party": buyer, "inputs": [{"lot": lot}], "outputs": []}
            assert s["index"] not in _both(lot, [*steps, sale], js)


def test_the_twins_agree_on_the_demos_journeys(tmp_path, js):
    """Every lot of the demo: its journey as the page reads it (every transfer there is on a path)."""
    app, _ = demo_app(tmp_path)
    try:
        service = app.state.service
        codes = ["XF-BAG-0001", "XF-LJ-002", "MWD-LJ-02", "ZJ-LJ-1119", "NX-BC-1120", "NX-LB-1121"]
        answers = {}
        for code in codes:
            journey = json.loads(json.dumps(service.journey_bundle(code).to_wire()))
            steps = [{**e["event"], "index": e["index"]} for e in journey["events"]]
            answers[code] = _both(code, steps, js)
    finally:
        close_app(app)
    assert answers["XF-BAG-0001"] == {} and answers["XF-LJ-002"] == {} and answers["MWD-LJ-02"] == {}
    # A field lot no one sold as such: its shipment to the market is shown without the market.
    assert len(answers["ZJ-LJ-1119"]) == 2 and len(answers["NX-BC-1120"]) == 2
