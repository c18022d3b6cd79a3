"""The event model: exact round trips, strict refusals that name the field, robustness to junk."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent, TraceError
from farmtrace.trace.model.event import EVENT_FIELDS, Event
from farmtrace.trace.model.kinds import KINDS
from farmtrace.trace.model.reader import MAX_LOTS, parse_time

from .story import H1, sample_wires

SAMPLES = sample_wires()


def test_samples_cover_every_kind() -> None:
    assert set(SAMPLES) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind: str) -> None:
    wire = SAMPLES[kind]
    event = Event.from_wire(wire)
    assert event.kind == kind
    assert event.to_wire() == wire
    assert Event.from_wire(event.to_wire()) == event


def test_event_time() -> None:
    event = Event.from_wire(SAMPLES["harvest"])
    assert event.time.utcoffset() == timedelta(hours=8)
    assert event.time.isoformat() == "2026-11-20T06:00:00+08:00"
    assert parse_time("2026-11-19T22:00:00Z", field="t") == event.time
    assert parse_time("2026-11-19T17:30:00-04:30", field="t") == event.time


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T08:30:00",
        "2026-11-20T08:30:00.5+08:00",
        "2026-11-20 08:30:00+08:00",
        "2026-11-20t08:30:00+08:00",
        "2026-11-20T08:30:00z",
        "2026-11-20T08:30:00-00:00",
        "2026-11-20T08:30:00+15:00",
        "2026-11-20T08:30:00+08:60",
        "2026-02-30T08:30:00+08:00",
        "2026-11-20T24:00:00+08:00",
        "2026-11-20T23:59:60+08:00",
        "2026-11-20T08:30+08:00",
        "20261120T083000+0800",
        "２０２６-11-20T08:30:00+08:00",  # full-width digits
    ],
)
def test_event_time_refused(text: str) -> None:
    wire = SAMPLES["harvest"] | {"event_time": text}
    with pytest.raises(InvalidEvent) as info:
        Event.from_wire(wire)
    assert info.value.field == "event_time"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting (or, with value DELETE, removing) the item at a dotted/indexed path."""

    def mutate(obj: dict[str, Any]) -> None:
        parts = path.replace("]", "").replace("[", ".").split(".")
        target: Any = obj
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


DELETE = object()

