"""The keeper's work prepared outside the log's write lock (`IndexKeeper.prepare`) and finished
under it (`compute(..., prepared=)`), on SQLite and PostgreSQL.

Entries appended between the two are folded under the lock; the committed entry equals the
reference (tests/trace/test_head_index.py) whatever the split; while prepared, the stored map still
answers for the committed entry (nothing staged is written); a preparation from a head that another
keeper has since replaced is not used.
"""

from __future__ import annotations

from functools import partial

import pytest

from farmtrace.trace import index_keeper
from farmtrace.trace import replay as rp
from farmtrace.trace.index_keeper import IndexKeeper

from .test_index_keeper import LAG, Ticker, check_committed, check_stored_map, story  # noqa: F401
from .test_replay import NOW, record


def finish(keeper: IndexKeeper, prepared) -> int | None:
    return keeper.log.submit_computed(partial(keeper.compute, prepared=prepared)).result()


@pytest.mark.parametrize("split", [1, 3, 7])
def test_entries_appended_after_preparing_are_folded_under_the_lock(story, split):  # noqa: F811
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:2])
    clock.advance()
    assert keeper.commit_due() == 2
    done = 1
    for start in range(2, len(entries), 2 * split):
        record(service, entries[start : start + split])
        clock.advance()
        prepared = keeper.prepare()
        assert prepared is not None and prepared.size == service.log.size
        assert prepared.nodes is not None and prepared.nodes.staged  # the map's update, staged
        check_stored_map(service)  # readers still see the committed entry's map, whole
        record(service, entries[start + split : start + 2 * split])  # appended meanwhile
        assert finish(keeper, prepared) == service.log.size - 1
        done += 1
    assert check_committed(service) == done
    check_stored_map(service)
    assert rp.replay(service.log, clock=lambda: NOW).summary().startswith("OK:")


def test_a_preparation_from_a_replaced_head_is_not_used(story):  # noqa: F811
    service, entries = story
    clock = Ticker()
    keeper, other = (IndexKeeper(service.log, clock=clock, lag=LAG) for _ in range(2))
    record(service, entries[:6])
    clock.advance()
    stale = keeper.prepare()
    assert stale is not None and stale.head is None
    assert other.commit_due() == 6  # another keeper commits first
    record(service, entries[6:12])
    clock.advance()
    assert finish(keeper, stale) == service.log.size - 1  # from the stored head, not from `stale`
    assert check_committed(service) == 2
    check_stored_map(service)


def test_nothing_is_prepared_when_no_entry_is_due(story):  # noqa: F811
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:4])
    assert keeper.prepare() is None  # the keeper started less than the lag ago
    clock.advance()
    assert keeper.commit_due() == 4
    assert keeper.prepare() is None  # the log did not grow past it


def test_a_preparation_continued_outside_the_lock(story, monkeypatch):  # noqa: F811
    """`commit_due` prepares again, from its first preparation, what was appended meanwhile (here
    always: CLOSE_ENOUGH below zero); `prepare(since)` from a stale `since` starts from the head."""
    service, entries = story
    monkeypatch.setattr(index_keeper, "CLOSE_ENOUGH", -1)
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:5])
    clock.advance()
    first = keeper.prepare()
    record(service, entries[5:9])
    more = keeper.prepare(first)
    assert more is not None and more.size == service.log.size and more.head is None
    assert finish(keeper, more) == 9
    record(service, entries[9:14])
    clock.advance()
    assert keeper.prepare(first).head is not None  # `first` is stale: started again from the head
    assert keeper.commit_due() == 15
    assert check_committed(service) == 2
    check_stored_map(service)
