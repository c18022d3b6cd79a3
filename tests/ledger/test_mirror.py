"""ledger/mirror.py: a mirror follows a log through its tiles alone, proves every package before it
stores it, refuses a fork with evidence a third party re-checks, and resumes an interrupted follow."""

from __future__ import annotations

import pytest

from farmtrace.ledger import checkpoint_list
from farmtrace.ledger.checkpoint_list import format_checkpoint_list, parse_checkpoint_list
from farmtrace.ledger.errors import (
    AppendError,
    InconsistencyError,
    MalformedError,
    NotFoundError,
    VerificationError,
)
from farmtrace.ledger.log import Log
from farmtrace.ledger.mirror import Mirror, cosign_checkpoint
from farmtrace.ledger.note import CosignatureSigner, open_note
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_paths import parse_tile_path
from farmtrace.ledger.tile_reads import read_resource
from farmtrace.ledger.tiles import Integrator
from farmtrace.ledger.verify import check_evidence

MIRROR_KEY = CosignatureSigner.from_seed("mirror.test.example/m1", bytes(range(1, 33)))


def _fetcher(log: Log, *, tamper=None, fail_after: int | None = None, served: dict | None = None):
    """The log's /log/ resources as `fetch(path)`: tlog-tiles, read at its latest checkpoint."""
    calls = {"bundles": 0}

    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            return (served or {}).get("checkpoint") or log.checkpoint().note_with_cosignatures().encode()
        tile = parse_tile_path(path)
        if tile.is_bundle:
            calls["bundles"] += 1
            if fail_after is not None and calls["bundles"] > fail_after:
                raise NotFoundError(f"{path}: the connection dropped")
        data = read_resource(log, tile, size=log.checkpoint().size)
        return tamper(path, data) if tamper else data

    return fetch


def _append(log: Log, start: int, n: int, tag: str = "e") -> None:
    log.append_many([f"{tag} {i}".encode() for i in range(start, start + n)])


@pytest.fixture
def primary(signer):
    log = Log(MemoryStore(), signer)
    yield log
    log.close()


def _entries(store) -> list[bytes]:
    return [e for _, e in store.iter_entries()]


def test_follows_in_steps_and_serves_an_identical_tree(primary, signer, tmp_path):
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'mirror.db'}")
    mirror = Mirror(
        store,
        _fetcher(primary),
        log_key=signer.verifier,
        cosigner=MIRROR_KEY,
        package_bundles=2,
        fetch_threads=3,
    )
    for n in (0, 1, 300, 255, 1, 1500):  # partial bundles, package edges, several packages
        _append(primary, primary.size, n) if n else None
        step = mirror.follow_once()
        assert (step.size, step.log_behind) == (primary.size, False)
    assert _entries(store)[: primary.size] == _entries(primary._store)
    assert dict(store.iter_tiles()) == dict(primary._store.iter_tiles())  # computed, never fetched
    copy = Log(store, signer.verifier)
    assert copy.tree_hash(primary.size) == primary.checkpoint().root
    assert copy.audit().ok
    # Its own cosignature on the checkpoint it holds, cosignature/v1 with its key.
    held = store.latest_checkpoint()
    opened = open_note(held.note_with_cosignatures(), [signer.verifier, MIRROR_KEY.verifier])
    assert {s.name for s in opened.signatures} == {signer.name, MIRROR_KEY.name}
    assert mirror.follow_once().entries == 0  # nothing new: nothing written
    store.close()


def test_a_fork_is_refused_with_evidence_and_nothing_is_stored(primary, signer):
    _append(primary, 0, 300)
    store = MemoryStore()
    mirror = Mirror(store, _fetcher(primary), log_key=signer.verifier)
    mirror.follow_once()
    forked = Log(MemoryStore(), signer)  # the same key, another history
    _append(forked, 0, 200)
    _append(forked, 200, 300, tag="rewritten")
    with pytest.raises(InconsistencyError) as caught:
        Mirror(store, _fetcher(forked), log_key=signer.verifier).follow_once()
    check_evidence(caught.value.evidence, log_key=signer.verifier)  # a third party re-checks it
    assert store.latest_checkpoint().size == 300 and len(store.entries) == 300
    # The same size with another root, and a smaller tree that is not a prefix: forks too.
    same = Log(MemoryStore(), signer)
    _append(same, 0, 300, tag="other")
    with pytest.raises(InconsistencyError):
        Mirror(store, _fetcher(same), log_key=signer.verifier).follow_once()
    smaller = Log(MemoryStore(), signer)
    _append(smaller, 0, 100, tag="other")
    with pytest.raises(InconsistencyError):
        Mirror(store, _fetcher(smaller), log_key=signer.verifier).follow_once()
    forked.close(), same.close(), smaller.close()


