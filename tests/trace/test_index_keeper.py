"""Keeping the head index in SQL (trace/index_keeper.py, trace/store/index_store.py), on SQLite and PostgreSQL.

Real services record story 1 (and a key's replacement and revocation) through the write path; the
keeper commits index entries with a pinned clock. Every committed entry is compared with the
reference of tests/trace/test_head_index.py (the typed model and the map's definition); the stored
map's proofs are checked against the committed root; the lag, a race of two keepers over one
database, a client's index entry, a restore's empty index tables, and the replay audit naming a
root committed over a tampered node are each tested.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.verifiable_map import check_key, prove_key
from farmtrace.trace import replay as rp
from farmtrace.trace.errors import RuleViolation
from farmtrace.trace.head_index import (
    IndexEntry,
    decode_index_entry,
    encode_index_entry,
    is_index_entry,
    value_hash,
)
from farmtrace.trace.index_audit import IndexRootMismatch, check_index_roots
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.service import TraceService
from farmtrace.trace.store.index_store import IndexStore
from farmtrace.trace.store.map_rows import MapNodes, node_engine, read_values

from ..conftest import fresh_schema
from .test_head_index import key_history, reference_entry, reference_values
from .test_replay import LOG_SEED, NOW, ORIGIN, record, service_at

LAG = 10.0


class Ticker:
    """A pinned POSIX clock the test moves."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float = LAG) -> None:
        self.t += seconds


def all_entries(service: TraceService) -> list[bytes]:
    return [e for _, e in service.log.read_entries(0, service.log.size)]


def check_committed(service: TraceService) -> int:
    """Every index entry of the log equals the reference of the entries before it; return how many."""
    entries = all_entries(service)
    found = 0
    for i, entry in enumerate(entries):
        if is_index_entry(entry):
            assert decode_index_entry(entry) == reference_entry(entries[:i]), f"index entry {i}"
            found += 1
    return found


def check_stored_map(service: TraceService) -> None:
    """The stored map answers for the latest index entry: every value proven against its root."""
    entries = all_entries(service)
    last = max(i for i, e in enumerate(entries) if is_index_entry(e))
    committed = decode_index_entry(entries[last])
    values, _, _ = reference_values(entries[:last])
    with service.log.engine.connect() as conn, node_engine(service.log.engine).connect() as nconn:
        store = IndexStore(conn)
        head = store.head()
        assert head is not None and (head.size, head.root) == (committed.size, committed.root)
        assert read_values(nconn, values, head.size) == values
        nodes = MapNodes(nconn, bound=head.size)
        for key, value in values.items():
            vh, proof = prove_key(nodes, key)
            assert vh == value_hash(value)
            check_key(committed.root, key, vh, proof)


@pytest.fixture
def story(database_url) -> Iterator[tuple[TraceService, list[bytes]]]:
    with service_at(database_url) as service:
        yield service, key_history()


def test_committed_roots_equal_the_reference_after_the_story(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:1])
    assert keeper.commit_due() is None  # the keeper started less than the lag ago
    clock.advance()
    assert keeper.commit_due() == 1  # commits entry [0, 1) at index 1
    for start in range(1, len(entries), 4):
        record(service, entries[start : start + 4])
        clock.advance()
        assert keeper.commit_due() == service.log.size - 1
    assert check_committed(service) == 1 + (len(entries) - 1 + 3) // 4
    check_stored_map(service)
    # The replay recomputes every root, and passes; so does the whole replay audit.
    roots = check_index_roots(service.log, service.log.size)
    assert roots.checked == check_committed(service)
    assert rp.replay(service.log, clock=lambda: NOW).summary().startswith("OK:")


def test_the_lag(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:5])
    clock.advance(LAG - 1)
    assert keeper.commit_due() is None  # not yet
    clock.advance(1)
    assert keeper.commit_due() == 5  # exactly the lag: one
    assert keeper.commit_due() is None  # the log did not grow past it
    record(service, entries[5:6])
    clock.advance(LAG - 1)
    assert keeper.commit_due() is None  # grown, but the last one is younger than the lag
    clock.advance(1)
    assert keeper.commit_due() == 7
    clock.advance(3 * LAG)
    assert keeper.commit_due() is None  # not grown: however long it waits
    assert check_committed(service) == 2


