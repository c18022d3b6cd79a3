"""The index entry's time (docs/index.md §3, §5): the keeper stamps it, the replay audit checks it.

On SQLite and PostgreSQL, real services record story 1 and their keepers (pinned clocks) commit index
entries; a witness cosigns checkpoints at a time the test picks. The replay audit
(trace/index_audit.py) must pass an entry dated up to TIME_SLACK seconds after a covering
cosignature and name one dated later (the witness, the checkpoint, both times), and name an entry
whose time goes back; the keeper never writes a time before the last one's, even when its clock
steps back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from farmtrace.ledger.note import open_note, sign_note
from farmtrace.trace import replay as rp
from farmtrace.trace.head_index import decode_index_entry, encode_index_entry, is_index_entry
from farmtrace.trace.index_audit import TIME_SLACK, IndexTimeFailure, check_index_roots
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.index_state import MemoryIndex
from farmtrace.trace.service import TraceService

from .test_head_index import key_history
from .test_index_keeper import LAG, Ticker, all_entries
from .test_replay import NOW, WITNESS, record, service_at

T0 = 1_800_000_000


@pytest.fixture
def service(database_url) -> Iterator[TraceService]:
    with service_at(database_url) as service:
        yield service


def cosign(service: TraceService, at: int) -> int:
    """WITNESS cosigns the log's latest checkpoint at time `at`; return its size."""
    cp = service.log.checkpoint()
    body = open_note(cp.note, [service.log.verifier]).text
    service.log.add_cosignature(sign_note(body, WITNESS.at_time(at)), WITNESS.verifier)
    return cp.size


def index_times(service: TraceService) -> list[tuple[int, int]]:
    return [(i, decode_index_entry(e).time) for i, e in enumerate(all_entries(service)) if is_index_entry(e)]


def keep(service: TraceService, entries: list[bytes], clock: Ticker) -> int:
    """Record `entries`, then let a keeper on `clock` commit an index entry; return its index."""
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries)
    clock.advance()
    at = keeper.commit_due()
    assert at is not None
    return at


def test_the_keeper_stamps_its_clock_in_whole_seconds(service):
    clock = Ticker(T0 + 0.75)
    at = keep(service, key_history()[:6], clock)
    assert index_times(service) == [(at, T0 + int(LAG))]  # 0.75 s rounded down


def test_the_keepers_times_never_go_back(service):
    """A keeper whose clock steps back commits nothing until its clock passes the last entry's time."""
    entries = key_history()
    clock = Ticker(T0)
    first = keep(service, entries[:4], clock)
    clock.advance(-3600)  # the clock steps back an hour
    keeper = IndexKeeper(service.log, clock=clock, lag=0)
    record(service, entries[4:8])
    assert keeper.commit_due() is None
    clock.advance(3600)
    second = keeper.commit_due()
    assert index_times(service) == [(first, T0 + int(LAG)), (second, T0 + int(LAG))]
    assert check_index_roots(service.log, service.log.size).checked == 2


@pytest.mark.parametrize("ahead", [-60, 0, TIME_SLACK])
def test_an_entry_within_the_slack_of_a_covering_cosignature_passes(service, ahead):
    at = keep(service, key_history(), Ticker(T0))
    time = T0 + int(LAG)
    size = cosign(service, time - ahead)
    assert size == at + 1
    assert check_index_roots(service.log, service.log.size).checked == 1
    assert rp.replay(service.log, clock=lambda: NOW, witnesses=[WITNESS.verifier]).summary().startswith("OK:")


def test_a_future_dated_entry_is_named_by_the_replay(service):
    entries = key_history()
    clock = Ticker(T0)
    at = keep(service, entries[:-2], clock)
    time = T0 + int(LAG)
    # A later checkpoint, cosigned 6 s before the entry's time, covers it: the entry ran ahead.
    record(service, entries[-2:])
    size = cosign(service, time - TIME_SLACK - 1)
    assert size > at + 1
    with pytest.raises(IndexTimeFailure) as caught:
        rp.replay(service.log, clock=lambda: NOW, witnesses=[WITNESS.verifier])
    failure = caught.value
    assert (failure.index, failure.time, failure.bound) == (at, time, time - TIME_SLACK - 1)
    assert (failure.witness, failure.checkpoint) == (WITNESS.name, size)
    message = str(failure)
    assert f"index entry {at}" in message and WITNESS.name in message and f"size {size}" in message
    assert str(time) in message and str(time - TIME_SLACK - 1) in message


def test_the_earliest_covering_cosignature_dates_the_entry(service):
    """Of two checkpoints covering the entry, the earlier cosignature is the bound; one that does
    not cover it (signed before the entry) is no bound at all."""
    entries = key_history()
    clock = Ticker(T0)
    record(service, entries[:3])
    cosign(service, T0 - 10_000)  # before the entry: covers nothing of it
    at = keep(service, entries[3:-2], clock)
    time = T0 + int(LAG)
    first = cosign(service, time - TIME_SLACK - 1)
    record(service, entries[-2:])
    cosign(service, time + 100)
    with pytest.raises(IndexTimeFailure) as caught:
        check_index_roots(service.log, service.log.size)
    assert (caught.value.index, caught.value.checkpoint) == (at, first)


def test_an_entry_whose_time_goes_back_is_named(service):
    """Index entries appended by hand (through the log, as a dishonest operator could) with the
    right roots but times that go back."""
    entries = key_history()
    record(service, entries[:5])
    state = MemoryIndex()
    state.fold(0, entries[:5])
    service.log.append(encode_index_entry(dataclasses.replace(state.entry(5), time=T0)))
    record(service, entries[5:9])
    # (the index entry at 5 changes nothing)
    state.fold(6, entries[5:9])
    service.log.append(encode_index_entry(dataclasses.replace(state.entry(10), time=T0 - 1)))
    with pytest.raises(IndexTimeFailure) as caught:
        check_index_roots(service.log, service.log.size)
    assert (caught.value.index, caught.value.time, caught.value.bound) == (10, T0 - 1, T0)
    assert caught.value.witness is None and "index entry 10" in str(caught.value)
