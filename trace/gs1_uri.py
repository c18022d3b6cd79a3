"""The constrained canonical GS1 Digital Link URI of an identifier, as the CBV 2.0 event hash needs it.

CBV 2.0 §8.9.2 rules 17-18: an EPC URI (`urn:epc:id:…`), EPC class URI (`urn:epc:class:lgtin:…`)
or EPC pattern URI (`urn:epc:idpat:sgtin:…:*`) becomes its canonical GS1 Digital Link URI (GS1
Digital Link URI Syntax 1.2 §4.11; the EPC forms are GS1 Tag Data Standard 2.0 §6-8); a Digital
Link is constrained: the domain becomes `https://id.gs1.org`, the query string goes, key names
become AI numbers (`/gtin/` → `/01/`), a GTIN is written with 14 digits, and only the finest level
of identification stays (01 21, 01 10, 01 235, 01, 414 254, 8006 21|10, 8010 8011, or the key
alone: a CPV, AI 22, or a lot beside a serial is dropped).

    urn:epc:id:sgtin:0614141.107346.2017     → https://id.gs1.org/01/10614141073464/21/2017
    urn:epc:class:lgtin:4012345.011111.4444  → https://id.gs1.org/01/04012345111118/10/4444
    urn:epc:id:sgln:0614141.07346.1234       → https://id.gs1.org/414/0614141073467/254/1234
    https://example.com/gtin/9506000134352/lot/A1?17=260101 → https://id.gs1.org/01/09506000134352/10/A1

`canonical_gs1_uri` returns None for anything else, which the hash then keeps as written. EPC
schemes covered: sgtin, sscc, sgln, pgln, grai, giai, gsrn, gsrnp, gdti, sgcn, ginc, gsin, itip,
upui, cpi, lgtin and the sgtin pattern; other EPC patterns (grai, gdti, sgcn, cpi, itip, upui) are
kept as written (farmtrace writes none; docs/standards.md lists this).
"""

from __future__ import annotations

import re

from .model.ids import gs1_check_digit

__all__ = ["canonical_gs1_uri"]

