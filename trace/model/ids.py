"""Identifier checks: party codes, lot codes, GS1 keys, event and key ids.

Every `check_*` returns None or raises `InvalidEvent` naming `field` (keyword, with a sensible
default), so the same check reports "party" in one place and "detail.destination" in another.

Public data never identifies a person by resident ID: a farmer is a party by registration number
("F" + 6-digit area code + "-" + 6 digits); `check_resident_id` exists for the off-ledger
registration desk, which keeps that number private and commits to it (PartyRecord.contact_commitment).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re

from ..errors import InvalidEvent

__all__ = [
    "EAR_TAG_SPECIES",
    "LOT_PAGE_WORD",
    "USCC_ALPHABET",
    "check_ear_tag",
    "check_event_id",
    "check_gln",
    "check_gtin",
    "check_key_id",
    "check_lot_code",
    "check_national_code",
    "check_party_id",
    "check_resident_id",
    "check_uscc",
    "gs1_check_digit",
    "gtin14",
    "is_valid_lot_code",
    "is_valid_party_id",
    "key_id_for",
    "party_id_type",
    "uscc_check_char",
]

# GB 32100-2015 §4.2: the 31-character code set, 0-9 and the capitals without I, O, S, V, Z.
# (It contains M: the standard's own example 91350100M000100Y43 does.)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
# GB 32100-2015 §5: w_i = 3^(i-1) mod 31.
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11643-1999 §8.2: ISO 7064 MOD 11-2 weights 2^(17-i) mod 11, and the check characters by remainder.
_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"

# GS1 AI (10) batch/lot is up to 20 characters of GS1 AI encodable character set 82; we allow
# the subset that is also safe in URLs: unreserved characters (RFC 3986 §2.3), and "/" between
# parts. The parts are what a URL path sees once a "/" is sent as "/" or as %2F, so none may be
# empty, "." or ".." (RFC 3986 §5.2.4 removes those), and the last part of a code with a "/" may
# not be a lower-case word like "journey" or "label.png": `/lots/{code}/journey` and every other
# page of a lot end in such a word (`LOT_PAGE_WORD`), and the route would take it for the page.
_LOT = re.compile(r"(?!\.{1,2}(?:/|$))[A-Za-z0-9\-._]+(?:/(?!\.{1,2}(?:/|$))[A-Za-z0-9\-._]+)*")
LOT_PAGE_WORD = re.compile(r"[a-z]+(?:\.[a-z]+)?")
_FARMER = re.compile(r"F[0-9]{6}-[0-9]{6}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_DIGITS = re.compile(r"[0-9]+")
# The national platform's codes (国家农产品质量安全追溯管理信息平台): a party's 主体码, a lot's 追溯码.
# Their exact formats are not published where we could read them (docs/national-platform.md): the
# shape accepted is the one every code its guides show fits, digits and capital letters, 8 to 40 of
# them, so that one code has one spelling (no spaces, dashes or lower case to normalise away).
_NATIONAL_CODE = re.compile(r"[0-9A-Z]{8,40}")
# A livestock ear tag (畜禽标识) number, 《畜禽标识和养殖档案管理办法》 (农业部令第67号) art. 8: 15
# digits, the species code (1 pig, 2 cattle, 3 sheep and goats), the county's 6-digit administrative
# division code (GB/T 2260), and an 8-digit serial within the county.
_EAR_TAG = re.compile(r"[1-3][0-9]{14}")
EAR_TAG_SPECIES = {"1": "pig", "2": "cattle", "3": "sheep"}


def _need_str(code: object, field: str) -> str:
    if not isinstance(code, str):
        raise InvalidEvent(field, f"expected a string, found {type(code).__name__}")
    return code


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a credit code.

    Raises InvalidEvent(field="id") if `first17` is not 17 characters of the code set.
    """
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise InvalidEvent("id", f"expected 17 characters of {USCC_ALPHABET}, found {first17!r}")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    # GB 32100-2015 §5: C18 = 31 - (Σ mod 31), and 31 is written as 0.
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(code: str, *, field: str = "id") -> None:
    """Check a unified social credit code (统一社会信用代码, GB 32100-2015).

    18 characters of `USCC_ALPHABET`; characters 3-8 are the registering authority's administrative
    division code (GB/T 2260, six digits); character 18 is the check character.
    Raises InvalidEvent(field) otherwise.
    """
    code = _need_str(code, field)
    if len(code) != 18:
        raise InvalidEvent(field, f"a unified social credit code has 18 characters, found {len(code)}")
    bad = [c for c in code if c not in _USCC_VALUE]
    if bad:
        raise InvalidEvent(
            field, f"a unified social credit code uses only {USCC_ALPHABET}, found {bad[0]!r} in {code!r}"
        )
    if not _DIGITS.fullmatch(code[2:8]):
        raise InvalidEvent(field, f"characters 3-8 of {code!r} must be an administrative division code")
    want = uscc_check_char(code[:17])
    if code[17] != want:
        raise InvalidEvent(field, f"check character of {code!r} should be {want!r}, found {code[17]!r}")