def test_an_older_consistent_checkpoint_is_reported_not_stored(primary, signer):
    _append(primary, 0, 100)
    old = primary.checkpoint().note.encode()
    _append(primary, 100, 50)
    store = MemoryStore()
    Mirror(store, _fetcher(primary), log_key=signer.verifier).follow_once()
    step = Mirror(store, _fetcher(primary, served={"checkpoint": old}), log_key=signer.verifier).follow_once()
    assert step.log_behind and (step.size, step.log_size) == (150, 100)


# The resources a follow from empty reads: the bundles, and the tiles the packages' proofs need (the
# mirror computes its own tiles, so an altered tile it never reads cannot reach its copy).
@pytest.mark.parametrize("where", ["tile/entries/001", "tile/0/002.p/88", "tile/1/000.p/2"])
def test_altered_resources_are_refused_before_anything_is_stored(primary, signer, where):
    _append(primary, 0, 600)

    def flip(path: str, data: bytes) -> bytes:
        return data[:-1] + bytes([data[-1] ^ 1]) if path.startswith(where) else data

    store = MemoryStore()
    with pytest.raises(VerificationError):
        Mirror(
            store, _fetcher(primary, tamper=flip), log_key=signer.verifier, package_bundles=1
        ).follow_once()
    assert store.latest_checkpoint() is None
    # Whatever was stored is a proven prefix; a clean follow completes it.
    Mirror(store, _fetcher(primary), log_key=signer.verifier).follow_once()
    assert [e for _, e in store.iter_entries()] == _entries(primary._store)


def test_a_forged_checkpoint_is_refused(primary, signer):
    from farmtrace.ledger.note import Signer

    _append(primary, 0, 10)
    impostor = Log(MemoryStore(), Signer.generate(signer.name))
    _append(impostor, 0, 10)
    with pytest.raises(VerificationError):
        Mirror(MemoryStore(), _fetcher(impostor), log_key=signer.verifier).follow_once()
    impostor.close()


def test_an_interrupted_follow_resumes_from_its_pending_entries(primary, signer):
    _append(primary, 0, 2000)
    store = MemoryStore()
    with pytest.raises(NotFoundError):
        Mirror(
            store, _fetcher(primary, fail_after=3), log_key=signer.verifier, package_bundles=2
        ).follow_once()
    assert store.latest_checkpoint() is None and len(store.entries) == 512  # one package: pending
    step = Mirror(store, _fetcher(primary), log_key=signer.verifier, package_bundles=2).follow_once()
    assert step.size == 2000 and _entries(store) == _entries(primary._store)


def test_the_checkpoint_list_round_trips_and_is_strict(primary, signer):
    _append(primary, 0, 5)
    _append(primary, 5, 5)
    cps = primary.checkpoints()
    line = cosign_checkpoint(cps[-1].note, MIRROR_KEY, at=1_700_000_000)
    primary._store.add_cosignature(cps[-1].size, line)
    data = format_checkpoint_list(primary.checkpoints())
    parsed = parse_checkpoint_list(data, log_key=signer.verifier)
    assert [(c.size, note, lines) for c, note, lines in parsed] == [
        (cp.size, cp.note, cp.cosignatures) for cp in primary.checkpoints()
    ]
    for bad in (data + b"x", data[:-1], data.replace(b"v1", b"v2", 1), data.replace(b"\n3\n", b"\n03\n", 1)):
        with pytest.raises(MalformedError):
            parse_checkpoint_list(bad, log_key=signer.verifier)


@pytest.mark.parametrize("kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_past_checkpoints_are_read_page_by_page_and_kept(
    primary, signer, tmp_path, monkeypatch, kind, request
):
    monkeypatch.setattr(checkpoint_list, "CHECKPOINT_PAGE", 2)
    for n in range(5):
        _append(primary, primary.size, 10 + n)
    if kind == "memory":
        source = MemoryStore()
    else:
        url = (
            f"sqlite:///{tmp_path / 's.db'}" if kind == "sqlite" else request.getfixturevalue("postgres_url")
        )
        source = SqlStore.from_url(url)
    held = Mirror(source, _fetcher(primary), log_key=signer.verifier, cosigner=MIRROR_KEY)
    held.follow_once()
    held.keep_checkpoints(
        parse_checkpoint_list(format_checkpoint_list(primary.checkpoints()), log_key=signer.verifier)
    )
    assert [cp.size for cp in source.checkpoints_after(10, 2)] == [21, 33]
    assert [cp.size for cp in source.checkpoints_after(60, 2)] == []

    def fetch(path: str) -> bytes:  # the mirror app's /log/checkpoints?after=N, pages of 2
        if path.startswith("checkpoints?after="):
            after = int(path.partition("=")[2])
            return format_checkpoint_list(source.checkpoints_after(after, checkpoint_list.CHECKPOINT_PAGE))
        return _fetcher(primary)(path)

    restored = Mirror(MemoryStore(), fetch, log_key=signer.verifier)
    restored.follow_once()
    assert (
        restored.keep_checkpoints(checkpoint_list.read_checkpoint_pages(fetch, log_key=signer.verifier)) == 5
    )
    assert [(cp.size, cp.cosignatures) for cp in restored.store.checkpoints()] == [
        (cp.size, cp.cosignatures) for cp in source.checkpoints()
    ]
    source.close()


