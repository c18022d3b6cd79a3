"""The names of a tiled log's resources (C2SP tlog-tiles): tile paths, their parser, and which exist.

A log of `size` entries is served as static resources below a prefix:

    checkpoint                      the latest signed checkpoint note
    tile/<L>/<N>[.p/<W>]            hash tile N of level L (full: 256 hashes; partial: W < 256)
    tile/entries/<N>[.p/<W>]        entry bundle N: the entries whose leaf hashes tile 0/N holds

`<L>` is a decimal integer 0-63 without leading zeroes; `<W>` one of 1-255, likewise. `<N>` is
written in zero-padded three-digit path elements, all but the last prefixed with `x`: tile 1234067
is `x001/x234/067`, tile 5 is `005`. `format_tile_path` writes exactly that; `parse_tile_path` is
its inverse, and refuses (MalformedError) anything `format_tile_path` would not have written, so
each resource has one name: `x000/005`, `5`, `0005`, `tile/01/000`, `.p/0`, `.p/256` and `.p/07`
are all refused.

`tiles_for_size(size)` lists every resource a tree of `size` needs: each full tile and bundle, plus
the partial ones at the right edge (a tree of 70,000 has 273 full level-0 tiles, a level-0 tile of
width 112, one full level-1 tile, a level-1 tile of width 17 and a level-2 tile of width 1, and the
matching 273 full and one partial entry bundles).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MalformedError
from .tiles import TILE_HEIGHT, TILE_WIDTH

__all__ = [
    "ENTRIES",
    "MAX_LEVEL",
    "Tile",
    "format_tile_path",
    "parse_tile_path",
    "tile_for_size",
    "tiles_for_size",
]

ENTRIES = -1  # the `level` of an entry bundle (Go's sumdb calls it the "data" tile, L = -1)
MAX_LEVEL = 63
_MAX_PATH = 200  # longer than any valid tile path (an index below 2^64 has at most 7 elements)


@dataclass(frozen=True, order=True)
class Tile:
    """One tile (or, with level ENTRIES, one entry bundle): its level, index and width in hashes.

    A full tile has width 256 and is immutable; a narrower one is the partial tile at the right
    edge of a tree whose size is not a multiple of 256^(level+1).
    """

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not (ENTRIES <= self.level <= MAX_LEVEL):
            raise MalformedError(f"a tile level is 0-{MAX_LEVEL} (or ENTRIES), not {self.level}")
        if self.index < 0:
            raise MalformedError(f"a tile index is non-negative, not {self.index}")
        if not (1 <= self.width <= TILE_WIDTH):
            raise MalformedError(f"a tile is 1-{TILE_WIDTH} hashes wide, not {self.width}")

    @property
    def is_bundle(self) -> bool:
        return self.level == ENTRIES

    @property
    def is_full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def start(self) -> int:
        """The first entry index the tile's hashes span (tlog-tiles' start index)."""
        return self.index * TILE_WIDTH ** (max(self.level, 0) + 1)

    @property
    def first_node(self) -> int:
        """The index, at tree level 8·level, of the tile's first hash (the entry index for level 0)."""
        return self.index * TILE_WIDTH


def format_tile_path(tile: Tile) -> str:
    """The path of `tile` below the log's prefix, e.g. `tile/1/x001/234.p/17`, `tile/entries/000`."""
    level = "entries" if tile.is_bundle else str(tile.level)
    elements = []
    n = tile.index
    while True:
        n, rest = divmod(n, 1000)
        elements.append(f"{rest:03d}")
        if n == 0:
            break
    elements.reverse()
    index = "/".join([*(f"x{e}" for e in elements[:-1]), elements[-1]])
    suffix = "" if tile.is_full else f".p/{tile.width}"
    return f"tile/{level}/{index}{suffix}"


def parse_tile_path(path: str) -> Tile:
    """The Tile named by `path` (as `format_tile_path` writes it, without the prefix).

    Raises MalformedError for anything else: another shape, a number with a sign, a leading zero
    or leading `x000` element, a width of 0 or 256, a level above 63.
    """
    if not isinstance(path, str) or len(path) > _MAX_PATH or not path.isascii():
        raise MalformedError(f"not a tile path: {str(path)[:_MAX_PATH]!r}")
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise MalformedError(f"not a tile path (tile/<L>/<N>[.p/<W>]): {path!r}")
    width = TILE_WIDTH
    if len(parts) >= 4 and parts[-2].endswith(".p"):
        width = _decimal(parts[-1], path, "width")
        parts = [*parts[:-2], parts[-2][: -len(".p")]]
    level = ENTRIES if parts[1] == "entries" else _decimal(parts[1], path, "level")
    index = 0
    for element in parts[2:]:
        digits = element[1:] if element.startswith("x") else element
        if len(digits) != 3 or not digits.isdigit():
            raise MalformedError(f"tile path {path!r}: index element {element!r} is not three digits")
        index = index * 1000 + int(digits)
    try:
        tile = Tile(level, index, width)
    except MalformedError as exc:
        raise MalformedError(f"tile path {path!r}: {exc}") from None
    if format_tile_path(tile) != path:  # the canonical round trip: one name per tile
        raise MalformedError(f"tile path {path!r} is not canonical; expected {format_tile_path(tile)!r}")
    return tile


def _decimal(text: str, path: str, what: str) -> int:
    if not text.isdigit() or len(text) > 4 or (len(text) > 1 and text[0] == "0"):
        raise MalformedError(f"tile path {path!r}: {what} {text!r} is not a decimal without leading zeroes")
    return int(text)


def tile_for_size(level: int, index: int, size: int) -> Tile | None:
    """Tile `index` of `level` (or the entry bundle, level ENTRIES) as a tree of `size` has it: full,
    partial with the width the tree gives it, or None when the tree has no such tile."""
    hashes_at_level = size >> (TILE_HEIGHT * max(level, 0))  # complete nodes at tree level 8·level
    width = min(hashes_at_level - index * TILE_WIDTH, TILE_WIDTH)
    return Tile(level, index, width) if width > 0 else None


def tiles_for_size(size: int) -> list[Tile]:
    """Every tile and entry bundle of a tree of `size`, full and partial, level by level, left to right."""
    out: list[Tile] = []
    count, level = size, 0
    while count:
        for index in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            width = min(count - index * TILE_WIDTH, TILE_WIDTH)
            out.append(Tile(level, index, width))
            if level == 0:
                out.append(Tile(ENTRIES, index, width))
        count >>= TILE_HEIGHT
        level += 1
    return out
