"""Domain rules through MemoryState, on the stories of MISSION.md: every rule code refuses something."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from farmtrace.trace.errors import InvalidEvent, RuleViolation
from farmtrace.trace.lineage import ancestors, descendants, origins
from farmtrace.trace.model.event import Event
from farmtrace.trace.rules import RULES, TOLERANCE, check_event, check_genesis, effects

from .story import (
    CERTIFY,
    COOP,
    FARMER,
    INSPECT_FAIL,
    INSPECT_PASS,
    MARKET,
    PROCESSOR,
    REGULATOR,
    SHOP,
    START,
    STATION,
    Ledger,
    key_id,
    key_wire,
    out,
    party_wire,
    public_key,
    story_one,
    wire,
)

LOT = "NX-CAB-001"


def refused(rule: str, attempt: Callable[[], object], *words: str) -> RuleViolation:
    """Run `attempt`, expect RuleViolation `rule` whose message contains every word in `words`."""
    with pytest.raises(RuleViolation) as info:
        attempt()
    assert info.value.rule == rule, str(info.value)
    for word in words:
        assert word in info.value.message, info.value.message
    return info.value


def harvest(lg: Ledger, lot: str = LOT, quantity: str = "500", party: str = COOP, **kw: object) -> str:
    return lg.record(
        "harvest", party, outputs=[out(lot, quantity)], detail={"origin": {"name": "3号地"}}, **kw
    )


def ship(lg: Ledger, lot: str, quantity: str, *, party: str = COOP, to: str = MARKET, **kw: object) -> str:
    return lg.record("ship", party, inputs=[lg.inp(lot, quantity)], detail={"destination": to}, **kw)


def receive(
    lg: Ledger,
    lot: str,
    quantity: str,
    ship_event: str,
    *,
    party: str = MARKET,
    source: str = COOP,
    check: dict | None = None,
) -> str:
    entry = check or {"result": "accepted", "certificate_no": CERTIFY["certificate_no"]}
    detail = {"source": source, "ship_event": ship_event, "entry_check": entry}
    return lg.record("receive", party, inputs=[lg.inp(lot, quantity)], detail=detail)


def sell(lg: Ledger, lot: str, quantity: str, party: str = MARKET) -> str:
    price = {"amount": "2.6", "currency": "CNY", "unit": "kg", "stage": "wholesale"}
    return lg.record("sell", party, inputs=[lg.inp(lot, quantity)], detail={}, price=price)


# --- story 1, end to end ------------------------------------------------------------------------


def test_story_one() -> None:
    lg = story_one()
    st = lg.state
    bag = st.lot("S-CAB-01-01")
    assert bag is not None and bag.cleared and not (bag.failed or bag.recalled or bag.rejected)
    # The consumer's bag traces back to the one harvest lot, through the market's split.
    assert ancestors("S-CAB-01-01", st.parents_of) == {"M-CAB-001-01", LOT}
    assert origins("S-CAB-01-01", st.parents_of) == {LOT}
    assert len(descendants(LOT, st.children_of)) == 50 + 10
    # Custody: the cooperative and the market hold none of the original lot any more.
    assert st.holders(LOT) == {}
    assert st.holding("M-CAB-001-03", MARKET) == Decimal(10)
    assert st.holding("M-CAB-001-02", SHOP) == Decimal(10)
    assert st.holding("S-CAB-01-02", SHOP) == Decimal(1)
    assert st.disposed == {("S-CAB-01-01", "sold"): Decimal(1)}
    transit = st.in_transit(lg.ids["ship"], LOT)
    assert transit is not None and transit.received == transit.quantity == Decimal(500)
    # The hash chain: the harvest lot's head is the split, which followed the receipt, and so on.
    assert st.lot(LOT).head == lg.ids["split"]  # type: ignore[union-attr]


def test_effects_are_plain_data() -> None:
    lg = story_one(until="ship")
    event, eid = lg.log[-1]
    fx = effects(event, eid)
    assert fx.heads == (LOT,)
    assert [(d.lot, d.party, d.delta) for d in fx.holdings] == [(LOT, COOP, Decimal(-500))]
    assert [(t.ship_event, t.lot, t.destination, t.received) for t in fx.transits] == [(eid, LOT, MARKET, 0)]


# --- every rule code ------------------------------------------------------------------------------


def case_party_unknown() -> None:
    lg = Ledger()
    refused("party_unknown", lambda: harvest(lg), COOP, "not registered")


def case_party_suspended() -> None:
    lg = story_one(until="register")
    lg.record("party.suspend", REGULATOR, detail={"party_id": COOP, "reason": "违规使用禁用农药"})
    refused("party_suspended", lambda: harvest(lg), COOP, "suspended")
    refused(
        "party_suspended",
        lambda: lg.record("party.suspend", REGULATOR, detail={"party_id": COOP, "reason": "again"}),
        "already suspended",
    )


def case_party_exists() -> None:
    lg = story_one(until="register")
    refused(
        "party_exists",
        lambda: lg.record("party.register", REGULATOR, detail={"party": party_wire(COOP)}),
        COOP,
        "already registered",
    )


def case_key_unknown() -> None:
    lg = story_one(until="register")
    refused("key_unknown", lambda: harvest(lg, key=key_id(COOP, 7)), key_id(COOP, 7))


def case_key_inactive() -> None:
    lg = story_one(until="register")
    # Dated before the key was registered.
    refused("key_inactive", lambda: harvest(lg, time=lg.clock - timedelta(hours=1)), "valid from")
    # Rotation: add a new key, revoke the old one; the old one records nothing more, not even backdated.
    lg.record("party.key_add", REGULATOR, detail={"party_id": COOP, **key_wire(COOP, 1)})
    lg.record(
        "party.key_revoke", REGULATOR, detail={"party_id": COOP, "key_id": key_id(COOP), "reason": "手机丢失"}
    )
    refused("key_inactive", lambda: harvest(lg), "revoked")
    refused("key_inactive", lambda: harvest(lg, time=lg.clock - timedelta(seconds=90)), "revoked")
    harvest(lg, key=key_id(COOP, 1))
    refused(
        "key_inactive",
        lambda: lg.record(
            "party.key_revoke", REGULATOR, detail={"party_id": COOP, "key_id": key_id(COOP), "reason": "x"}
        ),
        "already revoked",
    )


def case_key_exists() -> None:
    lg = story_one(until="register")
    refused(
        "key_exists",
        lambda: lg.record("party.key_add", REGULATOR, detail={"party_id": COOP, **key_wire(COOP)}),
        key_id(COOP),
    )


def case_role() -> None:
    lg = story_one(until="register")
    refused("role", lambda: harvest(lg, party=SHOP), "may not record a harvest", "producer")
    refused(
        "role",
        lambda: lg.record("party.suspend", MARKET, detail={"party_id": SHOP, "reason": "competition"}),
        "regulator",
    )
    refused("role", lambda: _self_inspect(lg), "inspector")  # a producer cannot test its own lot


def _self_inspect(lg: Ledger) -> None:
    harvest(lg, "OWN-1")
    lg.record("inspect", COOP, inputs=[lg.inp("OWN-1", "500")], detail=INSPECT_PASS)


def case_lot_unknown() -> None:
    lg = story_one(until="register")
    h = harvest(lg)
    ghost = {"lot": "NX-GHOST", "quantity": "5", "unit": "kg", "follows": [h]}
    refused(
        "lot_unknown",
        lambda: lg.record("ship", COOP, inputs=[ghost], detail={"destination": MARKET}),
        "NX-GHOST",
    )


def case_lot_exists() -> None:
    lg = story_one(until="harvest")
    refused("lot_exists", lambda: harvest(lg), LOT, "already in use")


def case_follows() -> None:
    lg = story_one(until="inspect")
    stale = {"lot": LOT, "quantity": "500", "unit": "kg", "follows": [lg.ids["harvest"]]}
    head = lg.ids["inspect"]
    v = refused(
        "follows", lambda: lg.record("certify", COOP, inputs=[stale], detail=CERTIFY), head, lg.ids["harvest"]
    )
    assert v.field == "inputs[0].follows"


def case_time_order() -> None:
    lg = story_one(until="harvest")
    before = lg.clock - timedelta(seconds=90)  # the harvest was recorded a minute ago
    refused(
        "time_order",
        lambda: lg.record("inspect", STATION, inputs=[lg.inp(LOT, "500")], detail=INSPECT_PASS, time=before),
        "before",
        LOT,
    )


def case_future() -> None:
    lg = story_one(until="register")
    refused("future", lambda: harvest(lg, time=lg.now() + timedelta(minutes=6)), "clock skew")
    harvest(lg, time=lg.now() + timedelta(minutes=4))  # within the skew


def case_unit() -> None:
    lg = story_one(until="certify")
    refused(
        "unit",
        lambda: lg.record("ship", COOP, inputs=[lg.inp(LOT, "1000", "jin")], detail={"destination": MARKET}),
        "measured in kg",
        "jin",
    )
    refused(
        "unit",
        lambda: lg.record(
            "transform",
            COOP,
            inputs=[lg.inp(LOT, "500")],
            outputs=[out("P-1", "500", "piece")],
            detail={"type": "process"},
        ),
        "kg into piece",
    )


def case_quantity() -> None:
    lg = story_one(until="harvest")
    v = refused(
        "quantity",
        lambda: lg.record("inspect", STATION, inputs=[lg.inp(LOT, "600")], detail=INSPECT_PASS),
        "600 kg",
        "500 kg",
        LOT,
    )
    assert v.field == "inputs[0].quantity"


def case_custody() -> None:
    lg = story_one(until="ship")
    refused("custody", lambda: ship(lg, LOT, "1", party=SHOP, to=MARKET), SHOP, "does not hold", LOT)
    refused("custody", lambda: receive(lg, LOT, "500", lg.ids["ship"], party=SHOP), "sent lot", MARKET, SHOP)
    refused("custody", lambda: receive(lg, LOT, "500", "9" * 64), "not recorded")
    refused("custody", lambda: receive(lg, LOT, "500", lg.ids["ship"], source=FARMER), "came from", COOP)


def case_mass_balance() -> None:
    # Story 5: a trader tries to sell 800 kg out of a 500 kg lot.
    lg = story_one(until="receive")
    v = refused(
        "mass_balance", lambda: sell(lg, LOT, "800"), "cannot sell 800 kg of lot NX-CAB-001", "holds 500 kg"
    )
    assert v.field == "inputs[0].quantity"
    sell(lg, LOT, "500")
    refused("custody", lambda: sell(lg, LOT, "1"), "does not hold")


def case_origin_exit() -> None:
    lg = story_one(until="harvest")
    refused("origin_exit", lambda: ship(lg, LOT, "500"), LOT, "cannot be shipped")


def case_market_entry() -> None:
    lg = story_one(until="ship")
    refused(
        "market_entry",
        lambda: receive(lg, LOT, "500", lg.ids["ship"], check={"result": "accepted"}),
        "certificate_no",
        "inspection_event",
    )
    refused(
        "market_entry",
        lambda: receive(
            lg, LOT, "500", lg.ids["ship"], check={"result": "accepted", "inspection_event": "5" * 64}
        ),
        "not recorded",
    )


def test_market_entry_names_a_certificate_on_the_lineage_or_paper() -> None:
    """Issue 14 item 5: a certificate named at entry must be a 合格证 on the lot's lineage, or paper."""
    lg = story_one(until="ship")
    shipped = lg.ids["ship"]
    made_up = {"result": "accepted", "certificate_no": "NO-SUCH-CERT-999"}
    v = refused("market_entry", lambda: receive(lg, LOT, "500", shipped, check=made_up), "NO-SUCH-CERT-999", LOT)
    assert v.field == "detail.entry_check.certificate_no"
    # A real 合格证, but of another lot: not these goods' certificate.
    harvest(lg, "OTHER-1", "10")
    lg.record("certify", COOP, inputs=[lg.inp("OTHER-1", "10")], detail=CERTIFY | {"certificate_no": "HGZ-OTHER"})
    other = {"result": "accepted", "certificate_no": "HGZ-OTHER"}
    refused("market_entry", lambda: receive(lg, LOT, "500", shipped, check=other), "HGZ-OTHER", "paper")
    # A paper certificate the market checked is recorded as such (and any number may be written).
    receive(lg, LOT, "100", shipped, check=made_up | {"certificate_source": "paper"})
    # The lot's own 合格证 is accepted; so is it after a split, on the split lot (an ancestor's).
    receive(lg, LOT, "400", shipped)
    lg.record(
        "transform", MARKET, inputs=[lg.inp(LOT, "500")], outputs=[out("M-1", "250"), out("M-2", "250")],
        detail={"type": "split"},
    )  # fmt: skip
    to_shop = ship(lg, "M-1", "250", party=MARKET, to=SHOP)
    receive(lg, "M-1", "250", to_shop, party=SHOP, source=MARKET)
    assert lg.state.holding("M-1", SHOP) == 250
    # A rejection is always recordable, whatever it names.
    to_shop = ship(lg, "M-2", "250", party=MARKET, to=SHOP)
    receive(lg, "M-2", "250", to_shop, party=SHOP, source=MARKET, check={"result": "rejected", "certificate_no": "X"})