def check_resident_id(code: str, *, field: str = "id") -> None:
    """Check an 18-character resident identity number (GB 11643-1999).

    17 digits, the last of which is followed by an ISO 7064 MOD 11-2 check character (0-9 or X),
    with a valid calendar date YYYYMMDD in characters 7-14. Raises InvalidEvent(field) otherwise.
    """
    code = _need_str(code, field)
    if len(code) != 18 or not _DIGITS.fullmatch(code[:17]) or code[17] not in "0123456789X":
        raise InvalidEvent(field, "a resident ID is 17 digits and a check character 0-9 or X")
    try:
        _dt.date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError as exc:
        raise InvalidEvent(field, f"characters 7-14 must be a birth date, found {code[6:14]!r}") from exc
    want = _RID_CHECK[sum(int(c) * w for c, w in zip(code[:17], _RID_WEIGHTS, strict=True)) % 11]
    if code[17] != want:
        raise InvalidEvent(field, f"check character should be {want!r}, found {code[17]!r}")


def check_lot_code(code: str, *, field: str = "lot") -> None:
    """Check a lot code: 1-20 characters of A-Z a-z 0-9 - . _ / (fits GS1 AI (10) batch/lot).

    "/" only separates parts: no part is empty, "." or "..", and after a "/" the last part is not a
    lower-case word such as "journey" or "label.png" (the names of a lot's pages). So every
    accepted code is the same lot in any URL, whether its "/" is sent as "/" or as %2F.
    Raises InvalidEvent(field) otherwise, saying which of these the code breaks.
    """
    code = _need_str(code, field)
    if is_valid_lot_code(code):
        return
    shown = code[:40]
    if not 1 <= len(code) <= 20 or not _LOT_CHARS.fullmatch(code):
        raise InvalidEvent(field, f"a lot code is 1 to 20 characters of A-Z a-z 0-9 - . _ /, found {shown!r}")
    parts = code.split("/")
    if "" in parts:
        raise InvalidEvent(
            field, f'a lot code may not begin or end with "/" or hold "//" (empty parts), found {shown!r}'
        )
    if "." in parts or ".." in parts:
        raise InvalidEvent(
            field, f'a lot code may not be, or hold a part, "." or ".." (URLs drop them), found {shown!r}'
        )
    raise InvalidEvent(
        field,
        f'after a "/", a lot code may not end in a lower-case word like {parts[-1]!r}: the lot\'s pages '
        f"(/lots/CODE/journey, /lots/CODE/label.png, ...) end in such words, found {shown!r}",
    )


_LOT_CHARS = re.compile(r"[A-Za-z0-9\-._/]+")


def is_valid_lot_code(code: object) -> bool:
    """True if `check_lot_code` would accept `code` (no error built: for the parser's fast path)."""
    if type(code) is not str or len(code) > 20 or _LOT.fullmatch(code) is None:
        return False
    slash = code.rfind("/")
    return slash < 0 or LOT_PAGE_WORD.fullmatch(code, slash + 1) is None


# Party ids that passed `check_party_id`. A credit code's check costs ~10 µs and ingest sees the
# same few thousand parties again and again; the set is bounded by clearing it when it is full.
_VALID_PARTY_IDS: set[str] = set()
_VALID_PARTY_IDS_MAX = 100_000


def is_valid_party_id(code: object) -> bool:
    """True if `check_party_id` would accept `code` (remembered for ids seen before)."""
    if type(code) is not str:
        return False
    if code in _VALID_PARTY_IDS:
        return True
    try:
        check_party_id(code)
    except InvalidEvent:
        return False
    if len(_VALID_PARTY_IDS) >= _VALID_PARTY_IDS_MAX:
        _VALID_PARTY_IDS.clear()
    _VALID_PARTY_IDS.add(code)
    return True


def party_id_type(code: str) -> str:
    """Return "farmer_reg" for a farmer registration number, else "uscc" (without checking it)."""
    return "farmer_reg" if isinstance(code, str) and code.startswith("F") and len(code) == 14 else "uscc"


