"""ledger/verify.py: consistency between two signed checkpoints, and the evidence of a fork.

The fork is real: two logs under one key that share a prefix and then differ, as a log that
rewrote its history would look to a witness that saw it before and after.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.ledger.errors import (
    Evidence,
    InconsistencyError,
    LedgerError,
    MalformedError,
    VerificationError,
)
from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.verify import (
    check_checkpoint_consistency,
    check_evidence,
    format_evidence,
    parse_evidence,
    prove_checkpoint_consistency,
)

from ..conftest import REPO

# The key of docs/evidence.md's example (a fixed seed, so the example's bytes never change).
LOG = Signer.from_seed("fork.farmtrace.example/log", bytes(range(32)))
KEY = LOG.verifier
PREFIX = [b"harvest 1", b"inspect 1", b"certify 1"]


def _log(entries: list[bytes]) -> Log:
    log = Log(MemoryStore(), LOG, clock=lambda: 0.0)
    log.append_many(entries)  # one batch: one signed checkpoint at the final size
    return log


def _fork(old_size: int, new_size: int) -> tuple[bytes, bytes, list[bytes], Log]:
    """The honest log's checkpoint at old_size, the rewritten log's at new_size and the rewritten
    log's proof between them (and the rewritten log, to ask for other proofs)."""
    honest = _log(PREFIX + [f"sell {i}".encode() for i in range(old_size - len(PREFIX))])
    rewritten = _log(PREFIX + [f"destroy {i}".encode() for i in range(new_size - len(PREFIX))])
    old, new = honest.checkpoint().note.encode(), rewritten.checkpoint().note.encode()
    proof = prove_checkpoint_consistency(old_size, new_size, rewritten)
    honest.close()
    rewritten.close()
    return old, new, proof, rewritten


def _flips(data: bytes):
    """Copies of data with one bit flipped in each byte (a different bit from byte to byte)."""
    for i in range(len(data)):
        yield data[:i] + bytes([data[i] ^ (1 << (i % 8))]) + data[i + 1 :]


def _doc_example() -> tuple[str, bytes]:
    """The verifier key and the evidence written out in docs/evidence.md."""
    text = (REPO / "docs" / "evidence.md").read_text(encoding="utf-8")
    key = re.search(r"^log key: (\S+)$", text, re.M).group(1)
    block = re.search(r"<!-- evidence -->\n```text\n(.*?)```\n<!-- /evidence -->", text, re.S).group(1)
    return key, block.encode()


# --- consistent logs --------------------------------------------------------------------------------


@pytest.mark.parametrize(("old_size", "new_size"), [(0, 0), (0, 5), (3, 3), (5, 8), (4, 8), (1, 2), (6, 7)])
def test_a_log_that_only_grew_is_consistent(old_size, new_size):
    log = Log(MemoryStore(), LOG, clock=lambda: 0.0)
    if old_size:
        log.append_many([f"e{i}".encode() for i in range(old_size)])
    old = log.checkpoint().note
    if new_size > old_size:
        log.append_many([f"e{i}".encode() for i in range(old_size, new_size)])
    new = log.checkpoint().note
    proof = prove_checkpoint_consistency(old_size, new_size, log)
    assert check_checkpoint_consistency(old, new, proof, log_key=KEY) is None
    if 0 < old_size < new_size:  # the RFC 9162 proof as it is, without the old node in front
        rfc = log.prove_consistency(old_size, new_size)
        assert check_checkpoint_consistency(old.encode(), new, rfc, log_key=KEY) is None
    log.close()


# --- forks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old_size", "new_size"), [(5, 8), (4, 8), (4, 5), (7, 13), (8, 8)])
def test_a_fork_raises_evidence_a_third_party_re_checks(old_size, new_size):
    old, new, proof, _ = _fork(old_size, new_size)
    with pytest.raises(InconsistencyError) as info:
        check_checkpoint_consistency(old, new, proof, log_key=KEY)
    evidence = info.value.evidence
    assert evidence == Evidence(old, new, tuple(proof))
    # A third party gets the text, and needs nothing but the log's key.
    text = format_evidence(evidence)
    assert parse_evidence(text) == evidence
    assert check_evidence(parse_evidence(text), log_key=KEY) is None
    again = parse_evidence(text.decode())  # the text form is UTF-8 text, read either way
    with pytest.raises(InconsistencyError):
        check_checkpoint_consistency(again.old_note, again.new_note, again.proof, log_key=KEY)


