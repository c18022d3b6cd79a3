"""Checkpoints (c2sp.org/tlog-checkpoint): the strict text form, the log's signature, witness cosignatures."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.checkpoint import (
    Checkpoint,
    format_checkpoint,
    open_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
)
from farmtrace.ledger.errors import MalformedError, VerificationError
from farmtrace.ledger.note import CosignatureSigner, Signer, open_note, sign_note

# The example of c2sp.org/tlog-checkpoint.
ORIGIN = "example.com/behind-the-sofa"
ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
SPEC_TEXT = f"{ORIGIN}\n20852163\n{ROOT_B64}\n"
SPEC_CHECKPOINT = Checkpoint(origin=ORIGIN, size=20852163, root=base64.b64decode(ROOT_B64))

LOG = Signer.from_seed(ORIGIN, hashlib.sha256(b"farmtrace test log key").digest())
IMPOSTOR = Signer.from_seed(ORIGIN, hashlib.sha256(b"another key with the log's name").digest())
WITNESS = CosignatureSigner.from_seed("witness.example.com/w1", hashlib.sha256(b"farmtrace witness").digest())
T = 1679315147
ZERO_ROOT = "A" * 43 + "="
MAX_SIZE = 2**63 - 1
URLSAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()  # "_" where standard base64 has "/"


# --- format / parse -------------------------------------------------------------------------------------


def test_spec_example_parses_and_formats_back():
    assert parse_checkpoint(SPEC_TEXT) == SPEC_CHECKPOINT
    assert format_checkpoint(SPEC_CHECKPOINT) == SPEC_TEXT


@pytest.mark.parametrize(
    "cp",
    [
        SPEC_CHECKPOINT,
        Checkpoint(origin="o", size=0, root=bytes(32)),
        Checkpoint(origin="o", size=MAX_SIZE, root=b"\xff" * 32),
        Checkpoint(origin=ORIGIN, size=7, root=bytes(range(32)), extensions=("ext one", "— two")),
        Checkpoint(origin="changsha.farmtrace.example/日志", size=1, root=bytes(32)),
    ],
    ids=["spec", "empty-tree", "max-size", "extensions", "unicode-origin"],
)
def test_round_trip(cp):
    text = format_checkpoint(cp)
    assert parse_checkpoint(text) == cp
    assert text.endswith("\n")
    assert text.count("\n") == 3 + len(cp.extensions)


def test_format_writes_the_spec_lines():
    cp = Checkpoint(origin="o", size=10, root=bytes(32), extensions=("x",))
    assert format_checkpoint(cp) == f"o\n10\n{ZERO_ROOT}\nx\n"


@pytest.mark.parametrize(
    "text, match",
    [
        (f"{ORIGIN}\n007\n{ROOT_B64}\n", "canonical form"),
        (f"{ORIGIN}\n00\n{ROOT_B64}\n", "canonical form"),
        (f"{ORIGIN}\n+7\n{ROOT_B64}\n", "decimal number"),
        (f"{ORIGIN}\n-1\n{ROOT_B64}\n", "decimal number"),
        (f"{ORIGIN}\n\n{ROOT_B64}\n", "decimal number"),
        (f"{ORIGIN}\n1_000\n{ROOT_B64}\n", "decimal number"),
        (f"{ORIGIN}\n\u0663\n{ROOT_B64}\n", "decimal number"),  # ARABIC-INDIC DIGIT THREE
        (f"{ORIGIN}\n{MAX_SIZE + 1}\n{ROOT_B64}\n", r"2\^63-1"),
        (f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n", r"2\^63-1"),
        (f"{ORIGIN} \n20852163\n{ROOT_B64}\n", "origin"),
        (f" {ORIGIN}\n20852163\n{ROOT_B64}\n", "origin"),
        (f"{ORIGIN}\t\n20852163\n{ROOT_B64}\n", "origin"),
        (f"{ORIGIN}\n20852163 \n{ROOT_B64}\n", "decimal number"),
        (f"{ORIGIN}\n 20852163\n{ROOT_B64}\n", "decimal number"),
        (f"{ORIGIN}\n20852163\n{ROOT_B64} \n", "base64"),
        (f"{ORIGIN}\r\n20852163\r\n{ROOT_B64}\r\n", "decimal number"),
        (SPEC_TEXT[:-1], "end with a newline"),
        (f"{ORIGIN}\n20852163\n", "at least three lines"),
        (f"{ORIGIN}\n", "at least three lines"),
        ("\n", "at least three lines"),
        ("", "end with a newline"),
        (f"{ORIGIN}\n20852163\n{base64.b64encode(bytes(31)).decode()}\n", "32-byte"),
        (f"{ORIGIN}\n20852163\n{base64.b64encode(bytes(33)).decode()}\n", "32-byte"),
        (f"{ORIGIN}\n20852163\n\n", "32-byte"),
        (f"{ORIGIN}\n20852163\n{ROOT_B64[:-2]}J=\n", "canonical form"),  # nonzero padding bits
        (f"{ORIGIN}\n20852163\n{ROOT_B64[:-1]}\n", "base64"),
        (f"{ORIGIN}\n20852163\n{URLSAFE_ROOT}\n", "base64"),
        (f"{SPEC_TEXT}\n", "non-empty line"),
        (f"{SPEC_TEXT}ext\n\n", "non-empty line"),
        (f"{SPEC_TEXT}\next\n", "non-empty line"),
        (f"\n20852163\n{ROOT_B64}\n", "origin"),
    ],
    ids=[
        "leading-zeros",
        "double-zero",
        "plus",
        "minus",
        "empty-size",
        "underscore",
        "non-ascii-digit",
        "size-2^63",
        "size-2^64",
        "origin-trailing-space",
        "origin-leading-space",
        "origin-trailing-tab",
        "size-trailing-space",
        "size-leading-space",
        "root-trailing-space",
        "crlf",
        "no-final-newline",
        "two-lines",
        "one-line",
        "only-newline",
        "empty",
        "root-31-bytes",
        "root-33-bytes",
        "root-empty",
        "root-non-canonical",
        "root-unpadded",
        "root-urlsafe",
        "empty-extension",
        "empty-extension-last",
        "empty-extension-first",
        "empty-origin",
    ],
)
def test_parse_refuses(text, match):
    with pytest.raises(MalformedError, match=match):
        parse_checkpoint(text)


def test_non_canonical_root_decodes_to_the_same_bytes():
    # The case above is refused for its form, not its value: Python decodes both to the same hash.
    assert base64.b64decode(f"{ROOT_B64[:-2]}J=") == base64.b64decode(ROOT_B64)
    assert ROOT_B64[-2:] == "I="


def test_size_bounds():
    assert parse_checkpoint(f"o\n{MAX_SIZE}\n{ZERO_ROOT}\n").size == MAX_SIZE
    assert parse_checkpoint(f"o\n0\n{ZERO_ROOT}\n").size == 0


def test_parse_refuses_bytes():
    with pytest.raises(MalformedError):
        parse_checkpoint(SPEC_TEXT.encode())


def test_extension_lines_are_opaque():
    # c2sp.org/tlog-checkpoint: extension lines are opaque and only need to be non-empty, so inner and
    # trailing spaces are kept as they are (the other lines refuse them, above).
    text = f"{SPEC_TEXT}ext with spaces \n  \n"
    assert parse_checkpoint(text).extensions == ("ext with spaces ", "  ")
    assert format_checkpoint(parse_checkpoint(text)) == text


@pytest.mark.parametrize(
    "cp, match",
    [
        (Checkpoint(origin="", size=1, root=bytes(32)), "origin"),
        (Checkpoint(origin="a\nb", size=1, root=bytes(32)), "origin"),
        (Checkpoint(origin="o", size=-1, root=bytes(32)), r"2\^63-1"),
        (Checkpoint(origin="o", size=MAX_SIZE + 1, root=bytes(32)), r"2\^63-1"),
        (Checkpoint(origin="o", size=1, root=bytes(31)), "32-byte"),
        (Checkpoint(origin="o", size=1, root=bytes(32), extensions=("",)), "non-empty line"),
        (Checkpoint(origin="o", size=1, root=bytes(32), extensions=("a\nb",)), "non-empty line"),
    ],
    ids=["empty-origin", "newline-origin", "negative", "too-big", "short-root", "empty-ext", "newline-ext"],
)
def test_format_refuses(cp, match):
    with pytest.raises(MalformedError, match=match):
        format_checkpoint(cp)


def test_huge_size_is_malformed():
    with pytest.raises(MalformedError):
        parse_checkpoint(f"o\n{'9' * 5000}\n{ZERO_ROOT}\n")


# --- sign / open ----------------------------------------------------------------------------------------


def test_signed_checkpoint_opens():
    note_text = sign_checkpoint(SPEC_CHECKPOINT, LOG)
    assert note_text.startswith(SPEC_TEXT + "\n\u2014 " + ORIGIN + " ")
    signed = open_checkpoint(note_text, LOG.verifier)
    assert signed.checkpoint == SPEC_CHECKPOINT
    assert signed.cosignatures == ()
    assert [s.name for s in signed.note.signatures] == [ORIGIN]
    assert open_checkpoint(note_text.encode(), LOG.verifier).checkpoint == SPEC_CHECKPOINT


def test_log_key_must_be_named_after_the_origin():
    other = Signer.from_seed("another.example/log", hashlib.sha256(b"x").digest())
    with pytest.raises(MalformedError, match="origin"):
        sign_checkpoint(SPEC_CHECKPOINT, other)
    # A note signed outside sign_checkpoint by a key with another name is refused when opened.
    note_text = sign_note(SPEC_TEXT, other)
    with pytest.raises(VerificationError, match="not the log key's name"):
        open_checkpoint(note_text, other.verifier)


def test_checkpoint_signed_by_another_key_is_refused():
    note_text = sign_checkpoint(SPEC_CHECKPOINT, IMPOSTOR)
    assert IMPOSTOR.key_id != LOG.key_id
    with pytest.raises(VerificationError, match="no trusted key"):
        open_checkpoint(note_text, LOG.verifier)


def test_bad_log_signature_is_refused():
    note_text = sign_checkpoint(SPEC_CHECKPOINT, LOG)
    tampered = note_text.replace("20852163", "20852164", 1)
    with pytest.raises(VerificationError, match="does not verify"):
        open_checkpoint(tampered, LOG.verifier)


def test_checkpoint_cosigned_only_by_a_witness_is_refused():
    note_text = sign_note(SPEC_TEXT, WITNESS.at_time(T))
    with pytest.raises(VerificationError, match="not signed by the log's key"):
        open_checkpoint(note_text, LOG.verifier, witnesses=[WITNESS.verifier])


def test_signed_note_that_is_not_a_checkpoint_is_malformed():
    note_text = sign_note("hello\nworld\n", LOG)
    with pytest.raises(MalformedError, match="at least three lines"):
        open_checkpoint(note_text, LOG.verifier)


def _cosigned() -> str:
    """The log signs; the witness opens the note and adds its cosignature, keeping the log's line."""
    logged = open_note(sign_checkpoint(SPEC_CHECKPOINT, LOG), [LOG.verifier])
    return sign_note(logged.text, WITNESS.at_time(T), existing=logged.signatures)


