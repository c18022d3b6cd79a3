"""The page's two Ed25519 engines (web/static/codec.js): WebCrypto and the vendored @noble/ed25519.

In Node, whose WebCrypto is OpenSSL's, as the server's `cryptography` is: both engines, and Python,
accept RFC 8032's test vectors and refuse every bit flip of a signature, key or message. Where they
part (docs/browser-ed25519.md) each engine's verdict is pinned here: noble refuses keys of small
order and non-canonical key encodings, and, using RFC 8032's cofactored equation, accepts a
signature whose R carries a torsion component, which OpenSSL's cofactorless check refuses.

Then the journey checks run with the fallback forced, as on a phone without WebCrypto Ed25519
(tests/web/js/no_ed25519.js) and on a page with no crypto.subtle at all (no_subtle.js): the same
verdicts and failures as with WebCrypto, case by case (tests/web/journey_cases.py; that WebCrypto's
agree with Python's twin is tests/web/test_journey_checks.py's to show).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import journey_cases
from .consumer_support import demo_app
from .js.node import Node, node

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "rfc8032" / "ed25519.json").read_text())[
    "vectors"
]
PRELUDES = Path(__file__).parent / "js"
NO_ED25519 = str(PRELUDES / "no_ed25519.js")
NO_SUBTLE = str(PRELUDES / "no_subtle.js")

# Each case [pub, sig, msg] in hex -> [WebCrypto's verdict, noble's verdict].
BOTH = """async (cases) => {
    const C = FarmtraceCodec, E = C.ed25519Engines;
    const b = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
    const out = [];
    for (const [p, s, m] of cases) out.push([await E.webcrypto(b(p), b(s), b(m)), await E.noble(b(p), b(s), b(m))]);
    return out;
}"""
# Each case -> what verifyEd25519, the one primitive the checks call, answers here; and the engine.
PRIMITIVE = """async (cases) => {
    const b = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
    const out = [];
    for (const [p, s, m] of cases) out.push(await FarmtraceCodec.verifyEd25519(b(p), b(s), b(m)));
    return {engine: await FarmtraceCodec.ed25519Engine(), verdicts: out};
}"""

L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point (RFC 8032 §5.1)
P = 2**255 - 19
IDENTITY = (1).to_bytes(32, "little").hex()  # y = 1: the neutral point, order 1
ORDER_8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"  # a point of order 8

# A signature whose R is a genuine nonce point plus ORDER_8, made with RFC 8032 TEST 2's secret key
# and a fixed nonce: valid under the cofactored equation [8][S]B = [8]R + [8][k]A, not under the
# cofactorless [S]B = R + [k]A. Built with noble's own point arithmetic; the case checks T's order.
TORSION_R = """([seedHex, msgHex, torsionHex]) => {
    const N = FarmtraceNoble, Pt = N.ed25519.Point, C = FarmtraceCodec;
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const b = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
    const num = (bytes) => bytes.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
    const le = (n) => Uint8Array.from({length: 32}, (_, i) => Number((n >> BigInt(8 * i)) & 255n));
    const h = N.sha512(b(seedHex));
    h[0] &= 248; h[31] &= 127; h[31] |= 64;
    const a = num(h.subarray(0, 32)) % L;
    const pub = Pt.BASE.multiply(a).toBytes();
    const T = Pt.fromBytes(b(torsionHex));
    const order8 = T.multiply(8n, false).is0() && !T.multiply(4n, false).is0();
    const R = Pt.BASE.multiply(1234567890123456789n).add(T).toBytes();
    const k = num(N.sha512(C.concat(R, pub, b(msgHex)))) % L;
    const S = (1234567890123456789n + k * a) % L;
    return {order8, pub: C.hex(pub), sig: C.hex(C.concat(R, le(S)))};
}"""


def _python(pub: str, sig: str, msg: str) -> bool:
    """OpenSSL's verdict, through `cryptography`, as the server checks every event it records."""
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub)).verify(bytes.fromhex(sig), bytes.fromhex(msg))
    except (InvalidSignature, ValueError):
        return False
    return True


def _flip(hex_text: str, bit: int) -> str:
    raw = bytearray.fromhex(hex_text)
    raw[bit // 8] ^= 1 << (bit % 8)
    return raw.hex()


@pytest.fixture(scope="module")
def js():
    with node("vendor/noble.js", "codec.js") as process:
        yield process


def _vector_cases():
    return [[v["public_key"], v["signature"], v["message"]] for v in VECTORS]


def test_both_engines_and_python_accept_the_rfc8032_vectors(js):
    cases = _vector_cases()
    assert js.evaluate(BOTH, cases) == [[True, True]] * len(VECTORS)
    assert all(_python(*case) for case in cases)
    # The transcription is RFC 8032's: Ed25519 signing is deterministic, so each signature is remade.
    for v in VECTORS:
        secret = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["secret_key"]))
        assert secret.sign(bytes.fromhex(v["message"])).hex() == v["signature"], v["name"]