def test_an_rfc_proof_from_a_power_of_two_cannot_show_a_fork():
    # RFC 9162 leaves the old tree's node out of such a proof: the fork shows only as a failure.
    old, new, _, rewritten = _fork(4, 8)
    rfc = rewritten.prove_consistency(4, 8)
    with pytest.raises(VerificationError) as info:
        check_checkpoint_consistency(old, new, rfc, log_key=KEY)
    assert not isinstance(info.value, InconsistencyError)


def test_every_flipped_bit_of_the_evidence_is_refused():
    old, new, proof, _ = _fork(5, 8)
    text = format_evidence(Evidence(old, new, tuple(proof)))
    for bad in _flips(text):
        with pytest.raises(LedgerError):
            check_evidence(parse_evidence(bad), log_key=KEY)


def test_every_flipped_bit_of_the_proof_proves_nothing():
    old, new, proof, _ = _fork(7, 13)
    for j, p in enumerate(proof):
        for bad in _flips(p):
            tampered = [*proof[:j], bad, *proof[j + 1 :]]
            with pytest.raises(VerificationError) as info:
                check_checkpoint_consistency(old, new, tampered, log_key=KEY)
            assert not isinstance(info.value, InconsistencyError), j
    for cut in (proof[:-1], proof[1:], [*proof, proof[0]]):
        with pytest.raises(VerificationError) as info:
            check_checkpoint_consistency(old, new, cut, log_key=KEY)
        assert not isinstance(info.value, InconsistencyError)


def test_the_example_in_the_docs_is_a_fork_of_this_log():
    key, text = _doc_example()
    assert key == KEY.key_string()
    evidence = parse_evidence(text)
    assert check_evidence(evidence, log_key=KEY) is None
    old, new, proof, _ = _fork(5, 8)
    assert format_evidence(Evidence(old, new, tuple(proof))) == text


# --- what is not evidence ---------------------------------------------------------------------------


def test_notes_the_log_did_not_sign_prove_nothing():
    impostor = Signer.from_seed(LOG.name, bytes(32))
    fake = Log(MemoryStore(), impostor)
    fake.append_many([b"forged"] * 8)
    old, _, proof, _ = _fork(5, 8)
    with pytest.raises(VerificationError, match="no trusted key signed the note") as info:
        check_checkpoint_consistency(old, fake.checkpoint().note, proof, log_key=KEY)
    assert not isinstance(info.value, InconsistencyError)
    fake.close()


def test_a_smaller_new_checkpoint_and_stray_proofs_are_refused():
    old, new, proof, _ = _fork(5, 8)
    with pytest.raises(VerificationError, match="a log never shrinks"):
        check_checkpoint_consistency(new, old, proof, log_key=KEY)
    with pytest.raises(VerificationError, match="is empty"):
        check_checkpoint_consistency(new, new, proof, log_key=KEY)
    assert check_checkpoint_consistency(new, new, [], log_key=KEY) is None
    with pytest.raises(VerificationError, match="the evidence proves nothing"):
        check_evidence(Evidence(new, new, ()), log_key=KEY)
    with pytest.raises(MalformedError):
        check_checkpoint_consistency(old, new, [b"short"], log_key=KEY)
    with pytest.raises(MalformedError):
        check_checkpoint_consistency(old, new, [bytes(32)] * 131, log_key=KEY)
    with pytest.raises(MalformedError):
        check_checkpoint_consistency(7, new, proof, log_key=KEY)  # type: ignore[arg-type]


def test_the_text_form_is_strict():
    old, new, proof, _ = _fork(5, 8)
    text = format_evidence(Evidence(old, new, tuple(proof)))
    head = b"farmtrace-log-inconsistency/v1\n"
    for bad in (
        text + b"\n",
        text[:-1],
        text.replace(b"old ", b"old 0", 1),
        text.replace(b"proof 4\n", b"proof +4\n", 1),
        text.replace(b"proof 4\n", b"proof 5\n", 1),
        text.replace(b"new 199\n", b"new 200\n", 1),
        text.replace(head, b"farmtrace-log-inconsistency/v2\n", 1),
        text.replace(b"=\n", b"\n", 1),
        b"",
    ):
        assert bad != text
        with pytest.raises(MalformedError):
            parse_evidence(bad)
    with pytest.raises(MalformedError):
        format_evidence(Evidence(old.rstrip(b"\n"), new, ()))


@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda s: "farmtrace-log-inconsistency/v1\n" + s))
def test_parse_evidence_raises_only_its_own_error(data):
    with contextlib.suppress(MalformedError):  # anything else would escape and fail the test
        parse_evidence(data)
