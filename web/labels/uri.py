"""Label URIs: where a label's QR code points, written once and read back strictly.

A label URI is written on the service's public base URL (`Settings.public_url`, the `base` here):

    {base}/01/{gtin14}/10/{lot}     the product has a GTIN: a GS1 Digital Link URI (GS1 Digital
                                    Link Standard 1.x, uncompressed, primary key AI (01) GTIN as 14
                                    digits, key qualifier AI (10) batch/lot)
    {base}/l/{lot}                  the product has none (most small farms): our own short path

    base   http or https, a host, an optional port and an optional path prefix; no trailing slash,
           user info, query or fragment: "https://trace.changsha.example"
    lot    a lot code (trace/model/ids.py check_lot_code: 1-20 of A-Z a-z 0-9 - . _ /), with "/" written
           as "%2F": GS1 Digital Link percent-encodes AI values, and every other character a lot
           code may hold is unreserved (RFC 3986 §2.3), so each lot has exactly one spelling.

`label_uri` writes one and `parse_label_uri` reads one back strictly (it re-formats what it parsed
and compares, so there is exactly one accepted spelling of each label). Bad input raises
`farmtrace.trace.errors.InvalidEvent` naming the field ("lot", "gtin", "base", "uri").
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.ids import check_lot_code, gtin14

__all__ = ["label_uri", "parse_label_uri"]

# --- label URIs ------------------------------------------------------------------------------------

_BASE_PATH = re.compile(r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@]+)*")
_SHORT = re.compile(r"/l/((?:[A-Za-z0-9\-._]|%2F){1,60})")
_DIGITAL_LINK = re.compile(r"/01/([0-9]{14})/10/((?:[A-Za-z0-9\-._]|%2F){1,60})")


def _check_base(base: object) -> str:
    if not isinstance(base, str):
        raise InvalidEvent("base", f"expected the public base URL as a string, found {type(base).__name__}")
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or "?" in base
        or "#" in base
        or not _BASE_PATH.fullmatch(parts.path)
        or base != base.strip()
    ):
        raise InvalidEvent(
            "base",
            "expected a public base URL like https://trace.changsha.example (http or https, a host, "
            f"an optional path; no trailing slash, query or fragment), found {base[:80]!r}",
        )
    return base


def label_uri(lot: str, *, base: str, gtin: str | None = None) -> str:
    """Return the URI a lot's label encodes: `{base}/01/{gtin14}/10/{lot}` or `{base}/l/{lot}`.

    Raises InvalidEvent naming "lot" (not a lot code), "gtin" (wrong length or check digit) or
    "base" (not a public base URL; see the module docstring).
    """
    _check_base(base)
    check_lot_code(lot, field="lot")
    lot_segment = lot.replace("/", "%2F")
    if gtin is None:
        return f"{base}/l/{lot_segment}"
    return f"{base}/01/{gtin14(gtin)}/10/{lot_segment}"


def parse_label_uri(uri: str, *, base: str) -> tuple[str, str | None]:
    """Return (lot, gtin14 or None) from a label URI written by `label_uri` on `base`.

    Strict: the URI must be on `base` and spelled exactly as `label_uri` spells it (no query,
    fragment, trailing slash, lower-case "%2f", needless escapes or a GTIN shorter than 14 digits).
    Raises InvalidEvent(field="uri") saying what was expected and found.
    """
    _check_base(base)
    if not isinstance(uri, str):
        raise InvalidEvent("uri", f"expected a label URI as a string, found {type(uri).__name__}")
    shown = uri[:120]
    if not uri.startswith(base + "/"):
        raise InvalidEvent("uri", f"expected a label URI on {base}/, found {shown!r}")
    rest = uri[len(base) :]
    gtin: str | None = None
    if m := _SHORT.fullmatch(rest):
        lot = m.group(1).replace("%2F", "/")
    elif m := _DIGITAL_LINK.fullmatch(rest):
        gtin, lot = m.group(1), m.group(2).replace("%2F", "/")
    else:
        raise InvalidEvent(
            "uri", f"expected {base}/l/{{lot}} or {base}/01/{{GTIN-14}}/10/{{lot}}, found {shown!r}"
        )
    try:
        again = label_uri(lot, base=base, gtin=gtin)
    except InvalidEvent as exc:
        raise InvalidEvent("uri", f"{exc.message} (in {shown!r})") from exc
    if again != uri:
        raise InvalidEvent("uri", f"expected the canonical spelling {again!r}, found {shown!r}")
    return lot, gtin
