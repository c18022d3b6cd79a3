"""ledger/tlog_proof.py: the C2SP tlog-proof file, its golden vector, round trips and bit flips."""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.ledger.errors import MalformedError, NotFoundError, VerificationError
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import CosignatureSigner, CosignatureVerifier, Signer, Verifier, sign_note
from farmtrace.ledger.policy import Policy
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tlog_proof import (
    TlogProof,
    check_tlog_proof,
    format_tlog_proof,
    parse_tlog_proof,
    prove_entry,
)

VECTOR = Path(__file__).parent / "vectors" / "entry3.tlog-proof"
# The vector's keys (docs/tlog-proof.md): the log's seed is bytes 0..31, the witness's 32 sevens.
LOG_KEY = Verifier.from_key_string(
    "example.farmtrace.test/log+e4b9e398+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
)
WITNESS_KEY = CosignatureVerifier.from_key_string(
    "witness.example.test/w1+d49eaaf6+BOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
)
WITNESSED_AT = 1_765_000_000


def _log(n: int) -> tuple[Log, Signer, CosignatureSigner]:
    signer = Signer.from_seed("example.farmtrace.test/log", bytes(range(32)))
    witness = CosignatureSigner.from_seed("witness.example.test/w1", bytes([7]) * 32)
    log = Log(MemoryStore(), signer, clock=lambda: 0.0)
    log.append_many([f"entry {i}\n".encode() for i in range(n)])
    cp = log.checkpoint()
    text = cp.note[: cp.note.rfind("\n\n") + 1]
    log.add_cosignature(sign_note(text, signer, witness.at_time(WITNESSED_AT)), witness.verifier)
    return log, signer, witness


def _policy(max_age: int | None = 3600) -> Policy:
    return Policy.of_witnesses([WITNESS_KEY], quorum=1, max_age=max_age)


def test_the_golden_vector():
    text = VECTOR.read_text()
    proof = parse_tlog_proof(text)
    assert (proof.index, len(proof.proof), proof.extra) == (3, 3, b"entry 3\n")
    assert format_tlog_proof(proof) == text
    checked = check_tlog_proof(proof, log_key=LOG_KEY, policy=_policy(), now=WITNESSED_AT + 60)
    assert checked.entry == b"entry 3\n" and checked.checkpoint.checkpoint.size == 5
    assert checked.witnessed is not None and checked.witnessed.state == "witnessed"
    # The same log, built again, proves the same file: the format is deterministic.
    log, _, _ = _log(5)
    assert format_tlog_proof(prove_entry(log, 3)) == text


def test_every_entry_of_small_logs_round_trips():
    for n in range(1, 18):
        log, signer, _ = _log(n)
        for i in range(n):
            text = format_tlog_proof(prove_entry(log, i))
            proof = parse_tlog_proof(text.encode())
            check_tlog_proof(proof, log_key=signer.verifier)
            check_tlog_proof(proof, log_key=signer.verifier, entry=f"entry {i}\n".encode())
            with pytest.raises(VerificationError):
                check_tlog_proof(proof, log_key=signer.verifier, entry=b"another entry\n")
        with pytest.raises(NotFoundError):
            prove_entry(log, n)


def test_the_policy_is_held():
    proof = parse_tlog_proof(VECTOR.read_text())
    with pytest.raises(VerificationError, match="stale"):
        check_tlog_proof(proof, log_key=LOG_KEY, policy=_policy(60), now=WITNESSED_AT + 61)
    other = CosignatureSigner.from_seed("other.example.test/w", bytes([8]) * 32).verifier
    with pytest.raises(VerificationError, match="unwitnessed"):
        check_tlog_proof(
            proof, log_key=LOG_KEY, policy=Policy.of_witnesses([other], quorum=1, max_age=None), now=0
        )
    with pytest.raises(MalformedError, match="now="):
        check_tlog_proof(proof, log_key=LOG_KEY, policy=_policy())
    bare = TlogProof(index=proof.index, proof=proof.proof, checkpoint=proof.checkpoint)
    with pytest.raises(MalformedError, match="no entry"):
        check_tlog_proof(bare, log_key=LOG_KEY)


def test_every_flipped_bit_of_the_proof_hashes_and_index_fails():
    proof = parse_tlog_proof(VECTOR.read_text())
    for h in range(len(proof.proof)):
        for bit in range(256):
            hashes = list(proof.proof)
            flipped = bytearray(hashes[h])
            flipped[bit // 8] ^= 1 << (bit % 8)
            hashes[h] = bytes(flipped)
            bad = TlogProof(proof.index, tuple(hashes), proof.checkpoint, proof.extra)
            with pytest.raises(VerificationError):
                check_tlog_proof(bad, log_key=LOG_KEY)
    for index in (0, 1, 2, 4):
        with pytest.raises(VerificationError):
            check_tlog_proof(TlogProof(index, proof.proof, proof.checkpoint, proof.extra), log_key=LOG_KEY)


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
        lambda t: t.replace("index 3", "index 03"),
        lambda t: t.replace("index 3", "index +3"),
        lambda t: t.replace("index 3\n", ""),
        lambda t: t.replace("extra ZW50cnkgMwo=", "extra ZW50cnkgMwo"),
        lambda t: t.replace("extra ZW50cnkgMwo=\n", "extra \n"),
        lambda t: t.replace("\n\n", "\n", 1),
        lambda t: t.replace(
            "OuVJIxGtMHi2jmTcTBaZliNIE3AQvjA90g21B9lTj8A=", "OuVJIxGtMHi2jmTcTBaZliNIE3AQvjA90g21B9lTj8A"
        ),
        lambda t: t.replace("OuVJIxGtMHi2jmTcTBaZliNIE3AQvjA90g21B9lTj8A=", "AAAA"),
        lambda t: t.replace("index 3\n", "index 3 \n"),
    ],
)
def test_non_canonical_files_are_refused(edit):
    text = VECTOR.read_text()
    assert edit(text) != text
    with pytest.raises(MalformedError):
        parse_tlog_proof(edit(text))


def test_a_forged_checkpoint_is_refused():
    proof = parse_tlog_proof(VECTOR.read_text())
    forged = proof.checkpoint.replace("\n5\n", "\n6\n", 1)
    with pytest.raises(VerificationError):
        check_tlog_proof(TlogProof(3, proof.proof, forged, proof.extra), log_key=LOG_KEY)
    stranger = Signer.from_seed("example.farmtrace.test/log", bytes(32)).verifier
    with pytest.raises(VerificationError):
        check_tlog_proof(proof, log_key=stranger)


@given(st.binary(max_size=300))
def test_the_parser_raises_only_its_own_error(data):
    text = VECTOR.read_bytes()
    for candidate in (data, text[: len(data)] + data, base64.b64encode(data)):
        with contextlib.suppress(MalformedError):
            parse_tlog_proof(candidate)


def test_the_vector_in_the_docs_is_the_file():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "tlog-proof.md").read_text()
    block = doc.split("```text\n")[2].split("```")[0]
    assert block == VECTOR.read_text()
