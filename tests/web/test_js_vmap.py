"""web/static/vmap.js (FarmtraceMap.checkKey) against its Python twin, ledger/verifiable_map.py.

Both read the same wire proofs and must give the same verdict: None, or the same reason code. Over
the format's vectors (tests/ledger/vectors/index_v1.json), and over a few thousand proofs that Python
makes from random maps (present keys, both kinds of absent keys) and then tampers with (bit flips,
levels dropped and added, another value, another leaf, broken wire forms). In Node (one process,
the default run) and once over the vectors in Chromium (marker `browser`), loaded after codec.js as
the consumer page loads it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.verifiable_map import (
    REASONS,
    MapProof,
    MapProofError,
    MemoryNodes,
    check_key,
    prove_key,
    update_map,
)
from farmtrace.web.assets import ASSETS, asset_url

from ..ledger import index_vectors
from .consumer_support import chromium
from .js.node import STATIC, node

VECTORS = json.loads(index_vectors.PATH.read_text(encoding="utf-8"))

CHECK_ALL = """async (cases) => {
    const d = (t) => (t === null ? null : FarmtraceCodec.b64decode(t));
    const out = [];
    for (const c of cases) out.push(await FarmtraceMap.checkKey(d(c.root), d(c.key), d(c.value_hash), c.proof));
    return out;
}"""


def _b(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def python_verdict(case: dict) -> str | None:
    try:
        check_key(
            _b(case["root"]), _b(case["key"]), _b(case["value_hash"]), MapProof.from_wire(case["proof"])
        )
    except MalformedError:
        return "map.malformed"
    except MapProofError as e:
        return e.reason
    return None


def vector_cases() -> list[dict]:
    """Every proof of the vector file, with its root and the verdict it must get."""
    out = []
    for m in VECTORS["maps"]:
        out += [{**c, "root": m["root"]} for c in m["cases"] + m.get("refused", [])]
    return out + [{**c, "root": VECTORS["trace"]["root"]} for c in VECTORS["trace"]["cases"]]


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "vmap.js") as process:
        yield process


def test_javascript_gives_every_vector_its_verdict(js):
    cases = vector_cases()
    assert len(cases) > 80
    assert js.evaluate(CHECK_ALL, cases) == [c["reason"] for c in cases]


def test_javascript_knows_the_same_reasons(js):
    assert js.evaluate("() => FarmtraceMap.REASONS") == list(REASONS)


def test_javascript_computes_the_trace_level_map_keys_and_value_hashes(js):
    trace = VECTORS["trace"]
    got = js.evaluate(
        """async ([lots, keys]) => {
            const b = FarmtraceCodec.b64encode;
            const lot = await Promise.all(lots.map(async (l) => [b(await FarmtraceMap.lotKey(l.lot)), b(await FarmtraceMap.valueHash(l.value))]));
            const key = await Promise.all(keys.map(async (k) => [b(await FarmtraceMap.signingKey(k.key_id)), b(await FarmtraceMap.valueHash(k.value))]));
            return [lot, key];
        }""",
        [trace["lots"], trace["keys"]],
    )
    assert got == [
        [[x["map_key"], x["value_hash"]] for x in trace["lots"]],
        [[x["map_key"], x["value_hash"]] for x in trace["keys"]],
    ]
    with pytest.raises(Exception, match="16 lowercase hex"):
        js.evaluate("() => FarmtraceMap.signingKey('1A530DA46BD8E972')")


def test_the_script_is_a_static_asset_of_the_pages():
    # web/assets.py serves every file of web/static/: nothing to list, but the page must be able to link it.
    assert ASSETS["vmap.js"].body == (STATIC / "vmap.js").read_bytes()
    assert ASSETS["vmap.js"].media_type.startswith("text/javascript")
    assert asset_url("vmap.js").startswith("/static/vmap.js?v=")


# --- thousands of random proofs, and what an attacker would do to them ------------------------------


def _flip(text: str, rng: random.Random) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[rng.randrange(32)] ^= 1 << rng.randrange(8)
    return _b64(bytes(raw))


def _tamper(case: dict, rng: random.Random) -> dict:
    """One random change an attacker (or a broken server) could make to a case."""
    proof = json.loads(json.dumps(case["proof"]))
    sib, other = proof["siblings"], proof["other"]
    key, value = case["key"], case["value_hash"]
    how = rng.randrange(14)
    if how == 0 and sib:
        i = rng.randrange(len(sib))
        sib[i] = _flip(sib[i] or _b64(bytes(32)), rng)
    elif how == 1 and sib:
        del sib[rng.randrange(len(sib))]
    elif how == 2:
        sib.insert(rng.randrange(len(sib) + 1), rng.choice([None, _b64(rng.randbytes(32))]))
    elif how == 3:
        value = _b64(rng.randbytes(32)) if value is None else None
    elif how == 4 and value is not None:
        value = _flip(value, rng)
    elif how == 5:
        key = _flip(key, rng)
    elif how == 6 and other is not None:
        other[rng.choice(["key", "value_hash"])] = _flip(other[rng.choice(["key", "value_hash"])], rng)
    elif how == 7:
        proof["other"] = {
            "key": rng.choice([key, _b64(rng.randbytes(32))]),
            "value_hash": _b64(rng.randbytes(32)),
        }
    elif how == 8:
        proof["other"] = None
    elif how == 9 and sib:  # a broken wire form: each must be refused as malformed, by both
        sib[rng.randrange(len(sib))] = rng.choice(
            [_b64(bytes(32)), "AAAA", 7, "", _b64(rng.randbytes(32))[:-1] + "B"]
        )
    elif how == 10:
        proof = rng.choice(
            [{"siblings": sib}, {**proof, "extra": 1}, {"siblings": [None] * 257, "other": None}, []]
        )
    elif how == 11:
        key = _b64(_b(key)[:31])
    elif how == 12 and value is not None:
        value = _b64(_b(value) + b"\x00")
    elif how == 13:
        case = {**case, "root": _flip(case["root"], rng)}
    return {**case, "key": key, "value_hash": value, "proof": proof}


def random_cases(seed: int, maps: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(maps):
        n = rng.choice([1, 2, 3, 5, 8, 40, 200])
        keys = [rng.randbytes(32) for _ in range(n)]
        if rng.random() < 0.3:  # neighbours: keys that share long prefixes, so leaves sit deep
            base = int.from_bytes(keys[0], "big")
            keys += [(base ^ (1 << rng.randrange(12))).to_bytes(32, "big") for _ in range(3)]
        items = {k: hashlib.sha256(k).digest() for k in keys}
        store = MemoryNodes()
        root = _b64(update_map(store, items))
        probes = rng.sample(keys, min(4, len(keys))) + [rng.randbytes(32) for _ in range(4)]
        for k in probes:
            value, proof = prove_key(store, k)
            genuine = {
                "root": root,
                "key": _b64(k),
                "value_hash": None if value is None else _b64(value),
                "proof": proof.to_wire(),
            }
            out.append(genuine)
            out += [_tamper(genuine, rng) for _ in range(3)]
    return out


def test_javascript_agrees_with_python_on_thousands_of_random_proofs(js):
    cases = random_cases(seed=17, maps=100)
    assert len(cases) >= 3000
    python = [python_verdict(c) for c in cases]
    assert js.evaluate(CHECK_ALL, cases) == python
    # Not a test that cannot fail: genuine proofs pass, and every reason is reached.
    assert python.count(None) >= len(cases) // 4 and set(python) == {None, *REASONS}


B64 = st.binary(min_size=32, max_size=32).map(_b64)
WIRE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=46) | B64,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["siblings", "other", "key", "value_hash", "x"]), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(WIRE, B64, st.none() | B64), min_size=1, max_size=40))
def test_javascript_agrees_with_python_on_any_json_as_a_proof(js, cases):
    cases = [{"root": _b64(bytes(32)), "key": k, "value_hash": v, "proof": w} for w, k, v in cases]
    assert js.evaluate(CHECK_ALL, cases) == [python_verdict(c) for c in cases]


# --- once in Chromium, as the consumer page loads it ------------------------------------------------


@pytest.mark.browser
def test_javascript_in_chromium_gives_every_vector_its_verdict():
    with chromium() as browser:
        page = browser.new_page()

        def serve(route):
            name = route.request.url.rsplit("/", 1)[-1]
            if name in ("codec.js", "vmap.js"):
                route.fulfill(body=(STATIC / name).read_text(), content_type="text/javascript")
            else:
                route.fulfill(
                    body='<!doctype html><script src="/codec.js"></script><script src="/vmap.js"></script>',
                    content_type="text/html",
                )

        page.route("http://localhost/**", serve)
        page.goto("http://localhost/vmap-harness")  # a secure context: WebCrypto works
        cases = vector_cases() + random_cases(seed=18, maps=10)
        assert page.evaluate(CHECK_ALL, cases) == [python_verdict(c) for c in cases]
        assert [c["reason"] for c in vector_cases()] == [python_verdict(c) for c in vector_cases()]