_ROOT = "https://id.gs1.org"
# Digital Link key names (GS1 Digital Link 1.2 §4.4, the short names of 1.0) and their AIs.
_ALIASES = {
    "gtin": "01",
    "itip": "8006",
    "cpid": "8010",
    "gln": "414",
    "party": "417",
    "gsrnp": "8017",
    "gsrn": "8018",
    "gcn": "255",
    "sscc": "00",
    "gdti": "253",
    "ginc": "401",
    "gsin": "402",
    "grai": "8003",
    "giai": "8004",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
    "glnx": "254",
    "cpsn": "8011",
}
# The primary keys a constrained Digital Link may name (CBV 2.0 §8.9.2 rule 18).
_PRIMARY = frozenset(("01", "00", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018"))
_PRIMARY |= frozenset(("253", "255", "401", "402"))
# For each primary key, its qualifiers from the finest level down; the first one present is kept.
_QUALIFIERS = {"01": ("21", "10", "235"), "8006": ("21", "10"), "414": ("254",), "8010": ("8011",)}
# GS1 Digital Link 1.2 Table 7-1: characters a path segment must percent-encode that EPC URIs allow.
_ENCODE = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
_SERIAL = r"(?:%[0-9A-Fa-f]{2}|[!'()*+,.0-9:;=A-Za-z_-])+"
# Tag Data Standard: company prefix "." reference (together 12 or 13 digits) "." serial.
_EPC = {
    "sgtin": re.compile(rf"urn:epc:id:sgtin:(\d{{6,12}})\.(\d{{1,7}})\.({_SERIAL})"),
    "lgtin": re.compile(rf"urn:epc:class:lgtin:(\d{{6,12}})\.(\d{{1,7}})\.({_SERIAL})"),
    "sgtinpat": re.compile(r"urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*"),
    "sscc": re.compile(r"urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})"),
    "sgln": re.compile(rf"urn:epc:id:sgln:(\d{{6,12}})\.(\d{{0,6}})\.({_SERIAL})"),
    "pgln": re.compile(r"urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})"),
    "grai": re.compile(rf"urn:epc:id:grai:(\d{{6,12}})\.(\d{{0,6}})\.({_SERIAL})"),
    "giai": re.compile(rf"urn:epc:id:giai:(\d{{6,12}})\.({_SERIAL})"),
    "gsrn": re.compile(r"urn:epc:id:gsrn:(\d{6,12})\.(\d{5,11})"),
    "gsrnp": re.compile(r"urn:epc:id:gsrnp:(\d{6,12})\.(\d{5,11})"),
    "gdti": re.compile(rf"urn:epc:id:gdti:(\d{{6,12}})\.(\d{{0,6}})\.({_SERIAL})?"),
    "sgcn": re.compile(r"urn:epc:id:sgcn:(\d{6,12})\.(\d{0,6})\.(\d{1,12})"),
    "ginc": re.compile(rf"urn:epc:id:ginc:(\d{{6,12}})\.({_SERIAL})"),
    "gsin": re.compile(r"urn:epc:id:gsin:(\d{6,12})\.(\d{4,10})"),
    "itip": re.compile(rf"urn:epc:id:itip:(\d{{6,12}})\.(\d{{1,7}})\.(\d\d)\.(\d\d)\.({_SERIAL})"),
    "upui": re.compile(rf"urn:epc:id:upui:(\d{{6,12}})\.(\d{{1,7}})\.({_SERIAL})"),
    "cpi": re.compile(r"urn:epc:id:cpi:(\d{6,12})\.((?:%2[3dfDF]|[0-9A-Z-])+)\.(\d{1,12})"),
}
_LENGTHS = {
    "sgtin": 13,
    "lgtin": 13,
    "sgtinpat": 13,
    "itip": 13,
    "upui": 13,
    "sscc": 17,
    "gsrn": 17,
    "gsrnp": 17,
    "gsin": 16,
}
_DL = re.compile(r"https?://[^/?#]+(/[^?#]*)(?:\?[^#]*)?(?:#.*)?")


def canonical_gs1_uri(text: str) -> str | None:
    """Return the constrained canonical GS1 Digital Link URI of an EPC URI or a Digital Link, else None."""
    if text.startswith("urn:epc:"):
        return _from_epc(text)
    if text.startswith(("http://", "https://")):
        return _from_digital_link(text)
    return None


def _encode(serial: str) -> str:
    return "".join(_ENCODE.get(c, c) for c in serial)


def _keyed(digits: str) -> str:
    return digits + gs1_check_digit(digits)


def _from_epc(text: str) -> str | None:
    for scheme, pattern in _EPC.items():
        found = pattern.fullmatch(text)
        if found is None:
            continue
        parts = found.groups()
        prefix = parts[0]
        if scheme in _LENGTHS and len(prefix) + len(parts[1]) != _LENGTHS[scheme]:
            return None
        if scheme in ("sgln", "pgln", "grai", "gdti", "sgcn") and len(prefix) + len(parts[1]) != 12:
            return None
        if scheme in ("sgtin", "lgtin", "sgtinpat", "itip", "upui"):
            # The indicator digit leads the item reference; it moves before the company prefix.
            gtin = _keyed(parts[1][:1] + prefix + parts[1][1:])
            if scheme == "sgtinpat":
                return f"{_ROOT}/01/{gtin}"
            if scheme == "itip":  # piece and total follow the GTIN (AI 8006), then the serial
                return f"{_ROOT}/8006/{gtin}{parts[2]}{parts[3]}/21/{_encode(parts[4])}"
            ai = {"sgtin": "21", "lgtin": "10", "upui": "235"}[scheme]
            return f"{_ROOT}/01/{gtin}/{ai}/{_encode(parts[2])}"
        if scheme == "cpi":
            return f"{_ROOT}/8010/{prefix}{_encode(parts[1])}/8011/{parts[2]}"
        if scheme == "sscc":
            return f"{_ROOT}/00/{_keyed(parts[1][:1] + prefix + parts[1][1:])}"
        if scheme in ("sgln", "pgln"):
            gln = _keyed(prefix + parts[1])
            if scheme == "pgln":
                return f"{_ROOT}/417/{gln}"
            return f"{_ROOT}/414/{gln}" + ("" if parts[2] == "0" else f"/254/{_encode(parts[2])}")
        if scheme == "grai":
            return f"{_ROOT}/8003/{_keyed('0' + prefix + parts[1])}{_encode(parts[2])}"
        if scheme in ("giai", "ginc"):
            return f"{_ROOT}/{'8004' if scheme == 'giai' else '401'}/{prefix}{_encode(parts[1])}"
        if scheme in ("gsrn", "gsrnp", "gsin"):
            ai = {"gsrn": "8018", "gsrnp": "8017", "gsin": "402"}[scheme]
            return f"{_ROOT}/{ai}/{_keyed(prefix + parts[1])}"
        if scheme == "gdti":
            return f"{_ROOT}/253/{_keyed(prefix + parts[1])}{_encode(parts[2] or '')}"
        return f"{_ROOT}/255/{_keyed(prefix + parts[1])}{parts[2]}"  # sgcn
    return None


def _from_digital_link(text: str) -> str | None:
    found = _DL.fullmatch(text)
    if found is None:
        return None
    segments = [s for s in found.group(1).split("/") if s]
    # The identifier starts at the first primary key; anything before it is the resolver's path.
    starts = [i for i, segment in enumerate(segments) if _ALIASES.get(segment, segment) in _PRIMARY]
    if not starts:
        return None
    pairs = segments[starts[0] :]
    if len(pairs) % 2:
        return None
    path = dict((_ALIASES.get(pairs[i], pairs[i]), pairs[i + 1]) for i in range(0, len(pairs), 2))
    key = _ALIASES.get(pairs[0], pairs[0])
    value = path[key]
    if key == "01":
        if not value.isdigit() or len(value) not in (8, 12, 13, 14):
            return None
        value = value.zfill(14)
    out = f"{_ROOT}/{key}/{value}"
    for qualifier in _QUALIFIERS.get(key, ()):
        if qualifier in path:
            return f"{out}/{qualifier}/{path[qualifier]}"
    return out