def test_witness_cosignature_is_listed_when_the_witness_is_known():
    signed = open_checkpoint(_cosigned(), LOG.verifier, witnesses=[WITNESS.verifier])
    assert signed.checkpoint == SPEC_CHECKPOINT
    (cosig,) = signed.cosignatures
    assert (cosig.name, cosig.key_id) == (WITNESS.name, WITNESS.key_id)
    assert int.from_bytes(cosig.signature[:8], "big") == T
    assert signed.note.unverified == ()


def test_witness_cosignature_is_unverified_when_the_witness_is_unknown():
    signed = open_checkpoint(_cosigned(), LOG.verifier)
    assert signed.cosignatures == ()
    assert [(s.name, s.key_id) for s in signed.note.unverified] == [(WITNESS.name, WITNESS.key_id)]
    assert [s.name for s in signed.note.signatures] == [ORIGIN]


def test_bad_cosignature_by_a_known_witness_is_refused():
    stale = sign_note(SPEC_TEXT.replace("20852163", "20852162"), WITNESS.at_time(T))
    witness_line = stale[stale.rindex("\u2014 ") :]
    note_text = sign_checkpoint(SPEC_CHECKPOINT, LOG) + witness_line
    assert open_checkpoint(note_text, LOG.verifier).note.unverified  # fine while the witness is unknown
    with pytest.raises(VerificationError, match=r"witness\.example\.com/w1 does not verify"):
        open_checkpoint(note_text, LOG.verifier, witnesses=[WITNESS.verifier])


