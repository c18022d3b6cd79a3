"""The event model's memos: every cache the parser keeps between calls, in one place.

Parsing an event is a pure function of its JSON, and a batch of events repeats most of its values
(the same products, places, prices, quantities and time offsets). These memos keep what was parsed
so it is parsed once. Each is bounded, keeps only values that parsed (a hit never hides an error),
and none changes what the parser returns: tests/trace/test_events.py holds them to that.

    PARSED / known / remember   whole value objects (Product, Location, Price, simple details),
                                keyed by (class, the JSON object's items)
    parse_decimal_text          decimal strings (quantities and prices), an lru_cache
    ZONES                       the time-zone offsets `reader.parse_time` has seen

They are speed machinery on the ingest path, kept apart from the model so the classes read plainly
and the memos can be measured or removed in one place.

Transitional: this module is pure speed work; it is to move, unchanged, beside the rest of the
write path's speed work (the review's trace/ingest/speed.py).
"""

from __future__ import annotations

from datetime import timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .units import parse_decimal

__all__ = ["PARSED", "PARSED_MAX", "ZONES", "known", "parse_decimal_text", "remember"]

# Parsed values by (class, the JSON object's items): the products, places, prices and simple
# details of a batch of events repeat, and parsing them is a pure function of the object. Only
# objects that parsed are kept, so a hit never hides an error; and only objects of strings, which
# are equal only to the same strings (1, 1.0 and true are equal keys in Python, "1" is not).
PARSED: dict[tuple, Any] = {}
PARSED_MAX = 4096

ZONES: dict[str, timezone] = {}  # parse_time's accepted offsets (at most 2 × 14 × 60 + 1 of them)


def known(cls: type, value: object) -> tuple[tuple | None, Any]:
    """(the memory's key for `value`, or None if it is not kept; what `cls._parse` made of an equal
    JSON object before, or None)."""
    if type(value) is not dict or not all(type(v) is str for v in value.values()):
        return None, None
    key = (cls, *value.items())
    return key, PARSED.get(key)


def remember(key: tuple | None, parsed: Any) -> Any:
    """Keep `parsed` under `key` (from `known`; None keeps nothing); return it."""
    if key is not None:
        if len(PARSED) >= PARSED_MAX:
            PARSED.clear()
        PARSED[key] = parsed
    return parsed


@lru_cache(maxsize=4096)  # quantities and prices repeat; a Decimal is immutable; errors are not kept
def parse_decimal_text(text: str, **kw: Any) -> Decimal:
    """`units.parse_decimal(text, field="", **kw)`, remembered. Raises what it raises."""
    return parse_decimal(text, field="", **kw)
