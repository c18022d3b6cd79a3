"""The ledger's one error tree.

LedgerError
├── MalformedError        input that does not parse (a proof, a note, a key, a bundle)
├── VerificationError     a check failed: a proof, a signature, a stored hash
│   └── InconsistencyError  two views of the log disagree; carries the evidence
├── AppendError           an append could not be sequenced or made durable
└── NotFoundError         an index, size or checkpoint the log does not have
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AppendError",
    "InconsistencyError",
    "LedgerError",
    "MalformedError",
    "NotFoundError",
    "VerificationError",
]


class LedgerError(Exception):
    """Base of every error raised by farmtrace.ledger."""


class MalformedError(LedgerError, ValueError):
    """Input does not parse: wrong length, bad base64, non-canonical number, unknown format."""


class VerificationError(LedgerError):
    """A check did not pass: a proof, a signature or a stored hash does not match."""


@dataclass(frozen=True)
class Evidence:
    """What two disagreeing views of the log said (sizes, roots, proof) for an InconsistencyError."""

    old_size: int
    old_root: bytes
    new_size: int
    new_root: bytes
    proof: tuple[bytes, ...] = ()


class InconsistencyError(VerificationError):
    """Two views of the log cannot both be true; `evidence` says what each claimed."""

    def __init__(self, message: str, evidence: Evidence) -> None:
        super().__init__(message)
        self.evidence = evidence


class AppendError(LedgerError):
    """An append was not sequenced (the storage failed, or the log refused to sign)."""


class NotFoundError(LedgerError, LookupError):
    """The log has no such index, size or checkpoint (yet)."""
