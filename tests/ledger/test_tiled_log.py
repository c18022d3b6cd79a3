"""The log as tlog-tiles resources: tiles equal the naive Merkle maths, bundles hold the entries, the
entry-size limit, and `check_tiled_log` finding every flipped bit by the resource's name."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.ledger.entry_bundles import MAX_ENTRY_SIZE, format_entry_bundle, parse_entry_bundle
from farmtrace.ledger.errors import EntryTooLargeError, MalformedError, NotFoundError, VerificationError
from farmtrace.ledger.log import Log
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_audit import check_tiled_log
from farmtrace.ledger.tile_paths import ENTRIES, Tile, format_tile_path, tiles_for_size
from farmtrace.ledger.tile_reads import read_resource

from .reference import leaves_for, mth

SIZES = [0, 1, 2, 255, 256, 257, 511, 512, 1000, 65_536, 65_537]
LEAVES = leaves_for(max(SIZES))  # leaf_hash(f"entry {i}")


def _entry(i: int) -> bytes:
    return f"entry {i}".encode()


@pytest.fixture(scope="module")
def grown(signer):
    """A log grown to each of SIZES in turn, and the checkpoint note it signed at each."""
    log = Log(MemoryStore(), signer)
    notes = {0: log.checkpoint().note}
    for size in SIZES[1:]:
        log.append_many([_entry(i) for i in range(log.size, size)])
        notes[size] = log.checkpoint().note
    yield log, notes
    log.close()


def _naive_tile(tile: Tile) -> bytes:
    """The tile from RFC 9162's MTH, as tlog-tiles defines it: MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l])."""
    span = 256**tile.level
    first = tile.index * 256
    return b"".join(mth(LEAVES[(first + i) * span : (first + i + 1) * span]) for i in range(tile.width))


@pytest.mark.parametrize("size", SIZES)
def test_every_tile_of_every_size_is_the_naive_merkle_maths(grown, size):
    log, _ = grown
    for tile in tiles_for_size(size):
        data = read_resource(log, tile, size=size)
        if tile.is_bundle:
            assert parse_entry_bundle(data, width=tile.width) == [
                _entry(i) for i in range(tile.first_node, tile.first_node + tile.width)
            ]
        elif tile.level == 0 or size < 65_536 or tile.width < 256:
            assert data == _naive_tile(tile), format_tile_path(tile)
        else:  # a full level-1 tile: 256 naive subtrees of 256 leaves each (cheap enough once)
            assert data == _naive_tile(tile)


def test_older_partial_tiles_stay_served_and_wider_ones_are_not_found(grown):
    log, _ = grown
    size = log.size  # 65,537: tile/0/256.p/1, tile/1/000 full, tile/1/001.p/... none, tile/2/000.p/1
    assert read_resource(log, Tile(0, 0, 3), size=size) == _naive_tile(
        Tile(0, 0, 3)
    )  # a prefix of a full tile
    assert read_resource(log, Tile(1, 0, 255), size=size) == _naive_tile(Tile(1, 0, 255))
    for missing in [
        Tile(0, 256, 2),
        Tile(0, 257, 1),
        Tile(ENTRIES, 256, 2),
        Tile(1, 1, 1),
        Tile(2, 0, 2),
        Tile(3, 0, 1),
    ]:
        with pytest.raises(NotFoundError, match=format_tile_path(missing).replace(".", r"\.")):
            read_resource(log, missing, size=size)
    with pytest.raises(NotFoundError):
        read_resource(log, Tile(0, 1, 1), size=256)  # the tree of 256 has no second level-0 tile
    # Without a size: the tree the store holds, read as it is.
    assert read_resource(log, Tile(0, 256, 1)) == LEAVES[65_536]
    assert read_resource(log, Tile(ENTRIES, 255)) == read_resource(log, Tile(ENTRIES, 255), size=size)
    for missing in [Tile(0, 256, 2), Tile(ENTRIES, 256, 2), Tile(1, 1, 1), Tile(0, 300)]:
        with pytest.raises(NotFoundError, match=format_tile_path(missing).replace(".", r"\.")):
            read_resource(log, missing)


@pytest.mark.parametrize("size", SIZES)
def test_check_tiled_log_accepts_the_published_tree(grown, signer, size):
    log, notes = grown
    files = {format_tile_path(t): read_resource(log, t, size=size) for t in tiles_for_size(size)}
    files["checkpoint"] = notes[size].encode()
    seen: list[tuple[int, list[bytes]]] = []
    report = check_tiled_log(
        _fetch(files), log_key=signer.verifier, on_entries=lambda s, e: seen.append((s, e))
    )
    assert report.size == size and report.entries == size
    assert [e for _, entries in seen for e in entries] == [_entry(i) for i in range(size)]
    assert report.bundles == sum(1 for t in tiles_for_size(size) if t.is_bundle)


def _fetch(files):
    def fetch(path):
        try:
            return files[path]
        except KeyError:
            raise NotFoundError(f"{path}: not found") from None

    return fetch