def test_market_entry_names_a_passing_inspection_on_the_lineage() -> None:
    """An inspection named at entry must be a recorded inspect event that passed, on the lot's lineage:
    not any event id (a harvest), not another lot's inspection, not a failed one."""
    lg = story_one(until="ship")
    shipped = lg.ids["ship"]

    def by(event_id: str) -> dict[str, str]:
        return {"result": "accepted", "inspection_event": event_id}

    field = "detail.entry_check.inspection_event"
    v = refused("market_entry", lambda: receive(lg, LOT, "500", shipped, check=by(lg.ids["harvest"])), "not an inspection")
    assert v.field == field
    harvest(lg, "OTHER-1", "10")
    other = lg.record("inspect", STATION, inputs=[lg.inp("OTHER-1", "10")], detail=INSPECT_PASS)
    v = refused("market_entry", lambda: receive(lg, LOT, "500", shipped, check=by(other)), other, "OTHER-1", LOT)
    assert v.field == field
    # A failed inspection of a lot that was then split: the split lot is refused by name of the check.
    harvest(lg, "BAD-1", "10")
    failed = lg.record("inspect", STATION, inputs=[lg.inp("BAD-1", "10")], detail=INSPECT_FAIL)
    v = refused("market_entry", lambda: receive(lg, LOT, "500", shipped, check=by(failed)), failed)
    assert v.field == field
    # The lot's own passing inspection is accepted, and after a split on the split lot (an ancestor's).
    receive(lg, LOT, "500", shipped, check=by(lg.ids["inspect"]))
    lg.record(
        "transform", MARKET, inputs=[lg.inp(LOT, "500")], outputs=[out("M-1", "250"), out("M-2", "250")],
        detail={"type": "split"},
    )  # fmt: skip
    to_shop = ship(lg, "M-1", "250", party=MARKET, to=SHOP)
    receive(lg, "M-1", "250", to_shop, party=SHOP, source=MARKET, check=by(lg.ids["inspect"]))
    assert lg.state.holding("M-1", SHOP) == 250


