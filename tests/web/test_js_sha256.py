"""codec.js's synchronous SHA-256 (`sha256Sync`, used by vmap.js for map proofs) against Python's
hashlib: every length from 0 to 300 bytes (every padding case: the 55/56/63/64-byte block edges),
random inputs with Hypothesis, a 1 MB input, and WebCrypto's own answer for the same bytes."""

from __future__ import annotations

import base64
import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .js.node import node

SYNC = "(b64s) => b64s.map((s) => FarmtraceCodec.b64encode(FarmtraceCodec.sha256Sync(FarmtraceCodec.b64decode(s))))"
ASYNC = "async (b64s) => Promise.all(b64s.map(async (s) => FarmtraceCodec.b64encode(await FarmtraceCodec.sha256(FarmtraceCodec.b64decode(s)))))"


@pytest.fixture(scope="module")
def js():
    with node("codec.js") as process:
        yield process


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_every_length_up_to_300_bytes_and_a_megabyte(js):
    inputs = [bytes((i * 7 + n) % 256 for i in range(n)) for n in range(301)] + [bytes(range(256)) * 4096]
    want = [_b64(hashlib.sha256(x).digest()) for x in inputs]
    assert js.evaluate(SYNC, [_b64(x) for x in inputs]) == want
    assert js.evaluate(ASYNC, [_b64(x) for x in inputs[:80]]) == want[:80]  # WebCrypto agrees


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=20))
def test_random_inputs(js, inputs):
    assert js.evaluate(SYNC, [_b64(x) for x in inputs]) == [_b64(hashlib.sha256(x).digest()) for x in inputs]


PARTS = (
    "(parts) => FarmtraceCodec.b64encode(FarmtraceCodec.sha256Sync(...parts.map(FarmtraceCodec.b64decode)))"
)


def test_parts_hash_as_their_concatenation(js):
    # verify.js and vmap.js hash (LEAF, entry) and (NODE, left, right) without concatenating first.
    data = bytes(range(256)) * 20  # past the 4 kB buffer the short hashes reuse
    for cuts in [(), (0,), (1,), (1, 33), (64, 65), (55, 56, 119), (4095, 4100), (len(data),)]:
        bounds = [0, *cuts, len(data)]
        parts = [data[a:b] for a, b in itertools.pairwise(bounds)]
        assert js.evaluate(PARTS, [_b64(p) for p in parts]) == _b64(hashlib.sha256(data).digest()), cuts
    assert js.evaluate(PARTS, []) == _b64(hashlib.sha256(b"").digest())