def test_an_index_entry_from_a_client_is_refused_and_nothing_is_stored(story):
    service, entries = story
    record(service, entries[:3])
    forged = encode_index_entry(IndexEntry(size=3, root=bytes(32), lots=0, keys=0))
    size = service.log.size
    (result,) = service.record_many([forged])
    assert isinstance(result, RuleViolation) and (result.rule, result.field) == ("role", "entry")
    assert "index entry" in str(result) and "operator" in str(result)
    with pytest.raises(RuleViolation):
        service.record(forged)
    # In the middle of a batch: the entries around it are recorded, it is not.
    results = service.record_many([entries[3], forged, entries[4]])
    assert [isinstance(r, RuleViolation) for r in results] == [False, True, False]
    assert service.log.size == size + 2
    assert not any(is_index_entry(e) for e in all_entries(service))


def test_empty_index_tables_are_rebuilt_from_the_log(story):
    """A restore or a mirror carries no index tables: the next commit rebuilds the whole index."""
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:8])
    clock.advance()
    keeper.commit_due()
    record(service, entries[8:])
    with service.log.engine.begin() as conn:
        IndexStore(conn).clear()
    clock.advance()
    assert keeper.commit_due() == service.log.size - 1
    assert check_committed(service) == 2
    check_stored_map(service)


def test_replay_names_a_root_committed_over_a_tampered_node(story):
    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    record(service, entries[:8])
    clock.advance()
    first = keeper.commit_due()
    # The operator edits the stored nodes (every subtree hash, every leaf's value hash); the next
    # commit builds on them and commits a wrong root.
    with node_engine(service.log.engine).begin() as conn:
        rows = conn.execute(text("SELECT position, version, node FROM trace_index_map_node")).all()
        for p, v, n in rows:
            forged = b"\x01" * 32 if len(n) == 32 else bytes(n)[:32] + b"\x02" * 32
            conn.execute(
                text("UPDATE trace_index_map_node SET node = :n WHERE position = :p AND version = :v"),
                {"n": forged, "p": bytes(p), "v": v},
            )
    record(service, entries[8:])
    clock.advance()
    wrong = keeper.commit_due()
    with pytest.raises(IndexRootMismatch) as err:
        rp.replay(service.log, clock=lambda: NOW)
    e = err.value
    assert e.index == wrong != first
    assert e.committed is not None and e.committed.size == wrong
    assert e.recomputed == reference_entry(all_entries(service)[:wrong])
    assert e.committed.root != e.recomputed.root
    assert f"index entry {wrong} is wrong" in str(e)


# --- two keepers, one database -------------------------------------------------------------------


@contextmanager
def second_service(url: str) -> Iterator[TraceService]:
    store = SqlStore.from_url(url, create=True)
    service = TraceService(Log(store, Signer.from_seed(ORIGIN, LOG_SEED)), store.engine, clock=lambda: NOW)
    try:
        yield service
    finally:
        service.log.close()
        store.close()


def test_two_keepers_racing_commit_one_entry_per_state(story, database_url):
    service, entries = story
    clock = Ticker()
    record(service, entries[:1])
    with second_service(database_url) as other:
        keepers = [IndexKeeper(s.log, clock=clock, lag=0) for s in (service, other)] * 2
        barrier = threading.Barrier(len(keepers))
        got: list[int | None] = []

        def race(keeper: IndexKeeper) -> None:
            barrier.wait()
            got.append(keeper.commit_due())

        for start in range(1, len(entries), 3):
            record(other if start % 2 else service, entries[start : start + 3])
            got.clear()
            threads = [threading.Thread(target=race, args=(k,)) for k in keepers]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(got, key=lambda x: x or -1)[:-1] == [None] * (len(keepers) - 1)
            assert got.count(service.log.size - 1) == 1
    log = all_entries(service)
    assert not any(is_index_entry(a) and is_index_entry(b) for a, b in itertools.pairwise(log))
    assert check_committed(service) == (len(entries) - 1 + 2) // 3


