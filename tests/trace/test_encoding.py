"""Canonical event bytes, event ids, signatures and ledger entries: golden vectors and refusals."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent, SignatureRefused, TraceError
from farmtrace.trace.model.encoding import (
    SignedEvent,
    decode_entry,
    decode_event,
    encode_entry,
    encode_event,
    event_id,
    sign_event,
    signing_message,
    split_entry,
    verify_signed_event,
)
from farmtrace.trace.model.event import EVENT_FIELDS, Event
from farmtrace.trace.model.kinds import KINDS

from .story import sample_wires

# RFC 8032 §7.1, TEST 1: a published Ed25519 key pair, so the vector can be checked with any library.
SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
KEY_ID = "21fe31dfa154a261"  # hex of SHA-256(PUBLIC)[:8]

GOLDEN_WIRE = {
    "kind": "harvest",
    "event_time": "2026-11-20T08:30:00+08:00",
    "party": "91350100M000100Y43",
    "key_id": KEY_ID,
    "location": {"name": "宁乡合作社"},
    "inputs": [],
    "outputs": [{"lot": "NX-001", "quantity": "500", "unit": "kg", "product": {"name_zh": "包菜"}}],
    "detail": {"origin": {"name": "3号地"}},
}
# Checked by hand: keys sorted by code unit (detail < event_time < inputs < key_id < kind < ...), no
# white space, non-ASCII written as raw UTF-8 (RFC 8785 §3.2.2.2), "v": 1 included.
GOLDEN_CANONICAL = (
    '{"detail":{"origin":{"name":"3号地"}},"event_time":"2026-11-20T08:30:00+08:00","inputs":[],'
    '"key_id":"21fe31dfa154a261","kind":"harvest","location":{"name":"宁乡合作社"},'
    '"outputs":[{"lot":"NX-001","product":{"name_zh":"包菜"},"quantity":"500","unit":"kg"}],'
    '"party":"91350100M000100Y43","v":1}'
).encode()
GOLDEN_ID = "7bae5fc259dc86a29f0c2602cddde46e6bf6f3062303e187d7c8f07b37443f06"
# Ed25519 is deterministic (RFC 8032 §5.1.6), so the signature is a vector too.
GOLDEN_SIG = bytes.fromhex(
    "8ef315dfb2ca951e4cf3f28ce2882c6b0f453edc5e935cc134ec5931bb8b91d7"
    "6257b113cafd8c7d2f56fbf6da7baff118f5965ea9f9ddd00ba6f72d0a695205"
)
GOLDEN_ENTRY = (
    b"farmtrace/entry/v1\n"
    + GOLDEN_CANONICAL
    + b"\njvMV37LKlR5M8/KM4ogsaw9FPtxek1zBNOxZMbuLkddiV7ETyv2MfS9W+/bae6/xGPWWXqn53dALpvctCmlSBQ==\n"
)


def _golden() -> Event:
    return Event.from_wire(GOLDEN_WIRE)


def test_key_id_of_rfc8032_key() -> None:
    assert hashlib.sha256(PUBLIC).hexdigest()[:16] == KEY_ID


def test_golden_canonical_bytes_and_id() -> None:
    canonical = encode_event(_golden())
    assert canonical == GOLDEN_CANONICAL
    # A second witness: for our value types (strings, lists, objects, one small integer) RFC 8785 is
    # sorted-key compact JSON in UTF-8.
    plain = json.dumps({"v": 1, **GOLDEN_WIRE}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert plain.encode() == GOLDEN_CANONICAL
    assert event_id(canonical) == GOLDEN_ID == hashlib.sha256(GOLDEN_CANONICAL).hexdigest()


def test_golden_signature_and_entry() -> None:
    signed = sign_event(_golden(), Ed25519PrivateKey.from_private_bytes(SECRET))
    assert signed == SignedEvent(GOLDEN_CANONICAL, GOLDEN_SIG, _golden(), GOLDEN_ID)
    assert signing_message(GOLDEN_CANONICAL) == b"farmtrace/event/v1\n" + GOLDEN_CANONICAL
    assert encode_entry(signed.canonical, signed.signature) == GOLDEN_ENTRY
    assert decode_entry(GOLDEN_ENTRY) == signed
    verify_signed_event(decode_entry(GOLDEN_ENTRY), PUBLIC)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips(kind: str) -> None:
    event = Event.from_wire(sample_wires()[kind])
    canonical = encode_event(event)
    assert decode_event(canonical) == event
    assert set(json.loads(canonical)) <= {"v", *EVENT_FIELDS}


def test_version_1_signs_exactly_these_fields() -> None:
    # A golden literal, not the model's list: adding, removing or renaming a field of version 1
    # changes what old signatures cover, and must fail here (a new field needs a new version).
    assert EVENT_FIELDS == (
        "kind",
        "event_time",
        "party",
        "key_id",
        "location",
        "inputs",
        "outputs",
        "price",
        "sensors",
        "documents",
        "detail",
    )


NON_CANONICAL = [
    GOLDEN_CANONICAL.replace(b'","', b'", "', 1),  # white space
    GOLDEN_CANONICAL + b"\n",
    b" " + GOLDEN_CANONICAL,
    b"\xef\xbb\xbf" + GOLDEN_CANONICAL,  # BOM
    GOLDEN_CANONICAL.replace("包菜".encode(), b"\\u5305\\u83dc"),  # escaped where JCS writes UTF-8
    GOLDEN_CANONICAL.replace(b'"v":1}', b'"v":1.0}'),
    GOLDEN_CANONICAL.replace(b'"v":1}', b'"v":2}'),
    GOLDEN_CANONICAL.replace(b',"v":1}', b"}"),
    GOLDEN_CANONICAL.replace(b'{"detail"', b'{"v":1,"detail"', 1).replace(b',"v":1}', b"}"),  # order
    GOLDEN_CANONICAL.replace(b'"kind":"harvest"', b'"kind":"harvest","kind":"harvest"'),  # duplicate
    GOLDEN_CANONICAL.replace(b'"v":1}', b'"v":true}'),
    GOLDEN_CANONICAL.replace(b'"v":1}', b'"v":NaN}'),
    GOLDEN_CANONICAL.replace("宁".encode(), b"\xe5\xae"),  # broken UTF-8
    b"[]",
    b"",
]


@pytest.mark.parametrize("data", NON_CANONICAL)
def test_non_canonical_refused(data: bytes) -> None:
    with pytest.raises(InvalidEvent):
        decode_event(data)


def test_signature_refused_on_every_bit_flip() -> None:
    signed = decode_entry(GOLDEN_ENTRY)
    for i in range(len(GOLDEN_SIG) * 8):
        sig = bytearray(GOLDEN_SIG)
        sig[i // 8] ^= 1 << (i % 8)
        with pytest.raises(SignatureRefused):
            verify_signed_event(replace(signed, signature=bytes(sig)), PUBLIC)


def test_event_bit_flips_never_verify() -> None:
    for i in range(len(GOLDEN_CANONICAL) * 8):
        data = bytearray(GOLDEN_CANONICAL)
        data[i // 8] ^= 1 << (i % 8)
        try:
            event = decode_event(bytes(data))
        except InvalidEvent:
            continue
        signed = SignedEvent(bytes(data), GOLDEN_SIG, event, event_id(bytes(data)))
        with pytest.raises(SignatureRefused):
            verify_signed_event(signed, PUBLIC)


def test_verify_refuses_inconsistent_or_wrong_keys() -> None:
    signed = decode_entry(GOLDEN_ENTRY)
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key().public_bytes_raw()
    with pytest.raises(SignatureRefused, match="names key"):
        verify_signed_event(signed, other)
    with pytest.raises(SignatureRefused, match="32 raw bytes"):
        verify_signed_event(signed, PUBLIC[:31])
    with pytest.raises(SignatureRefused, match="do not agree"):
        verify_signed_event(replace(signed, id="0" * 64), PUBLIC)
    moved = Event.from_wire(GOLDEN_WIRE | {"event_time": "2026-11-20T08:31:00+08:00"})
    with pytest.raises(SignatureRefused, match="do not agree"):
        verify_signed_event(replace(signed, event=moved), PUBLIC)


def test_sign_refuses_a_key_the_event_does_not_name() -> None:
    with pytest.raises(InvalidEvent, match="signing key's id") as info:
        sign_event(_golden(), Ed25519PrivateKey.from_private_bytes(bytes(32)))
    assert info.value.field == "key_id"


def test_encode_refuses_hand_built_invalid_events() -> None:
    with pytest.raises(InvalidEvent) as info:
        encode_event(replace(_golden(), party="not a party"))
    assert info.value.field == "party"


BAD_ENTRIES = [
    GOLDEN_ENTRY[:-1],  # no final newline
    GOLDEN_ENTRY + b"\n",
    GOLDEN_ENTRY.replace(b"farmtrace/entry/v1", b"farmtrace/entry/v2"),
    GOLDEN_ENTRY.replace(b"==\n", b"\n"),  # unpadded
    GOLDEN_ENTRY.replace(b"BQ==", b"BR=="),  # non-canonical trailing bits
    GOLDEN_ENTRY.replace(b"jvMV", b"jvM"),  # 63 bytes
    GOLDEN_ENTRY.replace(b'"v":1}', b'"v":1} '),
    b"farmtrace/entry/v1\n\n\n",
    b"",
]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_bad_entries_refused(entry: bytes) -> None:
    with pytest.raises(InvalidEvent):
        decode_entry(entry)


# The first six break the entry's lines or its signature: the splitter refuses them itself. The
# seventh splits cleanly (its event bytes are not canonical, which decode_event refuses).
@pytest.mark.parametrize("entry", BAD_ENTRIES[:6] + BAD_ENTRIES[7:])
def test_split_entry_refuses_what_is_not_three_lines_and_a_signature(entry: bytes) -> None:
    with pytest.raises(InvalidEvent) as info:
        split_entry(entry)
    assert info.value.field in ("entry", "sig")


def test_split_entry_gives_the_signed_bytes_and_signature() -> None:
    assert split_entry(GOLDEN_ENTRY) == (GOLDEN_CANONICAL, GOLDEN_SIG)
    assert split_entry(BAD_ENTRIES[6])[0] == GOLDEN_CANONICAL + b" "  # split, not parsed


def test_encode_entry_refuses_bad_parts() -> None:
    with pytest.raises(InvalidEvent, match="64 bytes"):
        encode_entry(GOLDEN_CANONICAL, GOLDEN_SIG[:63])
    with pytest.raises(InvalidEvent, match="newline"):
        encode_entry(GOLDEN_CANONICAL + b"\n", GOLDEN_SIG)


def test_entry_gives_signed_bytes_verbatim() -> None:
    # Anyone can recover the signed bytes with a split, no JSON library needed.
    header, canonical, sig, tail = GOLDEN_ENTRY.split(b"\n")
    assert (header, canonical, base64.b64decode(sig), tail) == (
        b"farmtrace/entry/v1",
        GOLDEN_CANONICAL,
        GOLDEN_SIG,
        b"",
    )


@given(st.binary(max_size=300))
def test_decoders_raise_only_trace_errors(data: bytes) -> None:
    for decode in (decode_event, decode_entry):
        with contextlib.suppress(TraceError):
            decode(data)


@given(st.integers(min_value=0, max_value=len(GOLDEN_CANONICAL) - 1), st.binary(min_size=1, max_size=4))
def test_spliced_bytes_raise_only_trace_errors(at: int, junk: bytes) -> None:
    with contextlib.suppress(TraceError):
        decode_event(GOLDEN_CANONICAL[:at] + junk + GOLDEN_CANONICAL[at:])
