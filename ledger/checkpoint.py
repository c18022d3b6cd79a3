"""C2SP tlog-checkpoint: the signed statement of a log's size and root.

A checkpoint's text (the body of a signed note) is, each line ending in a newline:

    <origin>                     a unique name for the log, e.g. "changsha.farmtrace.example/log"
    <size>                       decimal, no sign, no leading zeros
    <base64(root hash)>          standard base64 with padding, 32 bytes
    [<extension line>]...        optional, opaque, non-empty

`format_checkpoint` / `parse_checkpoint` are the pair; the parser re-formats what it read and
compares, so `007`, `+7`, trailing spaces on the first three lines and non-canonical base64 are all
refused. Extension lines are opaque: kept exactly as written.
`sign_checkpoint` / `open_checkpoint` add and check the log's signature (the log's key is named
after its origin, as c2sp.org/tlog-checkpoint asks).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import MalformedError, VerificationError
from .hashing import HASH_SIZE
from .merkle import MAX_SIZE
from .note import Note, NoteSignature, Signer, Verifier, open_note, sign_note

__all__ = [
    "Checkpoint",
    "SignedCheckpoint",
    "format_checkpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "sign_checkpoint",
]


@dataclass(frozen=True)
class Checkpoint:
    """A log's origin, size and root hash, with any extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignedCheckpoint:
    """An opened checkpoint note: the checkpoint and the note it came from."""

    checkpoint: Checkpoint
    note: Note

    @property
    def cosignatures(self) -> tuple[NoteSignature, ...]:
        """Verified signatures other than the log's own (witness cosignatures)."""
        origin = self.checkpoint.origin
        return tuple(s for s in self.note.signatures if s.name != origin)


def format_checkpoint(cp: Checkpoint) -> str:
    """Return the checkpoint text (note body) for `cp`."""
    if not cp.origin or "\n" in cp.origin or cp.origin != cp.origin.strip():
        raise MalformedError("a checkpoint's origin is one non-empty line without surrounding spaces")
    if not 0 <= cp.size <= MAX_SIZE:
        raise MalformedError(f"a checkpoint's size must be from 0 to 2^63-1, got {cp.size}")
    if len(cp.root) != HASH_SIZE:
        raise MalformedError("a checkpoint's root is a 32-byte hash")
    for ext in cp.extensions:
        if not ext or "\n" in ext:
            raise MalformedError("a checkpoint extension is one non-empty line")
    lines = [cp.origin, str(cp.size), base64.b64encode(cp.root).decode(), *cp.extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint text strictly; raise MalformedError unless it re-formats to the same text."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedError("a checkpoint has at least three lines: origin, size, root hash")
    origin, size_text, root_text, *extensions = lines
    if not size_text.isascii() or not size_text.isdigit():
        raise MalformedError(f"a checkpoint's size must be a decimal number, got {size_text!r}")
    if len(size_text) > 19:  # before int(): CPython refuses very long digit strings with a bare ValueError
        raise MalformedError(f"a checkpoint's size must be from 0 to 2^63-1, got {len(size_text)} digits")
    size = int(size_text)
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("a checkpoint's root hash is not valid base64") from exc
    cp = Checkpoint(origin=origin, size=size, root=root, extensions=tuple(extensions))
    if format_checkpoint(cp) != text:
        raise MalformedError("checkpoint text is not in canonical form")
    return cp


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """Return the signed note for `cp`. The signer's key name must be the checkpoint's origin."""
    if signer.name != cp.origin:
        raise MalformedError(f"the log key is named {signer.name!r} but the origin is {cp.origin!r}")
    return sign_note(format_checkpoint(cp), signer)


def open_checkpoint(
    note_text: str | bytes, log_key: Verifier, *, witnesses: Sequence[Verifier] = ()
) -> SignedCheckpoint:
    """Open a checkpoint note signed by `log_key`; verify any cosignatures by known `witnesses`.

    Raises VerificationError if the log's own signature is missing or wrong, MalformedError if the
    note or the checkpoint inside it does not parse.
    """
    note = open_note(note_text, [log_key, *witnesses])
    if not any(s.name == log_key.name and s.key_id == log_key.key_id for s in note.signatures):
        raise VerificationError("the checkpoint is not signed by the log's key")
    cp = parse_checkpoint(note.text)
    if cp.origin != log_key.name:
        raise VerificationError(
            f"the checkpoint's origin {cp.origin!r} is not the log key's name {log_key.name!r}"
        )
    return SignedCheckpoint(checkpoint=cp, note=note)