def test_market_entry_refuses_a_failed_inspection_on_the_lineage_by_name() -> None:
    lg = story_one(until="ship")
    # The station's later retest of the lot in transit fails: the passing one no longer clears it.
    failed = lg.record("inspect", STATION, inputs=[lg.inp(LOT, "500")], detail=INSPECT_FAIL)
    check = {"result": "accepted", "inspection_event": failed}
    v = refused("market_entry", lambda: receive(lg, LOT, "500", lg.ids["ship"], check=check), failed, "failed")
    assert v.field == "detail.entry_check.inspection_event"


def case_genesis() -> None:
    """Issue 14 item 4: the first regulator comes from the operator, never from the network."""
    record = party_wire(REGULATOR)
    event = Event.from_wire(wire("party.register", REGULATOR, time=START, detail={"party": record}))
    mine = public_key(REGULATOR)
    refused("genesis", lambda: check_genesis(event, public_key=mine, bootstrap_keys=()), "no bootstrap key")
    other = public_key(COOP)
    refused("genesis", lambda: check_genesis(event, public_key=mine, bootstrap_keys={other}), key_id(REGULATOR))
    check_genesis(event, public_key=mine, bootstrap_keys={mine})  # the key the operator named
    check_genesis(event, public_key=mine, bootstrap_keys=(), operator=True)  # farmtrace init, on the machine