# --- the pipeline: bundles fetched ahead by a pool, packages written by a thread of their own -------


def test_bundles_that_arrive_out_of_order_are_stored_in_order(primary, signer, tmp_path):
    import threading
    import time

    _append(primary, 0, 256 * 9 + 17)
    served = _fetcher(primary)
    done: list[int] = []
    lock = threading.Lock()

    def slow_first(path: str) -> bytes:  # each bundle of a window of 4 answers after the next one
        tile = parse_tile_path(path) if path.startswith("tile/") else None
        if tile is not None and tile.is_bundle:
            time.sleep(0.02 * (3 - tile.index % 4))
        data = served(path)
        if tile is not None and tile.is_bundle:
            with lock:
                done.append(tile.index)
        return data

    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'mirror.db'}")
    step = Mirror(
        store, slow_first, log_key=signer.verifier, package_bundles=3, fetch_threads=4
    ).follow_once()
    assert done != sorted(done) and sorted(done) == list(range(10))  # they did arrive out of order
    assert step.size == primary.size and _entries(store) == _entries(primary._store)
    assert dict(store.iter_tiles()) == dict(primary._store.iter_tiles())
    store.close()


@pytest.mark.parametrize("threads", [1, 4])
def test_a_bad_bundle_mid_pipeline_stores_only_the_packages_proven_before_it(primary, signer, threads):
    _append(primary, 0, 256 * 12)

    def flip(path: str, data: bytes) -> bytes:  # bundle 7: the fourth package of two bundles
        return data[:-1] + bytes([data[-1] ^ 1]) if path == "tile/entries/007" else data

    store = MemoryStore()
    mirror = Mirror(
        store,
        _fetcher(primary, tamper=flip),
        log_key=signer.verifier,
        package_bundles=2,
        fetch_threads=threads,
    )
    with pytest.raises(VerificationError, match="up to index 2048 "):  # bundles 6-7 fail their proof
        mirror.follow_once()
    assert store.latest_checkpoint() is None
    assert _entries(store) == _entries(primary._store)[: 256 * 6]  # three proven packages, pending
    assert Integrator.load(256 * 6, store.read_tiles).root() == primary.tree_hash(256 * 6)
    step = Mirror(store, _fetcher(primary), log_key=signer.verifier, fetch_threads=threads).follow_once()
    assert step.size == primary.size and _entries(store) == _entries(primary._store)


def test_a_server_that_serves_a_wrong_hash_tile_is_refused(primary, signer):
    _append(primary, 0, 256 * 12 + 40)
    other = Log(MemoryStore(), signer)  # another tree of the same shape, signed by the same key
    _append(other, 0, 256 * 12 + 40, tag="other")
    read: list[str] = []

    def recording(path: str, data: bytes) -> bytes:
        read.append(path) if path.startswith("tile/") and "entries" not in path else None
        return data

    Mirror(
        MemoryStore(), _fetcher(primary, tamper=recording), log_key=signer.verifier, package_bundles=4
    ).follow_once()
    assert read  # the packages' proofs read the log's hash tiles: each one, swapped, is refused
    for where in sorted(set(read)):
        wrong = read_resource(other, parse_tile_path(where), size=other.size)
        store = MemoryStore()
        mirror = Mirror(
            store,
            _fetcher(primary, tamper=lambda path, data, w=where, x=wrong: x if path == w else data),
            log_key=signer.verifier,
            package_bundles=4,
            fetch_threads=3,
        )
        with pytest.raises(VerificationError):
            mirror.follow_once()
        assert store.latest_checkpoint() is None, where
        assert len(store.entries) % (256 * 4) == 0, where  # only whole proven packages, if any
    other.close()


def test_a_failed_write_stops_the_follow_and_keeps_what_was_committed(primary, signer):
    _append(primary, 0, 256 * 6)
    store = MemoryStore()
    real_write = store.write
    writes = {"n": 0}

    def failing_write():
        writes["n"] += 1
        if writes["n"] == 2:
            raise AppendError("the disk is full")
        return real_write()

    store.write = failing_write  # type: ignore[method-assign]
    with pytest.raises(AppendError, match="disk is full"):
        Mirror(
            store, _fetcher(primary), log_key=signer.verifier, package_bundles=2, fetch_threads=2
        ).follow_once()
    assert store.latest_checkpoint() is None and _entries(store) == _entries(primary._store)[:512]
