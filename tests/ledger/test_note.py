"""Signed notes (c2sp.org/signed-note) and witness cosignatures (c2sp.org/tlog-cosignature).

The golden vector is the example of Go's golang.org/x/mod/sumdb/note documentation, reproduced byte for
byte; the key-mangling test follows Go's TestNewVerifier / TestNewSigner. Cosignatures are checked
against a construction written here from the spec with `cryptography` directly, not with the module.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.errors import LedgerError, MalformedError, VerificationError
from farmtrace.ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    CosignatureSigner,
    CosignatureVerifier,
    NoteSignature,
    Signer,
    Verifier,
    key_id,
    open_note,
    sign_note,
)

# --- Golden vector: golang.org/x/mod/sumdb/note, package documentation ("Signing Notes"). ---------------
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIG_LINE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIG_LINE
GO_NAME = "PeterNeumann"
GO_KEY_ID = bytes.fromhex("c74f20a3")
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]

# --- A checkpoint and a witness, after the examples of c2sp.org/tlog-checkpoint and tlog-cosignature. --
CHECKPOINT_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
LOG_NAME = "example.com/behind-the-sofa"
LOG_SEED = hashlib.sha256(b"farmtrace test log key").digest()
WITNESS_NAME = "witness.example.com/w1"
WITNESS_SEED = hashlib.sha256(b"farmtrace test witness key").digest()
T = 1679315147  # the time of the tlog-cosignature example

DASH = "\u2014 "


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _line(name: str, payload: bytes) -> str:
    return f"{DASH}{name} {_b64(payload)}\n"


def _spec_key_id(name: str, alg: int, public: bytes) -> bytes:
    # c2sp.org/signed-note: SHA-256(key name || 0x0A || signature type || public key)[:4], written out here.
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([alg]) + public).digest()[:4]


def _public(seed: bytes) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def _payloads(note: str) -> list[tuple[str, bytes]]:
    """(name, key ID ‖ payload) for each signature line of a signed note, read without the module."""
    block = note[note.rindex("\n\n") + 2 :]
    out = []
    for line in block.splitlines():
        assert line.startswith(DASH)
        name, b64 = line[len(DASH) :].split(" ")
        out.append((name, base64.b64decode(b64)))
    return out


def _error_of(call, *args) -> Exception | None:
    try:
        call(*args)
    except Exception as exc:
        return exc
    return None


LOG = Signer.from_seed(LOG_NAME, LOG_SEED)
WITNESS = CosignatureSigner.from_seed(WITNESS_NAME, WITNESS_SEED)
GO_VERIFIER = Verifier.from_key_string(GO_VKEY)
COSIGNED_NOTE = sign_note(CHECKPOINT_TEXT, LOG, WITNESS.at_time(T))


# --- Golden vector --------------------------------------------------------------------------------------


def test_go_note_opens_with_its_verifier():
    note = open_note(GO_NOTE, [GO_VERIFIER])
    assert note.text == GO_TEXT
    assert note.unverified == ()
    (sig,) = note.signatures
    assert (sig.name, sig.key_id) == (GO_NAME, GO_KEY_ID)
    assert sig.line() == GO_SIG_LINE


def test_go_note_opens_from_bytes():
    assert open_note(GO_NOTE.encode(), [GO_VERIFIER]).text == GO_TEXT


@pytest.mark.parametrize(
    "signer",
    [Signer.from_seed(GO_NAME, GO_SEED), Signer.from_key_string(GO_SKEY)],
    ids=["from_seed", "from_key_string"],
)
def test_go_note_is_reproduced_byte_for_byte(signer):
    assert sign_note(GO_TEXT, signer) == GO_NOTE


def test_go_key_strings_round_trip():
    signer = Signer.from_key_string(GO_SKEY)
    assert signer.key_string() == GO_SKEY
    assert GO_VERIFIER.key_string() == GO_VKEY
    assert signer.verifier == GO_VERIFIER
    assert (GO_VERIFIER.name, GO_VERIFIER.key_id, GO_VERIFIER.alg) == (GO_NAME, GO_KEY_ID, ALG_ED25519)


def test_go_key_id_follows_the_spec_formula():
    assert _spec_key_id(GO_NAME, 0x01, GO_VERIFIER.public_key) == GO_KEY_ID
    assert key_id(GO_NAME, bytes([0x01]) + GO_VERIFIER.public_key) == GO_KEY_ID
    assert GO_VERIFIER.public_key == _public(GO_SEED)


def test_signer_repr_does_not_leak_the_seed():
    assert GO_SKEY.rsplit("+", 1)[1] not in repr(Signer.from_key_string(GO_SKEY))


# --- Key strings ----------------------------------------------------------------------------------------


def _mangled(key: str):
    """Every proper substring of `key`, and `key` with each character incremented (Go's TestNewVerifier)."""
    for i in range(len(key) + 1):
        for j in range(i + 1, len(key) + 1):
            if (i, j) != (0, len(key)):
                yield key[i:j]
        if i < len(key):
            yield key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :]


