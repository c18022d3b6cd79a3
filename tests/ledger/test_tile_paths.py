"""Tile paths (C2SP tlog-tiles): the spec's examples, every small case, and the parser's strictness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.tile_paths import (
    ENTRIES,
    Tile,
    format_tile_path,
    parse_tile_path,
    tile_for_size,
    tiles_for_size,
)

# Written out by hand from the spec's text, never by the code under test.
GOLDEN = [
    (Tile(0, 1234067), "tile/0/x001/x234/067"),  # the spec's own example of <N>
    (Tile(0, 0), "tile/0/000"),
    (Tile(0, 5), "tile/0/005"),
    (Tile(0, 999), "tile/0/999"),
    (Tile(0, 1000), "tile/0/x001/000"),
    (Tile(1, 1, 17), "tile/1/001.p/17"),
    (Tile(2, 0, 1), "tile/2/000.p/1"),
    (Tile(0, 273, 112), "tile/0/273.p/112"),
    (Tile(63, 0, 255), "tile/63/000.p/255"),
    (Tile(ENTRIES, 0), "tile/entries/000"),
    (Tile(ENTRIES, 273, 112), "tile/entries/273.p/112"),
    (Tile(ENTRIES, 1234067, 3), "tile/entries/x001/x234/067.p/3"),
    (Tile(0, 10**9), "tile/0/x001/x000/x000/000"),
]

MALFORMED = [
    "tile/0/x000/005",  # a leading x000 element: 5 is 005
    "tile/0/5",
    "tile/0/0005",
    "tile/0/05",
    "tile/0/x005",  # the last element has no x
    "tile/0/001/234",  # all but the last element begin with x
    "tile/0/x001/x234",
    "tile/0/X001/234",
    "tile/01/000",  # leading zero in <L>
    "tile/+1/000",
    "tile/-1/000",
    "tile/64/000",  # <L> is 0-63
    "tile/0/000.p/0",  # <W> is 1-255
    "tile/0/000.p/256",
    "tile/0/000.p/07",
    "tile/0/000.p/",
    "tile/0/000.p",
    "tile/0/000.p/1/",
    "tile/0/000/",
    "tile/0//000",
    "tile/entries",
    "tile/entries/",
    "tile/data/000",  # Go sumdb's name, not tlog-tiles'
    "tile/8/0/000",  # Go sumdb's tile/H/L/N layout
    "tile/0/-01",
    "tile/0/ 01",
    "tile/0/00a",
    "tile/0/٠٠١",  # Arabic-Indic digits are digits to str.isdigit
    "tiles/0/000",
    "/tile/0/000",
    "tile/0/000 ",
    "tile",
    "",
    "tile/0/" + "x999/" * 60 + "999",
]


@pytest.mark.parametrize(("tile", "path"), GOLDEN, ids=[p for _, p in GOLDEN])
def test_golden_paths_format_and_parse(tile, path):
    assert format_tile_path(tile) == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize("path", MALFORMED)
def test_malformed_paths_are_refused(path):
    with pytest.raises(MalformedError):
        parse_tile_path(path)


def test_every_small_tile_round_trips_and_nothing_else_parses():
    """Every level, index below 2,100 and width: one name each, and the names are all distinct."""
    seen = set()
    for level in (ENTRIES, 0, 1, 9, 63):
        for index in range(2_100):
            for width in (1, 2, 17, 255, 256):
                tile = Tile(level, index, width)
                path = format_tile_path(tile)
                assert parse_tile_path(path) == tile
                seen.add(path)
                # Another spelling of the same index: a leading x000 element, or the last one unpadded.
                name = "entries" if level == ENTRIES else str(level)
                index_part, dot, w = path.removeprefix(f"tile/{name}/").partition(".p/")
                with pytest.raises(MalformedError):
                    parse_tile_path(f"tile/{name}/x000/{index_part}{dot}{w}")
                unpadded = index_part[:-3] + str(int(index_part[-3:]))
                if unpadded != index_part:
                    with pytest.raises(MalformedError):
                        parse_tile_path(f"tile/{name}/{unpadded}{dot}{w}")
    assert len(seen) == 5 * 2_100 * 5


@given(
    level=st.integers(min_value=ENTRIES, max_value=63),
    index=st.integers(min_value=0, max_value=2**56),
    width=st.integers(min_value=1, max_value=256),
)
def test_format_then_parse_is_the_identity(level, index, width):
    tile = Tile(level, index, width)
    assert parse_tile_path(format_tile_path(tile)) == tile


@given(
    st.text(max_size=60)
    | st.from_regex(r"tile/(entries|[0-9]{1,3})(/x?[0-9]{1,4}){1,4}(\.p/[0-9]{1,4})?", fullmatch=True)
)
def test_the_parser_raises_only_its_own_error_and_accepts_only_canonical_names(path):
    try:
        tile = parse_tile_path(path)
    except MalformedError:
        return
    assert format_tile_path(tile) == path


def test_tiles_for_size_follows_the_spec_examples():
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0 tile
    # of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one partial
    # level 2 tile of width 1" (and as many entry bundles as level-0 tiles).
    tiles = tiles_for_size(70_000)
    hashes = [t for t in tiles if t.level >= 0]
    assert sum(1 for t in hashes if t.level == 0 and t.is_full) == 273
    assert [t for t in hashes if not t.is_full] == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert [t for t in hashes if t.level == 1 and t.is_full] == [Tile(1, 0)]
    assert [t for t in tiles if t.is_bundle] == [Tile(ENTRIES, n) for n in range(273)] + [
        Tile(ENTRIES, 273, 112)
    ]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
    assert [t for t in tiles_for_size(256) if not t.is_bundle] == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert tiles_for_size(1) == [Tile(0, 0, 1), Tile(ENTRIES, 0, 1)]


@pytest.mark.parametrize("size", [*range(0, 600), 65_535, 65_536, 65_537, 70_000, 16_777_216, 2**40 + 3])
def test_tile_for_size_agrees_with_tiles_for_size(size):
    tiles = tiles_for_size(size) if size < 10**6 else []
    for t in tiles:
        assert tile_for_size(t.level, t.index, size) == t
    # One past the last tile of each level is not in the tree.
    count, level = size, 0
    while count:
        assert tile_for_size(level, (count + 255) // 256, size) is None
        count >>= 8
        level += 1
    assert tile_for_size(level, 0, size) is None


def test_tile_values_are_checked():
    for bad in [(64, 0, 1), (-2, 0, 1), (0, -1, 1), (0, 0, 0), (0, 0, 257)]:
        with pytest.raises(MalformedError):
            Tile(*bad)