# --- Hypothesis: any batches, any commits ----------------------------------------------------------


@contextmanager
def fresh_url(kind: str, tmp_path, request) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        return
    with fresh_schema(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.integers(1, 9), st.booleans()), min_size=1, max_size=8))
def test_any_batches_and_commits_give_the_reference_roots(kind, plan, tmp_path, request):
    entries = key_history()
    clock = Ticker()
    with fresh_url(kind, tmp_path, request) as url, service_at(url) as service:
        keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
        at = 0
        for n, commit in [*plan, (len(entries), True)]:
            if at < len(entries):
                record(service, entries[at : at + n])
                at += n
            if commit:
                clock.advance()
                keeper.commit_due()
        assert check_committed(service) >= 1
        check_stored_map(service)


# --- the stored map itself ------------------------------------------------------------------------


def test_the_stored_map_equals_the_memory_map(database_url):
    """The stored map as a NodeStore (MapNodes, written a version per round): bulk updates (inserts,
    changes, deletions) give the memory map's root and nodes at every version, and its proofs check."""
    import random

    from sqlalchemy import create_engine

    from farmtrace.ledger.verifiable_map import MemoryNodes, map_root, update_map
    from farmtrace.trace.store.index_store import create_index_tables

    rng = random.Random(7)
    keys = [rng.randbytes(32) for _ in range(1500)]
    engine = create_engine(database_url)
    create_index_tables(engine)
    nodes_at = node_engine(engine)
    memory = MemoryNodes()
    items: dict[bytes, bytes] = {}
    history = []
    for round_ in range(4):
        changes = {k: rng.randbytes(32) for k in rng.sample(keys, 400 if round_ else 1200)}
        changes |= {k: None for k in rng.sample(sorted(items), min(30, len(items)))}
        with nodes_at.begin() as conn:
            root = update_map(MapNodes(conn, bound=round_ + 1, write=True), changes)
        assert root == update_map(memory, changes)
        items = {k: v for k, v in {**items, **changes}.items() if v is not None}
        assert root == map_root(items)
        history.append((root, dict(memory.nodes), dict(items)))
    with nodes_at.connect() as conn:
        for version, (root, nodes, held) in enumerate(history, start=1):  # every version still reads
            rows = conn.execute(text("SELECT position, version, node FROM trace_index_map_node")).all()
            latest = {}
            for p, v, n in sorted(rows, key=lambda r: r[1]):
                if v <= version:
                    latest[bytes(p)] = bytes(n)
            assert {p: n for p, n in latest.items() if n} == nodes
            store = MapNodes(conn, bound=version)
            for k in rng.sample(keys, 30):
                vh, proof = prove_key(store, k)
                assert vh == held.get(k)
                check_key(root, k, vh, proof)
        with pytest.raises(TypeError):
            MapNodes(conn, bound=4).put_nodes({})
    engine.dispose()


def test_a_restore_steps_over_index_entries(story, tmp_path):
    """A restore rebuilds the projection from a log holding index entries (they change no table).
    The restored database has no index tables: the next commit rebuilds the index from the log
    (test_empty_index_tables_are_rebuilt_from_the_log)."""
    from sqlalchemy import create_engine

    from farmtrace.trace.restore import rebuild_projection
    from farmtrace.trace.store.compare import first_divergence

    service, entries = story
    clock = Ticker()
    keeper = IndexKeeper(service.log, clock=clock, lag=LAG)
    for start in range(0, len(entries), 6):
        record(service, entries[start : start + 6])
        clock.advance()
        keeper.commit_due()
    assert check_committed(service) >= 3
    target = create_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    rebuild_projection(service.log, target, clock=lambda: NOW)
    assert first_divergence(target, service.log.engine) is None
    target.dispose()
