"""Units and canonical decimal quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.units import (
    UNITS,
    check_unit,
    format_decimal,
    format_quantity,
    parse_decimal,
    parse_quantity,
    same_dimension,
    to_base,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.5", "0.5"), ("500", "500"), ("12.25", "12.25"), ("0.001", "0.001"), ("1000000000000", "1E12")],
)
def test_parse_quantity(text: str, value: str) -> None:
    assert parse_quantity(text, field="q") == Decimal(value)
    assert format_quantity(parse_quantity(text, field="q")) == text


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "+1",
        "01",
        "1.",
        ".5",
        "NaN",
        "Infinity",
        "1.2345",
        "1000000000000.001",
        "0",
        "0.000",
        "-1",
        "500.000",
        "0.50",
        " 1",
        "1 ",
        "1,5",
        "１",
        "",
        "--1",
        "0x10",
    ],
)
def test_parse_quantity_refused(text: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_quantity(text, field="inputs[0].quantity")
    assert info.value.field == "inputs[0].quantity"
    assert "inputs[0].quantity" in str(info.value)


@pytest.mark.parametrize("value", [1, 1.5, None, Decimal("1"), ["1"]])
def test_parse_quantity_wants_a_string(value: object) -> None:
    with pytest.raises(InvalidEvent, match="decimal string"):
        parse_quantity(value, field="q")  # type: ignore[arg-type]


def test_non_canonical_names_the_canonical_form() -> None:
    with pytest.raises(InvalidEvent, match="write '500'"):
        parse_quantity("500.0", field="q")


def test_signed_and_zero_decimals() -> None:
    assert parse_decimal("-18.5", field="v", negative=True) == Decimal("-18.5")
    assert parse_decimal("0", field="v", zero=True) == 0
    for bad in ["-0", "-0.0"]:
        with pytest.raises(InvalidEvent):
            parse_decimal(bad, field="v", negative=True, zero=True)
    with pytest.raises(InvalidEvent, match="at most 2"):
        parse_decimal("6.805", field="price.amount", places=2)


def test_format_strips_trailing_zeros() -> None:
    assert format_quantity(Decimal("500.000")) == "500"
    assert format_quantity(Decimal("5E+2")) == "500"
    assert format_quantity(Decimal("12.250")) == "12.25"


def test_units() -> None:
    assert to_base(Decimal(500), "kg") == (Decimal(500), "kg")
    assert to_base(Decimal(500), "g") == (Decimal("0.5"), "kg")
    assert to_base(Decimal(2), "t") == (Decimal(2000), "kg")
    assert to_base(Decimal(3), "jin") == (Decimal("1.5"), "kg")
    assert to_base(Decimal(3), "box") == (Decimal(3), "box")
    assert same_dimension("jin", "t")
    assert same_dimension("bag", "bag")
    assert not same_dimension("bag", "box")
    assert not same_dimension("kg", "piece")
    with pytest.raises(InvalidEvent, match="unit"):
        check_unit("lb", field="outputs[0].unit")
    with pytest.raises(InvalidEvent):
        to_base(Decimal(1), "斤")


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10) ** 12, places=3))
def test_round_trip(value: Decimal) -> None:
    text = format_quantity(value)
    assert parse_quantity(text, field="q") == value
    assert format_quantity(parse_quantity(text, field="q")) == text


@given(st.text(max_size=20))
def test_parse_raises_only_invalid_event(text: str) -> None:
    try:
        value = parse_quantity(text, field="q")
    except InvalidEvent:
        return
    assert format_quantity(value) == text and value > 0


@given(st.sampled_from(sorted(UNITS)), st.sampled_from(sorted(UNITS)))
def test_same_dimension_is_symmetric(u1: str, u2: str) -> None:
    assert same_dimension(u1, u2) == same_dimension(u2, u1)
    assert same_dimension(u1, u1)


@given(st.from_regex(r"-?(0|[1-9][0-9]{0,5})(\.[0-9]{1,4})?", fullmatch=True))
def test_one_spelling_per_value_is_format_decimal(text: str) -> None:
    """parse_decimal's canonical-form test (no trailing fractional zero, no "-0") accepts exactly
    the texts that format_decimal writes back unchanged."""
    try:
        parse_decimal(text, field="d", places=4, negative=True, zero=True)
        accepted = True
    except InvalidEvent as exc:
        assert "one spelling per value" in str(exc)
        accepted = False
    assert accepted == (format_decimal(Decimal(text)) == text)
