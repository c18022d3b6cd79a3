"""A C2SP tlog-witness: the add-checkpoint protocol, pure, with its state store passed in.

A witness keeps, for each log it trusts (origin → the log's verifier key), the latest checkpoint it
cosigned, and cosigns a newer one only if it is consistent with that. `Witness.add_checkpoint`
takes a request body and returns the cosignature lines, or raises one of the errors below; the
HTTP app (farmtrace.api.witness_app) maps them to the statuses c2sp.org/tlog-witness names.

The request body (`format_add_checkpoint` / `parse_add_checkpoint`), each line ending in U+000A:

    old <size>                   decimal, no leading zeros ("0" for zero)
    <base64 hash>                zero to 63 consistency proof lines (RFC 6962 §2.1.2 proof)
                                 an empty line
    <checkpoint note>            c2sp.org/tlog-checkpoint, signed by the log (maybe others too)

The answer (200) is one note signature line `— <witness name> base64(key ID ‖ timestamp ‖ sig)`,
a cosignature/v1 (c2sp.org/tlog-cosignature) over the checkpoint at the witness's clock.

Errors (a part of the ledger's one tree, ledger/errors.py), in the order the checks run:

    MalformedError                   400  the body does not parse, or old size > checkpoint size
    UnknownLogError(NotFoundError)   404  the checkpoint's origin is not a log this witness trusts
    SignatureError(VerificationError)403  no valid signature by a trusted key of that log
    SizeConflictError(LedgerError)   409  old size is not the size the witness recorded: `known_size`
    ProofError(VerificationError)    422  the proof does not verify, or a size-0 tree's root is wrong
    InconsistencyError               422  the log signed two trees that cannot both be true; carries
                                          the Evidence (both notes, the proof) anyone re-checks

Known logs are read from a policy file (`parse_log_list`), the `log` lines of c2sp.org/tlog-policy:

    # comments and blank lines are ignored
    log <vkey> [<url>]           the vkey's name is the log's origin
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .checkpoint import open_checkpoint, parse_checkpoint
from .errors import InconsistencyError, LedgerError, MalformedError, NotFoundError, VerificationError
from .hashing import EMPTY_ROOT, HASH_SIZE
from .merkle import MAX_SIZE
from .note import MAX_NOTE_SIZE, CosignatureSigner, NoteSignature, Verifier
from .verify import check_checkpoint_consistency, format_evidence
from .witness_store import WitnessRecord, WitnessStore

__all__ = [
    "MAX_PROOF_LINES",
    "AddCheckpoint",
    "ProofError",
    "SignatureError",
    "SizeConflictError",
    "UnknownLogError",
    "Witness",
    "format_add_checkpoint",
    "format_log_list",
    "format_size",
    "parse_add_checkpoint",
    "parse_log_list",
    "parse_size",
]

MAX_PROOF_LINES = 63  # c2sp.org/tlog-witness: a client MUST NOT send more
MAX_BODY = MAX_NOTE_SIZE + 64 * (MAX_PROOF_LINES + 1)


class UnknownLogError(NotFoundError):
    """The checkpoint's origin is not a log this witness trusts (404)."""


class SignatureError(VerificationError):
    """No trusted key of the log signed the checkpoint, or its signature is bad (403)."""


class ProofError(VerificationError):
    """The consistency proof does not verify, or an empty tree has another root (422). Proves nothing."""


class SizeConflictError(LedgerError):
    """The request's old size is not the size of the witness's latest cosigned checkpoint (409)."""

    def __init__(self, message: str, *, known_size: int) -> None:
        super().__init__(message)
        self.known_size = known_size


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the old size, the consistency proof, the checkpoint note as sent."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def _decimal(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19 or str(int(text)) != text:
        raise MalformedError(f"{what} is a decimal number without leading zeros, got {text!r}")
    value = int(text)
    if value > MAX_SIZE:
        raise MalformedError(f"{what} is at most 2^63-1, got {text}")
    return value


