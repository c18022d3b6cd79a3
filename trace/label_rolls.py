"""Pre-printed label rolls: serial label codes, ranges of them, and their consumer URIs.

A printer produces a roll of labels before anyone knows which lot they will go on. Each label
carries a GS1 Digital Link URI with the party's GTIN and a serial number, GS1 AI (21):

    https://<resolver>/01/<gtin-14>/21/<serial>

A `label_activate` event (trace/model/details.py, `LabelActivateDetail`) later binds a list of
such serials, under one GTIN, to one lot of the party's; until then the URI resolves to a page
that says the label is not activated (web/resolver.py, docs/labels-anti-copy.md).

Serials are a subset of GS1's AI (21) syntax (1-20 characters of GS1 character set 82): here the
characters A-Z a-z 0-9 - . _ only, so a serial needs no percent-encoding in a URI path and reads
the same in every URL. A range is written `<prefix><first>..<last>`, e.g. `R7-000001..000500`:
the numbers keep the width of `first`, `last` is not before `first`, and a range expands to at
most `MAX_LABELS` serials (the most one event binds).
"""

from __future__ import annotations

import re

from .errors import InvalidEvent

__all__ = [
    "MAX_LABELS",
    "MAX_SERIAL_LEN",
    "check_serial",
    "expand_range",
    "format_range",
    "is_valid_serial",
    "label_uri",
]

MAX_LABELS = 1000
MAX_SERIAL_LEN = 20
_SERIAL = re.compile(r"[A-Za-z0-9\-._]{1,20}")
_RANGE = re.compile(r"(?P<prefix>[A-Za-z0-9\-._]*?)(?P<first>[0-9]+)\.\.(?P<last>[0-9]+)")


def is_valid_serial(serial: object) -> bool:
    """True if `check_serial` would accept `serial`."""
    return type(serial) is str and _SERIAL.fullmatch(serial) is not None and serial not in (".", "..")


def check_serial(serial: object, *, field: str = "serial") -> None:
    """Check a label serial (GS1 AI 21, restricted as the module docstring says).

    Returns None or raises InvalidEvent(field) saying what a serial is and what was found.
    """
    if not is_valid_serial(serial):
        shown = str(serial)[:40]
        raise InvalidEvent(
            field, f"a label serial is 1 to 20 characters of A-Z a-z 0-9 - . _ (GS1 AI 21), found {shown!r}"
        )


def expand_range(text: str, *, field: str = "range") -> tuple[str, ...]:
    """The serials of range `text` (`R7-000001..000500`), in order; its inverse is `format_range`.

    Raises InvalidEvent(field) if it is not a range, the two numbers differ in width, `last` is
    before `first`, it holds more than MAX_LABELS serials, or a serial would be invalid.
    """
    m = _RANGE.fullmatch(text.strip())
    if m is None:
        raise InvalidEvent(field, f"a range is <prefix><first>..<last>, e.g. R7-0001..0500, found {text[:40]!r}")
    prefix, first, last = m["prefix"], m["first"], m["last"]
    if len(first) != len(last):
        raise InvalidEvent(field, f"the first and last numbers must have the same width, found {first!r} and {last!r}")
    lo, hi = int(first), int(last)
    if hi < lo:
        raise InvalidEvent(field, f"the last number ({last}) is before the first ({first})")
    if hi - lo + 1 > MAX_LABELS:
        raise InvalidEvent(field, f"a range holds at most {MAX_LABELS} labels, found {hi - lo + 1}")
    serials = tuple(f"{prefix}{n:0{len(first)}d}" for n in range(lo, hi + 1))
    check_serial(serials[-1], field=field)
    return serials


def format_range(serials: tuple[str, ...]) -> str | None:
    """The range text whose `expand_range` is `serials`, or None if they are not one such range."""
    if not serials:
        return None
    m = re.fullmatch(r"(?P<prefix>[A-Za-z0-9\-._]*?)(?P<n>[0-9]+)", serials[0])
    if m is None:
        return None
    text = f"{m['prefix']}{m['n']}..{int(m['n']) + len(serials) - 1:0{len(m['n'])}d}"
    try:
        return text if expand_range(text) == serials else None
    except InvalidEvent:
        return None


def label_uri(base: str, *, gtin: str, serial: str) -> str:
    """The GS1 Digital Link URI printed on a pre-printed label: `<base>/01/<gtin-14>/21/<serial>`.

    `gtin` is padded to 14 digits (the Digital Link's canonical form); `base` has no trailing "/".
    Raises InvalidEvent("serial") for an invalid serial.
    """
    check_serial(serial)
    return f"{base.rstrip('/')}/01/{gtin.zfill(14)}/21/{serial}"