def test_a_future_dated_revocation_takes_effect_when_recorded() -> None:
    """Issue 14 item 4: a revocation dated minutes ahead (within the skew) stops the key at once."""
    lg = story_one(until="register")
    ahead = lg.now() + timedelta(minutes=4)
    lg.record(
        "party.key_revoke", REGULATOR, time=ahead,
        detail={"party_id": COOP, "key_id": key_id(COOP), "reason": "手机丢失"},
    )  # fmt: skip
    lg.clock -= timedelta(minutes=1)  # still before the time the revocation states
    assert lg.now() < ahead
    refused("key_inactive", lambda: harvest(lg), "revoked", "takes effect when it is recorded")


def case_blocked() -> None:
    # Story 2: a failed test blocks the lot; shipping it is refused with the reason.
    lg = story_one(until="certify")
    lg.record("inspect", STATION, inputs=[lg.inp(LOT, "500")], detail=INSPECT_FAIL)
    refused("blocked", lambda: ship(lg, LOT, "500"), LOT, "failed an inspection")
    assert lg.state.lot(LOT).failed  # type: ignore[union-attr]


def case_destination() -> None:
    lg = story_one(until="certify")
    refused("destination", lambda: ship(lg, LOT, "500", to=COOP), "itself")
    refused("destination", lambda: ship(lg, LOT, "500", to="91350100M000100Y43"), "not registered")
    refused("destination", lambda: ship(lg, LOT, "500", to=STATION), "cannot receive")
    lg.record("party.suspend", REGULATOR, detail={"party_id": MARKET, "reason": "停业整顿"})
    refused("destination", lambda: ship(lg, LOT, "500"), "suspended")


