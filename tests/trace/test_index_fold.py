"""trace/index_fold.py: the keeper's fast fold against the plain one (trace/index_state.py), which
tests/trace/test_head_index.py checks against the strictly decoded events.

Story one with a key added and revoked, cut into batches anywhere (Hypothesis), with index entries
between them and the stored values of the earlier batches given back: both folds return equal
changes and the same value bytes. A lot head's bytes against `LotHead.value()` for any code; stored
values and entries that are not what the fold expects give what the plain fold gives.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.head_index import IndexEntry, LotHead, encode_index_entry, lot_map_key
from farmtrace.trace.index_fold import _stored_count, change_values, fold_entries_fast, lot_value
from farmtrace.trace.index_state import fold_entries

from .test_head_index import key_history


def both(first: int, entries: list[bytes], stored: dict[bytes, bytes]):
    """Fold with each; check they agree; return the plain one's changes."""
    asked: list[list[bytes]] = [[], []]

    def previous(which: int):
        def ask(map_keys):
            asked[which] += list(map_keys)
            return {k: stored[k] for k in map_keys if k in stored}

        return ask

    plain = fold_entries(first, entries, previous(0))
    fast = fold_entries_fast(first, entries, previous(1))
    assert fast == plain
    assert change_values(fast) == plain.values()
    assert sorted(asked[1]) == sorted(asked[0])  # the same stored values read
    return plain


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=12))
def test_any_batches_of_a_history_fold_alike(cuts: list[int]) -> None:
    entries = key_history()
    stored: dict[bytes, bytes] = {}
    log: list[bytes] = []
    at = 0
    for n in [*cuts, len(entries)]:
        batch = entries[at : at + n]
        if not batch:
            break
        changes = both(len(log), batch, stored)
        stored.update(changes.values())
        log += batch
        at += n
        log.append(encode_index_entry(IndexEntry(size=len(log), root=bytes(32), lots=0, keys=0)))
    assert both(0, log, {}) is not None  # the whole log at once, index entries skipped


def test_the_whole_history_then_again_over_its_own_values() -> None:
    entries = key_history()
    first = both(0, entries, {})
    again = both(len(entries), entries[1:], first.values())  # every lot is stored: counts add up
    assert all(again.lots[c].count == 2 * first.lots[c].count for c in first.lots)
    assert again.new_lots == 0


@settings(max_examples=300, deadline=None)
@given(
    st.text(min_size=1, max_size=40),
    st.integers(0, (1 << 53) - 1),
    st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_a_lot_heads_bytes_are_its_values(code: str, count: int, head: str) -> None:
    assert lot_value(code, count, head) == LotHead(code, count, head).value()
    assert _stored_count(LotHead(code, count, head).value()) == count


@pytest.mark.parametrize(
    "stored",
    [
        b'{"count":1,"head":"' + b"a" * 64 + b'","lot":"L"} ',  # trailing space
        b'{"lot":"L","count":1,"head":"' + b"a" * 64 + b'"}',  # members out of order
        b'{"count":"1","head":"' + b"a" * 64 + b'","lot":"L"}',  # a string count
        b'{"count":-1,"head":"' + b"a" * 64 + b'","lot":"L"}',
        b'{"count":1,"head":"' + b"A" * 64 + b'","lot":"L"}',  # upper-case hex
        b'{"count":1,"head":"' + b"a" * 63 + b'","lot":"L"}',
        b'{"count":1,"head":"' + b"a" * 64 + b'","lot":"L","x":0}',
        b'{"count":1,"head":"' + b"a" * 64 + b'","lot":""}',
    ],
)
def test_a_stored_lot_head_not_canonical_is_refused_as_the_plain_fold_does(stored: bytes) -> None:
    entries = key_history()
    code = next(iter(fold_entries(0, entries, lambda keys: {}).lots))
    values = {lot_map_key(code): stored}
    with pytest.raises(InvalidEvent):
        fold_entries(0, entries, lambda keys: {k: values[k] for k in keys if k in values})
    with pytest.raises(InvalidEvent):
        fold_entries_fast(0, entries, lambda keys: {k: values[k] for k in keys if k in values})


def test_entries_the_fold_cannot_read_give_what_the_plain_fold_gives() -> None:
    entries = key_history()
    with pytest.raises(KeyError):  # a revocation of a key not on record
        fold_entries_fast(0, entries[-1:], lambda keys: {})
    broken = entries[1].replace(b'"kind":', b'"kinds":', 1)
    with pytest.raises(KeyError):
        fold_entries(0, [broken], lambda keys: {})
    with pytest.raises(KeyError):
        fold_entries_fast(0, [broken], lambda keys: {})
    with pytest.raises(IndexError):
        fold_entries_fast(0, [b"farmtrace/entry/v1"], lambda keys: {})