def check_party_id(code: str, *, field: str = "party") -> None:
    """Check a party id: a unified social credit code, or a farmer registration number "F430124-000123".

    Raises InvalidEvent(field) otherwise.
    """
    code = _need_str(code, field)
    if party_id_type(code) == "farmer_reg":
        if not _FARMER.fullmatch(code):
            raise InvalidEvent(
                field, f"a farmer registration number looks like F430124-000123, found {code!r}"
            )
        return
    if len(code) != 18:
        raise InvalidEvent(
            field,
            "a party id is an 18-character unified social credit code or a farmer registration number "
            f"like F430124-000123, found {code[:40]!r}",
        )
    check_uscc(code, field=field)


def gs1_check_digit(digits: str) -> str:
    """Return the GS1 mod-10 check digit for `digits` (the key without its check digit).

    GS1 General Specifications §7.9.1: weights 3 and 1 alternate from the rightmost digit.
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _check_gs1(code: object, lengths: tuple[int, ...], name: str, field: str) -> str:
    code = _need_str(code, field)
    if len(code) not in lengths or not _DIGITS.fullmatch(code) or not code.isascii():
        want = " or ".join(str(n) for n in lengths)
        raise InvalidEvent(field, f"a {name} is {want} digits, found {code[:40]!r}")
    want_digit = gs1_check_digit(code[:-1])
    if code[-1] != want_digit:
        raise InvalidEvent(field, f"check digit of {name} {code} should be {want_digit}, found {code[-1]}")
    return code


def check_gtin(gtin: str, *, field: str = "gtin") -> None:
    """Check a GTIN-8, -12, -13 or -14 and its GS1 check digit. Raises InvalidEvent(field) otherwise."""
    _check_gs1(gtin, (8, 12, 13, 14), "GTIN", field)


def gtin14(gtin: str) -> str:
    """Return `gtin` checked and left-padded with zeros to 14 digits (the form GS1 Digital Link uses)."""
    return _check_gs1(gtin, (8, 12, 13, 14), "GTIN", "gtin").zfill(14)


def check_gln(gln: str, *, field: str = "gln") -> None:
    """Check a 13-digit GS1 Global Location Number and its check digit. Raises InvalidEvent(field)."""
    _check_gs1(gln, (13,), "GLN", field)


def check_national_code(code: str, *, field: str = "code") -> None:
    """Check a national platform code (a 主体码 or a 追溯码): 8 to 40 digits and capital letters A-Z.

    Raises InvalidEvent(field) naming the accepted shape.
    """
    code = _need_str(code, field)
    if not _NATIONAL_CODE.fullmatch(code):
        raise InvalidEvent(
            field,
            f"expected a national platform code, 8 to 40 digits or capital letters A-Z, found {code[:60]!r}",
        )


def check_ear_tag(tag: str, *, field: str = "ear_tag") -> None:
    """Check a livestock ear tag number: 15 digits, the first the species (1 pig, 2 cattle, 3 sheep).

    Raises InvalidEvent(field) naming the accepted shape.
    """
    tag = _need_str(tag, field)
    if not _EAR_TAG.fullmatch(tag):
        raise InvalidEvent(
            field,
            "expected an ear tag number of 15 digits: species (1 pig, 2 cattle, 3 sheep), county code, "
            f"serial; found {tag[:40]!r}",
        )


def check_event_id(value: str, *, field: str = "event") -> None:
    """Check an event id: 64 lowercase hex digits (SHA-256 of the event's canonical bytes)."""
    value = _need_str(value, field)
    if not _HEX64.fullmatch(value):
        raise InvalidEvent(field, f"an event id is 64 lowercase hex digits, found {value[:80]!r}")


def check_key_id(value: str, *, field: str = "key_id") -> None:
    """Check a key id: 16 lowercase hex digits (see `key_id_for`)."""
    value = _need_str(value, field)
    if not _HEX16.fullmatch(value):
        raise InvalidEvent(field, f"a key id is 16 lowercase hex digits, found {value[:40]!r}")


def key_id_for(public_key: bytes) -> str:
    """Return the key id of a raw 32-byte Ed25519 public key: hex of SHA-256(public_key)[:8].

    Raises InvalidEvent(field="public_key") if the key is not 32 bytes.
    """
    if not isinstance(public_key, bytes | bytearray) or len(public_key) != 32:
        raise InvalidEvent("public_key", "an Ed25519 public key is 32 raw bytes")
    return hashlib.sha256(public_key).digest()[:8].hex()