def _recall_ack(lg: Ledger, party: str, recall: str, lot: str) -> str:
    return lg.record("recall_ack", party, detail={"recall_event": recall, "lot": lot})


def case_recall_unknown() -> None:
    lg = story_one(until="receive")
    refused("recall_unknown", lambda: _recall_ack(lg, MARKET, lg.ids["receive"], LOT), "not a recorded recall")


def case_not_affected() -> None:
    lg = story_one(until="receive")
    detail = {"reason": "农残超标", "instructions": "停止销售"}
    recall = lg.record("recall", REGULATOR, inputs=[lg.inp(LOT, "500")], detail=detail)
    refused("not_affected", lambda: _recall_ack(lg, SHOP, recall, LOT), SHOP, "never held")
    _recall_ack(lg, MARKET, recall, LOT)


def _activate(lg: Ledger, party: str, lot: str, serials: list[str], gtin: str = "6901234567892") -> str:
    return lg.record("label_activate", party, detail={"lot": lot, "gtin": gtin, "serials": serials})


def case_label_bound() -> None:
    lg = story_one(until="repack")
    _activate(lg, SHOP, "S-CAB-01-02", ["R7-0001"])
    refused("label_bound", lambda: _activate(lg, SHOP, "S-CAB-01-03", ["R7-0001"]), "R7-0001", "binds once")


def case_label_gtin() -> None:
    lg = story_one(until="repack")
    refused("label_gtin", lambda: _activate(lg, SHOP, "S-CAB-01-02", ["R7-0001"], gtin="6901234567885"), "GTIN")


def case_ear_tag() -> None:
    from .story import PIG_FARM, PIGS, pork_story, sc

    lg = pork_story(story_one(until="register"), until="harvest")
    again = sc.harvest([sc.animals("PIG-2", ["143018200000001"], PIGS)], origin={"name": "猪场"})
    refused("ear_tag", lambda: lg.tell(PIG_FARM, again), "143018200000001", "already on record")


