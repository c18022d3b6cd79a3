"""Transitional: moved to farmtrace.trace.model.units; this module re-exports it for old imports."""

from .model.units import (
    COUNT_UNITS,
    MASS_UNITS,
    MAX_QUANTITY,
    UNITS,
    check_unit,
    format_decimal,
    format_quantity,
    parse_decimal,
    parse_quantity,
    same_dimension,
    to_base,
)

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
