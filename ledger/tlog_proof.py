"""C2SP tlog-proof: an offline proof that an entry is in the log, with the checkpoint's cosignatures.

A `.tlog-proof` file (media type text/x.tlog.proof in farmtrace; the spec names none), each line
ending in a newline:

    c2sp.org/tlog-proof@v1
    [extra <base64(the ledger entry)>]      farmtrace puts the entry itself here (optional)
    index <decimal, no leading zeros>
    <base64 hash>                           0 or more: the RFC 9162 inclusion proof, leaf side first
                                            an empty line
    <checkpoint note>                       verbatim, the log's signature and any cosignatures

`format_tlog_proof` / `parse_tlog_proof` are the pair; the parser re-formats what it read and
compares, so a non-canonical index or base64 is refused. `prove_entry(log, index)` builds one
against the log's latest checkpoint; `check_tlog_proof(proof, log_key=, policy=, now=)` runs the
spec's steps: the leaf hash of the entry (given, else the `extra`), the log's signature and origin,
the policy's witnesses (ledger/policy.py), and the inclusion proof. The `extra` is not trusted: the
entry is only accepted when its leaf hash is proven to the signed root.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .checkpoint import SignedCheckpoint, open_checkpoint
from .errors import MalformedError, NotFoundError
from .hashing import HASH_SIZE, leaf_hash
from .log import Log
from .merkle import MAX_SIZE, check_inclusion
from .note import MAX_NOTE_SIZE, Verifier, decode_b64
from .policy import Policy, Witnessed, check_witnessed

__all__ = [
    "HEADER",
    "MEDIA_TYPE",
    "CheckedProof",
    "TlogProof",
    "check_tlog_proof",
    "format_tlog_proof",
    "parse_tlog_proof",
    "prove_entry",
]

HEADER = "c2sp.org/tlog-proof@v1"
MEDIA_TYPE = "text/x.tlog.proof; charset=utf-8"
MAX_PROOF_HASHES = 63


@dataclass(frozen=True)
class TlogProof:
    """A parsed proof: the optional extra data, the entry's index, its inclusion proof, the note."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None


@dataclass(frozen=True)
class CheckedProof:
    """What `check_tlog_proof` proved: the entry, the opened checkpoint, and its witnessing."""

    entry: bytes
    checkpoint: SignedCheckpoint
    witnessed: Witnessed | None


def format_tlog_proof(p: TlogProof) -> str:
    """The file's text for `p`; parses back to an equal TlogProof."""
    if not 0 <= p.index <= MAX_SIZE:
        raise MalformedError(f"an index is from 0 to 2^63-1, got {p.index}")
    if len(p.proof) > MAX_PROOF_HASHES or any(len(h) != HASH_SIZE for h in p.proof):
        raise MalformedError("an inclusion proof is at most 63 hashes of 32 bytes")
    if not p.checkpoint.endswith("\n") or not p.checkpoint or p.checkpoint.startswith("\n"):
        raise MalformedError("the checkpoint note is non-empty text ending in a newline")
    lines = [HEADER]
    if p.extra is not None:
        if not p.extra:
            raise MalformedError("extra data, when present, is not empty")
        lines.append("extra " + base64.b64encode(p.extra).decode())
    lines.append(f"index {p.index}")
    lines.extend(base64.b64encode(h).decode() for h in p.proof)
    return "".join(line + "\n" for line in lines) + "\n" + p.checkpoint


def parse_tlog_proof(text: str | bytes) -> TlogProof:
    """Parse a .tlog-proof strictly. Raises MalformedError naming what is wrong."""
    if isinstance(text, bytes):
        if len(text) > 2 * MAX_NOTE_SIZE:
            raise MalformedError("the proof is too large")
        try:
            text = text.decode()
        except UnicodeDecodeError as exc:
            raise MalformedError("a tlog-proof is UTF-8 text") from exc
    if not isinstance(text, str) or len(text) > 2 * MAX_NOTE_SIZE:
        raise MalformedError("the proof is too large")
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise MalformedError("a tlog-proof has an empty line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedError(f"a tlog-proof starts with the line {HEADER}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = decode_b64(rest.pop(0)[len("extra ") :], "the extra data")
    if not rest or not rest[0].startswith("index "):
        raise MalformedError("a tlog-proof has an index line after its header (and extra line)")
    digits = rest.pop(0)[len("index ") :]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise MalformedError(f"the index is a decimal number, got {digits!r}")
    proof = tuple(decode_b64(line, f"proof line {i + 1}") for i, line in enumerate(rest))
    parsed = TlogProof(index=int(digits), proof=proof, checkpoint=note, extra=extra)
    if format_tlog_proof(parsed) != text:
        raise MalformedError("the tlog-proof is not in canonical form (leading zeros, hash sizes, ...)")
    return parsed


def prove_entry(log: Log, index: int, *, with_entry: bool = True) -> TlogProof:
    """A proof of entry `index` against the log's latest checkpoint (with its cosignatures).
    Raises NotFoundError for an index the log does not have."""
    cp = log.checkpoint()
    if not 0 <= index < cp.size:
        raise NotFoundError(f"the log has {cp.size} entries; there is no index {index}")
    proof = log.prove_inclusion(index, cp.size)
    ((_, entry),) = log.read_entries(index, index + 1)
    return TlogProof(
        index=index,
        proof=tuple(proof),
        checkpoint=cp.note_with_cosignatures(),
        extra=entry if with_entry else None,
    )


def check_tlog_proof(
    proof: TlogProof,
    *,
    log_key: Verifier,
    entry: bytes | None = None,
    policy: Policy | None = None,
    now: int | None = None,
) -> CheckedProof:
    """Verify `proof` (c2sp.org/tlog-proof, "Verifying a tlog proof"); return what it proved or raise.

    `entry` is the logged entry; None takes it from the proof's extra data. With a `policy`, its
    quorum must hold (at `now`, POSIX seconds, for its max age). Raises MalformedError for a proof
    that cannot be checked (no entry), VerificationError for one that does not verify.
    """
    # 1. The leaf hash.
    leaf_bytes = entry if entry is not None else proof.extra
    if leaf_bytes is None:
        raise MalformedError("no entry to check: pass it, or use a proof that carries it as extra data")
    leaf = leaf_hash(leaf_bytes)
    # 2. The origin and the log's signature.
    signed = open_checkpoint(proof.checkpoint, log_key)
    # 3. The witnesses, by the policy.
    witnessed = None
    if policy is not None:
        if now is None:
            raise MalformedError("checking a witness policy needs the time (now=)")
        witnessed = check_witnessed(proof.checkpoint, policy, now=now)
        witnessed.require()
    # 4. The inclusion proof binds the leaf to the signed root.
    cp = signed.checkpoint
    check_inclusion(proof.proof, index=proof.index, leaf=leaf, size=cp.size, root=cp.root)
    return CheckedProof(entry=leaf_bytes, checkpoint=signed, witnessed=witnessed)
