"""The head index's node rows carry versions (trace/store/map_rows.py), on SQLite and PostgreSQL.

The keeper writes the nodes it prepared before it takes the log's write lock. Tested here: readers
of the committed entry do not see them; rows left by a keeper that gave up mislead nobody later;
superseded rows are deleted after a commit; rows of another log are cleared by a first build; an
index kept before versions is rebuilt; on SQLite the rows live in a file of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.service import TraceService
from farmtrace.trace.store.index_store import IndexStore, create_index_tables
from farmtrace.trace.store.map_rows import NODES, VALUES, node_engine

from .test_head_index import key_history
from .test_index_keeper import LAG, Ticker, check_committed, check_stored_map, second_service
from .test_replay import record, service_at


@pytest.fixture
def story(database_url) -> Iterator[tuple[TraceService, list[bytes]]]:
    with service_at(database_url) as service:
        yield service, key_history()


def rows(service, table: str = NODES) -> list[tuple[bytes, int, bytes]]:
    with node_engine(service.log.engine).connect() as conn:
        return [(bytes(k), v, bytes(d)) for k, v, d in conn.execute(text(f"SELECT * FROM {table}"))]


def head_size(service) -> int:
    with service.log.engine.connect() as conn:
        head = IndexStore(conn).head()
    assert head is not None
    return head.size


def test_prepared_rows_are_not_read_at_the_committed_entry(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:8])
    clock.advance()
    keeper.commit_due()
    record(service, entries[8:])
    clock.advance()
    prepared = keeper.prepare()
    assert prepared is not None and prepared.nodes is not None and prepared.nodes.staged
    stored = keeper.store_prepared(prepared)
    assert list(stored.stored) == [service.log.size] and not stored.unstored_nodes
    assert set(stored.stored[service.log.size][0]) == set(prepared.nodes.staged)
    assert max(v for _, v, _ in rows(service)) == service.log.size  # there, above the head ...
    check_stored_map(service)  # ... and every proof at the committed entry still checks
    # The hook continues from them and writes only what changed since.
    assert keeper.commit_due() == service.log.size - 1
    assert check_committed(service) == 2
    check_stored_map(service)


def test_rows_of_a_keeper_that_gave_up_mislead_no_later_commit(story, database_url):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:6])
    clock.advance()
    keeper.commit_due()
    with second_service(database_url) as other:
        quitter = IndexKeeper(other.log, clock=clock, lag=LAG)
        for start in range(6, len(entries), 5):
            record(service, entries[start : start + 5])
            clock.advance()
            gave_up = quitter.prepare()  # prepared and written, never committed
            if gave_up is not None:
                quitter.store_prepared(gave_up)
            record(service, entries[start + 5 : start + 7])
            keeper.commit_due()
            check_stored_map(service)
    assert check_committed(service) >= 3


def test_a_hook_declines_when_too_much_came_in_since_it_prepared(story):
    """Entries appended after the preparation are folded outside the lock first: the hook with a
    limit appends nothing, the next preparation stores only what is new, and the commit is right."""
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:6])
    clock.advance()
    keeper.commit_due()
    record(service, entries[6:12])
    clock.advance()
    first = keeper.store_prepared(keeper.prepare())
    record(service, entries[12:])  # more than the limit below
    declined = service.log.submit_computed(partial(keeper.compute, prepared=first, limit=1)).result()
    assert declined is None and keeper._too_far
    second = keeper.store_prepared(keeper.prepare(first))
    assert sorted(second.stored) == [first.size, second.size] and first.size < second.size
    assert keeper._head().size < first.size  # nothing committed yet; readers still at the old entry
    check_stored_map(service)
    index = service.log.submit_computed(partial(keeper.compute, prepared=second, limit=1)).result()
    assert index == service.log.size - 1
    assert check_committed(service) == 2
    check_stored_map(service)


def test_superseded_rows_are_deleted_after_a_commit(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    for start in range(0, len(entries), 4):
        record(service, entries[start : start + 4])
        clock.advance()
        keeper.commit_due()
    size = head_size(service)
    for table in (NODES, VALUES):  # one row per position, and per map key, for the committed entry
        below: dict[bytes, int] = {}
        for p, v, _ in rows(service, table):
            if v <= size:
                below[p] = below.get(p, 0) + 1
        assert below and max(below.values()) == 1, table
    check_stored_map(service)


def test_a_first_build_clears_rows_of_another_log(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:10])
    junk = [(bytes([d >> 8, d & 255]) + bytes(32), v, b"\x07" * 32) for d in range(0, 40) for v in (1, 5, 9)]
    with node_engine(service.log.engine).begin() as conn:
        conn.execute(
            text(f"INSERT INTO {NODES} (position, version, node) VALUES (:p, :v, :n)"),
            [{"p": p, "v": v, "n": n} for p, v, n in junk],
        )
    clock.advance()
    assert keeper.commit_due() == service.log.size - 1
    check_stored_map(service)
    assert not {(p, v) for p, v, _ in junk} & {(p, v) for p, v, _ in rows(service)}


def test_an_index_kept_before_versions_is_rebuilt(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:10])
    clock.advance()
    keeper.commit_due()
    engine = service.log.engine
    with engine.begin() as conn:  # as a database kept by an earlier farmtrace holds it
        conn.execute(
            text(
                "CREATE TABLE trace_index_node (position BYTEA PRIMARY KEY, node BYTEA NOT NULL)"
                if engine.dialect.name == "postgresql"
                else "CREATE TABLE trace_index_node (position BLOB PRIMARY KEY, node BLOB NOT NULL)"
            )
        )
    create_index_tables(engine)
    assert not inspect(engine).has_table("trace_index_node")
    with engine.connect() as conn:
        assert IndexStore(conn).head() is None  # forgotten: rebuilt from the log at the next commit
    record(service, entries[10:])
    clock.advance()
    assert keeper.commit_due() == service.log.size - 1
    check_stored_map(service)


def test_on_sqlite_the_rows_live_in_a_file_of_their_own(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = create_engine(url)
    create_index_tables(engine)
    nodes = node_engine(engine)
    assert nodes is not engine and Path(nodes.url.database) == tmp_path / "db.sqlite-map"
    assert inspect(nodes).has_table(NODES) and not inspect(engine).has_table(NODES)
    assert node_engine(engine) is nodes  # one per engine
    memory = create_engine("sqlite://")
    create_index_tables(memory)
    assert node_engine(memory) is memory  # nothing to put beside
    engine.dispose()
    nodes.dispose()


def test_lost_node_rows_are_rebuilt_when_a_keeper_starts(story):
    """No node row under a head that names a non-empty map (on SQLite: the -map file was lost):
    the keeper forgets the head at start, and its next commit rebuilds the index from the log."""
    service, entries = story
    clock = Ticker()
    record(service, entries[:10])
    clock.advance()
    IndexKeeper(service.log, clock=clock, lag=LAG).commit_due()
    with node_engine(service.log.engine).begin() as conn:
        conn.execute(text(f"DELETE FROM {NODES}"))
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    with service.log.engine.connect() as conn:
        assert IndexStore(conn).head() is None
    record(service, entries[10:])
    clock.advance()
    assert keeper.commit_due() == service.log.size - 1
    check_stored_map(service)
