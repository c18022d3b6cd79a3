"""web/static/codec.js, run in Node, against the server's own encoders, byte for byte.

`FarmtraceCodec.jcs` must write what `rfc8785.dumps` writes for Hypothesis-made JSON (the shared
RFC 8785 text strategy, tests/trace/jcs_text.py, plus floats, which the browser's encoder prints as
ECMAScript does) and refuse what it refuses (lone surrogates, NaN, Infinity); base64 must agree with
Python's strict decoder on every text, hex and SHA-256 with bytes.hex() and hashlib. One Node
process serves the module, so thousands of cases take a second or two.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from farmtrace.trace.journey_entries import decode_b64

from ..trace.jcs_text import TEXT
from .js.node import JsError, node

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=20,
)

# Each value is canonicalized on its own (a refusal names its index), then base64'd for the trip back.
JCS_ALL = """(values) => values.map((v) => {
    try {
        return FarmtraceCodec.b64encode(FarmtraceCodec.utf8encode(FarmtraceCodec.jcs(v)));
    } catch (e) {
        return null;
    }
})"""


@pytest.fixture(scope="module")
def js():
    with node("codec.js") as process:
        yield process


def _python_jcs(value) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):  # a lone surrogate in a key: the latter
        return None


def _js_jcs(js, values: list) -> list[bytes | None]:
    return [None if b is None else base64.b64decode(b) for b in js.evaluate(JCS_ALL, values)]


@settings(max_examples=100, deadline=None)
@given(st.lists(JSON, min_size=1, max_size=30))
@example([{"__proto__": None, "constructor": {"__proto__": [1]}}])
@example([{"\ue000": 1, "\U0001f600": 2, "a": 3}])  # UTF-16 order: the emoji's surrogates sort first
@example([5e-324, 1e21, 1e-7, 123456789012345680000.0, -0.0, 0.1 + 0.2, 2.0**53])
def test_jcs_writes_what_rfc8785_writes(js, values):
    assert _js_jcs(js, values) == [rfc8785.dumps(v) for v in values]


# Strings with lone surrogates among ordinary characters: both encoders must refuse exactly these. A
# high surrogate right before a low one is left out: JSON carries it to Node as one character.
SURROGATE_TEXT = st.text(st.characters(categories=("Cs",)) | st.sampled_from("a宁😀"), max_size=6).filter(
    lambda s: not re.search("[\ud800-\udbff][\udc00-\udfff]", s)
)


@settings(max_examples=100, deadline=None)
@given(st.lists(SURROGATE_TEXT | st.dictionaries(SURROGATE_TEXT, st.none(), max_size=2), min_size=1))
def test_jcs_refuses_lone_surrogates_as_rfc8785_does(js, values):
    assert _js_jcs(js, values) == [_python_jcs(v) for v in values]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("NaN", "NaN or Infinity"),
        ("-Infinity", "NaN or Infinity"),
        ("[undefined]", "cannot encode undefined"),
        ("undefined", "cannot encode undefined"),
        ("new Map()", r"cannot encode \[object Map\]"),
        ("new Date(0)", r"cannot encode \[object Date\]"),
        ("{a: 1n}", "cannot encode bigint"),
        ("{f() {}}", "cannot encode function"),
        ('"\\ud800"', "lone surrogate"),
    ],
)
def test_jcs_refuses_what_json_cannot_spell(js, expression, message):
    with pytest.raises(JsError, match=message):
        js.evaluate(f"() => FarmtraceCodec.jcs({expression})")


def test_jcs_leaves_out_undefined_members_as_json_stringify_does(js):
    assert (
        js.evaluate('() => FarmtraceCodec.jcs({b: undefined, a: [null, 1.5, "x"]})') == '{"a":[null,1.5,"x"]}'
    )
    assert js.evaluate("() => FarmtraceCodec.jcs(Object.create(null))") == "{}"


B64_ROUND_TRIP = """(texts) => texts.map((t) => {
    const bytes = FarmtraceCodec.b64decode(t);
    return bytes === null ? null : [FarmtraceCodec.hex(bytes), FarmtraceCodec.b64encode(bytes)];
})"""


def _python_b64decode(text: str) -> bytes | None:
    """The Python twin's decoder (verify_journey's), itself held to the standard library's strict
    decoder: whatever it accepts, b64decode(validate=True) reads the same way."""
    raw = decode_b64(text)
    if raw is not None:
        assert raw == base64.b64decode(text, validate=True)
    return raw


def test_excess_padding_is_refused_by_both_twins(js):
    # Python's strict decoder alone reads these as d34d34 (Hypothesis found the first).
    for text in ("0000====", "0000==", "0000="):
        assert decode_b64(text) is None
    assert js.evaluate(B64_ROUND_TRIP, ["0000====", "0000"]) == [None, ["d34d34", "0000"]]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text("AQZaz09+/=-_ \n\u00e9", max_size=12)
        | st.binary(max_size=10).map(lambda b: base64.b64encode(b).decode()),
        min_size=1,
        max_size=30,
    )
)
@example(
    [
        "0000====",
        "",
        "QQ==",
        "QR==",
        "QQ=",
        "QQ",
        "Q===",
        "QQ==QQ==",
        "=QQQ",
        "QQ\n==",
        "QUJD",
        "QUJ-",
        " QUJD",
    ]
)
def test_b64decode_accepts_what_pythons_strict_decoder_accepts(js, texts):
    expected = []
    for text in texts:
        raw = _python_b64decode(text)
        expected.append(None if raw is None else [raw.hex(), base64.b64encode(raw).decode()])
    assert js.evaluate(B64_ROUND_TRIP, texts) == expected


BYTES = """(items) => Promise.all(items.map(async (hexText) => {
    const bytes = Uint8Array.from(hexText.match(/../g) || [], (h) => parseInt(h, 16));
    return [FarmtraceCodec.b64encode(bytes), FarmtraceCodec.hex(await FarmtraceCodec.sha256(bytes)),
            FarmtraceCodec.hex(FarmtraceCodec.concat(bytes, Uint8Array.of(0), bytes))];
}))"""


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=20))
def test_b64encode_hex_sha256_and_concat_agree_with_python(js, blobs):
    assert js.evaluate(BYTES, [b.hex() for b in blobs]) == [
        [base64.b64encode(b).decode(), hashlib.sha256(b).hexdigest(), (b + b"\0" + b).hex()] for b in blobs
    ]


def test_b64encode_takes_an_array_buffer_and_hex_too(js):
    # WebCrypto answers with ArrayBuffers (exportKey, digest); both encoders take them as they come.
    assert js.evaluate("() => FarmtraceCodec.b64encode(Uint8Array.of(1, 2, 255).buffer)") == "AQL/"
    assert js.evaluate("() => FarmtraceCodec.hex(Uint8Array.of(1, 2, 255).buffer)") == "0102ff"


def test_utf8decode_is_strict_and_keeps_a_bom(js):
    decode = "(hexText) => FarmtraceCodec.utf8decode(Uint8Array.from(hexText.match(/../g), (h) => parseInt(h, 16)))"
    assert js.evaluate(decode, "efbbbfe5ae81") == "\ufeff宁"
    for invalid in ("c0af", "eda080", "ff"):  # overlong "/", an encoded surrogate, a byte UTF-8 never has
        with pytest.raises(JsError, match="TypeError"):
            js.evaluate(decode, invalid)


def test_the_float_examples_are_what_ecmascript_prints(js):
    # The @example above pins these; here the literal texts, so a change in rfc8785 alone is caught too.
    values = [5e-324, 1e21, 1e-7, -0.0, 0.1 + 0.2, math.ldexp(1, 53)]
    assert _js_jcs(js, values) == [
        b"5e-324",
        b"1e+21",
        b"1e-7",
        b"0",
        b"0.30000000000000004",
        b"9007199254740992",
    ]