@pytest.mark.parametrize("name", ["TEST 2", "TEST 3", "TEST SHA(abc)"])
def test_every_flipped_bit_is_refused_by_all_three(js, name):
    v = next(v for v in VECTORS if v["name"] == name)
    pub, sig, msg = v["public_key"], v["signature"], v["message"]
    cases = [[pub, _flip(sig, bit), msg] for bit in range(512)]
    cases += [[_flip(pub, bit), sig, msg] for bit in range(256)]
    cases += [[pub, sig, _flip(msg, bit)] for bit in range(len(msg) * 4)]
    verdicts = js.evaluate(BOTH, cases)
    assert len(verdicts) == len(cases) > 768
    assert [i for i, pair in enumerate(verdicts) if pair != [False, False]] == []
    assert [i for i, case in enumerate(cases) if _python(*case)] == []


def test_wrong_lengths_are_refused_not_thrown(js):
    v = VECTORS[1]
    pub, sig, msg = v["public_key"], v["signature"], v["message"]
    cases = [
        [pub[:-2], sig, msg],
        [pub + "00", sig, msg],
        [pub, sig[:-2], msg],
        [pub, sig + "00", msg],
        ["", "", msg],
    ]
    assert js.evaluate(BOTH, cases) == [[False, False]] * len(cases)


def edge_cases(evaluate) -> dict[str, tuple[list[str], bool, bool]]:
    """name -> ([pub, sig, msg], WebCrypto's and OpenSSL's verdict, noble's verdict); `evaluate` runs
    JavaScript where vendor/noble.js and codec.js are loaded (Node, or a Chromium page)."""
    v = VECTORS[1]  # TEST 2
    pub, sig, msg = v["public_key"], v["signature"], v["message"]
    s = int.from_bytes(bytes.fromhex(sig[64:]), "little")
    zero_sig = IDENTITY + bytes(32).hex()  # R = the neutral point, S = 0
    torsion = evaluate(TORSION_R, [v["secret_key"], msg, ORDER_8])
    assert torsion["order8"] and torsion["pub"] == pub
    return {
        # RFC 8032 §5.1.7: S must be below L; S + L is the same scalar, written non-canonically.
        "non-canonical S (S + L)": (
            [pub, sig[:64] + (s + L).to_bytes(32, "little").hex(), msg],
            False,
            False,
        ),
        # The neutral point as a key: R = neutral, S = 0 satisfies [S]B = R + [k]A for every message.
        "small-order key (the neutral point), any message": ([IDENTITY, zero_sig, "616263"], True, False),
        "small-order key written non-canonically (y = p + 1)": (
            [(P + 1).to_bytes(32, "little").hex(), zero_sig, "616263"],
            True,
            False,
        ),
        "neutral R written non-canonically (y = p + 1)": (
            [IDENTITY, (P + 1).to_bytes(32, "little").hex() + bytes(32).hex(), "616263"],
            False,
            False,
        ),
        "R with a torsion component (cofactored vs cofactorless)": ([pub, torsion["sig"], msg], False, True),
    }


def test_where_the_engines_part_each_verdict_is_pinned(js):
    cases = edge_cases(js.evaluate)
    verdicts = js.evaluate(BOTH, [case for case, _, _ in cases.values()])
    assert dict(zip(cases, verdicts, strict=True)) == {
        name: [web, noble] for name, (_, web, noble) in cases.items()
    }
    # The server (cryptography, OpenSSL) agrees with WebCrypto on every one of them.
    assert {name: _python(*case) for name, (case, _, _) in cases.items()} == {
        name: web for name, (_, web, _) in cases.items()
    }


# --- many at once: noble's batch equation ----------------------------------------------------------

# Each batch [[pub, sig, msg], ...] -> whether the batch equation alone holds (no one-by-one retry).
BATCH_HOLDS = """(batches) => {
    const b = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
    const items = (batch) => batch.map(([p, s, m]) => ({publicKey: b(p), signature: b(s), message: b(m)}));
    return batches.map((batch) => FarmtraceCodec.ed25519BatchHolds(items(batch)));
}"""
# Each batch -> what verifyEd25519Many answers (the primitive verify.js calls for an event list).
MANY = """async (batches) => {
    const b = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
    const out = [];
    for (const batch of batches) {
        const items = batch.map(([p, s, m]) => ({publicKey: b(p), signature: b(s), message: b(m)}));
        out.push(await FarmtraceCodec.verifyEd25519Many(items));
    }
    return out;
}"""


def test_the_batch_equation_holds_for_valid_signatures_only(js):
    cases = _vector_cases()
    assert js.evaluate(BATCH_HOLDS, [cases, cases * 8, cases[:2], [cases[3], cases[3]]]) == [True] * 4
    v = VECTORS[1]  # TEST 2, between TEST 1 and TEST 3 in every batch
    pub, sig, msg = v["public_key"], v["signature"], v["message"]
    flipped = [[pub, _flip(sig, bit), msg] for bit in range(512)]
    flipped += [[_flip(pub, bit), sig, msg] for bit in range(256)]
    flipped += [[pub, sig, _flip(msg, bit)] for bit in range(len(msg) * 4)]
    holds = js.evaluate(BATCH_HOLDS, [[cases[0], case, cases[2]] for case in flipped])
    assert [i for i, h in enumerate(holds) if h] == []


