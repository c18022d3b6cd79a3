"""trace/audience.py: who is shown which holders and which EPCIS events (docs/visibility.md).

The rule is checked exhaustively over a small world of parties and shipments against a statement of
it written here the plain way, and on the lineage graph and lot summary answers it cuts down."""

from __future__ import annotations

import itertools

import pytest

from farmtrace.trace.audience import (
    PUBLIC,
    Audience,
    Custody,
    audience_of,
    sees_epcis_event,
    sees_holder,
    visible_lot,
    visible_trace,
)
from farmtrace.trace.epcis import party_uri
from farmtrace.trace.reads.lots import Holder, LotStatus, LotSummary, TraceGraph, TraceNode
from farmtrace.trace.rules.view import PartyState

PARTIES = ["farm", "wholesaler", "market", "shop", "stranger"]
LOTS = ["L1", "L2"]
STATUS = LotStatus(failed=False, recalled=False, rejected=False, cleared=False)


def _audiences() -> list[Audience]:
    return [PUBLIC, Audience(regulator=True, party="samr")] + [Audience(party=p) for p in PARTIES]


def _shipment_sets():
    """Every set of at most two shipments among three parties on two lots."""
    lines = [(lot, a, b) for lot in LOTS for a, b in itertools.permutations(PARTIES[:3], 2)]
    yield from itertools.chain.from_iterable(itertools.combinations(lines, k) for k in range(3))


def test_sees_holder_is_the_rule_as_written_for_every_small_world():
    for shipments in _shipment_sets():
        custody = Custody.of_shipments(shipments)
        for audience, lot, holder in itertools.product(_audiences(), LOTS, PARTIES):
            traded = {(s, d) for lt, s, d in shipments if lt == lot}
            me = audience.party
            plain = audience.regulator or (
                me is not None and (holder == me or (me, holder) in traded or (holder, me) in traded)
            )
            assert sees_holder(audience, custody, lot, holder) is plain, (shipments, audience, lot, holder)


def test_a_partners_customer_is_not_a_partner():
    # farm -> wholesaler -> market, all of lot L1: the farm sees the wholesaler, not the market.
    custody = Custody.of_shipments([("L1", "farm", "wholesaler"), ("L1", "wholesaler", "market")])
    farm = Audience(party="farm")
    assert sees_holder(farm, custody, "L1", "wholesaler")
    assert not sees_holder(farm, custody, "L1", "market")
    assert sees_holder(Audience(party="market"), custody, "L1", "wholesaler")
    assert not sees_holder(Audience(party="market"), custody, "L1", "farm")
    assert not sees_holder(Audience(party="wholesaler"), custody, "L2", "market")  # per lot


def _party(pid: str, roles: list[str], status: str = "active") -> PartyState:
    return PartyState(id=pid, roles=frozenset(roles), status=status, keys={})


def test_audience_of_a_party():
    assert audience_of(None) == PUBLIC and PUBLIC.kind == "public"
    assert audience_of(_party("m", ["market"])) == Audience(party="m")
    assert audience_of(_party("m", ["market"])).kind == "party"
    reg = audience_of(_party("r", ["regulator"]))
    assert reg.regulator and reg.kind == "regulator"
    assert audience_of(_party("r", ["regulator"], status="suspended")) == PUBLIC


def _ship(source: str, destination: str, signer: str) -> dict:
    return {
        "bizStep": "shipping",
        "farmtrace:party": signer,
        "sourceList": [{"type": "owning_party", "source": party_uri(source)}],
        "destinationList": [{"type": "owning_party", "destination": party_uri(destination)}],
    }


@pytest.mark.parametrize("audience", _audiences())
def test_sees_epcis_event(audience):
    harvest = {"bizStep": "commissioning", "farmtrace:party": "farm"}
    assert sees_epcis_event(audience, harvest)  # a lot fact: everyone
    ship = _ship("farm", "wholesaler", "farm")
    receipt = _ship("farm", "wholesaler", "wholesaler") | {"bizStep": "receiving"}
    for event in (ship, receipt):
        expected = audience.regulator or audience.party in ("farm", "wholesaler")
        assert sees_epcis_event(audience, event) is expected
    # A party named only as the signer (an EPCIS event from elsewhere naming others) sees its own.
    assert sees_epcis_event(Audience(party="shop"), _ship("farm", "market", "shop"))


def _node(lot: str, holders: dict[str, str]) -> TraceNode:
    return TraceNode(
        lot=lot,
        product="白菜",
        product_en="cabbage",
        quantity="10",
        unit="kg",
        created_by="farm",
        created_by_name=None,
        created_at="2026-12-01T00:00:00",
        origin=True,
        status=STATUS,
        holders=tuple(Holder(party=p, name=None, quantity=q) for p, q in holders.items()),
        direction="self",
    )


def test_visible_trace_and_lot_keep_every_lot_fact_and_cut_holders():
    custody = Custody.of_shipments([("L1", "farm", "wholesaler"), ("L1", "wholesaler", "market")])
    graph = TraceGraph(lot="L1", direction="both", nodes=(_node("L1", {"wholesaler": "4", "market": "6"}),),
                       edges=(), origins=("L1",))  # fmt: skip
    shown = visible_trace(graph, Audience(party="farm"), custody)
    assert shown.audience == "party" and len(shown.nodes) == 1
    node = shown.nodes[0]
    assert [h.party for h in node.holders] == ["wholesaler"] and node.holders_complete is False
    assert node.to_wire()["holders_complete"] is False and shown.to_wire()["audience"] == "party"
    assert {k: v for k, v in node.to_wire().items() if k not in ("holders", "holders_complete")} == {
        k: v for k, v in graph.nodes[0].to_wire().items() if k not in ("holders", "holders_complete")
    }
    full = visible_trace(graph, Audience(regulator=True), Custody())
    assert full.nodes[0].holders == graph.nodes[0].holders and full.nodes[0].holders_complete
    none = visible_trace(graph, PUBLIC, custody)
    assert none.nodes[0].holders == () and none.audience == "public"

    summary = LotSummary(code="L1", product={"name_zh": "白菜"}, quantity="10", unit="kg", created_by="farm",
                         created_at="2026-12-01T00:00:00", head="ab" * 32, status=STATUS, parents=(),
                         children=("L1-A",), holders=(("wholesaler", "4"), ("market", "6")), events=())  # fmt: skip
    market = visible_lot(summary, Audience(party="market"), custody)
    assert market.holders == (("wholesaler", "4"), ("market", "6")) and market.holders_complete
    assert market.children == ("L1-A",) and market.audience == "party"
    public = visible_lot(summary, PUBLIC, custody)
    assert public.holders == () and not public.holders_complete and public.to_wire()["holders"] == {}
