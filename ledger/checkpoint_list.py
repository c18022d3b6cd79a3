"""A log's checkpoints as a list, with their cosignatures: what a mirror serves at `/log/checkpoints`.

A restore (api/cli/restore.py) brings back every checkpoint the mirror holds, not only the latest
tlog-tiles serves. The list is a text format of this project (C2SP has none for it), written by
`format_checkpoint_list` and read strictly by `parse_checkpoint_list`:

    farmtrace-checkpoints/v1
    <n>                         how many checkpoints follow, smallest size first
    <length in bytes>           then the note with its cosignature lines, byte for byte
    <note>                      (it ends in a newline)
    …                           one length line and one note per checkpoint

A mirror answers `checkpoints?after=<size>` with at most CHECKPOINT_PAGE checkpoints larger than
`size` (api/mirror_app.py); `read_checkpoint_pages` reads them all, a page at a time. Errors are
the ledger's (ledger/errors.py): MalformedError for a list that does not parse, VerificationError
for a note the log did not sign, NotFoundError (from `fetch`) for a source that serves no list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .checkpoint import Checkpoint, open_checkpoint
from .errors import MalformedError
from .note import MAX_NOTE_SIZE, Verifier
from .store import StoredCheckpoint
from .tile_audit import Fetch

__all__ = [
    "CHECKPOINTS_FORMAT",
    "CHECKPOINT_PAGE",
    "format_checkpoint_list",
    "parse_checkpoint_list",
    "read_checkpoint_pages",
]

CHECKPOINTS_FORMAT = "farmtrace-checkpoints/v1"
CHECKPOINT_PAGE = 1000  # checkpoints a mirror lists in one answer (`checkpoints?after=<size>`)


def read_checkpoint_pages(
    fetch: Fetch, *, log_key: Verifier
) -> Iterator[tuple[Checkpoint, str, tuple[str, ...]]]:
    """Every checkpoint a mirror lists, smallest first, read a page at a time through `fetch`
    (`checkpoints?after=<size>`, CHECKPOINT_PAGE to a page; parse_checkpoint_list checks each).
    Raises NotFoundError if the source serves no list (a static publication)."""
    after = -1
    while True:
        page = parse_checkpoint_list(fetch(f"checkpoints?after={after}"), log_key=log_key)
        yield from page
        if len(page) < CHECKPOINT_PAGE:
            return
        if page[-1][0].size <= after:
            raise MalformedError("the checkpoint list did not advance past the size asked for")
        after = page[-1][0].size


def format_checkpoint_list(checkpoints: Sequence[StoredCheckpoint]) -> bytes:
    """Checkpoints with their cosignatures, as the mirror serves them at `/log/checkpoints`:

    farmtrace-checkpoints/v1
    <n>                         how many checkpoints follow, smallest size first
    <length in bytes>           then the note with its cosignature lines, byte for byte
    <note>                      (it ends in a newline)
    …                           one length line and one note per checkpoint
    """
    parts = [f"{CHECKPOINTS_FORMAT}\n{len(checkpoints)}\n".encode()]
    for cp in checkpoints:
        data = cp.note_with_cosignatures().encode()
        parts.append(f"{len(data)}\n".encode())
        parts.append(data)
    return b"".join(parts)


def parse_checkpoint_list(data: bytes, *, log_key: Verifier) -> list[tuple[Checkpoint, str, tuple[str, ...]]]:
    """The (checkpoint, log-signed note, cosignature lines) of a `format_checkpoint_list` answer.

    Every note must be signed by `log_key` (VerificationError), sizes strictly increasing; the
    cosignature lines are kept as they are (whoever reads them checks them against the keys they
    trust). Raises MalformedError for anything `format_checkpoint_list` would not have written.
    """
    lines = _Cursor(bytes(data))
    if lines.line() != CHECKPOINTS_FORMAT:
        raise MalformedError(f"a checkpoint list starts with the line {CHECKPOINTS_FORMAT}")
    out: list[tuple[Checkpoint, str, tuple[str, ...]]] = []
    for _ in range(lines.number(1 << 32)):
        text = lines.take(lines.number(MAX_NOTE_SIZE))
        signed = open_checkpoint(text, log_key)
        cp = signed.checkpoint
        if out and cp.size <= out[-1][0].size:
            raise MalformedError("the checkpoints of a list are in increasing size")
        log_line = next(s.line() for s in signed.note.signatures if s.name == log_key.name)
        others = tuple(
            s.line() for s in (*signed.note.signatures, *signed.note.unverified) if s.line() != log_line
        )
        out.append((cp, signed.note.text + "\n" + log_line, others))
    if not lines.done():
        raise MalformedError("the checkpoint list has bytes after its last checkpoint")
    return out


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def line(self) -> str:
        end = self._data.find(b"\n", self._at)
        if end < 0:
            raise MalformedError("the checkpoint list ends in the middle of a line")
        line, self._at = self._data[self._at : end], end + 1
        return line.decode("ascii", "replace")

    def number(self, most: int) -> int:
        text = self.line()
        if not text.isdigit() or str(int(text)) != text or int(text) > most:
            raise MalformedError(f"expected a decimal count of at most {most}, got {text[:20]!r}")
        return int(text)

    def take(self, n: int) -> str:
        if self._at + n > len(self._data):
            raise MalformedError("the checkpoint list ends inside a note")
        block, self._at = self._data[self._at : self._at + n], self._at + n
        try:
            return block.decode()
        except UnicodeDecodeError as exc:
            raise MalformedError("a note of the checkpoint list is not UTF-8") from exc

    def done(self) -> bool:
        return self._at == len(self._data)
