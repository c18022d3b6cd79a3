"""Entry bundles (C2SP tlog-tiles): a log's entries, 256 to a bundle, as tiles serve them.

An entry bundle is the concatenation, for each entry in index order, of its length as a big-endian
uint16 and its bytes:

    00 05 'h' 'e' 'l' 'l' 'o'  00 00  00 03 'a' 'b' 'c'        entries "hello", "", "abc"

Bundle N holds entries [256·N, 256·N + W): a full bundle holds 256, the partial one at the right
edge of the tree fewer. Each entry hashes (RFC 9162 leaf hash) to the hash at the same position of
level-0 tile N.

Sixteen bits of length mean no entry of a tiled log can be longer than MAX_ENTRY_SIZE (65,535)
bytes: the log refuses a longer one when it is offered (`check_entry_size`, EntryTooLargeError),
never later when it would be published.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import EntryTooLargeError, MalformedError
from .tiles import TILE_WIDTH

__all__ = ["MAX_ENTRY_SIZE", "check_entry_size", "format_entry_bundle", "parse_entry_bundle"]

MAX_ENTRY_SIZE = 0xFFFF  # the largest uint16: the length prefix of an entry in a bundle


def check_entry_size(entry: bytes, *, index: int | None = None, field: str | None = None) -> None:
    """Return None if `entry` fits an entry bundle; raise EntryTooLargeError otherwise, naming its
    size and the limit, and `index` (its position among those offered together) and `field` (the
    input that carried it) if given."""
    if len(entry) > MAX_ENTRY_SIZE:
        raise EntryTooLargeError(len(entry), index=index, limit=MAX_ENTRY_SIZE, field=field)


def format_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """The bundle of `entries` (1 to 256 of them, in index order). Raises EntryTooLargeError for an
    entry over MAX_ENTRY_SIZE and MalformedError for an empty or over-full bundle."""
    if not (1 <= len(entries) <= TILE_WIDTH):
        raise MalformedError(f"an entry bundle holds 1-{TILE_WIDTH} entries, not {len(entries)}")
    parts = []
    for i, entry in enumerate(entries):
        check_entry_size(entry, index=i)
        parts.append(len(entry).to_bytes(2, "big"))
        parts.append(bytes(entry))
    return b"".join(parts)


def parse_entry_bundle(data: bytes, *, width: int) -> list[bytes]:
    """The `width` entries of bundle `data`, in order. Raises MalformedError unless `data` is exactly
    `width` length-prefixed entries: a truncated entry, fewer entries or trailing bytes are refused."""
    if not (1 <= width <= TILE_WIDTH):
        raise MalformedError(f"an entry bundle holds 1-{TILE_WIDTH} entries, not {width}")
    data = bytes(data)
    out, at = [], 0
    for i in range(width):
        if at + 2 > len(data):
            raise MalformedError(f"the entry bundle ends before entry {i} of {width} (at byte {at})")
        n = int.from_bytes(data[at : at + 2], "big")
        at += 2
        if at + n > len(data):
            raise MalformedError(
                f"entry {i} of the bundle is {n} bytes long, but only {len(data) - at} bytes follow"
            )
        out.append(data[at : at + n])
        at += n
    if at != len(data):
        raise MalformedError(f"the entry bundle has {len(data) - at} bytes after its {width} entries")
    return out