def format_add_checkpoint(req: AddCheckpoint) -> bytes:
    """The request body for `req` (see the module docstring)."""
    if not 0 <= req.old_size <= MAX_SIZE:
        raise MalformedError(f"the old size is from 0 to 2^63-1, got {req.old_size}")
    if len(req.proof) > MAX_PROOF_LINES or any(len(p) != HASH_SIZE for p in req.proof):
        raise MalformedError(f"a proof is at most {MAX_PROOF_LINES} hashes of {HASH_SIZE} bytes")
    lines = [f"old {req.old_size}\n".encode(), *(base64.b64encode(p) + b"\n" for p in req.proof), b"\n"]
    return b"".join(lines) + req.note


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint body strictly. Raises MalformedError naming the first problem."""
    if not isinstance(body, bytes | bytearray):
        raise MalformedError("the request body is bytes")
    if len(body) > MAX_BODY:
        raise MalformedError(f"the request body is at most {MAX_BODY} bytes")
    head, sep, note = bytes(body).partition(b"\n\n")
    if not sep:
        raise MalformedError("the request has no empty line between the proof and the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise MalformedError("the old size and proof lines are ASCII") from exc
    word, space, size_text = lines[0].partition(" ")
    if word != "old" or not space:
        raise MalformedError("the first line reads 'old <size>'")
    old_size = _decimal(size_text, "the old size")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise MalformedError(f"a consistency proof has at most {MAX_PROOF_LINES} lines, got {len(lines) - 1}")
    proof = []
    for n, line in enumerate(lines[1:], 1):
        try:
            raw = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedError(f"proof line {n} is not valid base64") from exc
        if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != line:
            raise MalformedError(f"proof line {n} is not the canonical base64 of a {HASH_SIZE}-byte hash")
        proof.append(raw)
    if not note:
        raise MalformedError("the request has no checkpoint after the empty line")
    return AddCheckpoint(old_size=old_size, proof=tuple(proof), note=note)


def format_size(size: int) -> bytes:
    """The body of a 409 answer (`text/x.tlog.size`): the size in decimal and a newline."""
    return f"{size}\n".encode()


def parse_size(body: bytes) -> int:
    """Parse a `text/x.tlog.size` body strictly; raise MalformedError."""
    if not body.endswith(b"\n") or len(body) > 21:
        raise MalformedError("a text/x.tlog.size body is a decimal size and a newline")
    return _decimal(body[:-1].decode("ascii", "replace"), "the witness's size")


def parse_log_list(text: str) -> tuple[Verifier, ...]:
    """The logs of a tlog-policy file: `log <vkey> [<url>]` lines; comments and blank lines ignored.

    Raises MalformedError naming the line for anything else (a witness key, a typo) and for a
    file that lists no log or one origin twice: a witness trusting nothing is a misconfiguration.
    """
    logs: dict[str, Verifier] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        fields = raw.replace("\t", " ").split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] != "log" or len(fields) not in (2, 3):
            raise MalformedError(f"line {n}: expected 'log <vkey> [<url>]', got {raw.strip()!r}")
        try:
            key = Verifier.from_key_string(fields[1])
        except MalformedError as exc:
            raise MalformedError(f"line {n}: {exc}") from exc
        if key.name in logs:
            raise MalformedError(f"line {n}: the log {key.name} is listed twice")
        logs[key.name] = key
    if not logs:
        raise MalformedError("the list of trusted logs is empty")
    return tuple(logs.values())


def format_log_list(logs: Sequence[Verifier]) -> str:
    """A policy file listing `logs` (the inverse of `parse_log_list`)."""
    return "".join(f"log {k.key_string()}\n" for k in logs)


def _origin(note: bytes) -> str:
    """The origin line of a checkpoint note, read before its signature is checked (to pick the key)."""
    first, sep, _ = note.partition(b"\n")
    try:
        origin = first.decode()
    except UnicodeDecodeError as exc:
        raise MalformedError("the checkpoint's origin line is not UTF-8") from exc
    if not sep or not origin:
        raise MalformedError("the checkpoint has no origin line")
    return origin


class Witness:
    """A witness: its cosigner key, the logs it trusts, its state store and its clock.

    `clock` returns POSIX seconds; a cosignature's timestamp is its whole part (never 0).
    `on_evidence(origin, evidence_bytes)` is called with the text form of any proof of a fork.
    """

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Sequence[Verifier],
        store: WitnessStore,
        *,
        clock: Callable[[], float],
    ) -> None:
        if not isinstance(signer, CosignatureSigner):
            raise MalformedError("a witness signs with a cosignature/v1 key")
        if not logs:
            raise MalformedError("a witness needs at least one trusted log")
        self.signer = signer
        self.logs = {k.name: k for k in logs}
        self.store = store
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> str:
        """Check and cosign the checkpoint of an add-checkpoint request; return the signature line.

        Raises the module's errors (see its docstring); records the checkpoint before returning.
        """
        # 1. Parse; the origin picks the log's key (404 for a log we do not know).
        req = parse_add_checkpoint(body)
        origin = _origin(req.note)
        log_key = self.logs.get(origin)
        if log_key is None:
            raise UnknownLogError(f"this witness does not know the log {origin!r}")
        # 2. The log's signature (403); a note that does not parse at all is 400.
        try:
            cp = open_checkpoint(req.note, log_key).checkpoint
        except VerificationError as exc:
            raise SignatureError(f"the checkpoint is not validly signed by {origin}: {exc}") from exc
        # 3. The sizes: old <= new (400); old = the size we recorded (409).
        if req.old_size > cp.size:
            raise MalformedError(f"the old size {req.old_size} is larger than the checkpoint's {cp.size}")
        known = self.store.latest(origin)
        known_size = known.size if known else 0
        if req.old_size != known_size:
            raise SizeConflictError(
                f"the old size {req.old_size} is not the witness's size {known_size}", known_size=known_size
            )
        # 4. Consistency with what we cosigned before (422, with evidence for a fork).
        self._check_consistent(known, req, cp.size, cp.root)
        # 5. Cosign, then record atomically: a concurrent request that advanced first wins (409).
        line = self._cosign(req.note, origin)
        record = WitnessRecord(origin=origin, size=cp.size, note=req.note, cosignature=line)
        if not self.store.compare_and_swap(origin, expected_size=known.size if known else None, new=record):
            now = self.store.latest(origin)
            size = now.size if now else 0
            raise SizeConflictError(f"another request moved the witness to size {size}", known_size=size)
        return line

    def _check_consistent(
        self, known: WitnessRecord | None, req: AddCheckpoint, size: int, root: bytes
    ) -> None:
        if size == 0 and root != EMPTY_ROOT:
            raise ProofError("a checkpoint of size 0 has the root of the empty tree")
        if req.old_size == 0 and req.proof:
            raise ProofError("the proof from size 0 is empty: the empty tree is every tree's prefix")
        if known is None:
            return
        try:
            check_checkpoint_consistency(known.note, req.note, req.proof, log_key=self.logs[known.origin])
        except InconsistencyError as exc:
            self.store.add_evidence(known.origin, format_evidence(exc.evidence), at=self._clock())
            raise
        except VerificationError as exc:
            raise ProofError(str(exc)) from exc

    def _cosign(self, note: bytes, origin: str) -> str:
        text = note.decode()
        text = text[: text.rfind("\n\n") + 1]  # the checkpoint body: the signed part of the note
        parse_checkpoint(text)
        timestamp = max(int(self._clock()), 1)  # c2sp.org/tlog-witness: the timestamp MUST NOT be zero
        signer = self.signer.at_time(timestamp)
        return NoteSignature(signer.name, signer.key_id, signer.sign_note_text(text)).line()

    def checkpoint(self, origin: str) -> bytes:
        """The latest cosigned checkpoint of `origin` with our cosignature (the monitoring read).

        Raises UnknownLogError if this witness never cosigned one for it.
        """
        record = self.store.latest(origin)
        if record is None:
            raise UnknownLogError(f"this witness never cosigned a checkpoint of {origin!r}")
        return record.note + record.cosignature.encode()
