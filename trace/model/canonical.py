"""RFC 8785 (JCS) bytes of an event's wire form, at the speed of a compiled JSON encoder (orjson).

A wire form (`Event.to_wire()` and the forms inside it) is built only of dicts with ASCII keys,
lists, strings and small integers: decimals travel as strings, never as JSON numbers. For exactly
that subset JCS and `orjson.dumps(value, option=OPT_SORT_KEYS)` agree:

- RFC 8785 §3.2.3 sorts keys by UTF-16 code units, which for ASCII keys is the code point order
  orjson sorts by;
- §3.2.2.2 escapes a string's `"` and `\\`, writes \\b \\t \\n \\f \\r in short form and every other
  control below U+0020 as \\u00xx (lower-case hex), and leaves everything else as UTF-8: so does
  orjson, which writes no white space between tokens;
- §3.2.2.3 writes an integer of magnitude below 2^53 in its shortest decimal form, as orjson does.

Anything outside the subset is handed to the reference implementation (`rfc8785`): a float, a
non-ASCII key, a large integer, a lone surrogate. tests/trace/test_canonical.py compares the two on
every wire form of every kind and on Hypothesis-generated JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

__all__ = ["canonical_json", "wire_json"]

_SORTED = orjson.OPT_SORT_KEYS
_SAFE_INT = 1 << 53


def canonical_json(obj: Any) -> bytes:
    """Return the RFC 8785 serialization of `obj` (JSON types only). Raises what `rfc8785.dumps` raises."""
    if _in_subset(obj):
        try:
            return orjson.dumps(obj, option=_SORTED)
        except orjson.JSONEncodeError:  # a lone surrogate: let the reference implementation say so
            pass
    return rfc8785.dumps(obj)


def wire_json(wire: dict[str, Any]) -> bytes:
    """`canonical_json` of a wire form the model built (`to_wire()`), which is in the subset by
    construction: the walk that checks it is skipped. Callers with other input use `canonical_json`."""
    return orjson.dumps(wire, option=_SORTED)


def _in_subset(obj: Any) -> bool:
    """True if `obj` holds only str, bool, None, |int| < 2^53, lists, and dicts with ASCII str keys."""
    stack = [obj]
    pop, push = stack.pop, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is str or v is None or t is bool:
            continue
        if t is dict:
            for k in v:
                if type(k) is not str or not k.isascii():
                    return False
            push(v.values())
        elif t is list:
            push(v)
        elif t is int:
            if not -_SAFE_INT < v < _SAFE_INT:
                return False
        else:
            return False
    return True
