"""trace/model/kinds.py: the kind registry, pinned to the rules it replaced.

The tables below are literals on purpose: they are what the rules said kind by kind before the
registry existed (lists of kinds in rules.py and events.py), so a change to a spec must show here.
"""

from __future__ import annotations

from farmtrace.trace.model.details import Detail
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.kinds import DETAIL_TYPES, KIND_REGISTRY, KINDS, LOT_KINDS, PARTY_KINDS
from farmtrace.trace.model.reader import MAX_LOTS
from farmtrace.trace.rules import ROLES_FOR

from .story import sample_wires

TRADERS = {"producer", "processor", "wholesaler", "retailer"}


def _kinds(flag: str) -> dict[str, object]:
    return {k: getattr(s, flag) for k, s in KIND_REGISTRY.items() if getattr(s, flag)}


def test_kinds_in_order() -> None:
    assert LOT_KINDS == (
        "harvest",
        "inspect",
        "certify",
        "transform",
        "ship",
        "receive",
        "sell",
        "quarantine",
        "recall",
        "destroy",
        "recall_ack",
        "label_activate",
    )
    assert PARTY_KINDS == ("party.register", "party.key_add", "party.key_revoke", "party.suspend")
    assert KINDS == LOT_KINDS + PARTY_KINDS


def test_each_spec_names_its_kind_and_a_detail_that_parses_its_sample() -> None:
    for kind, spec in KIND_REGISTRY.items():
        assert spec.kind == kind and issubclass(spec.detail, Detail) and DETAIL_TYPES[kind] is spec.detail
        assert type(Event.from_wire(sample_wires()[kind]).detail) is spec.detail


def test_roles() -> None:
    assert {k: (None if r is None else set(r)) for k, r in ROLES_FOR.items()} == {
        "harvest": {"producer"},
        "certify": {"producer"},
        "inspect": {"inspector"},
        "transform": TRADERS,
        "ship": TRADERS,
        "receive": {"processor", "wholesaler", "retailer"},
        "sell": {"wholesaler", "retailer"},
        "quarantine": {"veterinarian"},
        "recall": {"regulator"},
        "destroy": None,
        "recall_ack": None,
        "label_activate": TRADERS,
        "party.register": {"regulator"},
        "party.key_add": {"regulator"},
        "party.key_revoke": {"regulator"},
        "party.suspend": {"regulator"},
    }


def test_shapes() -> None:
    lots = (1, MAX_LOTS, 0, 0)
    assert {k: s.shape for k, s in KIND_REGISTRY.items()} == {
        "harvest": (0, 0, 1, MAX_LOTS),
        "inspect": (1, 1, 0, 0),
        "certify": (1, 1, 0, 0),
        "transform": (1, MAX_LOTS, 1, MAX_LOTS),
        "ship": lots,
        "receive": lots,
        "sell": lots,
        "quarantine": (1, 1, 0, 0),
        "recall": (1, 1, 0, 0),
        "destroy": lots,
        "recall_ack": (0, 0, 0, 0),
        "label_activate": (0, 0, 0, 0),
    } | dict.fromkeys(PARTY_KINDS, (0, 0, 0, 0))


def test_rule_flags() -> None:
    assert set(_kinds("priced")) == {"harvest", "ship", "receive", "sell"}
    assert set(_kinds("custody")) == {"certify", "transform", "ship", "sell", "destroy"}
    assert set(_kinds("bounded")) == {"inspect", "certify", "quarantine", "recall"}
    assert _kinds("uses") == {"ship": "ship", "sell": "sell", "destroy": "destroy", "transform": "use"}
    assert set(_kinds("refuses_blocked")) == {"ship", "transform", "sell", "certify"}
    assert _kinds("disposal") == {"sell": "sold", "destroy": "destroyed"}


def test_label_keys() -> None:
    assert {k: s.label_key for k, s in KIND_REGISTRY.items()} == {k: f"kind.{k}" for k in LOT_KINDS} | {
        k: f"console.kind.{k}" for k in PARTY_KINDS
    }
