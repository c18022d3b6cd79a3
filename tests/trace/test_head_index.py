"""The head index's format (trace/head_index.py) and its fold (trace/index_state.py), without SQL.

Golden bytes written out here by hand, round trips, every non-canonical variant and every bit flip
refused, Hypothesis for the parsers (they raise InvalidEvent only); and the fold against an
independent reference: the state computed from the strictly decoded events (`decode_entry`, the
typed model), its root by the map's definition (`map_root`).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.verifiable_map import map_root
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.head_index import (
    IndexEntry,
    KeyState,
    LotHead,
    decode_index_entry,
    encode_index_entry,
    is_index_entry,
    key_map_key,
    lot_map_key,
    value_hash,
)
from farmtrace.trace.index_state import MemoryIndex, fold_entries
from farmtrace.trace.model.details import KeyAddDetail, KeyRevokeDetail, PartyRegisterDetail
from farmtrace.trace.model.encoding import decode_entry

from .story import COOP, REGULATOR, START, key_wire, wire
from .test_replay import _entry, story_entries

ROOT = bytes(range(32))
GOLDEN_ENTRY = b'farmtrace/index/v1\n{"keys":3,"lots":57,"root":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","size":19,"time":1795761000}\n'


# --- the codec ----------------------------------------------------------------------------------


def test_golden_entry_round_trips():
    entry = IndexEntry(size=19, root=ROOT, lots=57, keys=3, time=1795761000)
    assert encode_index_entry(entry) == GOLDEN_ENTRY
    assert decode_index_entry(GOLDEN_ENTRY) == entry and decode_index_entry(GOLDEN_ENTRY).time == entry.time
    assert is_index_entry(GOLDEN_ENTRY) and not is_index_entry(b"farmtrace/entry/v1\n{}")


def test_golden_map_keys_and_values():
    assert lot_map_key("LOT-1") == hashlib.sha256(b"farmtrace/index/v1/lot\nLOT-1").digest()
    assert lot_map_key("白菜-1") == hashlib.sha256("farmtrace/index/v1/lot\n白菜-1".encode()).digest()
    assert (
        key_map_key("0123456789abcdef")
        == hashlib.sha256(b"farmtrace/index/v1/key\n0123456789abcdef").digest()
    )
    head = LotHead("白菜-1", 2, "ab" * 32)
    assert head.value() == ('{"count":2,"head":"' + "ab" * 32 + '","lot":"白菜-1"}').encode()
    assert value_hash(head.value()) == hashlib.sha256(head.value()).digest()
    active = KeyState("0123456789abcdef", COOP, bytes(32), 4, "2026-11-20T06:00:00+08:00")
    assert active.value() == (
        '{"key_id":"0123456789abcdef","party":"' + COOP + '","public_key":"'
        + "A" * 43 + '=","registered":4,"registered_at":"2026-11-20T06:00:00+08:00"}'
    ).encode()  # fmt: skip
    revoked = KeyState(
        *[getattr(active, f) for f in ("key_id", "party", "public_key", "registered", "registered_at")],
        9,
        "2026-11-21T06:00:00+08:00",
    )
    assert revoked.value().endswith(b'"revoked":9,"revoked_at":"2026-11-21T06:00:00+08:00"}')
    for value in (head, active, revoked):
        assert type(value).parse(value.value()) == value


@pytest.mark.parametrize(
    "bad",
    [
        GOLDEN_ENTRY[:-1],  # no final newline
        GOLDEN_ENTRY + b"\n",
        GOLDEN_ENTRY.replace(b'{"keys"', b'{ "keys"'),
        GOLDEN_ENTRY.replace(b'"size":19', b'"size":019'),
        GOLDEN_ENTRY.replace(b'"size":19', b'"size":19.0'),
        GOLDEN_ENTRY.replace(b'"size":19', b'"size":-1'),
        GOLDEN_ENTRY.replace(b'"size":19', b'"size":true'),
        GOLDEN_ENTRY.replace(b'"keys":3,"lots":57', b'"lots":57,"keys":3'),  # not sorted
        GOLDEN_ENTRY.replace(b'"keys":3,', b""),
        GOLDEN_ENTRY.replace(b"}\n", b',"extra":1}\n'),
        GOLDEN_ENTRY.replace(b"}\n", b',"size":19}\n'),  # a repeated member
        GOLDEN_ENTRY.replace(b',"time":1795761000', b""),  # no time
        GOLDEN_ENTRY.replace(b'"time":1795761000', b'"time":1795761000.5'),
        GOLDEN_ENTRY.replace(b'"time":1795761000', b'"time":"1795761000"'),
        GOLDEN_ENTRY.replace(b'"time":1795761000', b'"time":-1'),
        GOLDEN_ENTRY.replace(b'"time":1795761000', b'"time":9007199254740992'),  # 2^53
        GOLDEN_ENTRY.replace(b"Hh8=", b"Hh8"),  # unpadded base64
        GOLDEN_ENTRY.replace(b"Hh8=", b"Hh9="),  # non-canonical base64 (stray bits)
        GOLDEN_ENTRY.replace(b"AAECAw", b"AAEC"),  # 29 bytes
        b"farmtrace/index/v2\n" + GOLDEN_ENTRY[19:],
        b"farmtrace/index/v1\r\n" + GOLDEN_ENTRY[19:],
        b"farmtrace/index/v1\n[]\n",
        b"farmtrace/index/v1\n\xff\n",
        b"x" * 1000,
    ],
)
def test_non_canonical_entries_are_refused(bad):
    with pytest.raises(InvalidEvent) as err:
        decode_index_entry(bad)
    assert err.value.field.startswith("index")


def test_every_bit_flip_is_refused_or_changes_the_entry():
    good = decode_index_entry(GOLDEN_ENTRY)
    for i in range(len(GOLDEN_ENTRY) * 8):
        flipped = bytearray(GOLDEN_ENTRY)
        flipped[i // 8] ^= 1 << (i % 8)
        try:
            got = decode_index_entry(bytes(flipped))
        except InvalidEvent:
            continue
        assert (got, got.time) != (good, good.time), f"bit {i} flipped and the entry still reads the same"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.builds(lambda b: GOLDEN_ENTRY[:19] + b, st.binary(max_size=150)))
def test_decode_raises_only_its_own_error(data):
    try:
        entry = decode_index_entry(data)
    except InvalidEvent:
        return
    assert encode_index_entry(entry) == data


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**53 - 1),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**53 - 1),
    st.integers(0, 2**40),
    st.integers(0, 2**53 - 1),
)
def test_any_entry_round_trips(size, root, lots, keys, time):
    entry = IndexEntry(size=size, root=root, lots=lots, keys=keys, time=time)
    back = decode_index_entry(encode_index_entry(entry))
    assert back == entry and back.time == time


def test_equality_is_the_state_committed_not_the_time():
    """A state recomputed by the replay (time unknown, 0) equals the entry that committed it."""
    committed = decode_index_entry(GOLDEN_ENTRY)
    assert committed == IndexEntry(size=19, root=ROOT, lots=57, keys=3)
    assert committed != IndexEntry(size=19, root=ROOT, lots=57, keys=4, time=committed.time)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_value_parsers_raise_only_their_own_error(data):
    for kind in (LotHead, KeyState):
        try:
            value = kind.parse(data)
        except InvalidEvent:
            continue
        assert value.value() == data


def test_values_refuse_non_canonical_forms():
    head = LotHead("L-1", 1, "ab" * 32).value()
    for bad in (
        head.replace(b'"count":1', b'"count":01'),
        head.replace(b"ab", b"AB", 1),
        head + b" ",
        head.replace(b"}", b',"x":1}'),
    ):
        with pytest.raises(InvalidEvent):
            LotHead.parse(bad)
    key = KeyState("0123456789abcdef", "P", bytes(32), 1, "t", 2, "u").value()
    for bad in (
        key.replace(b',"revoked_at":"u"', b""),
        key.replace(b'"key_id":"0123456789abcdef"', b'"key_id":"0123"'),
    ):
        with pytest.raises(InvalidEvent):
            KeyState.parse(bad)


# --- the fold against an independent reference ---------------------------------------------------


def reference_values(entries: list[bytes]) -> tuple[dict[bytes, bytes], int, int]:
    """{map key: value} of entries (index entries skipped), from the strict typed model."""
    lots: dict[str, LotHead] = {}
    keys: dict[str, KeyState] = {}
    for index, entry in enumerate(entries):
        if is_index_entry(entry):
            continue
        signed = decode_entry(entry)
        event = signed.event
        named = {r.lot for r in event.inputs} | {o.lot for o in event.outputs}
        for lot in named:
            old = lots.get(lot)
            lots[lot] = LotHead(lot, (old.count if old else 0) + 1, signed.id)
        d = event.detail
        if isinstance(d, PartyRegisterDetail):
            for k in d.party.keys:
                keys[k.key_id] = KeyState(k.key_id, d.party.id, k.public_key, index, event.event_time)
        elif isinstance(d, KeyAddDetail):
            keys[d.key_id] = KeyState(d.key_id, d.party_id, d.public_key, index, event.event_time)
        elif isinstance(d, KeyRevokeDetail):
            old_key = keys[d.key_id]
            keys[d.key_id] = KeyState(
                old_key.key_id, old_key.party, old_key.public_key, old_key.registered,
                old_key.registered_at, index, event.event_time,
            )  # fmt: skip
    values = {lot_map_key(c): h.value() for c, h in lots.items()}
    values |= {key_map_key(k): s.value() for k, s in keys.items()}
    return values, len(lots), len(keys)


def reference_entry(entries: list[bytes]) -> IndexEntry:
    values, lots, keys = reference_values(entries)
    root = map_root({k: value_hash(v) for k, v in values.items()})
    return IndexEntry(size=len(entries), root=root, lots=lots, keys=keys)


def key_history() -> list[bytes]:
    """Story 1, then a second key for the cooperative and the revocation of its first."""
    _, entries = story_entries()
    new_key = key_wire(COOP, generation=1)
    later = START + timedelta(hours=3)
    add = wire("party.key_add", REGULATOR, time=later, detail={"party_id": COOP, **new_key})
    revoke = wire(
        "party.key_revoke", REGULATOR, time=later + timedelta(minutes=1),
        detail={"party_id": COOP, "key_id": key_wire(COOP)["key_id"], "reason": "lost phone"},
    )  # fmt: skip
    from farmtrace.trace.model.event import Event

    return [*entries, _entry(Event.from_wire(add)), _entry(Event.from_wire(revoke))]


def test_fold_of_story_one_matches_the_reference():
    entries = key_history()
    index = MemoryIndex()
    index.fold(0, entries)
    assert index.entry(len(entries)) == reference_entry(entries)
    values, _, _ = reference_values(entries)
    assert index.values == values
    coop_key = KeyState.parse(values[key_map_key(key_wire(COOP)["key_id"])])
    assert (coop_key.party, coop_key.revoked) == (COOP, len(entries) - 1)
    assert coop_key.public_key == base64.b64decode(key_wire(COOP)["public_key"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 8), min_size=1, max_size=12))
def test_fold_in_any_batches_with_index_entries_between_matches_the_reference(cuts):
    entries = key_history()
    index = MemoryIndex()
    log: list[bytes] = []
    at = 0
    for n in [*cuts, len(entries)]:
        batch = entries[at : at + n]
        if not batch:
            break
        index.fold(len(log), batch)
        log += batch
        at += n
        entry = index.entry(len(log))
        assert entry == reference_entry(log)
        log.append(encode_index_entry(entry))  # index entries change nothing
    assert reference_entry(log[:-1]) == decode_index_entry(log[-1])


def test_a_revocation_of_an_unknown_key_is_no_accepted_event():
    entries = key_history()
    with pytest.raises(KeyError):
        fold_entries(0, entries[-1:], lambda keys: {})
