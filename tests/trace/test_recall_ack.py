"""recall_ack (召回确认): its rules through MemoryState and the SQL repository, and its golden bytes."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.trace.errors import RuleViolation
from farmtrace.trace.model.encoding import decode_entry, encode_entry, encode_event, event_id, sign_event
from farmtrace.trace.model.event import Event

from .story import COOP, MARKET, PROCESSOR, REGULATOR, SHOP, Ledger, story_one
from .test_encoding import KEY_ID, PUBLIC, SECRET

RECALL = {"reason": "农残超标", "instructions": "请立即停止销售"}


def _recalled(lot: str = "NX-CAB-001") -> tuple[Ledger, str]:
    lg = story_one(until="repack")
    rid = lg.record("recall", REGULATOR, inputs=[lg.inp(lot, "500")], detail=RECALL)
    return lg, rid


def _ack(lg: Ledger, party: str, recall: str, lot: str, **more: str) -> str:
    return lg.record("recall_ack", party, detail={"recall_event": recall, "lot": lot, **more})


def _refused(rule: str, attempt, field: str) -> None:
    with pytest.raises(RuleViolation) as info:
        attempt()
    assert (info.value.rule, info.value.field) == (rule, field), str(info.value)


def test_holders_current_and_past_acknowledge() -> None:
    lg, rid = _recalled()
    before = {c: (s.head, s.recalled) for c, s in lg.state.lots.items()}
    # The shop holds bags made from the recalled lot; the market holds the split lots; the
    # cooperative shipped all it had (a past holder).
    _ack(lg, SHOP, rid, "S-CAB-01-02", note="已下架 9 袋")
    _ack(lg, MARKET, rid, "M-CAB-001-03")
    _ack(lg, COOP, rid, "NX-CAB-001")
    # An acknowledgement moves no lot: heads and flags as they were.
    assert {c: (s.head, s.recalled) for c, s in lg.state.lots.items()} == before


def test_refusals_name_the_field() -> None:
    lg, rid = _recalled()
    inspect_id = lg.ids["inspect"]
    _refused("recall_unknown", lambda: _ack(lg, SHOP, inspect_id, "S-CAB-01-02"), "detail.recall_event")
    _refused("recall_unknown", lambda: _ack(lg, SHOP, "f" * 64, "S-CAB-01-02"), "detail.recall_event")
    _refused("lot_unknown", lambda: _ack(lg, SHOP, rid, "NO-SUCH-LOT"), "detail.lot")
    # The processor never held any of it.
    _refused("not_affected", lambda: _ack(lg, PROCESSOR, rid, "S-CAB-01-02"), "detail.lot")
    # The market never held the shop's bags.
    _refused("not_affected", lambda: _ack(lg, MARKET, rid, "S-CAB-01-02"), "detail.lot")


def test_a_lot_outside_the_recall_is_refused() -> None:
    lg = story_one(until="repack")
    # A recall of one split lot reaches neither its sibling nor its parent.
    rid = lg.record("recall", REGULATOR, inputs=[lg.inp("M-CAB-001-05", "10")], detail=RECALL)
    _refused("not_affected", lambda: _ack(lg, MARKET, rid, "M-CAB-001-06"), "detail.lot")
    _refused("not_affected", lambda: _ack(lg, MARKET, rid, "NX-CAB-001"), "detail.lot")
    _ack(lg, MARKET, rid, "M-CAB-001-05")


# The golden vector (docs/recall-notices.md): written by hand, hashed and signed by hashlib and
# `cryptography` here, never produced by the encoder under test.
GOLDEN_WIRE = {
    "kind": "recall_ack",
    "event_time": "2026-11-21T09:00:00+08:00",
    "party": "91350100M000100Y43",
    "key_id": KEY_ID,
    "location": {"name": "马王堆市场"},
    "inputs": [],
    "outputs": [],
    "detail": {"recall_event": "a" * 64, "lot": "M-001", "note": "已下架"},
}
GOLDEN_CANONICAL = (
    '{"detail":{"lot":"M-001","note":"已下架","recall_event":"' + "a" * 64 + '"},'
    '"event_time":"2026-11-21T09:00:00+08:00","inputs":[],"key_id":"21fe31dfa154a261","kind":"recall_ack",'
    '"location":{"name":"马王堆市场"},"outputs":[],"party":"91350100M000100Y43","v":1}'
).encode()
GOLDEN_ID = "cb465d0e613b48271859ea2a754dc8f43e996bc2ae0db0374f7301638ef45b8f"
GOLDEN_SIG_B64 = "1tj3gR8TykL2AJq6ijaWx0CW/spPBi5mdrm6pcc6nI8j62u87HYNbf1SD4PykpfGlQN0pCj5USBAnxVuivHjDA=="


def test_golden_recall_ack() -> None:
    event = Event.from_wire(GOLDEN_WIRE)
    canonical = encode_event(event)
    assert canonical == GOLDEN_CANONICAL
    assert json.dumps(
        {"v": 1, **GOLDEN_WIRE}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode() == (GOLDEN_CANONICAL)
    assert event_id(canonical) == GOLDEN_ID == hashlib.sha256(GOLDEN_CANONICAL).hexdigest()
    signed = sign_event(event, Ed25519PrivateKey.from_private_bytes(SECRET))
    entry = encode_entry(signed.canonical, signed.signature)
    assert entry == b"farmtrace/entry/v1\n" + GOLDEN_CANONICAL + b"\n" + GOLDEN_SIG_B64.encode() + b"\n"
    assert decode_entry(entry).event == event
    Ed25519PrivateKey.from_private_bytes(SECRET).public_key().verify(
        signed.signature, b"farmtrace/event/v1\n" + GOLDEN_CANONICAL
    )
    assert Ed25519PrivateKey.from_private_bytes(SECRET).public_key().public_bytes_raw() == PUBLIC
