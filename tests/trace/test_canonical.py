"""trace/model/canonical.py against the reference RFC 8785 implementation (`rfc8785`), byte for byte.

The fast encoder is exact only for its subset (ASCII keys, no floats, |int| < 2^53); these tests
show it equals `rfc8785.dumps` on every wire form of every kind, and that Hypothesis-made JSON
outside the subset (non-ASCII keys whose UTF-16 order differs from code point order, floats, big
integers, lone surrogates) is handed to the reference implementation rather than encoded wrongly.
"""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.model.canonical import canonical_json, wire_json
from farmtrace.trace.model.event import Event

from .jcs_text import TEXT
from .story import sample_wires

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=25,
)


@pytest.mark.parametrize("kind", sorted(sample_wires()))
def test_every_kind_encodes_as_rfc8785(kind: str) -> None:
    wire = {"v": 1, **Event.from_wire(sample_wires()[kind]).to_wire()}
    assert wire_json(wire) == canonical_json(wire) == rfc8785.dumps(wire)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_generated_json_encodes_as_rfc8785(value) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)


def _outcome(encode, value) -> bytes | type:
    """The bytes, or the type of the error (the reference refuses integers beyond 2^53, say)."""
    try:
        return encode(value)
    except rfc8785.CanonicalizationError as exc:
        return type(exc)


@pytest.mark.parametrize(
    "value",
    [
        {"\ue000": 1, "😀": 2},  # UTF-16 order puts the emoji (a surrogate pair) first
        {"a": 1.0},  # JCS writes 1, Python 1.0
        {"a": 1e21},
        {"a": 2**53},  # beyond the exact integers: the reference refuses it
        {"a": -0.0},
    ],
)
def test_outside_the_subset_goes_to_the_reference(value) -> None:
    try:
        want = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        with pytest.raises(type(exc)):
            canonical_json(value)
        return
    assert canonical_json(value) == want


def test_lone_surrogate_is_refused_like_the_reference() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        rfc8785.dumps({"a": "\ud800"})
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"a": "\ud800"})


def test_nan_is_refused() -> None:
    with pytest.raises((rfc8785.CanonicalizationError, ValueError)):
        canonical_json({"a": math.nan})