def test_a_partial_tile_deleted_after_the_full_one_exists_is_read_from_the_full_one(grown, signer):
    log, notes = grown
    files = {format_tile_path(t): read_resource(log, t, size=1000) for t in tiles_for_size(1000)}
    files["checkpoint"] = notes[1000].encode()
    # Later the log grew to 65,537: tile 3 of level 0 became full and its partial files went.
    del files["tile/0/003.p/232"], files["tile/entries/003.p/232"]
    files["tile/0/003"] = read_resource(log, Tile(0, 3), size=log.size)
    files["tile/entries/003"] = read_resource(log, Tile(ENTRIES, 3), size=log.size)
    assert check_tiled_log(_fetch(files), log_key=signer.verifier).entries == 1000
    del files["tile/0/003"]
    with pytest.raises(NotFoundError, match=r"tile/0/003\.p/232 is missing, and so is the full tile"):
        check_tiled_log(_fetch(files), log_key=signer.verifier)


@pytest.mark.parametrize("size", [1, 257, 65_537])
def test_a_flipped_bit_anywhere_is_found_and_named(grown, signer, size):
    """Flip one random bit in each resource in turn: the check fails naming that resource (or, for
    the right-edge tiles, which only the root vouches for, naming all of them)."""
    log, notes = grown
    tiles = tiles_for_size(size)
    files = {format_tile_path(t): read_resource(log, t, size=size) for t in tiles}
    files["checkpoint"] = notes[size].encode()
    rng = random.Random(size)
    targets = [t for t in tiles if not t.is_full or t.level > 0 or t.index in (0, size // 256 - 1)]
    for tile in targets:
        path = format_tile_path(tile)
        data = bytearray(files[path])
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(VerificationError, match=path.replace(".", r"\.")):
            check_tiled_log(_fetch({**files, path: bytes(data)}), log_key=signer.verifier)
    tampered = files["checkpoint"].replace(f"\n{size}\n".encode(), f"\n{size + 1}\n".encode(), 1)
    with pytest.raises(VerificationError, match="signature"):
        check_tiled_log(_fetch({**files, "checkpoint": tampered}), log_key=signer.verifier)


def test_a_truncated_or_padded_tile_is_named(grown, signer):
    log, notes = grown
    files = {format_tile_path(t): read_resource(log, t, size=512) for t in tiles_for_size(512)}
    files["checkpoint"] = notes[512].encode()
    for path, data in [
        ("tile/0/001", files["tile/0/001"][:-1]),
        ("tile/entries/000", files["tile/entries/000"] + b"\0"),
    ]:
        with pytest.raises(VerificationError, match=path):
            check_tiled_log(_fetch({**files, path: data}), log_key=signer.verifier)
    del files["tile/entries/001"]
    with pytest.raises(NotFoundError, match="tile/entries/001"):
        check_tiled_log(_fetch(files), log_key=signer.verifier)


# --- entry bundles and the entry-size limit ----------------------------------------------------------


def test_bundle_golden_bytes():
    assert format_entry_bundle([b"hello", b"", b"abc"]) == b"\x00\x05hello\x00\x00\x00\x03abc"
    assert format_entry_bundle([b"x" * MAX_ENTRY_SIZE])[:2] == b"\xff\xff"


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=256))
def test_bundles_round_trip(entries):
    assert parse_entry_bundle(format_entry_bundle(entries), width=len(entries)) == entries


@given(st.binary(max_size=600), st.integers(min_value=-1, max_value=258))
def test_the_bundle_parser_raises_only_its_own_error(data, width):
    try:
        entries = parse_entry_bundle(data, width=width)
    except MalformedError:
        return
    assert format_entry_bundle(entries) == data


@pytest.mark.parametrize(
    ("data", "width", "message"),
    [
        (b"\x00\x05hell", 1, "only 4 bytes follow"),
        (b"\x00\x01a\x00", 2, "ends before entry 1"),
        (b"\x00\x01a\x00\x00", 1, "2 bytes after its 1 entries"),
        (b"", 1, "ends before entry 0"),
        (b"\x00\x00", 0, "holds 1-256 entries"),
    ],
)
def test_malformed_bundles_are_refused(data, width, message):
    with pytest.raises(MalformedError, match=message):
        parse_entry_bundle(data, width=width)


def test_an_entry_over_the_limit_is_refused_and_nothing_is_stored(signer):
    log = Log(MemoryStore(), signer)
    try:
        log.append(b"x" * MAX_ENTRY_SIZE)
        with pytest.raises(
            EntryTooLargeError, match="65536 bytes; an entry is bytes of at most 65535"
        ) as caught:
            log.append(b"y" * (MAX_ENTRY_SIZE + 1))
        assert (caught.value.size, caught.value.limit, caught.value.index) == (65_536, 65_535, None)
        with pytest.raises(EntryTooLargeError, match="entry 2 is 70000 bytes") as caught:
            log.append_many([b"a", b"b", b"z" * 70_000])
        assert caught.value.index == 2
        assert log.size == 1
        with pytest.raises(EntryTooLargeError):
            format_entry_bundle([b"z" * 70_000])
    finally:
        log.close()
