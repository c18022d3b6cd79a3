"""Offline checks between two checkpoints of one log, and the evidence they raise.

A witness, a client or an auditor holds an old checkpoint and is shown a newer one with a
consistency proof. `check_checkpoint_consistency` tells three outcomes apart:

    None                 the old tree is a prefix of the new one
    VerificationError    something does not verify (a signature, the proof): nothing is proven
    InconsistencyError   the log signed both, and they cannot both be true: a proof of misbehaviour,
                         carrying `Evidence` (both notes as received, and the proof) that anyone
                         with the log's key re-checks with `check_evidence`

The line between the last two: a proof whose hashes lead to the new checkpoint's root is a true
statement about the new tree (its hashes are that tree's nodes, or SHA-256 collides). If the hash
of the first old-size leaves it leads to is not the old checkpoint's root, the log signed a tree
and later a tree that does not extend it: a fork. A proof that does not reach the new root proves
nothing, whoever made it.

RFC 9162 leaves out the old tree's hash when the old size is a power of two (the verifier puts the
old root there), so such a proof can never show a fork there. A proof may therefore carry that hash
as its first one; `prove_checkpoint_consistency` always does, and the RFC form is accepted too.

`format_evidence` / `parse_evidence` are the evidence's text form, UTF-8, each line ending in a
newline (docs/evidence.md has an example):

    farmtrace-log-inconsistency/v1
    old <length of the old note in bytes>
    <the old note, byte for byte; it ends in a newline>
    new <length of the new note in bytes>
    <the new note, byte for byte>
    proof <number of hashes>
    <base64 hash>                 one line each, standard base64 with padding

The parser is strict: it re-formats what it read and compares.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from . import merkle
from .checkpoint import Checkpoint, open_checkpoint
from .errors import Evidence, InconsistencyError, MalformedError, VerificationError
from .hashing import EMPTY_ROOT, HASH_SIZE
from .note import MAX_NOTE_SIZE, Verifier

__all__ = [
    "EVIDENCE_FORMAT",
    "check_checkpoint_consistency",
    "check_evidence",
    "format_evidence",
    "parse_evidence",
    "prove_checkpoint_consistency",
]

EVIDENCE_FORMAT = "farmtrace-log-inconsistency/v1"
MAX_PROOF_HASHES = 130  # a path in a tree of 2^63 leaves has at most 2·63 hashes, plus the old node


def prove_checkpoint_consistency(old_size: int, new_size: int, reader: merkle.HashReader) -> list[bytes]:
    """The consistency proof `check_checkpoint_consistency` takes from `old_size` to `new_size`.

    RFC 9162's PROOF(old_size, D[new_size]), with the hash of the first `old_size` leaves in front
    when old_size is a power of two (so that the proof can show a fork at that size too). Empty when
    old_size is 0 or equals new_size. Raises MalformedError for impossible sizes, NotFoundError
    (from `reader`) for a tree the reader does not have.
    """
    if old_size == 0 or old_size == new_size:
        return []
    proof = merkle.prove_consistency(old_size, new_size, reader)
    if old_size & (old_size - 1) == 0:
        return [merkle.tree_hash(old_size, reader), *proof]
    return proof


def check_checkpoint_consistency(
    old_note: bytes | str, new_note: bytes | str, proof: Sequence[bytes], *, log_key: Verifier
) -> None:
    """Check that the tree of checkpoint `old_note` is a prefix of the tree of `new_note`.

    Both notes must be checkpoints signed by `log_key` (other signature lines, such as witness
    cosignatures, are kept but not checked). `proof` is the consistency proof between them (see the
    module docstring). Returns None when they are consistent. Raises MalformedError if a note or a
    proof hash does not parse; VerificationError if a note is not signed by the log, the new
    checkpoint is the smaller, or the proof does not verify; InconsistencyError, carrying the
    notes as received and the proof, if the log signed two trees that cannot both be true.
    """
    # 1. The notes exactly as received: the evidence must be what the log signed, byte for byte.
    old_raw, new_raw = _raw(old_note, "the old note"), _raw(new_note, "the new note")
    proof = tuple(proof)
    if len(proof) > MAX_PROOF_HASHES:
        raise MalformedError(f"a consistency proof has at most {MAX_PROOF_HASHES} hashes, got {len(proof)}")
    for p in proof:
        if not isinstance(p, bytes | bytearray) or len(p) != HASH_SIZE:
            raise MalformedError(f"a consistency proof hash is {HASH_SIZE} bytes")
    proof = tuple(bytes(p) for p in proof)
    # 2. Both signed by the log (a note the log did not sign proves nothing about the log).
    old = open_checkpoint(old_raw, log_key).checkpoint
    new = open_checkpoint(new_raw, log_key).checkpoint

    def fork(message: str) -> InconsistencyError:
        return InconsistencyError(message, Evidence(old_raw, new_raw, proof))

    # 3. The sizes: a log only grows; one size has one root; the empty tree is everyone's prefix.
    if old.size > new.size:
        raise VerificationError(
            f"the new checkpoint's size {new.size} is smaller than the old one's {old.size}: "
            "a log never shrinks"
        )
    if old.size == new.size or old.size == 0:
        if proof:
            raise VerificationError(f"a proof from size {old.size} to size {new.size} is empty")
        want = new.root if old.size == new.size else EMPTY_ROOT
        if old.root != want:
            raise fork(f"the log signed two different roots for size {old.size}")
        return
    # 4. The proof: where it leads, and whether that is the new root (else it proves nothing).
    old_root, new_root = _roots(proof, old, new)
    if new_root != new.root:
        raise VerificationError(
            f"the consistency proof from size {old.size} to {new.size} does not lead to the new root"
        )
    if old_root != old.root:
        raise fork(
            f"the log forked: its tree of size {new.size} does not extend the tree of size {old.size} "
            "it signed before"
        )


def _roots(proof: tuple[bytes, ...], old: Checkpoint, new: Checkpoint) -> tuple[bytes, bytes]:
    """The (old, new) roots the proof leads to; raises VerificationError for a proof of the wrong length."""
    rfc_form = (
        old.size & (old.size - 1) == 0 and len(proof) != merkle.consistency_proof_size(old.size, new.size) + 1
    )
    # RFC 9162 §2.1.4.2 step 2: for an RFC proof from a power of two, the verifier supplies the old root.
    path = [old.root, *proof] if rfc_form else list(proof)
    return merkle.roots_from_consistency(path, old_size=old.size, new_size=new.size)


def check_evidence(evidence: Evidence, *, log_key: Verifier) -> None:
    """Re-check evidence of misbehaviour. Returns None if it proves that the log with `log_key`
    signed two checkpoints that cannot both be true; raises VerificationError (or MalformedError)
    if it does not, e.g. because the two checkpoints are consistent after all."""
    try:
        check_checkpoint_consistency(evidence.old_note, evidence.new_note, evidence.proof, log_key=log_key)
    except InconsistencyError:
        return
    raise VerificationError("the two checkpoints are consistent: the evidence proves nothing")


def format_evidence(evidence: Evidence) -> bytes:
    """The text form of `evidence` (see the module docstring), as bytes."""
    for what, note in (("old", evidence.old_note), ("new", evidence.new_note)):
        if not isinstance(note, bytes) or not note.endswith(b"\n") or len(note) > MAX_NOTE_SIZE:
            raise MalformedError(f"the {what} note is bytes ending in a newline, at most {MAX_NOTE_SIZE}")
    if len(evidence.proof) > MAX_PROOF_HASHES or any(len(p) != HASH_SIZE for p in evidence.proof):
        raise MalformedError(f"a proof is at most {MAX_PROOF_HASHES} hashes of {HASH_SIZE} bytes")
    return b"".join(
        [
            f"{EVIDENCE_FORMAT}\nold {len(evidence.old_note)}\n".encode(),
            evidence.old_note,
            f"new {len(evidence.new_note)}\n".encode(),
            evidence.new_note,
            f"proof {len(evidence.proof)}\n".encode(),
            *(base64.b64encode(p) + b"\n" for p in evidence.proof),
        ]
    )


def parse_evidence(text: bytes | str) -> Evidence:
    """Parse the text form of evidence strictly; raise MalformedError unless it re-formats to `text`."""
    data = _raw(text, "the evidence")
    if len(data) > 2 * MAX_NOTE_SIZE + 64 * MAX_PROOF_HASHES:
        raise MalformedError("the evidence is too long")
    reader = _Lines(data)
    if reader.line() != EVIDENCE_FORMAT.encode():
        raise MalformedError(f"evidence starts with the line {EVIDENCE_FORMAT}")
    old = reader.take(reader.count(b"old", MAX_NOTE_SIZE))
    new = reader.take(reader.count(b"new", MAX_NOTE_SIZE))
    proof = []
    for _ in range(reader.count(b"proof", MAX_PROOF_HASHES)):
        try:
            proof.append(base64.b64decode(reader.line(), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise MalformedError("a proof hash of the evidence is not valid base64") from exc
    evidence = Evidence(old, new, tuple(proof))
    if format_evidence(evidence) != data:
        raise MalformedError("the evidence is not in canonical form")
    return evidence


def _raw(value: bytes | str, what: str) -> bytes:
    """`value` as bytes (text as UTF-8); raise MalformedError for anything else."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError as exc:  # lone surrogates
            raise MalformedError(f"{what} is not valid UTF-8") from exc
    raise MalformedError(f"{what} is bytes or text, not {type(value).__name__}")


class _Lines:
    """A cursor over the evidence's bytes: whole lines, counted headers and byte-counted blocks."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def line(self) -> bytes:
        end = self._data.find(b"\n", self._at)
        if end < 0:
            raise MalformedError("the evidence ends in the middle of a line")
        line, self._at = self._data[self._at : end], end + 1
        return line

    def count(self, word: bytes, most: int) -> int:
        """Read the line `<word> <n>` and return n (0 <= n <= most)."""
        head, _, number = self.line().partition(b" ")
        if head != word or not number.isdigit() or len(number) > len(str(most)) or int(number) > most:
            raise MalformedError(f"expected the line '{word.decode()} <n>' with n at most {most}")
        return int(number)

    def take(self, n: int) -> bytes:
        if self._at + n > len(self._data):
            raise MalformedError("the evidence ends inside a note")
        block, self._at = self._data[self._at : self._at + n], self._at + n
        return block
