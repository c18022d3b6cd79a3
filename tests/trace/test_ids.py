"""Identifier checks: GB 32100 credit codes, GB 11643 resident IDs, lot codes, party ids, GS1 keys."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.ids import (
    LOT_PAGE_WORD,
    USCC_ALPHABET,
    check_event_id,
    check_gln,
    check_gtin,
    check_key_id,
    check_lot_code,
    check_party_id,
    check_resident_id,
    check_uscc,
    gs1_check_digit,
    gtin14,
    is_valid_lot_code,
    key_id_for,
    party_id_type,
    uscc_check_char,
)

# The example of GB 32100-2015 itself; its organisation-code part M000100Y4 also passes GB 11714.
USCC_EXAMPLE = "91350100M000100Y43"


def test_uscc_standard_example() -> None:
    check_uscc(USCC_EXAMPLE)
    assert uscc_check_char(USCC_EXAMPLE[:17]) == "3"


def test_uscc_check_char_by_hand() -> None:
    # 9·1 + 1·3 + 4·9 + 3·27 + 0·19 + 1·26 + 2·16 + 4·17 + M(21)·20 + A(10)·29 + 4·25 + L(20)·13
    # + 1·8 + 2·24 + 3·10 + 4·30 + 5·28 = 1671; 1671 mod 31 = 28; 31 - 28 = 3 -> "3"
    assert uscc_check_char("91430124MA4L12345") == "3"
    check_uscc("91430124MA4L123453")
    # The standard's example: 9 + 3 + 27 + 135 + 26 + M(21)·20 + 8 + Y(30)·30 + 4·28 = 1640 ≡ 28 -> "3".


def test_uscc_remainder_zero_is_written_0() -> None:
    # Find a prefix whose weighted sum is ≡ 0 (mod 31): its check character is "0", not "Y"/31.
    for last in USCC_ALPHABET:
        prefix = "9143012400000000" + last
        if uscc_check_char(prefix) == "0":
            check_uscc(prefix + "0")
            return
    pytest.fail("no prefix with remainder 0 found")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M0001O0Y43", "'O'"),
        ("91350100I000100Y43", "'I'"),
        ("913501A0M000100Y43", "administrative division"),
        ("91350100m000100y43", "'m'"),
        ("", "18 characters"),
    ],
)
def test_uscc_refused(code: str, words: str) -> None:
    with pytest.raises(InvalidEvent, match=words) as info:
        check_uscc(code, field="party.id")
    assert info.value.field == "party.id"


def test_uscc_single_substitutions_are_caught() -> None:
    # A mod-31 check catches every single-character substitution.
    for i in range(17):
        for c in USCC_ALPHABET:
            if c == USCC_EXAMPLE[i] or (2 <= i < 8 and not c.isdigit()):
                continue
            with pytest.raises(InvalidEvent):
                check_uscc(USCC_EXAMPLE[:i] + c + USCC_EXAMPLE[i + 1 :])


def _resident(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def test_resident_id() -> None:
    # The widely published GB 11643 sample number.
    check_resident_id("11010519491231002X")
    check_resident_id(_resident("43012420000229123"))  # 2000 is a leap year
    with pytest.raises(InvalidEvent, match="check character"):
        check_resident_id("110105194912310021")
    with pytest.raises(InvalidEvent, match="birth date"):
        check_resident_id(_resident("43012419990229123"))  # 1999 is no leap year
    with pytest.raises(InvalidEvent, match="17 digits"):
        check_resident_id("11010519491231002x")


LOT_CODES_OK = [
    "A",
    "NX-CAB-001",
    "a.b_c/d-1",
    "12345678901234567890",
    "LS/2026/11/20-017",
    "...",  # not a dot segment: URLs keep it
    ".a",
    "journey",  # alone it is the whole code, not a page word after a code
    "X/Journey",  # pages' words are lower-case
    "X/journey2",
]


@pytest.mark.parametrize("code", LOT_CODES_OK)
def test_lot_code_ok(code: str) -> None:
    check_lot_code(code)
    assert is_valid_lot_code(code)


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("", "1 to 20 characters"),
        ("123456789012345678901", "1 to 20 characters"),
        ("NX CAB", "1 to 20 characters"),
        ("包菜", "1 to 20 characters"),
        ("a+b", "1 to 20 characters"),
        ("a\n", "1 to 20 characters"),
        (7, "expected a string"),
        # Codes no URL can carry unchanged (issue 14): dot segments, empty parts, a page's word.
        (".", '"." or ".."'),
        ("..", '"." or ".."'),
        ("A/./B", '"." or ".."'),
        ("A/../B", '"." or ".."'),
        ("/", "empty parts"),
        ("/A", "empty parts"),
        ("A/", "empty parts"),
        ("a//b", "empty parts"),
        ("X/journey", "lower-case word like 'journey'"),
        ("X/label.png", "lower-case word like 'label.png'"),
        ("A/B/export.csv", "lower-case word like 'export.csv'"),
        ("X/trace", "/lots/CODE/journey"),
    ],
)
def test_lot_code_refused(code: object, says: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        check_lot_code(code, field="inputs[0].lot")  # type: ignore[arg-type]
    assert info.value.field == "inputs[0].lot"
    assert says in info.value.message, info.value.message
    assert not is_valid_lot_code(code)


@given(st.text(alphabet="Aa0-._/%", max_size=22))
def test_lot_code_check_and_predicate_agree(code: str) -> None:
    try:
        check_lot_code(code)
    except InvalidEvent:
        assert not is_valid_lot_code(code)
    else:
        assert is_valid_lot_code(code)
        # Accepted codes are fixed points of URL path normalisation (RFC 3986 §5.2.4) and name no page.
        parts = code.split("/")
        assert "" not in parts and "." not in parts and ".." not in parts
        assert len(parts) == 1 or not LOT_PAGE_WORD.fullmatch(parts[-1])


def test_party_ids() -> None:
    check_party_id(USCC_EXAMPLE)
    check_party_id("F430124-000123")
    assert party_id_type("F430124-000123") == "farmer_reg"
    assert party_id_type(USCC_EXAMPLE) == "uscc"
    for bad in ["F430124000123", "F43012-0000123", "f430124-000123", "11010519491231002X", "Y"]:
        with pytest.raises(InvalidEvent, match=r"party id|farmer|check character"):
            check_party_id(bad)


def test_resident_id_is_not_a_party_id() -> None:
    # Individuals appear in public data by registration number only.
    with pytest.raises(InvalidEvent):
        check_party_id("11010519491231002X")


def test_gtin() -> None:
    for gtin in ["6901234567892", "96385074", "036000291452", "10614141000415"]:
        check_gtin(gtin)
    assert gtin14("6901234567892") == "06901234567892"
    assert gtin14("96385074") == "00000096385074"
    assert gs1_check_digit("690123456789") == "2"
    for bad in ["6901234567891", "690123456789", "69012345678920", "abcdefghijklm", "６901234567892"]:
        with pytest.raises(InvalidEvent):
            check_gtin(bad)


def test_gln() -> None:
    check_gln("6901234000009")
    with pytest.raises(InvalidEvent, match="check digit"):
        check_gln("6901234000004")


def test_event_and_key_ids() -> None:
    check_event_id("0" * 64)
    check_key_id("0123456789abcdef")
    for bad in ["0" * 63, "A" * 64, "g" * 64]:
        with pytest.raises(InvalidEvent):
            check_event_id(bad)
    with pytest.raises(InvalidEvent):
        check_key_id("0123456789ABCDEF")
    # SHA-256 of 32 zero bytes begins 66687aadf862bd77.
    assert key_id_for(bytes(32)) == "66687aadf862bd77"
    with pytest.raises(InvalidEvent):
        key_id_for(bytes(31))


CHECKS = [
    check_uscc,
    check_resident_id,
    check_lot_code,
    check_party_id,
    check_gtin,
    check_gln,
    check_event_id,
]


@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.binary(max_size=20)))
def test_checkers_raise_only_invalid_event(value: object) -> None:
    for check in CHECKS:
        with contextlib.suppress(InvalidEvent):
            check(value)  # type: ignore[arg-type]


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17).map(lambda s: s[:2] + "430124" + s[8:]))
def test_uscc_constructed_codes_pass(first17: str) -> None:
    check_uscc(first17 + uscc_check_char(first17))
