"""Livestock and quarantine (trace/rules/livestock.py, docs/livestock.md): the pork story, each rule
refusing what it should and no more, the wire forms' checks, and the SQL state answering as the
in-memory one does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from farmtrace.trace import scenario as sc
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.event import Event
from farmtrace.trace.rules import effects

from .story import (
    ABATTOIR,
    ANIMAL_CERT,
    EAR_TAGS,
    MARKET,
    MEAT_CERT,
    PIG_FARM,
    PIGS,
    PORK,
    PRODUCT_CERT,
    REGULATOR,
    STALL,
    START,
    VET,
    Ledger,
    party_wire,
    pork_story,
    said_by,
    story_one,
)
from .test_rules import refused

TAGS5 = [f"1430182{n:08d}" for n in range(11, 16)]


def registered() -> Ledger:
    lg = story_one(until="register")
    pork_story(lg, until="")  # registers the pork story's parties, records nothing else
    return lg


def pigs(lg: Ledger, lot: str = "PIG-X", tags: list[str] = TAGS5, weight: str | None = None) -> str:
    """Harvest pigs `tags` into `lot`, weighed at `weight` kg (115 kg a pig unless said)."""
    weight = weight or str(115 * len(tags))
    return lg.tell(
        PIG_FARM, sc.harvest([sc.animals(lot, tags, PIGS, live_weight=weight)], origin={"name": "猪场"})
    )


def quarantine(
    lg: Ledger, lot: str, tags: list[str], *, number: str = "Q-1", days: str = "1", **kw: Any
) -> str:
    form = kw.pop("form", "animal_b")
    animal = form.startswith("animal")
    quantity = kw.pop("quantity", str(len(tags)))
    unit = kw.pop("unit", "head" if animal else "kg")
    said = sc.quarantine(
        [lg.inp(lot, quantity, unit)],
        form=form,
        certificate_no=number,
        owner="货主",
        species=kw.pop("species", "猪"),
        origin="宁乡",
        destination="屠宰厂",
        official_vet="王建国",
        valid_days=days,
        ear_tags=tags if animal else None,
        purpose="屠宰" if animal else None,
        product_name=None if animal else "白条肉",
    )
    return lg.tell(kw.pop("party", VET), said)


def ship(
    lg: Ledger, lot: str, quantity: str, unit: str = "head", *, party: str = PIG_FARM, to: str = ABATTOIR
) -> str:
    return lg.tell(party, sc.ship([lg.inp(lot, quantity, unit)], destination=to))


def receive(lg: Ledger, lot: str, quantity: str, shipped: str, unit: str = "head", *, party: str = ABATTOIR,
            source: str = PIG_FARM, certificate: str | None = None) -> str:  # fmt: skip
    check = {"certificate_no": certificate} if certificate else {}
    said = sc.receive([lg.inp(lot, quantity, unit)], source=source, ship_event=shipped, **check)
    return lg.tell(party, said)


def slaughter(lg: Ledger, lot: str, heads: str, outs: list[tuple[str, str]], *, live: str = "575",
              number: str = "RP-1", party: str = ABATTOIR, product: dict = PORK) -> str:  # fmt: skip
    said = sc.slaughter(
        [lg.inp(lot, heads, "head")], [sc.out(code, kg, product) for code, kg in outs], live_weight=live,
        certificate_no=number,
    )  # fmt: skip
    return lg.tell(party, said)


def at_abattoir(lg: Ledger, lot: str = "PIG-X", tags: list[str] = TAGS5) -> None:
    pigs(lg, lot, tags)
    quarantine(lg, lot, tags, number=f"Q-{lot}", species={"1": "猪", "2": "牛", "3": "羊"}[tags[0][0]])
    receive(lg, lot, str(len(tags)), ship(lg, lot, str(len(tags))))


def later(lg: Ledger, hours: float) -> None:
    lg.clock += timedelta(hours=hours)


# --- the story ------------------------------------------------------------------------------------


def test_the_pork_story_is_accepted_and_leaves_its_traces() -> None:
    lg = story_one(until="register")
    pork_story(lg)
    st = lg.state
    assert st.lot_animals("PIG-001") == frozenset(EAR_TAGS)
    assert all(st.animal_lot(tag) == "PIG-001" for tag in EAR_TAGS)
    forms = {c.form: c.certificate_no for c in st.livestock_certificates("PORK-001-L")}
    assert forms == {"meat_quality": MEAT_CERT, "product_b": PRODUCT_CERT}
    assert [c.form for c in st.livestock_certificates("PORK-001-R")] == ["meat_quality"]
    [animal] = st.livestock_certificate(ANIMAL_CERT)
    assert animal.lot == "PIG-001" and animal.valid_until == animal.issued_at + timedelta(days=1)
    assert st.lot("PIG-001").cleared and st.lot("PORK-001-L1").cleared
    assert st.holding("PORK-001-L1", STALL) == Decimal("18.5")
    assert st.lot("PORK-001-L").parents == ("PIG-001",)


def test_effects_of_the_livestock_events() -> None:
    lg = story_one(until="register")
    pork_story(lg)
    by_kind = {}
    for event, eid in lg.log:
        by_kind.setdefault((event.kind, getattr(event.detail, "type", None)), (event, eid))
    event, eid = by_kind[("harvest", None)]
    assert effects(event, eid).animals[0].ear_tags == tuple(EAR_TAGS)
    event, eid = by_kind[("transform", "slaughter")]
    fx = effects(event, eid)
    assert {(c.lot, c.form, c.valid_until) for c in fx.livestock_certificates} == {
        ("PORK-001-L", "meat_quality", None),
        ("PORK-001-R", "meat_quality", None),
    }
    assert fx.animals == ()


# --- the wire forms ---------------------------------------------------------------------------------


def _parse(said: dict[str, Any], party: str = PIG_FARM) -> Event:
    return Event.from_wire(said_by(party, said, time=START))


def _harvest(out: dict[str, Any]) -> dict[str, Any]:
    return sc.harvest([out], origin={"name": "猪场"})


@pytest.mark.parametrize(
    ("out", "field", "words"),
    [
        (sc.out("P", "2", PIGS, unit="head"), "outputs[0].ear_tags", "need their ear tag numbers"),
        ({**sc.out("P", "2", PIGS, unit="head"), "ear_tags": ["143018200000001"]}, "outputs[0].ear_tags", "2 head need 2"),
        ({**sc.out("P", "1.5", PIGS, unit="head"), "ear_tags": ["143018200000001"]}, "outputs[0].ear_tags", "1.5 head"),
        ({**sc.out("P", "1", PIGS), "ear_tags": ["143018200000001"]}, "outputs[0].ear_tags", "only live animals"),
        ({**sc.out("P", "1", PIGS), "live_weight": "100"}, "outputs[0].live_weight", "only live animals"),
        (sc.animals("P", ["443018200000001"], PIGS), "outputs[0].ear_tags[0]", "15 digits"),
        (sc.animals("P", ["14301820000001"], PIGS), "outputs[0].ear_tags[0]", "15 digits"),
        (sc.animals("P", ["143018200000001", "143018200000001"], PIGS), "outputs[0].ear_tags[1]", "listed twice"),
        ({**sc.out("P", "1", PIGS, unit="head"), "ear_tags": []}, "outputs[0].ear_tags", "at least 1 item"),
        (sc.animals("P", ["143018200000001"], PIGS, live_weight="0"), "outputs[0].live_weight", "greater than zero"),
    ],
)  # fmt: skip
def test_live_animal_outputs_are_checked_on_the_wire(out: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        _parse(_harvest(out))
    assert caught.value.field == field and words in caught.value.message, caught.value


def test_a_live_animal_output_round_trips_and_other_outputs_keep_their_bytes() -> None:
    wire = _harvest(sc.animals("P", ["143018200000001"], PIGS, live_weight="115.5"))
    event = _parse(wire)
    assert event.outputs[0].ear_tags == ("143018200000001",) and event.outputs[0].live_weight == Decimal(
        "115.5"
    )
    assert event.to_wire()["outputs"] == wire["outputs"]
    plain = _parse(_harvest(sc.out("C", "5", PIGS))).to_wire()["outputs"][0]
    assert set(plain) == {"lot", "quantity", "unit", "product"}


def _slaughter_detail(**detail: Any) -> dict[str, Any]:
    return sc.step("transform", inputs=[sc.ref("P", "1", "head", follows=["1" * 64])],
                   outputs=[sc.out("M", "80", PORK)], detail=detail)  # fmt: skip


@pytest.mark.parametrize(
    ("detail", "field", "words"),
    [
        ({"type": "slaughter", "certificate_no": "RP-1"}, "detail.live_weight", "a slaughter states"),
        ({"type": "slaughter", "live_weight": "100"}, "detail.certificate_no", "a slaughter states"),
        ({"type": "split", "live_weight": "100"}, "detail.live_weight", "only a slaughter"),
        ({"type": "process", "certificate_no": "RP-1"}, "detail.certificate_no", "only a slaughter"),
    ],
)
def test_a_slaughters_own_fields_are_a_slaughters_only(
    detail: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        _parse(_slaughter_detail(**detail), party=ABATTOIR)
    assert caught.value.field == field and words in caught.value.message, caught.value


def _certificate(**changes: Any) -> dict[str, Any]:
    said = sc.quarantine(
        [sc.ref("P", "1", "head", follows=["1" * 64])], form="animal_b", certificate_no="Q", owner="o",
        species="猪", origin="a", destination="b", official_vet="v", ear_tags=["143018200000001"], purpose="屠宰",
    )  # fmt: skip
    for key, value in changes.items():
        if value is None:
            said["detail"].pop(key, None)
        else:
            said["detail"][key] = value
    return said


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"ear_tags": None}, "detail.ear_tags", "lists their ear tags"),
        ({"purpose": None}, "detail.purpose", "states their use"),
        ({"product_name": "白条肉"}, "detail.product_name", "species only"),
        ({"form": "product_b"}, "detail.product_name", "names them"),
        ({"form": "product_b", "product_name": "白条肉"}, "detail.ear_tags", "lists no ear tags"),
        ({"form": "animal_c"}, "detail.form", "animal_a"),
        ({"valid_days": "0"}, "detail.valid_days", "greater than zero"),
        ({"valid_days": "31"}, "detail.valid_days", "must not exceed 30"),
        ({"valid_days": "1.5"}, "detail.valid_days", "fractional"),
        ({"transport": "horse"}, "detail.transport", "road"),
        ({"official_vet": None}, "detail.official_vet", "required"),
    ],
)
def test_a_quarantine_certificate_holds_its_forms_fields(
    changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        _parse(_certificate(**changes), party=VET)
    assert caught.value.field == field and words in caught.value.message, caught.value


def test_a_quarantine_certificate_round_trips() -> None:
    wire = _certificate(
        carrier="张师傅", transport="road", vehicle="湘A·1", disinfection="过氧乙酸", note="备注"
    )
    event = _parse(wire, party=VET)
    assert event.to_wire()["detail"] == wire["detail"]
    assert event.detail.valid_days == 1


# --- ear tags ----------------------------------------------------------------------------------------


def test_an_ear_tag_is_tagged_once() -> None:
    lg = registered()
    pigs(lg)
    refused("ear_tag", lambda: pigs(lg, "PIG-Y", [TAGS5[2]]), TAGS5[2], "already on record", "PIG-X")


def test_a_split_moves_named_animals_and_takes_exactly_them() -> None:
    lg = registered()
    pigs(lg)
    two, three = TAGS5[:2], TAGS5[2:]
    split = sc.split(
        [lg.inp("PIG-X", "5", "head")], [sc.animals("A", two, PIGS), sc.animals("B", three, PIGS)]
    )
    lg.tell(PIG_FARM, split)
    assert lg.state.lot_animals("A") == frozenset(two) and lg.state.lot_animals("PIG-X") == frozenset()
    assert lg.state.animal_lot(TAGS5[4]) == "B"
    # A split of B that names an animal of A, or one on no lot, or takes more than it names:
    for outs, words in [
        ([sc.animals("C", [TAGS5[0]], PIGS)], "in lot A, not in an input"),
        ([sc.animals("C", ["143018299999999"], PIGS)], "on no lot"),
        ([sc.animals("C", [TAGS5[2]], PIGS), sc.animals("D", [TAGS5[2]], PIGS)], "on two outputs"),
    ]:
        said = sc.split([lg.inp("B", str(len(outs)), "head")], outs)
        refused("ear_tag", lambda said=said: lg.tell(PIG_FARM, said), *words.split(", "))
    said = sc.split([lg.inp("B", "3", "head")], [sc.animals("C", [TAGS5[2]], PIGS)])
    refused("ear_tag", lambda: lg.tell(PIG_FARM, said), "takes 3 head of lot B", "list 1")


# --- quarantine -------------------------------------------------------------------------------------


def test_a_certificate_lists_exactly_the_animals_in_the_lot_now() -> None:
    lg = registered()
    pigs(lg)
    refused("quarantine", lambda: quarantine(lg, "PIG-X", TAGS5[:4], quantity="5"), "exactly the 5 animals",
            f"missing {TAGS5[4]}")  # fmt: skip
    refused("quarantine", lambda: quarantine(lg, "PIG-X", [*TAGS5, "143018299999999"], quantity="5"),
            "not in the lot: 143018299999999")  # fmt: skip
    refused("quarantine", lambda: quarantine(lg, "PIG-X", TAGS5, quantity="4"), "not 4")
    refused("role", lambda: quarantine(lg, "PIG-X", TAGS5, party=PIG_FARM), "veterinarian")
    quarantine(lg, "PIG-X", TAGS5)
    refused("quarantine", lambda: quarantine(lg, "PIG-X", TAGS5), "Q-1 is already on record")


def test_a_product_certificate_is_for_meat_a_slaughter_made() -> None:
    lg = story_one(until="harvest")
    pork_story(lg, until="")
    refused("quarantine", lambda: quarantine(lg, "NX-CAB-001", [], form="product_b", quantity="500"),
            "not meat a recorded slaughter made")  # fmt: skip
    pigs(lg)
    refused(
        "quarantine",
        lambda: quarantine(lg, "PIG-X", [], form="product_b", quantity="5", unit="head"),
        "not meat",
    )
    refused("quarantine", lambda: quarantine(lg, "NX-CAB-001", ["143018200000001"], quantity="1", unit="kg"),
            "not live animals")  # fmt: skip


def test_live_animals_leave_and_arrive_only_under_a_valid_certificate() -> None:
    lg = registered()
    pigs(lg)
    refused("quarantine", lambda: ship(lg, "PIG-X", "5"), "without a valid 动物检疫合格证明", "shipped")
    quarantine(lg, "PIG-X", TAGS5, days="1")
    later(lg, 25)  # the certificate said: to arrive within one day
    refused("quarantine", lambda: ship(lg, "PIG-X", "5"), "shipped")
    quarantine(lg, "PIG-X", TAGS5, number="Q-2", days="2")
    shipped = ship(lg, "PIG-X", "5")
    later(lg, 49)
    refused("quarantine", lambda: receive(lg, "PIG-X", "5", shipped), "accepted on arrival")
    rejected = sc.receive(
        [lg.inp("PIG-X", "5", "head")], source=PIG_FARM, ship_event=shipped, result="rejected"
    )
    lg.tell(ABATTOIR, rejected)  # a refusal at the gate is always recordable


def test_live_animals_move_whole() -> None:
    lg = registered()
    pigs(lg)
    quarantine(lg, "PIG-X", TAGS5)
    refused("quantity", lambda: ship(lg, "PIG-X", "4"), "5 head held", "split the animals")
    shipped = ship(lg, "PIG-X", "5")
    refused("quantity", lambda: receive(lg, "PIG-X", "4", shipped), "received whole", "5 head")
    receive(lg, "PIG-X", "5", shipped)
    refused("quantity", lambda: slaughter(lg, "PIG-X", "4", [("M", "350")]), "takes them all")


def test_a_certificate_covers_the_parts_of_its_lot_but_not_what_joins_it_or_is_split_before() -> None:
    lg = registered()
    pigs(lg)
    quarantine(lg, "PIG-X", TAGS5)
    lg.tell(PIG_FARM, sc.split([lg.inp("PIG-X", "2", "head")], [sc.animals("A", TAGS5[:2], PIGS)]))
    ship(lg, "A", "2")  # the certificate was on its parent when its animals were in it: covered
    lg.tell(PIG_FARM, sc.split([lg.inp("PIG-X", "1", "head")], [sc.animals("B", TAGS5[2:3], PIGS)]))
    other = ["143018200000099"]
    pigs(lg, "PIG-Y", other)
    merged = sc.merge([lg.inp("B", "1", "head"), lg.inp("PIG-Y", "1", "head")],
                      [sc.animals("C", [TAGS5[2], *other], PIGS)])  # fmt: skip
    lg.tell(PIG_FARM, merged)
    refused("quarantine", lambda: ship(lg, "C", "2"), "lot C")  # PIG-Y's pig was never certified
    quarantine(lg, "PIG-X", TAGS5[3:], number="Q-2")
    lg.tell(PIG_FARM, sc.split([lg.inp("PIG-X", "1", "head")], [sc.animals("D", TAGS5[3:4], PIGS)]))
    ship(lg, "D", "1")


def test_a_certificate_issued_after_a_split_does_not_reach_back() -> None:
    lg = registered()
    pigs(lg)
    lg.tell(PIG_FARM, sc.split([lg.inp("PIG-X", "2", "head")], [sc.animals("A", TAGS5[:2], PIGS)]))
    quarantine(lg, "PIG-X", TAGS5[2:])
    refused("quarantine", lambda: ship(lg, "A", "2"), "lot A")


# --- slaughter ----------------------------------------------------------------------------------------


def test_a_slaughter_keeps_to_the_species_yield_band() -> None:
    lg = registered()
    at_abattoir(lg)
    refused("mass_balance", lambda: slaughter(lg, "PIG-X", "5", [("M", "300")]), "345 to 471.5 kg", "not 300")
    refused("mass_balance", lambda: slaughter(lg, "PIG-X", "5", [("M", "480")]), "60 to 82 %")
    refused("mass_balance", lambda: slaughter(lg, "PIG-X", "5", [("M", "900")], live="2500"), "400 kg a head")
    refused("unit", lambda: slaughter(lg, "PIG-X", "5", [("M", "430")], product=PIGS), "category")
    said = sc.slaughter([lg.inp("PIG-X", "5", "head")], [sc.out("M", "2", PORK, unit="piece")],
                        live_weight="575", certificate_no="RP-1")  # fmt: skip
    refused("unit", lambda: lg.tell(ABATTOIR, said), "by mass")
    slaughter(lg, "PIG-X", "5", [("M1", "215"), ("M2", "214.5")])
    assert lg.state.holding("M1", ABATTOIR) == Decimal(215)


def test_only_a_slaughterhouse_slaughters_and_only_certified_animals() -> None:
    lg = registered()
    at_abattoir(lg)
    # The market (a wholesaler) may not slaughter: give it pigs the ordinary way first.
    pigs(lg, "PIG-M", ["143018200000050"])
    quarantine(lg, "PIG-M", ["143018200000050"], number="Q-M")
    receive(lg, "PIG-M", "1", ship(lg, "PIG-M", "1", to=MARKET), party=MARKET, certificate="Q-M")
    refused("role", lambda: slaughter(lg, "PIG-M", "1", [("MM", "80")], live="110", party=MARKET),
            "designated slaughterhouse")  # fmt: skip
    # A producer that is also a slaughterhouse still needs the certificate for its own pigs.
    both = party_wire("F430182-000777", ["producer", "processor"])
    lg.record("party.register", REGULATOR, detail={"party": both})
    lg.tell(
        "F430182-000777",
        sc.harvest([sc.animals("OWN", ["143018200000060"], PIGS, live_weight="115")], origin={"name": "场"}),
    )
    refused("quarantine", lambda: slaughter(lg, "OWN", "1", [("OM", "80")], live="110", party="F430182-000777"),
            "slaughtered")  # fmt: skip


def test_mixed_species_are_not_slaughtered_together() -> None:
    lg = registered()
    at_abattoir(lg, "PIG-X", TAGS5[:1])
    at_abattoir(lg, "COW-X", ["243018200000001"])
    said = sc.slaughter([lg.inp("PIG-X", "1", "head"), lg.inp("COW-X", "1", "head")], [sc.out("M", "400", PORK)],
                        live_weight="700", certificate_no="RP-9")  # fmt: skip
    refused("mass_balance", lambda: lg.tell(ABATTOIR, said), "one species", "cattle, pig")


def test_a_meat_certificate_number_is_used_once() -> None:
    lg = registered()
    at_abattoir(lg, "PIG-X", TAGS5[:1])
    at_abattoir(lg, "PIG-Y", TAGS5[1:2])
    slaughter(lg, "PIG-X", "1", [("M1", "80")], live="110", number="RP-7")
    refused("quarantine", lambda: slaughter(lg, "PIG-Y", "1", [("M2", "80")], live="110", number="RP-7"),
            "RP-7 is already on record")  # fmt: skip


# --- meat at market entry -----------------------------------------------------------------------------


def test_meat_enters_a_market_only_with_both_certificates() -> None:
    lg = story_one(until="register")
    pork_story(lg, until="slaughter")
    shipped = ship(lg, "PORK-001-R", "128.5", "kg", party=ABATTOIR, to=MARKET)
    attempt = lambda: receive(lg, "PORK-001-R", "128.5", shipped, "kg", party=MARKET, source=ABATTOIR,  # noqa: E731
                              certificate=MEAT_CERT)  # fmt: skip
    refused("quarantine", attempt, "PORK-001-R", "产品A or 产品B")
    quarantine(lg, "PORK-001-R", [], form="product_b", number="Q-R", quantity="128.5")
    attempt()
    assert lg.state.holding("PORK-001-R", MARKET) == Decimal("128.5")


def test_meat_no_slaughter_made_is_refused_at_market_entry() -> None:
    """Meat cannot be harvested (below); made by a processor out of something else, it is still
    refused at the market: no slaughterhouse certified it."""
    from .story import PROCESSOR

    lg = story_one(until="register")
    pork_story(lg, until="")
    coop = "F430182-000888"
    lg.record("party.register", REGULATOR, detail={"party": party_wire(coop, ["producer"])})
    lg.tell(
        coop,
        sc.harvest(
            [sc.out("SECRET", "50", {"name_zh": "白条", "category": "其他"})], origin={"name": "某地"}
        ),
    )
    lg.tell(coop, sc.certify([lg.inp("SECRET", "50")], certificate_no="HGZ-P", product_name="白条", origin="宁乡",
                             contact="某"))  # fmt: skip
    receive(lg, "SECRET", "50", ship(lg, "SECRET", "50", "kg", party=coop, to=PROCESSOR), "kg", party=PROCESSOR,
            source=coop)  # fmt: skip
    lg.tell(PROCESSOR, sc.step("transform", inputs=[lg.inp("SECRET", "50")],
                               outputs=[sc.out("SECRET-PORK", "50", PORK)], detail={"type": "process"}))  # fmt: skip
    shipped = ship(lg, "SECRET-PORK", "50", "kg", party=PROCESSOR, to=MARKET)
    refused("quarantine", lambda: receive(lg, "SECRET-PORK", "50", shipped, "kg", party=MARKET, source=PROCESSOR,
                                          certificate="HGZ-P"), "肉品品质检验合格证")  # fmt: skip


def test_the_entry_check_may_name_a_livestock_certificate() -> None:
    lg = story_one(until="register")
    pork_story(lg)  # receive2 and receive3 name the product certificate, on the lineage
    receipts = [e for e, _ in lg.log if e.kind == "receive"]
    assert {r.detail.entry_check.certificate_no for r in receipts[-3:]} == {ANIMAL_CERT, PRODUCT_CERT}


# --- the SQL state answers as the memory one ------------------------------------------------------------


def test_the_sql_state_answers_the_livestock_reads_as_memory_does(database_url) -> None:
    from .test_replay import _entry, _genesis, record, service_at

    lg = story_one(until="register")
    pork_story(lg)
    with service_at(database_url) as service:
        record(service, [_genesis(), *(_entry(e) for e, _ in lg.log)])
        with service.engine.connect() as conn:
            from farmtrace.trace.store.sql_state import Repository

            repo = Repository(conn)
            for lot in ("PIG-001", "PORK-001-L", "PORK-001-R", "PORK-001-L1"):
                assert repo.lot_animals(lot) == lg.state.lot_animals(lot)
                assert repo.livestock_certificates(lot) == lg.state.livestock_certificates(lot)
            for tag in EAR_TAGS:
                assert repo.animal_lot(tag) == lg.state.animal_lot(tag)
            assert repo.lot_live_weight("PIG-001") == lg.state.lot_live_weight("PIG-001") == Decimal(345)
            for number in (ANIMAL_CERT, PRODUCT_CERT, MEAT_CERT, "none"):
                assert set(repo.livestock_certificate(number)) == set(lg.state.livestock_certificate(number))


# --- the attacker review's findings, held ------------------------------------------------------------


class CountingView:
    """A view that counts the certificate reads (the walk's cost), over a MemoryState."""

    def __init__(self, state) -> None:
        self.state, self.reads = state, 0

    def __getattr__(self, name):
        return getattr(self.state, name)

    def livestock_certificates(self, code):
        self.reads += 1
        return self.state.livestock_certificates(code)


def test_coverage_costs_the_lineage_not_its_paths() -> None:
    """Splitting two certified pigs apart and merging them back, round after round, doubles the paths
    up the lineage each round; the walk must judge each lot once (it froze the ledger's writes)."""
    from farmtrace.trace.rules.livestock import ANIMAL_FORMS, covered

    lg = registered()
    tags = TAGS5[:2]
    pigs(lg, "R0", tags)
    quarantine(lg, "R0", tags)
    for k in range(1, 21):
        one, two = f"R{k}a", f"R{k}b"
        lg.tell(PIG_FARM, sc.split([lg.inp(f"R{k - 1}", "2", "head")],
                                   [sc.animals(one, tags[:1], PIGS), sc.animals(two, tags[1:], PIGS)]))  # fmt: skip
        merged = sc.merge(
            [lg.inp(one, "1", "head"), lg.inp(two, "1", "head")], [sc.animals(f"R{k}", tags, PIGS)]
        )
        lg.tell(PIG_FARM, merged)
    view = CountingView(lg.state)
    assert covered(lg.state.lot("R20"), ANIMAL_FORMS, view, issued_by=lg.clock, valid_at=None)
    assert view.reads < 200  # 61 lots: each judged once (about 2^20 paths without the memory)
    ship(lg, "R20", "2")


def test_a_deep_lineage_is_walked_without_recursion() -> None:
    lg = registered()
    pigs(lg, "D0", TAGS5[:1])
    quarantine(lg, "D0", TAGS5[:1])
    for k in range(1, 1201):
        lg.tell(
            PIG_FARM, sc.repack([lg.inp(f"D{k - 1}", "1", "head")], [sc.animals(f"D{k}", TAGS5[:1], PIGS)])
        )
    ship(lg, "D1200", "1")


def test_a_certificate_dated_the_second_of_a_split_does_not_cover_the_split_off_animals() -> None:
    lg = registered()
    pigs(lg)
    lg.tell(PIG_FARM, sc.split([lg.inp("PIG-X", "2", "head")], [sc.animals("A", TAGS5[:2], PIGS)]))
    lg.clock -= timedelta(minutes=1)  # the vet's certificate carries the split's own time
    quarantine(lg, "PIG-X", TAGS5[2:])
    refused("quarantine", lambda: ship(lg, "A", "2"), "lot A")


def test_meat_by_any_meat_category_is_refused_at_harvest() -> None:
    lg = story_one(until="register")
    pork_story(lg, until="")
    coop = "F430182-000888"
    lg.record("party.register", REGULATOR, detail={"party": party_wire(coop, ["producer"])})
    for n, category in enumerate(("猪肉", "肉类", "冷冻肉", "畜禽肉")):
        meat = {"name_zh": "猪肉", "category": category}
        said = sc.harvest([sc.out(f"P-{n}", "50", meat)], origin={"name": "私宰点"})
        refused("quarantine", lambda said=said: lg.tell(coop, said), "meat comes from a recorded slaughter")


def test_live_animals_are_rejected_whole_too() -> None:
    lg = registered()
    pigs(lg)
    quarantine(lg, "PIG-X", TAGS5)
    shipped = ship(lg, "PIG-X", "5")
    one = sc.receive([lg.inp("PIG-X", "1", "head")], source=PIG_FARM, ship_event=shipped, result="rejected")
    refused("quantity", lambda: lg.tell(ABATTOIR, one), "received whole")


def test_meat_put_on_sale_by_its_slaughterhouse_needs_both_certificates() -> None:
    lg = story_one(until="register")
    both = "F430182-000999"
    pork_story(lg, until="")
    lg.record("party.register", REGULATOR, detail={"party": party_wire(both, ["processor", "wholesaler"])})
    pigs(lg, "PIG-W", TAGS5[:1])
    quarantine(lg, "PIG-W", TAGS5[:1], number="Q-W")
    receive(lg, "PIG-W", "1", ship(lg, "PIG-W", "1", to=both), party=both, certificate="Q-W")
    slaughter(lg, "PIG-W", "1", [("M-W", "80")], live="110", party=both)
    price = sc.price("30", "wholesale")
    refused(
        "quarantine", lambda: lg.tell(both, sc.sell([lg.inp("M-W", "10")], price=price)), "产品A or 产品B"
    )
    quarantine(lg, "M-W", [], form="product_b", number="Q-MW", quantity="80")
    lg.tell(both, sc.sell([lg.inp("M-W", "10")], price=price))


def test_effects_of_a_certificate_dated_at_the_end_of_time_do_not_overflow() -> None:
    said = _certificate()
    event = Event.from_wire(
        said_by(VET, said, time=START).copy() | {"event_time": "9999-12-31T12:00:00+08:00"}
    )
    [c] = effects(event, "ab" * 32).livestock_certificates
    assert c.valid_until.year == 9999


def test_live_animals_are_weighed_when_tagged_and_the_slaughter_keeps_to_their_weight() -> None:
    lg = registered()
    unweighed = sc.harvest([sc.animals("P0", TAGS5[:1], PIGS)], origin={"name": "猪场"})
    refused("quantity", lambda: lg.tell(PIG_FARM, unweighed), "weighed when they are tagged")
    mixed = sc.harvest(
        [sc.animals("P0", [TAGS5[0], "243018200000001"], PIGS, live_weight="300")], origin={"name": "场"}
    )
    refused("ear_tag", lambda: lg.tell(PIG_FARM, mixed), "mixes species")
    refused("quantity", lambda: pigs(lg, "P0", TAGS5[:1], weight="401"), "400 kg a head")
    pigs(lg, "PIG-X", TAGS5, weight="600")  # 120 kg a pig
    # Split without a weight: each pig keeps its 120 kg; split with one: the output is weighed anew.
    lg.tell(PIG_FARM, sc.split([lg.inp("PIG-X", "2", "head")], [sc.animals("A", TAGS5[:2], PIGS)]))
    lg.tell(
        PIG_FARM,
        sc.split([lg.inp("PIG-X", "1", "head")], [sc.animals("B", TAGS5[2:3], PIGS, live_weight="130")]),
    )
    assert lg.state.lot_live_weight("A") == Decimal(240) and lg.state.lot_live_weight("B") == Decimal(130)
    assert lg.state.lot_live_weight("PIG-X") == Decimal(240)
    refused("quarantine", lambda: quarantine(lg, "A", TAGS5[:2], species="牛"), "ear tags say 猪")
    quarantine(lg, "A", TAGS5[:2])
    receive(lg, "A", "2", ship(lg, "A", "2"))
    refused("mass_balance", lambda: slaughter(lg, "A", "2", [("M", "500")], live="700"), "recorded at 240 kg",
            "204 to 252")  # fmt: skip
    refused("mass_balance", lambda: slaughter(lg, "A", "2", [("M", "100")], live="150"), "recorded at 240 kg")
    slaughter(lg, "A", "2", [("M", "170")], live="228")