REFUSALS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    # (sample kind, expected field, mutation, words in the message)
    ("harvest", "colour", _set("colour", "green"), "unknown field"),
    ("harvest", "kind", _set("kind", "plant"), "one of"),
    ("harvest", "kind", _set("kind", DELETE), "required"),
    ("harvest", "party", _set("party", "91350100M000100Y44"), "check character"),
    ("harvest", "key_id", _set("key_id", "ABCDEF0123456789"), "16 lowercase hex"),
    ("harvest", "location.name", _set("location.name", ""), "empty"),
    ("harvest", "location.name", _set("location.name", " 宁乡"), "white space"),
    ("harvest", "location.name", _set("location.name", "x" * 201), "200"),
    ("harvest", "location.gln", _set("location.gln", "6901234000004"), "check digit"),
    ("harvest", "location.geo", _set("location.geo", "95,113"), "lat,lon"),
    ("harvest", "location.address", _set("location.address", None), "null"),
    ("harvest", "outputs[0].quantity", _set("outputs[0].quantity", "1e3"), "decimal"),
    ("harvest", "outputs[0].quantity", _set("outputs[0].quantity", 500), "decimal string"),
    ("harvest", "outputs[0].quantity", _set("outputs[0].quantity", "0"), "greater than zero"),
    ("harvest", "outputs[0].unit", _set("outputs[0].unit", "lb"), "unit"),
    ("harvest", "outputs[0].lot", _set("outputs[0].lot", "NX CAB"), "lot code"),
    ("harvest", "outputs[1].lot", _set("outputs[1].lot", "NX-CAB-001"), "twice"),
    ("harvest", "outputs[0].product.gtin", _set("outputs[0].product.gtin", "6901234567891"), "check digit"),
    ("harvest", "outputs[0].product.name_zh", _set("outputs[0].product.name_zh", "包\x00菜"), "control"),
    ("harvest", "outputs[0].product.name_zh", _set("outputs[0].product.name_zh", "\ud800"), "surrogate"),
    ("harvest", "outputs", _set("outputs", []), "at least 1"),
    (
        "harvest",
        "inputs",
        _set("inputs", [{"lot": "X", "quantity": "1", "unit": "kg", "follows": [H1]}]),
        "no inputs",
    ),
    ("harvest", "detail.origin", _set("detail.origin", DELETE), "required"),
    ("harvest", "detail.soil", _set("detail.soil", "red"), "unknown"),
    ("harvest", "price.amount", _set("price.amount", "1.234"), "2 fractional"),
    ("harvest", "price.currency", _set("price.currency", "USD"), "CNY"),
    ("harvest", "price.stage", _set("price.stage", "farm"), "one of"),
    ("harvest", "documents", _set("documents", []), "omit"),
    ("harvest", "documents[0].type", _set("documents[0].type", "Invoice"), "token"),
    ("harvest", "documents[0].url", _set("documents[0].url", "javascript:alert(1)"), "URL"),
    ("harvest", "detail", _set("detail", []), "object"),
    ("inspect", "inputs[0].follows", _set("inputs[0].follows", []), "at least 1"),
    ("inspect", "inputs[0].follows[0]", _set("inputs[0].follows[0]", "abc"), "64 lowercase hex"),
    ("inspect", "inputs", _set("inputs", []), "exactly 1"),
    ("inspect", "detail.result", _set("detail.result", "ok"), "pass, fail"),
    ("inspect", "detail.value", _set("detail.value", "-1"), "negative"),
    (
        "inspect",
        "price",
        _set("price", {"amount": "1", "currency": "CNY", "unit": "kg", "stage": "retail"}),
        "no price",
    ),
    ("certify", "detail.commitments", _set("detail.commitments", []), "at least 1"),
    ("certify", "detail.commitments[1]", _set("detail.commitments[1]", "no_banned_substances"), "twice"),
    ("certify", "detail.commitments[0]", _set("detail.commitments[0]", "organic"), "one of"),
    ("transform", "detail.type", _set("detail.type", "grow"), "one of"),
    ("transform", "outputs[0].lot", _set("outputs[0].lot", "NX-CAB-001"), "also an input"),
    ("transform", "outputs", _set("outputs", []), "at least 1"),
    ("ship", "detail.destination", _set("detail.destination", "nobody"), "party id"),
    ("ship", "outputs", _set("outputs", SAMPLES["harvest"]["outputs"][1:]), "no outputs"),
    ("ship", "sensors[0].unit", _set("sensors[0].unit", "%RH"), "measured in Cel"),
    ("ship", "sensors[0].time", _set("sensors[0].time", "yesterday"), "time"),
    ("ship", "sensors[1].value", _set("sensors[1].value", "92.00"), "write '92'"),
    ("receive", "detail.entry_check.result", _set("detail.entry_check.result", "ok"), "accepted, rejected"),
    (
        "receive",
        "detail.entry_check.inspection_event",
        _set("detail.entry_check.inspection_event", "x"),
        "hex",
    ),
    ("receive", "detail.ship_event", _set("detail.ship_event", DELETE), "required"),
    ("sell", "price", _set("price", DELETE), "must state its price"),
    ("sell", "price.stage", _set("price.stage", "production"), "retail or wholesale"),
    ("sell", "detail.buyer", _set("detail.buyer", "x"), "unknown"),
    ("recall", "detail.instructions", _set("detail.instructions", "a\tb"), "control"),
    ("recall", "inputs", _set("inputs", []), "exactly 1"),
    ("destroy", "detail.holder", _set("detail.holder", "x"), "party id"),
    ("party.register", "detail.party.id_type", _set("detail.party.id_type", "uscc"), "farmer_reg"),
    ("party.register", "detail.party.roles", _set("detail.party.roles", []), "at least 1"),
    ("party.register", "detail.party.roles[0]", _set("detail.party.roles[0]", "king"), "one of"),
    (
        "party.register",
        "detail.party.contact_commitment",
        _set("detail.party.contact_commitment", "138"),
        "SHA-256",
    ),
    ("party.register", "detail.party.phone", _set("detail.party.phone", "13800000000"), "unknown"),
    (
        "party.register",
        "detail.party.keys[0].key_id",
        _set("detail.party.keys[0].key_id", "0" * 16),
        "should be",
    ),
    (
        "party.register",
        "detail.party.keys[0].public_key",
        _set("detail.party.keys[0].public_key", "AAAA"),
        "32-byte",
    ),
    (
        "party.register",
        "inputs",
        _set("inputs", [{"lot": "X", "quantity": "1", "unit": "kg", "follows": [H1]}]),
        "no",
    ),
    ("party.key_add", "detail.public_key", _set("detail.public_key", "not base64!"), "base64"),
    ("party.key_add", "detail.key_id", _set("detail.key_id", "0123456789abcdef"), "should be"),
    ("party.suspend", "sensors", _set("sensors", [{"type": "humidity"}]), "no sensor"),
]