def test_a_failed_batch_gives_each_signature_nobles_own_verdict(js):
    """The primitive verify.js calls: a batch holding one bad signature names exactly that one, and the
    edge cases get noble's verdicts whether alone or among valid ones."""
    cases = _vector_cases()
    bad = [cases[1][0], _flip(cases[1][1], 77), cases[1][2]]
    edges = edge_cases(js.evaluate)
    batches = [
        cases,
        [*cases[:3], bad, *cases[3:]],
        *([cases[0], case, cases[2]] for case, _, _ in edges.values()),
    ]
    with node(NO_ED25519, "vendor/noble.js", "codec.js") as fallback:
        answers = fallback.evaluate(MANY, batches)
        assert fallback.evaluate("() => FarmtraceCodec.ed25519Engine()") == "noble"
    assert answers[0] == [True] * 5
    assert answers[1] == [True, True, True, False, True, True]
    assert answers[2:] == [[True, noble, True] for _, _, noble in edges.values()]
    # With WebCrypto, the same primitive gives WebCrypto's verdicts.
    webcrypto = js.evaluate(MANY, batches)
    assert webcrypto[:2] == answers[:2]
    assert webcrypto[2:] == [[True, web, True] for _, web, _ in edges.values()]


@pytest.mark.parametrize(
    ("preludes", "engine"),
    [((), "webcrypto"), ((NO_ED25519,), "noble"), ((NO_SUBTLE,), "noble")],
    ids=["webcrypto", "no-ed25519", "no-subtle"],
)
def test_the_primitive_picks_an_engine_that_works(preludes, engine):
    with node(*preludes, "vendor/noble.js", "codec.js") as process:
        cases = [
            *_vector_cases(),
            [VECTORS[1]["public_key"], _flip(VECTORS[1]["signature"], 3), VECTORS[1]["message"]],
        ]
        answer = process.evaluate(PRIMITIVE, cases)
        assert answer == {"engine": engine, "verdicts": [True] * len(VECTORS) + [False]}
        empty = process.evaluate(
            "async () => FarmtraceCodec.hex(await FarmtraceCodec.sha256(new Uint8Array(0)))"
        )
        assert empty == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_with_nothing_at_all_the_page_is_told_so():
    with node(NO_SUBTLE, "codec.js", "vmap.js", "completeness.js", "verify.js") as process:
        assert process.evaluate("() => FarmtraceVerify.supported()") is False
        assert process.evaluate("() => FarmtraceVerify.engine()") is None
    with node(
        NO_ED25519, "codec.js", "vmap.js", "completeness.js", "verify.js"
    ) as process:  # noble.js failed to load
        assert process.evaluate("() => FarmtraceVerify.supported()") is False


# --- the journey checks with the fallback forced ------------------------------------------------------

CHECK = (
    "async ([j, k]) => { const r = await FarmtraceVerify.checkJourney(j, k);"
    " return {ok: r.ok, failures: r.failures, engine: await FarmtraceVerify.engine()}; }"
)


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    app, _ = demo_app(tmp_path_factory.mktemp("journeys"))
    service = app.state.service
    try:
        journeys = {
            "bag": json.loads(json.dumps(service.journey_bundle("XF-BAG-0001").to_wire())),
            "recalled": json.loads(json.dumps(service.journey_bundle("XF-LJ-002").to_wire())),
        }
        yield journeys, service.log.verifier.key_string()
    finally:
        service.log.close()


@pytest.fixture(scope="module")
def engines():
    """One Node process per engine, each with codec.js and verify.js as the page loads them."""
    preludes = {"webcrypto": (), "no-ed25519": (NO_ED25519,), "no-subtle": (NO_SUBTLE,)}
    processes = {
        mode: Node(*pre, "vendor/noble.js", "codec.js", "vmap.js", "completeness.js", "verify.js")
        for mode, pre in preludes.items()
    }
    yield processes
    for process in processes.values():
        process.close()


@pytest.mark.parametrize("case", journey_cases.CASES, ids=lambda c: c.name)
def test_the_fallback_reports_what_webcrypto_reports(case, genuine, engines):
    """The same verdict, failures, indexes, keys and lots, whichever engine verified."""
    journeys, log_key = genuine
    journey, pinned = journey_cases.build(case, journeys, log_key)
    answers = {mode: process.evaluate(CHECK, [journey, pinned]) for mode, process in engines.items()}
    assert {mode: a.pop("engine") for mode, a in answers.items()} == {
        "webcrypto": "webcrypto",
        "no-ed25519": "noble",
        "no-subtle": "noble",
    }
    assert answers["no-ed25519"] == answers["webcrypto"]
    assert answers["no-subtle"] == answers["webcrypto"]
    assert answers["webcrypto"]["ok"] is (not case.expect)
    assert answers["webcrypto"]["ok"] is (not answers["webcrypto"]["failures"])