# --- Hypothesis -----------------------------------------------------------------------------------------

_lines = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [ORIGIN, "0", "7", "007", "+7", "-1", str(MAX_SIZE), str(MAX_SIZE + 1), ROOT_B64, ZERO_ROOT]
    ),
    st.integers(0, 2**64).map(str),
    st.binary(min_size=30, max_size=34).map(lambda b: base64.b64encode(b).decode()),
)


@st.composite
def _checkpointish(draw) -> str:
    lines = draw(st.lists(_lines, max_size=6))
    return "".join(line + "\n" for line in lines) + draw(st.sampled_from(["", " ", "\n", "x"]))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), _checkpointish()))
def test_parse_checkpoint_raises_only_malformed(text):
    try:
        cp = parse_checkpoint(text)
    except MalformedError:
        return
    assert format_checkpoint(cp) == text


_line_text = st.text(min_size=1, max_size=20).filter(lambda s: "\n" not in s)


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        Checkpoint,
        origin=_line_text.filter(lambda s: s == s.strip()),
        size=st.integers(0, MAX_SIZE),
        root=st.binary(min_size=32, max_size=32),
        extensions=st.lists(_line_text, max_size=3).map(tuple),
    )
)
def test_format_then_parse_is_identity(cp):
    assert parse_checkpoint(format_checkpoint(cp)) == cp
