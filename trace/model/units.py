"""Units and quantities.

Mass units convert to kilograms; count units convert to nothing but themselves:

    kg   1 kg          g    0.001 kg        t    1000 kg        jin (市斤)   0.5 kg
    piece, box, bag    counts; a box is not a number of pieces
    head (头)          a count of live animals, each with its ear tag (values.LotOut.ear_tags)

A quantity is a `decimal.Decimal`, written on the wire as a canonical decimal string: digits, an
optional point and 1-3 fractional digits, no sign, no exponent, no leading zeros, no trailing
fractional zeros ("0.5", "500", "12.25"; never "500.0", "01", ".5", "1.", "+1", "1e3"). There is
exactly one way to write each value, so the bytes a party signs are the bytes we re-encode.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..errors import InvalidEvent

__all__ = [
    "COUNT_UNITS",
    "MASS_UNITS",
    "MAX_QUANTITY",
    "UNITS",
    "check_unit",
    "format_decimal",
    "format_quantity",
    "parse_decimal",
    "parse_quantity",
    "same_dimension",
    "to_base",
]

MASS_UNITS: dict[str, Decimal] = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "t": Decimal(1000),
    "jin": Decimal("0.5"),
}
COUNT_UNITS = frozenset({"piece", "box", "bag", "head"})
UNITS = frozenset(MASS_UNITS) | COUNT_UNITS
MAX_QUANTITY = Decimal(10) ** 12

# Shape only; canonical form (no trailing zeros) is checked by re-formatting and comparing.
_DECIMAL = re.compile(r"(-?)(0|[1-9][0-9]{0,17})(?:\.([0-9]{1,18}))?")


def check_unit(unit: str, *, field: str = "unit") -> None:
    """Check that `unit` is one of `UNITS`. Raises InvalidEvent(field) otherwise."""
    if not isinstance(unit, str) or unit not in UNITS:
        raise InvalidEvent(field, f"expected a unit among {', '.join(sorted(UNITS))}, found {unit!r}")


def format_decimal(value: Decimal) -> str:
    """Return the canonical text of a finite decimal: no exponent, no trailing fractional zeros, "-0" as "0"."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"expected a finite Decimal, got {value!r}")
    if value.is_zero():
        return "0"
    text = format(value.normalize(), "f")
    return text


def parse_decimal(
    text: str,
    *,
    field: str,
    places: int = 3,
    negative: bool = False,
    zero: bool = False,
    maximum: Decimal = MAX_QUANTITY,
) -> Decimal:
    """Parse a canonical decimal string with at most `places` fractional digits.

    `negative` / `zero` allow values below / equal to zero; |value| must not exceed `maximum`.
    Returns the exact Decimal. Raises InvalidEvent(field) on any other text, including
    non-canonical spellings of an acceptable value ("0.50", "-0").
    """
    if not isinstance(text, str):
        raise InvalidEvent(field, f'expected a decimal string such as "12.5", found {type(text).__name__}')
    m = _DECIMAL.fullmatch(text)
    if m is None:
        raise InvalidEvent(
            field,
            f'expected a decimal string of digits with an optional point, such as "12.5", found {text[:40]!r}',
        )
    if m.group(3) is not None and len(m.group(3)) > places:
        raise InvalidEvent(field, f"at most {places} fractional digits are allowed, found {text!r}")
    value = Decimal(text)
    if m.group(1) and not negative:
        raise InvalidEvent(field, f"must not be negative, found {text!r}")
    if value.is_zero() and not zero:
        raise InvalidEvent(field, f"must be greater than zero, found {text!r}")
    if abs(value) > maximum:
        raise InvalidEvent(field, f"must not exceed {format_decimal(maximum)}, found {text!r}")
    # The pattern already rules out leading zeros; what is left of canonical form is no trailing
    # fractional zero and no "-0" (a zero with a fraction ends in a zero). Equivalent to comparing
    # with format_decimal(value), which the error message then spells out.
    fraction = m.group(3)
    if (fraction is not None and fraction[-1] == "0") or text == "-0":
        canonical = format_decimal(value)
        raise InvalidEvent(field, f"write {canonical!r}, not {text!r} (one spelling per value)")
    return value


def parse_quantity(text: str, *, field: str) -> Decimal:
    """Parse a quantity: a canonical decimal string > 0, at most 3 fractional digits, at most 10^12.

    Raises InvalidEvent(field) otherwise.
    """
    return parse_decimal(text, field=field, places=3)


def format_quantity(quantity: Decimal) -> str:
    """Return the canonical wire text of a quantity: `parse_quantity(format_quantity(q)) == q`."""
    return format_decimal(quantity)


def to_base(quantity: Decimal, unit: str) -> tuple[Decimal, str]:
    """Return `(quantity, base_unit)`: kilograms for a mass unit, the unit itself for a count unit.

    Raises InvalidEvent(field="unit") for an unknown unit.
    """
    check_unit(unit)
    factor = MASS_UNITS.get(unit)
    if factor is None:
        return quantity, unit
    return quantity * factor, "kg"


def same_dimension(u1: str, u2: str) -> bool:
    """Return whether quantities in `u1` and `u2` can be compared (both mass, or the same count unit)."""
    if u1 in MASS_UNITS and u2 in MASS_UNITS:
        return True
    return u1 == u2 and u1 in COUNT_UNITS
