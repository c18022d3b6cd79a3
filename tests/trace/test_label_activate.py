"""label_activate: pre-printed label rolls (trace/label_rolls.py), the rules (trace/rules/labels.py)
through MemoryState and the SQL write path, replay, and the kind's golden bytes."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.trace.epcis import to_epcis_event
from farmtrace.trace.errors import InvalidEvent, RuleViolation
from farmtrace.trace.label_rolls import MAX_LABELS, expand_range, format_range, label_uri
from farmtrace.trace.model.encoding import decode_entry, encode_entry, encode_event, event_id, sign_event
from farmtrace.trace.model.event import Event
from farmtrace.trace.store.label_bindings import label_binding

from .story import BAG, COOP, MARKET, SHOP, STATION, Ledger, story_one
from .test_encoding import KEY_ID, PUBLIC, SECRET
from .test_replay import _entry, _genesis, record, run_replay, service_at

GTIN = "0" + BAG["gtin"]  # the bags' GTIN-13 as GTIN-14


def _activate(lg: Ledger, party: str, lot: str, serials: list[str], gtin: str = BAG["gtin"]) -> str:
    return lg.record("label_activate", party, detail={"lot": lot, "gtin": gtin, "serials": serials})


def _refused(rule: str, attempt, field: str) -> None:
    with pytest.raises(RuleViolation) as info:
        attempt()
    assert (info.value.rule, info.value.field) == (rule, field), str(info.value)


def test_ranges_expand_and_format_back() -> None:
    assert expand_range("R7-0008..0011") == ("R7-0008", "R7-0009", "R7-0010", "R7-0011")
    assert format_range(("R7-0008", "R7-0009", "R7-0010", "R7-0011")) == "R7-0008..0011"
    assert format_range(("R7-0008", "R7-0010")) is None
    assert len(expand_range(f"A0001..{MAX_LABELS:04d}")) == MAX_LABELS
    for bad, says in [
        ("R7-1..02", "same width"),
        ("R7-09..01", "before the first"),
        (f"X0000..{MAX_LABELS:04d}", f"at most {MAX_LABELS}"),
        ("R7 01..02", "a range is"),
        ("ABCDEFGHIJKLMNOPQRS01..02", "label serial"),
    ]:
        with pytest.raises(InvalidEvent, match=says):
            expand_range(bad)
    assert label_uri("https://t.example/", gtin=BAG["gtin"], serial="R7-0001") == (
        f"https://t.example/01/{GTIN}/21/R7-0001"
    )


def test_the_detail_refuses_bad_serials_by_field() -> None:
    base = {"lot": "S-1", "gtin": BAG["gtin"]}
    for serials, field in [
        (["ok", "bad serial"], "detail.serials[1]"),
        (["A", "A"], "detail.serials[1]"),
        ([], "detail.serials"),
        (["x" * 21], "detail.serials[0]"),
        ([f"S{i}" for i in range(MAX_LABELS + 1)], "detail.serials"),
    ]:
        wire = _golden() | {"detail": base | {"serials": serials}}
        with pytest.raises(InvalidEvent) as info:
            Event.from_wire(wire)
        assert info.value.field == field, str(info.value)
    with pytest.raises(InvalidEvent) as info:
        Event.from_wire(_golden() | {"detail": base | {"gtin": "6901234567891", "serials": ["A"]}})
    assert info.value.field == "detail.gtin"


def test_maker_and_holder_bind_once_and_moves_no_lot() -> None:
    lg = story_one(until="repack")
    before = {c: s.head for c, s in lg.state.lots.items()}
    _activate(lg, SHOP, "S-CAB-01-02", ["R7-0001", "R7-0002"])  # the shop made the bags
    _activate(lg, MARKET, "M-CAB-001-03", ["R7-0003"], gtin="06901234567892")  # a holder; no GTIN on it
    assert lg.state.label_lot(GTIN, "R7-0001") == "S-CAB-01-02"
    assert lg.state.label_lot(GTIN, "R7-0003") == "M-CAB-001-03"
    assert {c: s.head for c, s in lg.state.lots.items()} == before


def test_refusals_name_the_field() -> None:
    lg = story_one(until="repack")
    _activate(lg, SHOP, "S-CAB-01-02", ["R7-0001"])
    _refused("label_bound", lambda: _activate(lg, SHOP, "S-CAB-01-03", ["R7-0009", "R7-0001"]), "detail.serials[1]")
    _refused("label_bound", lambda: _activate(lg, SHOP, "S-CAB-01-02", ["R7-0001"]), "detail.serials[0]")
    _refused("lot_unknown", lambda: _activate(lg, SHOP, "NO-SUCH", ["R7-0002"]), "detail.lot")
    # The cooperative made NX-CAB-001 and may bind to it, but not to the shop's bags it never held.
    _refused("custody", lambda: _activate(lg, COOP, "S-CAB-01-02", ["R7-0002"]), "detail.lot")
    _refused("label_gtin", lambda: _activate(lg, SHOP, "S-CAB-01-04", ["R7-0002"], gtin="6901234567885"), "detail.gtin")
    _refused("role", lambda: _activate(lg, STATION, "S-CAB-01-04", ["R7-0002"]), "kind")
    # Nothing half-stored: the refused event's first label is still free.
    assert lg.state.label_lot(GTIN, "R7-0009") is None


def test_sql_write_path_and_replay(database_url) -> None:
    lg = story_one(until="repack")
    eid = _activate(lg, SHOP, "S-CAB-01-02", ["R7-0001", "R7-0002"])
    entries = [_genesis(), *(_entry(e) for e, _ in lg.log)]
    with service_at(database_url) as service:
        record(service, entries)
        with service.engine.connect() as conn:
            found = label_binding(conn, GTIN, "R7-0002")
        assert (found.lot, found.event_id) == ("S-CAB-01-02", eid)
        # A second binding of the same label is refused on the SQL path too, and stores nothing.
        again = Event.from_wire(
            json.loads(json.dumps(lg.make("label_activate", SHOP, detail={
                "lot": "S-CAB-01-03", "gtin": BAG["gtin"], "serials": ["R7-0003", "R7-0002"]}).to_wire()))
        )  # fmt: skip
        (result,) = service.record_many([_entry(again)])
        assert isinstance(result, RuleViolation) and result.rule == "label_bound", result
        with service.engine.connect() as conn:
            assert label_binding(conn, GTIN, "R7-0003") is None
        assert run_replay(service).summary().startswith("OK:")


def test_no_epcis_form() -> None:
    event = Event.from_wire(GOLDEN_WIRE)
    assert to_epcis_event(event, event_id="a" * 64, recorded_at=None, base="https://t.example/voc") is None


# The golden vector (docs/labels-anti-copy.md): written by hand, hashed and signed by hashlib and
# `cryptography` here, never produced by the encoder under test.
GOLDEN_WIRE = {
    "kind": "label_activate",
    "event_time": "2026-11-21T09:00:00+08:00",
    "party": "91350100M000100Y43",
    "key_id": KEY_ID,
    "location": {"name": "包装车间"},
    "inputs": [],
    "outputs": [],
    "detail": {"lot": "S-001", "gtin": "06901234567892", "serials": ["R7-0001", "R7-0002"]},
}
GOLDEN_CANONICAL = (
    '{"detail":{"gtin":"06901234567892","lot":"S-001","serials":["R7-0001","R7-0002"]},'
    '"event_time":"2026-11-21T09:00:00+08:00","inputs":[],"key_id":"21fe31dfa154a261","kind":"label_activate",'
    '"location":{"name":"包装车间"},"outputs":[],"party":"91350100M000100Y43","v":1}'
).encode()
GOLDEN_ID = "d6d08b1b4c75d606d7566426655ac7b51dbfdc68f00708eecb9bfd274779d4fd"
GOLDEN_SIG_B64 = "Xi8y4ezBczm4tbfaO+5wr6oCsT99dl7HMIuE9ZGI+dBSmmohTCZDZ2dP8jJehi5706KlSrMqKbxpHYy2ybQDDw=="


def _golden() -> dict:
    return json.loads(json.dumps(GOLDEN_WIRE))


def test_golden_label_activate() -> None:
    event = Event.from_wire(GOLDEN_WIRE)
    canonical = encode_event(event)
    assert canonical == GOLDEN_CANONICAL
    assert json.dumps({"v": 1, **GOLDEN_WIRE}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == (
        GOLDEN_CANONICAL
    )
    assert event_id(canonical) == GOLDEN_ID == hashlib.sha256(GOLDEN_CANONICAL).hexdigest()
    signed = sign_event(event, Ed25519PrivateKey.from_private_bytes(SECRET))
    entry = encode_entry(signed.canonical, signed.signature)
    assert entry == b"farmtrace/entry/v1\n" + GOLDEN_CANONICAL + b"\n" + GOLDEN_SIG_B64.encode() + b"\n"
    assert decode_entry(entry).event == event
    Ed25519PrivateKey.from_private_bytes(SECRET).public_key().verify(
        signed.signature, b"farmtrace/event/v1\n" + GOLDEN_CANONICAL
    )
    assert Ed25519PrivateKey.from_private_bytes(SECRET).public_key().public_bytes_raw() == PUBLIC