@pytest.mark.parametrize(
    ("kind", "field", "mutate", "words"), REFUSALS, ids=[f"{r[0]}:{r[1]}" for r in REFUSALS]
)
def test_refusal_names_the_field(
    kind: str, field: str, mutate: Callable[[dict[str, Any]], None], words: str
) -> None:
    wire = copy.deepcopy(SAMPLES[kind])
    mutate(wire)
    with pytest.raises(InvalidEvent) as info:
        Event.from_wire(wire)
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)
    assert field in str(info.value)


def test_base64_must_be_canonical() -> None:
    wire = copy.deepcopy(SAMPLES["party.key_add"])
    key = wire["detail"]["public_key"]
    # Same 32 bytes, but the unused low bits of the last base64 character set.
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tweaked = key[:-2] + last[last.index(key[-2]) + 1] + "="
    wire["detail"]["public_key"] = tweaked
    with pytest.raises(InvalidEvent, match="canonical base64"):
        Event.from_wire(wire)


def test_merge_and_split_shapes() -> None:
    split = copy.deepcopy(SAMPLES["transform"])
    split["inputs"].append({"lot": "OTHER", "quantity": "1", "unit": "kg", "follows": [H1]})
    with pytest.raises(InvalidEvent, match="a split transform has exactly 1 inputs") as info:
        Event.from_wire(split)
    assert info.value.field == "inputs"
    merge = copy.deepcopy(split) | {"detail": {"type": "merge"}}
    with pytest.raises(InvalidEvent, match="a merge transform has exactly 1 outputs"):
        Event.from_wire(merge)
    merge["outputs"] = merge["outputs"][:1]
    assert Event.from_wire(merge).inputs[1].lot == "OTHER"


def test_size_limits() -> None:
    wire = copy.deepcopy(SAMPLES["harvest"])
    wire["outputs"] = [wire["outputs"][0] | {"lot": f"L{i}"} for i in range(MAX_LOTS + 1)]
    with pytest.raises(InvalidEvent, match="at most 1000") as info:
        Event.from_wire(wire)
    assert info.value.field == "outputs"
    wire["outputs"] = wire["outputs"][:MAX_LOTS]
    for o in wire["outputs"]:
        o["product"] = o["product"] | {"variety": "长" * 200, "category": "类" * 200, "name_en": "n" * 200}
    with pytest.raises(InvalidEvent, match="bytes, more than the limit") as info:
        Event.from_wire(wire)
    assert info.value.field == "event"