@pytest.mark.parametrize(
    "parse, key",
    [
        (Verifier.from_key_string, GO_VKEY),
        (Signer.from_key_string, GO_SKEY),
        (CosignatureVerifier.from_key_string, WITNESS.verifier.key_string()),
        (CosignatureSigner.from_key_string, WITNESS.key_string()),
    ],
    ids=["verifier", "signer", "cosignature-verifier", "cosignature-signer"],
)
def test_every_mangled_key_is_refused(parse, key):
    parse(key)  # the unmangled key parses
    mangled = list(_mangled(key))
    assert len(mangled) > len(key) ** 2 // 2
    wrong = [(k, _error_of(parse, k)) for k in mangled]
    assert [(k, e) for k, e in wrong if type(e) is not MalformedError] == []
    assert all(isinstance(e, LedgerError) for _, e in wrong)


def test_verifier_key_with_wrong_key_id_is_refused():
    with pytest.raises(MalformedError, match="key ID does not match"):
        Verifier.from_key_string(GO_VKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(MalformedError, match="8 lowercase hex"):
        Verifier.from_key_string(GO_VKEY.replace("c74f20a3", "C74F20A3"))


def test_signer_key_with_wrong_key_id_is_refused():
    with pytest.raises(MalformedError, match="key ID does not match"):
        Signer.from_key_string(GO_SKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(MalformedError, match="key ID does not match"):
        Signer.from_key_string(GO_SKEY.replace("c74f20a3", "C74F20A3"))


@pytest.mark.parametrize("alg", [0x00, 0x02, 0x03, 0x05, 0xFF])
def test_verifier_key_of_another_type_is_refused(alg):
    # The key ID is right for the stated type, so only the type byte is wrong.
    pub = GO_VERIFIER.public_key
    vkey = f"{GO_NAME}+{_spec_key_id(GO_NAME, alg, pub).hex()}+{_b64(bytes([alg]) + pub)}"
    with pytest.raises(MalformedError, match="type 0x01"):
        Verifier.from_key_string(vkey)
    with pytest.raises(MalformedError, match="type 0x04"):
        CosignatureVerifier.from_key_string(vkey)


def test_ed25519_and_cosignature_keys_are_not_interchangeable():
    with pytest.raises(MalformedError, match="type 0x01"):
        Verifier.from_key_string(WITNESS.verifier.key_string())
    with pytest.raises(MalformedError, match="type 0x04"):
        CosignatureVerifier.from_key_string(GO_VKEY)
    with pytest.raises(MalformedError, match="type 0x01"):
        Signer.from_key_string(WITNESS.key_string())
    with pytest.raises(MalformedError, match="type 0x04"):
        CosignatureSigner.from_key_string(GO_SKEY)


@pytest.mark.parametrize("suffix", ["=", "==", "\n", " "])
def test_non_canonical_base64_key_is_refused(suffix):
    # 33 bytes fill 44 base64 digits exactly; Python decodes "…TW=" to the same bytes, so only the
    # canonical re-encoding check stands between it and acceptance.
    with pytest.raises(MalformedError, match="base64"):
        Verifier.from_key_string(GO_VKEY + suffix)
    with pytest.raises(MalformedError, match="base64"):
        Signer.from_key_string(GO_SKEY + suffix)


def test_padded_key_is_refused_as_non_canonical():
    assert base64.b64decode(GO_VKEY.rsplit("+", 1)[1] + "=") == b"\x01" + GO_VERIFIER.public_key
    with pytest.raises(MalformedError, match="not canonical"):
        Verifier.from_key_string(GO_VKEY + "=")
    with pytest.raises(MalformedError, match="not canonical"):
        Signer.from_key_string(GO_SKEY + "=")


@pytest.mark.parametrize("name", ["", "Peter Neumann", "a+b", "tab\there", "nbsp\u00a0here", "line\nbreak"])
def test_invalid_key_names_are_refused(name):
    with pytest.raises(MalformedError, match="invalid key name"):
        Verifier.from_public_key(name, GO_VERIFIER.public_key)
    with pytest.raises(MalformedError, match="invalid key name"):
        Signer.from_seed(name, GO_SEED)


def test_verifier_key_with_invalid_name_and_matching_id_is_refused():
    name, pub = "Peter Neumann", GO_VERIFIER.public_key
    vkey = f"{name}+{_spec_key_id(name, 0x01, pub).hex()}+{_b64(bytes([0x01]) + pub)}"
    with pytest.raises(MalformedError, match="invalid key name"):
        Verifier.from_key_string(vkey)


@pytest.mark.parametrize("value", [b"PeterNeumann+c74f20a3+AAAA", None, 7])
def test_key_strings_must_be_text(value):
    with pytest.raises(MalformedError):
        Verifier.from_key_string(value)
    with pytest.raises(MalformedError):
        Signer.from_key_string(value)


def test_generated_keys_round_trip():
    signer = Signer.generate("farmtrace.example/log")
    assert Signer.from_key_string(signer.key_string()).verifier == signer.verifier
    assert Verifier.from_key_string(signer.verifier.key_string()) == signer.verifier


def test_wrong_seed_length_is_refused():
    with pytest.raises(MalformedError, match="32 bytes"):
        Signer.from_seed(GO_NAME, GO_SEED[:31])
    with pytest.raises(MalformedError, match="32 bytes"):
        Verifier.from_public_key(GO_NAME, GO_VERIFIER.public_key + b"\x00")


# --- open_note ------------------------------------------------------------------------------------------


def test_every_text_byte_flip_fails_verification():
    # The text is printable ASCII; flipping the lowest bit of a non-newline byte keeps it printable
    # (0x7e becomes DEL, which the spec allows), so the only thing left to fail is the signature.
    raw = GO_NOTE.encode()
    for i, byte in enumerate(GO_TEXT.encode()):
        if byte == 0x0A:
            continue
        tampered = raw[:i] + bytes([byte ^ 1]) + raw[i + 1 :]
        with pytest.raises(VerificationError, match="PeterNeumann does not verify"):
            open_note(tampered, [GO_VERIFIER])


def test_every_bit_flip_anywhere_is_refused():
    raw = GO_NOTE.encode()
    for i in range(len(raw)):
        for bit in range(8):
            tampered = raw[:i] + bytes([raw[i] ^ (1 << bit)]) + raw[i + 1 :]
            err = _error_of(open_note, tampered, [GO_VERIFIER])
            assert type(err) in (MalformedError, VerificationError), (i, bit, err)


def test_bad_signature_by_known_key_is_refused():
    ((name, raw),) = _payloads(GO_NOTE)
    bad = raw[:-1] + bytes([raw[-1] ^ 0x80])
    with pytest.raises(VerificationError, match="does not verify"):
        open_note(GO_TEXT + "\n" + _line(name, bad), [GO_VERIFIER])
    # A bad signature by a known key rejects the note even when another known signature verifies.
    with pytest.raises(VerificationError, match="does not verify"):
        open_note(GO_NOTE + _line(name, raw[:4] + b"\x00" * 64), [GO_VERIFIER])


def test_truncated_signature_by_known_key_fails_verification():
    with pytest.raises(VerificationError):
        open_note(GO_TEXT + "\n" + _line(GO_NAME, GO_KEY_ID + b"\x01"), [GO_VERIFIER])


def test_unknown_signers_are_kept_as_unverified():
    other = Signer.from_seed("other.example/key", LOG_SEED)
    same_name = Signer.from_seed(GO_NAME, LOG_SEED)  # same name, different key ID
    ((_, go_raw),) = _payloads(GO_NOTE)
    same_id = _line("Impostor", go_raw)  # same key ID, different name
    note_text = sign_note(GO_TEXT, Signer.from_key_string(GO_SKEY), other, same_name) + same_id
    note = open_note(note_text, [GO_VERIFIER])
    assert [(s.name, s.key_id) for s in note.signatures] == [(GO_NAME, GO_KEY_ID)]
    assert [(s.name, s.key_id) for s in note.unverified] == [
        ("other.example/key", other.key_id),
        (GO_NAME, same_name.key_id),
        ("Impostor", GO_KEY_ID),
    ]
    assert same_name.key_id != GO_KEY_ID


def test_identical_unverified_signatures_are_kept_once():
    extra = _line("other.example/key", b"\x01\x02\x03\x04\x05")
    note = open_note(GO_NOTE + extra + extra, [GO_VERIFIER])
    assert note.unverified == (NoteSignature("other.example/key", b"\x01\x02\x03\x04", b"\x05"),)


def test_note_signed_only_by_unknown_keys_is_refused():
    other = Verifier.from_public_key(GO_NAME, _public(LOG_SEED))
    with pytest.raises(VerificationError, match="no trusted key"):
        open_note(GO_NOTE, [other])


def test_empty_verifier_list_is_refused():
    with pytest.raises(MalformedError, match="at least one trusted verifier"):
        open_note(GO_NOTE, [])
    with pytest.raises(MalformedError, match="at least one trusted verifier"):
        open_note(GO_NOTE, ())


def test_duplicate_signature_by_the_same_key_is_refused():
    # Go's note.Open silently drops the repeat; farmtrace refuses the note instead.
    with pytest.raises(VerificationError, match="signed the note twice"):
        open_note(GO_NOTE + GO_SIG_LINE, [GO_VERIFIER])


@pytest.mark.parametrize(
    "message, match",
    [
        (GO_TEXT + GO_SIG_LINE, "blank line"),
        (GO_NOTE[:-1], "end with a newline"),
        (GO_TEXT + "\n", "end with a newline"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace("\u2014 ", "- "), "em dash"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace("\u2014 ", "\u2013 "), "em dash"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace("\u2014 ", "\u2014"), "em dash"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace(" x08go", "  x08go"), "name base64"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace(" x08go", "x08go"), "name base64"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace("JnAM=", "JnAN="), "not canonical"),
        (GO_TEXT + "\n" + GO_SIG_LINE.replace("JnAM=", "JnAM"), "not valid base64"),
        (GO_TEXT + "\n" + _line(GO_NAME, GO_KEY_ID), "4-byte key ID and at least one byte"),
        (GO_TEXT + "\n" + _line("a+b", GO_KEY_ID + b"\x00"), "invalid key name"),
        (GO_TEXT.replace("\nthen", "\tthen") + "\n" + GO_SIG_LINE, "control characters"),
        (GO_TEXT.replace("\nthen", "\rthen") + "\n" + GO_SIG_LINE, "control characters"),
        (GO_TEXT.replace("\nthen", "\x00then") + "\n" + GO_SIG_LINE, "control characters"),
        ("\n" + GO_SIG_LINE, "blank line"),
        ("", "blank line"),
    ],
    ids=[
        "no-blank-line",
        "no-final-newline",
        "no-signatures",
        "hyphen",
        "en-dash",
        "dash-without-space",
        "two-spaces",
        "no-space",
        "non-canonical-signature",
        "unpadded-signature",
        "key-id-only",
        "plus-in-name",
        "tab",
        "carriage-return",
        "nul",
        "empty-text",
        "empty",
    ],
)
def test_malformed_notes_are_refused(message, match):
    with pytest.raises(MalformedError, match=match):
        open_note(message, [GO_VERIFIER])


def test_invalid_utf8_is_refused():
    with pytest.raises(MalformedError, match="UTF-8"):
        open_note(GO_NOTE.encode().replace(b"If", b"I\xff"), [GO_VERIFIER])


def test_at_most_100_signatures():
    def unknown(i: int) -> str:
        return _line(f"other{i}.example", (i + 1).to_bytes(4, "big") + b"\x00")

    hundred = GO_NOTE + "".join(unknown(i) for i in range(99))
    assert len(open_note(hundred, [GO_VERIFIER]).unverified) == 99
    with pytest.raises(MalformedError, match="at most 100 signatures"):
        open_note(hundred + unknown(99), [GO_VERIFIER])


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_note_over_one_megabyte_is_refused(as_bytes):
    line = "x" * 999 + "\n"
    text = line * 1000  # exactly 1,000,000 bytes of text, then the blank line and a signature
    message = sign_note(text, LOG)
    assert len(message.encode()) > 1_000_000
    with pytest.raises(MalformedError, match="too large"):
        open_note(message.encode() if as_bytes else message, [LOG.verifier])
    small = sign_note(line * 990, LOG)
    assert len(small.encode()) <= 1_000_000
    assert open_note(small.encode() if as_bytes else small, [LOG.verifier]).text == line * 990


def test_multibyte_text_is_measured_in_bytes():
    text = "\u00e9" * 499_999 + "\n"  # 999,999 bytes but 500,000 characters
    message = sign_note(text, LOG)
    with pytest.raises(MalformedError, match="too large"):
        open_note(message, [LOG.verifier])


# --- sign_note ------------------------------------------------------------------------------------------


def test_sign_note_needs_a_signer():
    with pytest.raises(MalformedError, match="at least one signer"):
        sign_note(GO_TEXT)


@pytest.mark.parametrize("text", ["no newline", "", "\n", "\nb\n", "tab\there\n"])
def test_sign_note_refuses_malformed_text(text):
    with pytest.raises(MalformedError):
        sign_note(text, LOG)


def test_sign_note_keeps_existing_signatures_of_other_keys():
    opened = open_note(GO_NOTE, [GO_VERIFIER])
    both = sign_note(GO_TEXT, LOG, existing=opened.signatures)
    note = open_note(both, [GO_VERIFIER, LOG.verifier])
    assert [s.name for s in note.signatures] == [LOG_NAME, GO_NAME]
    # A signer replaces its own earlier signature instead of adding a second line.
    assert sign_note(GO_TEXT, Signer.from_key_string(GO_SKEY), existing=opened.signatures) == GO_NOTE


# --- Cosignatures (c2sp.org/tlog-cosignature, type 0x04) -----------------------------------------------


def _spec_cosignature_line(text: str, timestamp: int) -> str:
    """The witness's signature line, built from the spec with `cryptography` and no farmtrace code."""
    message = b"cosignature/v1\n" + f"time {timestamp}\n".encode() + text.encode()
    sig = Ed25519PrivateKey.from_private_bytes(WITNESS_SEED).sign(message)
    kid = _spec_key_id(WITNESS_NAME, 0x04, _public(WITNESS_SEED))
    return _line(WITNESS_NAME, kid + timestamp.to_bytes(8, "big") + sig)


def _cosigned(text: str = CHECKPOINT_TEXT, timestamp: int = T) -> str:
    return sign_note(text, LOG, WITNESS.at_time(timestamp))


def test_cosignature_matches_the_spec_construction_byte_for_byte():
    expected = sign_note(CHECKPOINT_TEXT, LOG) + _spec_cosignature_line(CHECKPOINT_TEXT, T)
    assert _cosigned() == expected


def test_cosigned_note_verifies_log_and_witness():
    note = open_note(_cosigned(), [LOG.verifier, WITNESS.verifier])
    assert [(s.name, s.key_id) for s in note.signatures] == [
        (LOG_NAME, LOG.key_id),
        (WITNESS_NAME, WITNESS.key_id),
    ]
    assert note.unverified == ()
    assert CosignatureVerifier.timestamp(note.signatures[1].signature) == T


def test_spec_built_cosignature_is_accepted():
    note = open_note(CHECKPOINT_TEXT + "\n" + _spec_cosignature_line(CHECKPOINT_TEXT, 42), [WITNESS.verifier])
    assert CosignatureVerifier.timestamp(note.signatures[0].signature) == 42


def test_cosignature_payload_is_time_then_signature():
    (_, log_raw), (name, raw) = _payloads(_cosigned())
    assert name == WITNESS_NAME
    assert len(log_raw) == 4 + 64
    assert len(raw) == 4 + 72
    assert raw[:4] == _spec_key_id(WITNESS_NAME, 0x04, _public(WITNESS_SEED))
    assert raw[4:12] == T.to_bytes(8, "big")
    assert CosignatureVerifier.timestamp(raw[4:]) == T


def test_spec_example_cosignature_states_its_time():
    # The witness line of the c2sp.org/tlog-cosignature example (its key is not published).
    raw = base64.b64decode(
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    assert len(raw) == 76
    assert CosignatureVerifier.timestamp(raw[4:]) == T


@pytest.mark.parametrize("byte", range(8))
def test_changing_the_cosignature_time_breaks_it(byte):
    note_text = _cosigned()
    (_, log_raw), (_, raw) = _payloads(note_text)
    payload = bytearray(raw)
    payload[4 + byte] ^= 1
    tampered = CHECKPOINT_TEXT + "\n" + _line(LOG_NAME, log_raw) + _line(WITNESS_NAME, bytes(payload))
    with pytest.raises(VerificationError, match=re.escape(f"signature of {WITNESS_NAME} does not verify")):
        open_note(tampered, [LOG.verifier, WITNESS.verifier])


def test_changing_the_cosigned_text_breaks_it():
    (_, raw) = _payloads(_cosigned())[1]
    other_text = CHECKPOINT_TEXT.replace("20852163", "20852164")
    with pytest.raises(VerificationError, match=re.escape(f"signature of {WITNESS_NAME} does not verify")):
        open_note(other_text + "\n" + _line(WITNESS_NAME, raw), [WITNESS.verifier])


def test_cosignature_is_not_a_plain_ed25519_signature():
    # The same key and name as type 0x01 has another key ID, so the cosignature is not its signature.
    plain = Verifier.from_public_key(WITNESS_NAME, _public(WITNESS_SEED))
    assert plain.key_id != WITNESS.key_id
    with pytest.raises(VerificationError, match="no trusted key"):
        open_note(_cosigned(), [plain])
    # An Ed25519 signature over the bare text, carried under the cosignature key ID, does not verify.
    bare = Ed25519PrivateKey.from_private_bytes(WITNESS_SEED).sign(CHECKPOINT_TEXT.encode())
    forged = CHECKPOINT_TEXT + "\n" + _line(WITNESS_NAME, WITNESS.key_id + T.to_bytes(8, "big") + bare)
    with pytest.raises(VerificationError, match="does not verify"):
        open_note(forged, [WITNESS.verifier])


@pytest.mark.parametrize("length", [1, 64, 71, 73])
def test_cosignature_of_wrong_length_is_refused(length):
    message = CHECKPOINT_TEXT + "\n" + _line(WITNESS_NAME, WITNESS.key_id + b"\x00" * length)
    with pytest.raises(VerificationError, match="not 72 bytes"):
        open_note(message, [WITNESS.verifier])


def test_cosignature_key_string():
    vkey = WITNESS.verifier.key_string()
    name, hex_id, b64 = vkey.split("+")
    raw = base64.b64decode(b64)
    assert vkey.startswith(WITNESS_NAME + "+")
    assert name == WITNESS_NAME
    assert len(raw) == 33
    assert raw[0] == 0x04 == ALG_COSIGNATURE_V1
    assert raw[1:] == _public(WITNESS_SEED)
    assert hex_id == _spec_key_id(WITNESS_NAME, 0x04, raw[1:]).hex() == WITNESS.key_id.hex()
    assert CosignatureVerifier.from_key_string(vkey) == WITNESS.verifier
    assert isinstance(WITNESS.verifier, CosignatureVerifier)


def test_cosignature_signer_key_string_round_trips():
    skey = WITNESS.key_string()
    assert skey.startswith(f"PRIVATE+KEY+{WITNESS_NAME}+{WITNESS.key_id.hex()}+")
    assert base64.b64decode(skey.rsplit("+", 1)[1]) == b"\x04" + WITNESS_SEED
    again = CosignatureSigner.from_key_string(skey)
    assert isinstance(again, CosignatureSigner)
    assert again.verifier == WITNESS.verifier
    assert sign_note(CHECKPOINT_TEXT, again.at_time(T)) == sign_note(CHECKPOINT_TEXT, WITNESS.at_time(T))


def test_cosigner_without_a_time_refuses_to_sign():
    with pytest.raises(MalformedError, match="needs a time"):
        sign_note(CHECKPOINT_TEXT, WITNESS)
    with pytest.raises(MalformedError, match="needs a time"):
        sign_note(CHECKPOINT_TEXT, CosignatureSigner.generate(WITNESS_NAME))
    with pytest.raises(MalformedError, match="needs a time"):
        WITNESS.sign_note_text(CHECKPOINT_TEXT)


def test_at_time_returns_a_new_signer():
    timed = WITNESS.at_time(T)
    assert WITNESS.timestamp is None
    assert timed.timestamp == T
    assert timed.verifier == WITNESS.verifier
    assert _payloads(_cosigned(timestamp=0))[1][1][4:12] == bytes(8)


def test_cosignature_key_id_formula():
    generated = CosignatureSigner.generate(WITNESS_NAME)
    public = generated.verifier.public_key
    assert generated.key_id == _spec_key_id(WITNESS_NAME, 0x04, public)
    assert generated.key_id == hashlib.sha256(WITNESS_NAME.encode() + b"\n\x04" + public).digest()[:4]
    assert generated.key_id != _spec_key_id(WITNESS_NAME, 0x01, public)


# --- Departures from the specs found by these tests, now fixed --------------------------------------------


def test_note_text_with_an_empty_line_opens():
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    sig = Ed25519PrivateKey.from_private_bytes(LOG_SEED).sign(text.encode())
    note = open_note(text + "\n" + _line(LOG_NAME, LOG.key_id + sig), [LOG.verifier])
    assert note.text == text


def test_control_character_in_a_signature_line_is_refused():
    err = _error_of(open_note, GO_NOTE + _line("other\x00name", b"\x01\x02\x03\x04\x05"), [GO_VERIFIER])
    assert type(err) is MalformedError


@pytest.mark.parametrize(
    "call",
    [
        lambda: open_note(GO_TEXT.replace("If", "\ud800") + "\n" + GO_SIG_LINE, [GO_VERIFIER]),
        lambda: Verifier.from_key_string(
            # Parsing gets as far as computing the key ID, so any well-formed ID will do.
            "\ud800+00000000+" + _b64(b"\x01" + GO_VERIFIER.public_key)
        ),
    ],
    ids=["open_note", "from_key_string"],
)
def test_lone_surrogates_are_malformed(call):
    with pytest.raises(MalformedError):
        call()


@pytest.mark.parametrize("timestamp", [-1, 2**63, 2**64])
def test_cosignature_time_out_of_range_is_refused(timestamp):
    err = _error_of(lambda: sign_note(CHECKPOINT_TEXT, WITNESS.at_time(timestamp)))
    assert type(err) is MalformedError


def test_sign_note_refuses_a_repeated_signer():
    with pytest.raises(MalformedError, match="twice"):
        sign_note(GO_TEXT, LOG, LOG)


# --- Hypothesis: the parsers raise only their own errors ------------------------------------------------

_VERIFIERS = [GO_VERIFIER, LOG.verifier, WITNESS.verifier]
_names = st.one_of(st.sampled_from([GO_NAME, LOG_NAME, WITNESS_NAME, "", "a b", "a+b"]), st.text(max_size=12))
_key_ids = st.sampled_from([GO_KEY_ID, LOG.key_id, WITNESS.key_id, b"\x00\x00\x00\x00"])
_payload = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda kid, rest: kid + rest, _key_ids, st.binary(max_size=80)),
    st.builds(
        lambda kid, ts, sig: kid + ts.to_bytes(8, "big") + sig,
        _key_ids,
        st.integers(0, 2**64 - 1),
        st.binary(min_size=64, max_size=64),
    ),
)
_sig_lines = st.one_of(
    st.builds(_line, _names, _payload),
    st.builds(lambda n, b: f"{DASH}{n} {b}\n", _names, st.text(max_size=20)),
    st.just(GO_SIG_LINE),
    st.text(max_size=30).map(lambda s: s + "\n"),
)


@st.composite
def _plausible_notes(draw) -> str:
    text = (
        draw(st.sampled_from([GO_TEXT, CHECKPOINT_TEXT])) if draw(st.booleans()) else draw(st.text()) + "\n"
    )
    return text + "\n" + "".join(draw(st.lists(_sig_lines, max_size=4)))


@st.composite
def _edited_notes(draw) -> str:
    base = draw(st.sampled_from([GO_NOTE, COSIGNED_NOTE]))
    i = draw(st.integers(0, len(base)))
    j = draw(st.integers(i, min(len(base), i + 6)))
    return base[:i] + draw(st.text(max_size=6)) + base[j:]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.binary(), _plausible_notes(), _edited_notes()))
def test_open_note_raises_only_ledger_errors(message):
    try:
        note = open_note(message, _VERIFIERS)
    except LedgerError:
        return
    assert note.signatures
    assert note.text.endswith("\n")


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.binary(),
        st.builds(lambda *parts: "+".join(parts), _names, st.text(max_size=10), st.text(max_size=50)),
        st.builds(
            lambda name, kid, raw: f"{name}+{kid.hex()}+{_b64(raw)}",
            _names,
            _key_ids,
            st.one_of(st.binary(max_size=40), st.binary(min_size=32, max_size=32).map(lambda b: b"\x01" + b)),
        ),
        st.integers(0, len(GO_VKEY)).flatmap(
            lambda i: st.text(max_size=3).map(lambda s: GO_VKEY[:i] + s + GO_VKEY[i + 1 :])
        ),
    )
)
def test_verifier_from_key_string_raises_only_ledger_errors(vkey):
    for parse in (Verifier.from_key_string, CosignatureVerifier.from_key_string, Signer.from_key_string):
        try:
            parsed = parse(vkey)
        except LedgerError:
            continue
        assert parsed.key_string() == vkey
