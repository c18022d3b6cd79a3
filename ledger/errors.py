"""The ledger's one error tree.

LedgerError
├── MalformedError        input that does not parse (a proof, a note, a key, a bundle)
│   └── EntryTooLargeError  an entry longer than an entry bundle's 16-bit length allows
├── VerificationError     a check failed: a proof, a signature, a stored hash
│   ├── InconsistencyError  the log signed two checkpoints that cannot both be true; carries the Evidence
│   └── StoreMismatchError  the log's own storage is not the tree it signed (it signs nothing on top)
├── AppendError           an append could not be sequenced or made durable
└── NotFoundError         an index, size or checkpoint the log does not have
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AppendError",
    "EntryTooLargeError",
    "Evidence",
    "InconsistencyError",
    "LedgerError",
    "MalformedError",
    "NotFoundError",
    "StoreMismatchError",
    "VerificationError",
]


class LedgerError(Exception):
    """Base of every error raised by farmtrace.ledger."""


class MalformedError(LedgerError, ValueError):
    """Input does not parse: wrong length, bad base64, non-canonical number, unknown format."""


class EntryTooLargeError(MalformedError):
    """An entry is longer than MAX_ENTRY_SIZE (65,535) bytes, the most an entry bundle's uint16
    length prefix can say (C2SP tlog-tiles); the log refuses it before anything is stored.

    `size` is the entry's length, `limit` the largest allowed, `index` its position among the entries
    offered together (None for one alone), `field` the name of the input that carried it, if any.
    """

    def __init__(
        self, size: int, *, index: int | None = None, limit: int = 0xFFFF, field: str | None = None
    ) -> None:
        which = "an entry" if index is None else f"entry {index}"
        super().__init__(
            f"{which} is {size} bytes; an entry is bytes of at most {limit} bytes "
            "(the 16-bit length of C2SP tlog-tiles entry bundles)"
        )
        self.size = size
        self.limit = limit
        self.index = index
        self.field = field


class VerificationError(LedgerError):
    """A check did not pass: a proof, a signature or a stored hash does not match."""


@dataclass(frozen=True)
class Evidence:
    """A proof that a log misbehaved, which anyone holding the log's verifier key can re-check.

    The two checkpoint notes exactly as they were received (raw bytes, cosignature lines and all)
    and the consistency proof between them, as Tessera's `ErrInconsistency{SmallerRaw, LargerRaw,
    Proof}`. `ledger.verify.check_evidence` re-checks it; `format_evidence` / `parse_evidence` are
    its text form (docs/evidence.md).
    """

    old_note: bytes
    new_note: bytes
    proof: tuple[bytes, ...] = ()


class InconsistencyError(VerificationError):
    """The log signed two checkpoints that cannot both be true; `evidence` lets a third party see it.

    Raised only when both notes carry the log's valid signature and the proof (or, for one size,
    the two roots alone) shows they contradict each other: a proof of misbehaviour. A proof that
    merely fails to verify is a VerificationError, which proves nothing about the log.
    """

    def __init__(self, message: str, evidence: Evidence) -> None:
        super().__init__(message)
        self.evidence = evidence


class StoreMismatchError(VerificationError):
    """The log's stored tree of `size` has another root than the checkpoint the log signed for it.

    Storage was altered (or damaged) behind the log's back; the log refuses to sign on top of it.
    Only the log's own signature is involved, so this is no evidence a third party could check.
    """

    def __init__(self, message: str, *, size: int, signed_root: bytes, stored_root: bytes) -> None:
        super().__init__(message)
        self.size = size
        self.signed_root = signed_root
        self.stored_root = stored_root


class AppendError(LedgerError):
    """An append was not sequenced (the storage failed, or the log refused to sign)."""


class NotFoundError(LedgerError, LookupError):
    """The log has no such index, size or checkpoint (yet)."""