def test_the_largest_event_fills_an_entry_bundle_slot_exactly() -> None:
    """An event's entry must fit an entry bundle's 16-bit length (C2SP tlog-tiles): the event limit is
    65,535 bytes less the entry's framing, so the model refuses (422, per event) what the log could
    not store, instead of the log refusing a whole batch later."""
    from farmtrace.ledger.entry_bundles import MAX_ENTRY_SIZE, check_entry_size
    from farmtrace.trace.model.encoding import encode_entry, encode_event, split_entry
    from farmtrace.trace.model.event import MAX_EVENT_BYTES

    wire = copy.deepcopy(SAMPLES["harvest"])
    size = len(encode_event(Event.from_wire(wire)))
    note = wire["detail"].get("note", "")
    # Grow a free-text field one byte at a time up to the limit, in outputs' product names.
    wire["outputs"] = [wire["outputs"][0] | {"lot": f"L{i}"} for i in range(200)]
    base = len(encode_event(Event.from_wire(wire)))
    assert base < MAX_EVENT_BYTES and size < base and note is not None
    pad = MAX_EVENT_BYTES - base
    for o in wire["outputs"]:
        take = min(pad, 200 - len(o["product"].get("name_en", "")))
        if take > 0:
            o["product"] = o["product"] | {"name_en": o["product"].get("name_en", "") + "n" * take}
            pad -= take
    assert pad == 0
    canonical = encode_event(Event.from_wire(wire))
    assert len(canonical) == MAX_EVENT_BYTES
    entry = encode_entry(canonical, bytes(64))
    assert len(entry) == MAX_ENTRY_SIZE
    check_entry_size(entry)
    assert split_entry(entry) == (canonical, bytes(64))
    roomy = next(o for o in wire["outputs"] if len(o["product"]["name_en"]) < 200)
    roomy["product"]["name_en"] += "n"
    with pytest.raises(InvalidEvent, match=f"more than the limit of {MAX_EVENT_BYTES}") as info:
        Event.from_wire(wire)
    assert info.value.field == "event"


def test_not_an_object() -> None:
    for junk in [None, [], "event", 1]:
        with pytest.raises(InvalidEvent) as info:
            Event.from_wire(junk)  # type: ignore[arg-type]
        assert info.value.field == "event"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = list(EVENT_FIELDS)  # the golden literal is in test_encoding.py


@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), JSON, max_size=10))
def test_arbitrary_dicts_raise_only_trace_errors(obj: dict[str, Any]) -> None:
    try:
        event = Event.from_wire(obj)
    except TraceError:
        return
    assert event.to_wire() == obj


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [path] + [p for k, v in obj.items() for p in _leaves(v, (*path, k))]
    if isinstance(obj, list):
        return [path] + [p for i, v in enumerate(obj) for p in _leaves(v, (*path, i))]
    return [path]


@settings(max_examples=300)
@given(st.sampled_from(KINDS), st.data())
def test_mutated_samples_raise_only_trace_errors(kind: str, data: st.DataObject) -> None:
    """Any change is refused with a TraceError or gives a faithful parse (to_wire() gives the form
    back), which encoding.decode_event's fast path relies on."""
    wire = copy.deepcopy(SAMPLES[kind])
    path = data.draw(st.sampled_from(_leaves(wire)[1:]))
    target = wire
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = data.draw(JSON)
    try:
        event = Event.from_wire(wire)
    except TraceError:
        return
    assert event.to_wire() == wire


def test_an_output_names_its_lot_before_its_product() -> None:
    # Which error is named first does not depend on whether the product was seen before.
    wire = copy.deepcopy(SAMPLES["harvest"])
    Event.from_wire(copy.deepcopy(wire))  # its product is now known
    for product_name in (wire["outputs"][0]["product"]["name_zh"], ""):
        bad = copy.deepcopy(wire)
        bad["outputs"][0]["lot"] = "not a lot code!"
        bad["outputs"][0]["product"]["name_zh"] = product_name
        with pytest.raises(InvalidEvent) as info:
            Event.from_wire(bad)
        assert info.value.field == "outputs[0].lot"
