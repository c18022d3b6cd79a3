"""ledger/entry_bundles_fast.py against its models: parse_entry_bundle, leaf_hash, format_entry_bundle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.ledger.entry_bundles import (
    MAX_ENTRY_SIZE,
    format_entry_bundle,
    parse_entry_bundle,
)
from farmtrace.ledger.entry_bundles_fast import format_entry_bundle_fast, split_entry_bundles
from farmtrace.ledger.errors import EntryTooLargeError, MalformedError, VerificationError
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log
from farmtrace.ledger.mirror import Mirror
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_paths import ENTRIES, Tile, parse_tile_path
from farmtrace.ledger.tile_reads import read_resource

_entry_lists = st.lists(st.binary(max_size=300), min_size=1, max_size=256)


def _model(bundles: list[tuple[Tile, bytes]], start: int) -> tuple[list[bytes], list[bytes]]:
    entries: list[bytes] = []
    for bundle, data in bundles:
        entries += parse_entry_bundle(data, width=bundle.width)[max(0, start - bundle.first_node) :]
    return entries, [leaf_hash(e) for e in entries]


@given(st.lists(_entry_lists, min_size=1, max_size=3), st.integers(min_value=0, max_value=255))
def test_split_answers_as_the_model(bundle_entries, skip):
    bundles = [(Tile(ENTRIES, i, len(e)), format_entry_bundle(e)) for i, e in enumerate(bundle_entries)]
    start = min(skip, len(bundle_entries[0]) - 1)
    assert split_entry_bundles(bundles, start) == _model(bundles, start)


def test_split_full_bundles_of_every_entry_length_class():
    # lengths whose prefixes cover 0, one byte, two bytes and the limit
    lengths = [0, 1, 255, 256, 4095, 4096, MAX_ENTRY_SIZE] + [354] * 249
    entries = [bytes([n % 251]) * n for n in lengths]
    bundles = [(Tile(ENTRIES, 7), format_entry_bundle(entries))]
    got = split_entry_bundles(bundles, 7 * 256)
    assert got == _model(bundles, 7 * 256)
    assert got[0] == entries


@given(st.binary(max_size=600), st.integers(min_value=1, max_value=256))
def test_split_refuses_what_the_model_refuses_with_its_message(data, width):
    tile = Tile(ENTRIES, 3, width)
    try:
        expected = parse_entry_bundle(data, width=width)
    except MalformedError as exc:
        with pytest.raises(VerificationError, match="entry bundle 3 does not parse") as caught:
            split_entry_bundles([(tile, data)], 3 * 256)
        assert str(caught.value.__cause__) == str(exc)
        return
    assert split_entry_bundles([(tile, data)], 3 * 256) == (expected, [leaf_hash(e) for e in expected])


@pytest.mark.parametrize(
    ("data", "width", "message"),
    [
        (b"\x00\x05hell", 1, "only 4 bytes follow"),
        (b"\x00\x01a\x00", 2, "ends before entry 1"),
        (b"\x00\x01a\x00\x00", 1, "2 bytes after its 1 entries"),
        (b"", 1, "ends before entry 0"),
        (b"\x00\x01a\x00\x05abc", 2, "entry 1 of the bundle is 5 bytes long"),
    ],
)
def test_split_names_what_is_wrong(data, width, message):
    with pytest.raises(VerificationError, match=message):
        split_entry_bundles([(Tile(ENTRIES, 0, width), data)], 0)


def test_a_bad_bundle_after_good_ones_is_refused():
    good = format_entry_bundle([b"a"] * 256)
    with pytest.raises(VerificationError, match="entry bundle 1 does not parse"):
        split_entry_bundles([(Tile(ENTRIES, 0), good), (Tile(ENTRIES, 1), good + b"\x00")], 0)


@given(_entry_lists)
def test_format_answers_as_the_model(entries):
    assert format_entry_bundle_fast(entries) == format_entry_bundle(entries)


def test_format_long_entries_and_errors_as_the_model():
    entries = [b"x" * 5000, b"", b"y" * MAX_ENTRY_SIZE]
    assert format_entry_bundle_fast(entries) == format_entry_bundle(entries)
    with pytest.raises(EntryTooLargeError, match="entry 1 is 65536 bytes") as caught:
        format_entry_bundle_fast([b"a", b"z" * (MAX_ENTRY_SIZE + 1)])
    assert caught.value.index == 1
    for wrong in ([], [b"a"] * 257):
        with pytest.raises(MalformedError, match="holds 1-256 entries"):
            format_entry_bundle_fast(wrong)


# --- in the mirror ---------------------------------------------------------------------------------


def _fetcher(log: Log, tamper):
    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            return log.checkpoint().note_with_cosignatures().encode()
        data = read_resource(log, parse_tile_path(path), size=log.checkpoint().size)
        return tamper(path, data)

    return fetch


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda data: data[:-1], "entry 255 of the bundle is 7 bytes long, but only 6 bytes follow"),
        (lambda data: data + b"\x00", "1 bytes after its 256 entries"),
    ],
)
def test_a_mirror_refuses_a_misshapen_bundle_and_stores_nothing_from_it(signer, cut, message):
    primary = Log(MemoryStore(), signer)
    primary.append_many([f"e {i:05}".encode() for i in range(1000)])
    store = MemoryStore()
    tamper = lambda path, data: cut(data) if path == "tile/entries/002" else data  # noqa: E731
    with pytest.raises(VerificationError, match=f"entry bundle 2 does not parse: .*{message}"):
        Mirror(store, _fetcher(primary, tamper), log_key=signer.verifier, package_bundles=2).follow_once()
    assert store.latest_checkpoint() is None
    assert [i for i, _ in store.iter_entries()] == list(range(512))  # the proven package before it
    # Resumed, from a mirror checkpoint that is not a whole number of bundles: the split starts inside one.
    mirror = Mirror(store, _fetcher(primary, lambda p, d: d), log_key=signer.verifier)
    assert mirror.follow_once().size == 1000
    primary.append_many([f"f {i:05}".encode() for i in range(300)])
    assert mirror.follow_once().entries == 300
    assert list(store.iter_entries()) == list(primary._store.iter_entries())
    primary.close()
