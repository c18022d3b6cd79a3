"""web/static/signing.js, run in Node, against the server's encoder and checks.

What the portal and the console sign must be what the server expects, byte for byte: every wire
form of every kind (tests/trace/story.py) canonicalizes as `rfc8785.dumps` does; an event signed by
`FarmtraceSigning.signEvent` with a WebCrypto Ed25519 key passes `decode_entry` and
`verify_signed_event` and has the id and canonical bytes `encode_event` gives; an application's
proof of possession verifies over `pop_message`, and a contact commitment equals
`contact_commitment`. IndexedDB, cookies and tokens (which need the page) are proven in Chromium by
tests/web/test_portal_signing.py.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.applications import contact_commitment, pop_message
from farmtrace.trace.errors import SignatureRefused
from farmtrace.trace.model.encoding import decode_entry, encode_event, verify_signed_event
from farmtrace.trace.model.event import Event

from ..trace.jcs_text import TEXT
from ..trace.story import COOP, sample_wires
from .js.node import node

# A key as signing.js keeps it ({party, keyId, publicKey, privateKey}), made as `generate` makes it
# but without IndexedDB, which Node lacks.
NEW_KEY = """async function newKey(party) {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const keyId = FarmtraceCodec.hex((await FarmtraceCodec.sha256(raw)).subarray(0, 8));
    return { party, keyId, publicKey: FarmtraceCodec.b64encode(raw), privateKey: pair.privateKey };
}"""

SIGN_ALL = (
    "async (wires) => { const newKey = "
    + NEW_KEY
    + """;
    const key = await newKey(wires[0].party);
    const signed = [];
    for (const w of wires) signed.push(await FarmtraceSigning.signEvent(key, w));
    return { keyId: key.keyId, publicKey: key.publicKey, extractable: key.privateKey.extractable, signed };
}"""
)

PROOF = (
    "async ([kind, partyId, record]) => { const key = await ("
    + NEW_KEY
    + """)(partyId);
    return [key.publicKey, await FarmtraceSigning.applicationProof(key, kind, partyId, record)];
}"""
)

COMMITMENTS = """(items) => Promise.all(items.map(([details, saltHex]) => {
    const salt = Uint8Array.from(saltHex.match(/../g), (h) => parseInt(h, 16));
    return FarmtraceSigning.contactCommitment(details, salt);
}))"""


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "signing.js") as process:
        yield process


def test_every_wire_form_canonicalizes_as_the_server_does(js):
    wires = [{"v": 1, **w} for w in sample_wires().values()]
    texts = js.evaluate("(wires) => wires.map((w) => FarmtraceCodec.jcs(w))", wires)
    assert [t.encode() for t in texts] == [rfc8785.dumps(w) for w in wires]


def test_signed_events_verify_on_the_server(js):
    wires = list(sample_wires().values())
    for w in wires:
        w["party"] = COOP  # one key signs them all; the entry format does not care whose kind it is
    result = js.evaluate(SIGN_ALL, wires)
    assert result["extractable"] is False
    public_key = base64.b64decode(result["publicKey"])
    assert result["keyId"] == hashlib.sha256(public_key).digest()[:8].hex()
    assert len(result["signed"]) == len(wires) == len(sample_wires())
    for wire, signed in zip(wires, result["signed"], strict=True):
        entry = decode_entry(base64.b64decode(signed["entry"]))
        verify_signed_event(entry, public_key)
        assert entry.id == signed["id"] == hashlib.sha256(entry.canonical).hexdigest()
        assert entry.canonical == signed["canonical"].encode()
        assert entry.canonical == encode_event(Event.from_wire({**wire, "key_id": result["keyId"]}))


def test_a_signature_over_other_bytes_is_refused_by_the_server(js):
    # The check above could pass with a verifier that accepts anything: this one must not.
    wire = {**sample_wires()["harvest"], "party": COOP}
    signed = js.evaluate(SIGN_ALL, [wire, {**wire, "event_time": "2025-01-02T03:04:05+08:00"}])
    first, second = (base64.b64decode(s["entry"]) for s in signed["signed"])
    header, _, signature, end = first.split(b"\n")
    forged = b"\n".join([header, second.split(b"\n")[1], signature, end])
    with pytest.raises(SignatureRefused, match="does not verify"):
        verify_signed_event(decode_entry(forged), base64.b64decode(signed["publicKey"]))


@pytest.mark.parametrize("kind", ["register", "key"])
def test_application_proofs_verify_over_the_servers_message(js, kind):
    record = (
        {
            "id": COOP,
            "name_zh": "宁乡县蔬菜专业合作社",
            "roles": ["producer"],
            "keys": [],
            "address": "宁乡\n",
        }
        if kind == "register"
        else {"party_id": COOP, "key_id": "0011223344556677", "public_key": "AAAA"}
    )
    public_key, proof = js.evaluate(PROOF, [kind, COOP, record])
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    key.verify(base64.b64decode(proof), pop_message(kind, COOP, record))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.dictionaries(TEXT, TEXT, min_size=1, max_size=4), st.binary(min_size=16, max_size=16)),
        min_size=1,
        max_size=10,
    )
)
def test_contact_commitments_are_the_servers(js, items):
    answers = js.evaluate(COMMITMENTS, [[details, salt.hex()] for details, salt in items])
    assert answers == [
        {"commitment": contact_commitment(details, salt), "salt": salt.hex()} for details, salt in items
    ]