def case_quarantine() -> None:
    from .story import ABATTOIR, PIG_FARM, pork_story, sc

    lg = pork_story(story_one(until="register"), until="harvest")
    ship = sc.ship([lg.inp("PIG-001", "3", "head")], destination=ABATTOIR)
    refused("quarantine", lambda: lg.tell(PIG_FARM, ship), "动物检疫合格证明", "cannot be shipped")


CASES = {name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule(rule: str) -> None:
    CASES[rule]()


def test_every_rule_code_has_a_case() -> None:
    assert set(CASES) == set(RULES)


# --- more of the stories ----------------------------------------------------------------------------


def test_story_two_blocks_sale_and_transform_and_certificate() -> None:
    lg = story_one(until="receive")
    lg.record("inspect", STATION, inputs=[lg.inp(LOT, "500")], detail=INSPECT_FAIL)
    refused("blocked", lambda: sell(lg, LOT, "10"), "failed")
    refused(
        "blocked",
        lambda: lg.record(
            "transform",
            MARKET,
            inputs=[lg.inp(LOT, "500")],
            outputs=[out("M-X", "500")],
            detail={"type": "repack"},
        ),
        "failed",
    )
    # The holder may still destroy it, and the regulator sees the flag.
    lg.record("destroy", MARKET, inputs=[lg.inp(LOT, "500")], detail={"reason": "农残超标"})
    assert lg.state.disposed == {(LOT, "destroyed"): Decimal(500)}


def test_story_three_recall_reaches_every_descendant_and_shop() -> None:
    lg = story_one()
    st = lg.state
    lg.record(
        "recall",
        REGULATOR,
        inputs=[lg.inp(LOT, "500")],
        detail={"reason": "抽检发现克百威超标", "instructions": "立即下架, 消费者可退货"},
    )
    reached = descendants(LOT, st.children_of)
    assert len(reached) == 60
    assert all(st.lot(code).recalled for code in reached | {LOT})  # type: ignore[union-attr]
    holders = {p for code in reached for p in st.holders(code)}
    assert holders == {MARKET, SHOP}
    refused("blocked", lambda: sell(lg, "S-CAB-01-02", "1", party=SHOP), "recalled")
    refused("blocked", lambda: ship(lg, "M-CAB-001-03", "10", party=MARKET, to=SHOP), "recalled")
    # Supervised destruction: a regulator destroys the shop's stock; a non-regulator cannot name a holder.
    lg.record(
        "destroy", REGULATOR, inputs=[lg.inp("S-CAB-01-02", "1")], detail={"reason": "召回", "holder": SHOP}
    )
    refused(
        "role",
        lambda: lg.record(
            "destroy", MARKET, inputs=[lg.inp("S-CAB-01-03", "1")], detail={"reason": "x", "holder": SHOP}
        ),
        "regulator",
    )
    lg.record("destroy", SHOP, inputs=[lg.inp("S-CAB-01-03", "1")], detail={"reason": "召回"})
    assert st.holding("S-CAB-01-02", SHOP) == st.holding("S-CAB-01-03", SHOP) == 0


def test_recall_propagates_to_lots_made_later_is_impossible_and_inherited_otherwise() -> None:
    lg = story_one(until="split")
    lg.record("inspect", STATION, inputs=[lg.inp("M-CAB-001-05", "10")], detail=INSPECT_FAIL)
    assert lg.state.lot("M-CAB-001-05").failed  # type: ignore[union-attr]
    assert not lg.state.lot("M-CAB-001-06").failed  # type: ignore[union-attr]  # siblings are not touched
    assert not lg.state.lot(LOT).failed  # type: ignore[union-attr]  # nor ancestors


def test_rejected_at_entry_returns_to_the_shipper_blocked() -> None:
    lg = story_one(until="ship")
    receive(lg, LOT, "500", lg.ids["ship"], check={"result": "rejected", "note": "合格证与货不符"})
    st = lg.state
    assert st.lot(LOT).rejected  # type: ignore[union-attr]
    assert st.holding(LOT, COOP) == 500 and st.holding(LOT, MARKET) == 0
    refused("blocked", lambda: ship(lg, LOT, "500", to=PROCESSOR), "rejected at market entry")
    lg.record("destroy", COOP, inputs=[lg.inp(LOT, "500")], detail={"reason": "入市查验未通过"})


def test_partial_receipts_and_over_receipt() -> None:
    lg = story_one(until="ship")
    receive(lg, LOT, "300", lg.ids["ship"])
    refused("mass_balance", lambda: receive(lg, LOT, "201", lg.ids["ship"]), "200 kg of the 500 kg sent")
    receive(lg, LOT, "200", lg.ids["ship"])
    assert lg.state.holding(LOT, MARKET) == 500


def test_transform_may_lose_but_never_gain() -> None:
    assert set(TOLERANCE.values()) == {Decimal(0)}
    lg = story_one(until="receive")
    refused(
        "mass_balance",
        lambda: lg.record(
            "transform",
            MARKET,
            inputs=[lg.inp(LOT, "500")],
            outputs=[out("M-A", "400"), out("M-B", "200", "jin"), out("M-C", "1", "g")],
            detail={"type": "split"},
        ),
        "a split of 500 kg cannot yield 500.001 kg",
    )
    lg.record(
        "transform",
        MARKET,
        inputs=[lg.inp(LOT, "500")],
        outputs=[out("M-A", "400"), out("M-B", "190", "jin")],  # 95 kg: 5 kg trimmed
        detail={"type": "split"},
    )
    st = lg.state
    assert st.lot("M-B").cleared and st.lot("M-B").unit == "jin"  # type: ignore[union-attr]


def test_merge_is_cleared_only_if_every_input_is() -> None:
    lg = story_one(until="register")
    harvest(lg, "A-1", "100")
    harvest(lg, "A-2", "100")
    lg.record("certify", COOP, inputs=[lg.inp("A-1", "100")], detail=CERTIFY)
    lg.record(
        "transform",
        COOP,
        inputs=[lg.inp("A-1", "100"), lg.inp("A-2", "100")],
        outputs=[out("A-M", "200")],
        detail={"type": "merge"},
    )
    assert not lg.state.lot("A-M").cleared  # type: ignore[union-attr]
    refused("origin_exit", lambda: ship(lg, "A-M", "200"), "A-M")


def test_farmer_and_check_order() -> None:
    lg = story_one(until="register")
    harvest(lg, "F-1", "50", party=FARMER)
    # A retailer trying to harvest an existing lot is told about its role first.
    refused("role", lambda: harvest(lg, "F-1", party=SHOP))
    # An unknown lot with a made-up head: existence is reported, not the hash chain.
    refused("lot_unknown", lambda: _ghost_ship(lg))


def _ghost_ship(lg: Ledger) -> None:
    ref = {"lot": "NOPE", "quantity": "1", "unit": "kg", "follows": ["0" * 64]}
    lg.record("ship", FARMER, inputs=[ref], detail={"destination": MARKET})


def test_refusals_leave_the_state_untouched() -> None:
    lg = story_one(until="receive")
    before = (dict(lg.state.lots), dict(lg.state.holdings), dict(lg.state.events))
    refused("mass_balance", lambda: sell(lg, LOT, "800"))
    assert (lg.state.lots, lg.state.holdings, lg.state.events) == before


def test_check_needs_an_aware_now() -> None:
    lg = story_one(until="harvest")
    event, _ = lg.log[-1]
    with pytest.raises(ValueError, match="aware"):
        check_event(event, lg.state, now=lg.clock.replace(tzinfo=None))


def test_a_paper_certificate_needs_its_number() -> None:
    lg = story_one(until="ship")
    detail = {"source": COOP, "ship_event": lg.ids["ship"], "entry_check": {"result": "accepted", "certificate_source": "paper"}}  # fmt: skip
    with pytest.raises(InvalidEvent) as info:
        lg.make("receive", MARKET, inputs=[lg.inp(LOT, "500")], detail=detail)
    assert info.value.field == "detail.entry_check.certificate_source"
    assert "needs a certificate_no" in info.value.message
    with pytest.raises(InvalidEvent, match="expected one of paper"):
        lg.make("receive", MARKET, inputs=[lg.inp(LOT, "500")], detail=detail | {"entry_check": {"result": "accepted", "certificate_no": "X", "certificate_source": "ledger"}})  # fmt: skip
