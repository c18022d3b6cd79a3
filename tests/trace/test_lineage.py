"""Lineage maths over random DAGs, and the mass-balance invariant over random event sequences."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from farmtrace.trace.errors import LineageCycle, RuleViolation
from farmtrace.trace.lineage import ancestors, descendants, origins
from farmtrace.trace.model.units import format_decimal, to_base

from .story import (
    COOP,
    INSPECT_FAIL,
    INSPECT_PASS,
    MARKET,
    PROCESSOR,
    REGULATOR,
    SHOP,
    STATION,
    Ledger,
    out,
    register_all,
)


@st.composite
def dags(draw: st.DrawFn) -> dict[str, set[str]]:
    """parents_of for a random DAG: edges only go from a lower-numbered lot to a higher one."""
    n = draw(st.integers(min_value=1, max_value=14))
    parents: dict[str, set[str]] = {}
    for child in range(n):
        chosen = draw(st.sets(st.integers(min_value=0, max_value=child - 1), max_size=3)) if child else set()
        parents[f"L{child}"] = {f"L{p}" for p in chosen}
    return parents


def invert(relation: dict[str, set[str]] | dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """The inverse relation: parents_of -> children_of (moved here from trace/lineage.py: only tests used it)."""
    inverse: dict[str, set[str]] = {}
    for node, others in relation.items():
        for other in others:
            inverse.setdefault(other, set()).add(node)
    return inverse


def _closure(start: str, relation: dict[str, set[str]]) -> set[str]:
    """Reference: naive fixed-point closure."""
    found = set(relation.get(start, ()))
    while True:
        more = {x for f in found for x in relation.get(f, ())} - found
        if not more:
            return found
        found |= more


@given(dags())
def test_ancestors_and_descendants_are_inverse_transitive_and_irreflexive(
    parents_of: dict[str, set[str]],
) -> None:
    children_of = invert(parents_of)
    for a in parents_of:
        anc = ancestors(a, parents_of)
        desc = descendants(a, children_of)
        assert anc == _closure(a, parents_of)
        assert desc == _closure(a, children_of)
        assert a not in anc and a not in desc
        for b in parents_of:
            assert (b in desc) == (a in ancestors(b, parents_of))
        for b in anc:
            assert ancestors(b, parents_of) <= anc
        for b in desc:
            assert descendants(b, children_of) <= desc


@given(dags())
def test_origins_have_no_parents(parents_of: dict[str, set[str]]) -> None:
    for a in parents_of:
        found = origins(a, parents_of)
        assert found and all(not parents_of[o] for o in found)
        assert found <= ancestors(a, parents_of) | {a}
        assert (found == {a}) == (not parents_of[a])
        # Every ancestor without parents is an origin.
        assert {x for x in ancestors(a, parents_of) if not parents_of[x]} <= found


@given(dags(), st.data())
def test_cycles_are_refused(parents_of: dict[str, set[str]], data: st.DataObject) -> None:
    lots = sorted(parents_of)
    a = data.draw(st.sampled_from(lots))
    below = sorted(descendants(a, invert(parents_of)) | {a})
    b = data.draw(st.sampled_from(below))
    parents_of[a] = parents_of[a] | {b}  # a now descends from b, which descends from a (or is a)
    with pytest.raises(LineageCycle) as info:
        ancestors(b, parents_of)
    assert info.value.path[0] == info.value.path[-1]
    with pytest.raises(LineageCycle):
        descendants(a, invert(parents_of))


def test_long_chains_need_no_recursion() -> None:
    n = 50_000
    parents_of = {f"L{i}": (f"L{i - 1}",) for i in range(1, n)}
    assert len(ancestors(f"L{n - 1}", parents_of)) == n - 1
    assert origins(f"L{n - 1}", parents_of) == {"L0"}
    assert len(descendants("L0", invert(parents_of))) == n - 1


def test_relations_may_be_callables() -> None:
    parents = {"b": ["a"], "c": ["a", "b"]}
    assert ancestors("c", lambda code: parents.get(code, ())) == {"a", "b"}


# --- mass balance over random histories -------------------------------------------------------------

HOLDERS = (COOP, MARKET, SHOP, PROCESSOR)
FRACTIONS = (Decimal("0.3"), Decimal("0.5"), Decimal(1), Decimal(1), Decimal("1.2"))
# Weighted so that histories get long: most attempts should pass the rules, some must not.
ACTIONS = (
    "harvest",
    "inspect",
    "certify",
    "ship",
    "ship",
    "receive",
    "receive",
    "receive",
    "transform",
    "sell",
    "destroy",
    "recall",
)


def _q(value: Decimal) -> str | None:
    value = value.quantize(Decimal("0.001"))
    return format_decimal(value) if value > 0 else None


def _base(quantity: Decimal, unit: str) -> Decimal:
    return to_base(quantity, unit)[0]


def _check_invariant(lg: Ledger) -> None:
    st_ = lg.state
    harvested = sum(
        (_base(o.quantity, o.unit) for e, _ in lg.log if e.kind == "harvest" for o in e.outputs), Decimal(0)
    )
    held = sum((_base(q, st_.lots[lot].unit) for (lot, _), q in st_.holdings.items()), Decimal(0))
    moving = sum((_base(t.quantity - t.received, t.unit) for t in st_.transits.values()), Decimal(0))
    gone = sum((_base(q, st_.lots[lot].unit) for (lot, _), q in st_.disposed.items()), Decimal(0))
    assert all(q >= 0 for q in st_.holdings.values())
    assert all(0 <= t.received <= t.quantity for t in st_.transits.values())
    assert held + moving + gone <= harvested, (held, moving, gone, harvested)


def _attempt(lg: Ledger, data: st.DataObject) -> None:
    st_ = lg.state
    action = data.draw(st.sampled_from(ACTIONS))
    lots = sorted(st_.lots)
    held = sorted((lot, p) for (lot, p), q in st_.holdings.items() if q > 0)
    fraction = data.draw(st.sampled_from(FRACTIONS))
    n = len(lg.log)
    if action == "harvest":
        unit = data.draw(st.sampled_from(["kg", "jin", "t"]))
        quantity = data.draw(st.sampled_from(["0.5", "10", "500", "1.25"]))
        lg.record(
            "harvest", COOP, outputs=[out(f"H{n}", quantity, unit)], detail={"origin": {"name": "地块"}}
        )
    elif action in ("inspect", "certify", "recall") and lots:
        lot = st_.lots[data.draw(st.sampled_from(lots))]
        quantity = _q(lot.quantity * fraction)
        if quantity is None:
            return
        party, detail = {
            "inspect": (STATION, data.draw(st.sampled_from([INSPECT_PASS, INSPECT_PASS, INSPECT_FAIL]))),
            "certify": (
                COOP,
                {
                    "certificate_no": "C",
                    "product_name": "菜",
                    "origin": "宁乡",
                    "commitments": ["self_tested"],
                    "contact": "办公室",
                },
            ),
            "recall": (REGULATOR, {"reason": "r", "instructions": "i"}),
        }[action]
        lg.record(action, party, inputs=[lg.inp(lot.code, quantity, lot.unit)], detail=detail)
    elif action == "receive" and st_.transits:
        t = st_.transits[data.draw(st.sampled_from(sorted(st_.transits)))]
        quantity = _q((t.quantity - t.received) * fraction)
        if quantity is None:
            return
        result = data.draw(st.sampled_from(["accepted", "accepted", "rejected"]))
        check = {"result": result, "certificate_no": "C"}
        detail = {"source": t.source, "ship_event": t.ship_event, "entry_check": check}
        lg.record("receive", t.destination, inputs=[lg.inp(t.lot, quantity, t.unit)], detail=detail)
    elif action in ("ship", "transform", "sell", "destroy") and held:
        lot_code, party = data.draw(st.sampled_from(held))
        lot = st_.lots[lot_code]
        quantity = _q(st_.holding(lot_code, party) * fraction)
        if quantity is None:
            return
        inputs = [lg.inp(lot_code, quantity, lot.unit)]
        if action == "ship":
            to = data.draw(st.sampled_from([p for p in (MARKET, SHOP, PROCESSOR) if p != party]))
            lg.record("ship", party, inputs=inputs, detail={"destination": to})
        elif action == "transform":
            k = data.draw(st.integers(min_value=1, max_value=3))
            share = _q(Decimal(quantity) * data.draw(st.sampled_from(FRACTIONS)) / k)
            if share is None:
                return
            outputs = [out(f"T{n}-{i}", share, lot.unit) for i in range(k)]
            lg.record("transform", party, inputs=inputs, outputs=outputs, detail={"type": "split"})
        elif action == "sell":
            price = {"amount": "3", "currency": "CNY", "unit": "kg", "stage": "retail"}
            lg.record("sell", party, inputs=inputs, detail={}, price=price)
        else:
            lg.record("destroy", party, inputs=inputs, detail={"reason": "spoiled"})


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_mass_balance_holds_over_random_histories(data: st.DataObject) -> None:
    lg = Ledger()
    register_all(lg)
    for _ in range(data.draw(st.integers(min_value=10, max_value=60))):
        with contextlib.suppress(RuleViolation):  # refusals are part of the history too
            _attempt(lg, data)
        _check_invariant(lg)
    accepted = len(lg.log) - 6  # less the six registrations
    event(f"lot events accepted: {'0-4' if accepted < 5 else '5-14' if accepted < 15 else '15+'}")
