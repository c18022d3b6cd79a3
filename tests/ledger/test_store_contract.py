"""The LogStore contract (ledger/store.py), run on the memory store, SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from farmtrace.ledger import merkle
from farmtrace.ledger.errors import (
    AppendError,
    LedgerError,
    MalformedError,
    NotFoundError,
    StoreMismatchError,
)
from farmtrace.ledger.hashing import EMPTY_ROOT, leaf_hash
from farmtrace.ledger.log import Log
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.store import StoredCheckpoint

from .reference import mth


def _entries(n, tag="e"):
    return [f"{tag}{i}".encode() for i in range(n)]


def test_a_new_log_has_a_signed_empty_checkpoint(store, signer):
    log = Log(store, signer)
    cp = log.checkpoint()
    assert (cp.size, cp.root) == (0, EMPTY_ROOT)
    assert cp.note.startswith(f"{signer.name}\n0\n")
    log.close()


def test_appends_get_consecutive_indexes_and_the_root_is_rfc9162(store, signer):
    log = Log(store, signer)
    assert [log.append(e) for e in _entries(5)] == [0, 1, 2, 3, 4]
    assert log.append_many(_entries(600, "b")) == 5
    entries = [e for _, e in store.iter_entries()]
    assert entries == _entries(5) + _entries(600, "b")
    leaves = [leaf_hash(e) for e in entries]
    assert log.checkpoint().root == mth(leaves)
    assert log.size == 605
    for size in (1, 2, 255, 256, 257, 512, 605):
        assert log.tree_hash(size) == mth(leaves[:size])
    log.close()


def test_proofs_verify_for_every_index_across_tile_boundaries(store, signer):
    log = Log(store, signer)
    log.append_many(_entries(700))
    leaves = [leaf_hash(e) for e in _entries(700)]
    for size in (1, 256, 257, 511, 700):
        root = mth(leaves[:size])
        for index in range(0, size, 37):
            proof = log.prove_inclusion(index, size)
            merkle.check_inclusion(proof, index=index, leaf=leaves[index], size=size, root=root)
        for old in (1, 255, 256, size):
            if old <= size:
                proof = log.prove_consistency(old, size)
                merkle.check_consistency(
                    proof, old_size=old, new_size=size, old_root=mth(leaves[:old]), new_root=root
                )
    log.close()


def test_batched_proofs_equal_single_ones_for_every_index(store, signer):
    log = Log(store, signer)
    log.append_many(_entries(700))
    for size in (1, 255, 256, 257, 600, 700):
        indexes = list(range(size))
        assert log.prove_inclusions(indexes, size) == [log.prove_inclusion(i, size) for i in indexes]
    assert log.prove_inclusions([], 700) == []
    with pytest.raises(NotFoundError):
        log.prove_inclusions([0], 701)
    log.close()


def test_sizes_beyond_the_log_are_not_found(store, signer):
    log = Log(store, signer)
    log.append_many(_entries(3))
    with pytest.raises(NotFoundError):
        log.prove_inclusion(0, 4)
    with pytest.raises(NotFoundError):
        log.prove_consistency(1, 9)
    log.close()


def test_a_refused_admit_leaves_nothing_and_others_in_the_batch_proceed(store, signer):
    log = Log(store, signer)
    seen = []

    def refuse(txn, index):
        seen.append(index)
        raise ValueError("refused by the hook")

    with pytest.raises(ValueError, match="refused by the hook"):
        log.append(b"bad", admit=refuse)
    assert log.size == 0 and list(store.iter_entries()) == []
    assert log.append(b"good", admit=lambda txn, index: seen.append(index)) == 0
    assert seen == [0, 0]
    log.close()


def test_select_appends_the_entries_it_keeps_with_consecutive_indexes(store, signer):
    log = Log(store, signer)
    firsts = []

    def every_other(txn, first):
        firsts.append(first)
        return [i % 2 == 0 for i in range(5)]

    log.append(b"before")
    entries = [b"e%d" % i for i in range(5)]
    assert log.submit_selected(entries, select=every_other).result() == [1, None, 2, None, 3]
    assert firsts == [1]
    assert [e for _, e in store.iter_entries()] == [b"before", b"e0", b"e2", b"e4"]
    assert log.tree_hash(4) == mth([leaf_hash(e) for e in (b"before", b"e0", b"e2", b"e4")])
    # Several requests queued at once (one batch, or several): indexes stay consecutive.
    futures = [
        log.submit_selected([b"x%d" % i, b"y%d" % i], select=lambda t, f: [True, False]) for i in range(4)
    ]
    futures.append(log.submit(b"plain"))
    got = [f.result() for f in futures]
    assert got == [[4, None], [5, None], [6, None], [7, None], 8]
    log.close()


def test_a_select_that_raises_or_miscounts_appends_nothing(store, signer):
    log = Log(store, signer)

    def refuse(txn, first):
        raise ValueError("refused by the hook")

    with pytest.raises(ValueError, match="refused by the hook"):
        log.submit_selected([b"a", b"b"], select=refuse).result()
    with pytest.raises(AppendError, match="2 decisions for 3 entries"):
        log.submit_selected([b"a", b"b", b"c"], select=lambda t, f: [True, True]).result()
    assert log.size == 0 and list(store.iter_entries()) == []
    assert log.submit_selected([b"a"], select=lambda t, f: [True]).result() == [0]
    with pytest.raises(MalformedError):
        log.submit_selected([], select=lambda t, f: [])
    log.close()


def test_a_failed_transaction_stores_nothing(store, signer):
    log = Log(store, signer)
    log.append(b"first")
    before = (list(store.iter_entries()), list(store.iter_tiles()), store.checkpoints())
    with pytest.raises(LedgerError), store.write() as txn:
        txn.write_entries(1, [b"half"])
        txn.write_tiles({(0, 0): b"x" * 64})
        raise AppendError("boom")
    assert (list(store.iter_entries()), list(store.iter_tiles()), store.checkpoints()) == before
    log.close()


def test_an_index_is_never_stored_twice(store, signer):
    Log(store, signer).append(b"once")
    with pytest.raises(LedgerError), store.write() as txn:
        txn.write_entries(0, [b"twice"])


def test_many_threads_never_fork_or_gap(store, signer):
    log = Log(store, signer)
    results: list[int] = []
    lock = threading.Lock()

    def writer(t):
        for i in range(40):
            idx = log.append(f"t{t}-{i}".encode())
            with lock:
                results.append(idx)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(640))
    entries = dict(store.iter_entries())
    assert len(entries) == 640
    assert {entries[i] for i in results} == {f"t{t}-{i}".encode() for t in range(16) for i in range(40)}
    # Group commit: far fewer checkpoints than appends, each consistent with the full tree.
    cps = store.checkpoints()
    assert len(cps) < 640
    leaves = [leaf_hash(entries[i]) for i in range(640)]
    for cp in cps:
        assert cp.root == mth(leaves[: cp.size])
    log.close()


def test_cosignatures_are_stored_with_their_checkpoint(store, signer):
    from farmtrace.ledger.note import CosignatureSigner, open_note, sign_note

    log = Log(store, signer)
    log.append(b"x")
    witness = CosignatureSigner.from_seed("witness.example", bytes(32)).at_time(1_700_000_000)
    opened = open_note(log.checkpoint().note, [signer.verifier])
    cosigned = sign_note(opened.text, witness, existing=opened.signatures)
    cp = log.add_cosignature(cosigned, witness.verifier)
    assert len(cp.cosignatures) == 1
    full = log.checkpoint().note_with_cosignatures()
    assert open_note(full, [signer.verifier, witness.verifier]).signatures[1].name == "witness.example"
    log.close()


def test_cosignatures_of_several_witnesses_and_checkpoints_are_stored_together_or_not_at_all(store, signer):
    from farmtrace.ledger.errors import VerificationError
    from farmtrace.ledger.note import CosignatureSigner, open_note, sign_note

    log = Log(store, signer)
    log.append(b"x")
    first = log.checkpoint()
    log.append(b"y")
    second = log.checkpoint()
    witnesses = [
        CosignatureSigner.from_seed(f"w{i}.example", bytes([i]) * 32).at_time(1_700_000_000 + i)
        for i in range(3)
    ]

    def cosign(cp, w):
        opened = open_note(cp.note, [signer.verifier])
        return sign_note(opened.text, w, existing=opened.signatures)

    # One bad pair (w2's line checked with w1's key) refuses the whole call: nothing is stored.
    bad = [
        (cosign(first, witnesses[0]), witnesses[0].verifier),
        (cosign(second, witnesses[2]), witnesses[1].verifier),
    ]
    with pytest.raises((MalformedError, VerificationError)):
        log.add_cosignatures(bad)
    assert [cp.cosignatures for cp in store.checkpoints()] == [(), (), ()]

    pairs = [(cosign(first, w), w.verifier) for w in witnesses[:2]] + [
        (cosign(second, witnesses[2]), witnesses[2].verifier)
    ]
    lines = log.add_cosignatures(pairs)
    assert [size for size, _ in lines] == [first.size, first.size, second.size]
    log.add_cosignatures(pairs[:1])  # stored again: not twice
    assert len(log.checkpoint_at(first.size).cosignatures) == 2
    assert log.checkpoint_at(second.size).cosignatures == (lines[2][1],)
    full = log.checkpoint_at(first.size).note_with_cosignatures()
    assert len(open_note(full, [signer.verifier, *(w.verifier for w in witnesses)]).signatures) == 3
    log.close()


def test_the_log_refuses_to_sign_on_top_of_a_tree_it_did_not_sign(store, signer):
    log = Log(store, signer)
    log.append_many(_entries(10))
    # Someone rewrites a stored tile behind the log's back.
    with store.write() as txn:
        txn.write_tiles({(0, 0): b"\x00" * 32 * 10})
    fresh = Log(store, signer)  # no cached edge: must re-read and check storage
    with pytest.raises(StoreMismatchError) as info:
        fresh.append(b"more")
    assert info.value.size == 10
    assert info.value.signed_root == log.checkpoint().root != info.value.stored_root
    assert fresh.size == 10
    log.close()
    fresh.close()


def test_another_key_cannot_take_over_the_log(store, signer):
    from farmtrace.ledger.note import Signer

    Log(store, signer).append(b"x")
    with pytest.raises(AppendError, match="signed by another key"):
        Log(store, Signer.generate(signer.name))


def test_sqlite_store_is_in_wal_mode(sqlite_url):
    store = SqlStore.from_url(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_stored_checkpoint_lists_cosignatures_after_the_note():
    cp = StoredCheckpoint(1, b"r" * 32, "text\n\n— a sig\n", 0.0, ("— w sig\n",))
    assert cp.note_with_cosignatures() == "text\n\n— a sig\n— w sig\n"


def test_a_witness_cosigning_again_replaces_its_older_line_in_one_write(store, signer):
    from farmtrace.ledger.note import CosignatureSigner, open_note, sign_note

    log = Log(store, signer)
    log.append(b"x")
    cp = log.checkpoint()
    opened = open_note(cp.note, [signer.verifier])
    key = CosignatureSigner.from_seed("w.example", bytes([3]) * 32)
    other = CosignatureSigner.from_seed("v.example", bytes([4]) * 32).at_time(1_700_000_000)
    log.add_cosignatures(
        [
            (sign_note(opened.text, s, existing=opened.signatures), s.verifier)
            for s in (key.at_time(1_700_000_000), other)
        ]
    )
    assert len(log.checkpoint_at(cp.size).cosignatures) == 2
    newer = sign_note(opened.text, key.at_time(1_700_000_600), existing=opened.signatures)
    ((_, line),) = log.add_cosignatures([(newer, key.verifier)])
    kept = log.checkpoint_at(cp.size).cosignatures
    assert len(kept) == 2 and line in kept  # w's newer line replaced its older one; v's stays
    assert any(x.startswith("\u2014 v.example ") for x in kept)
    store.add_cosignatures([], replacing=[(cp.size, line)])  # the store removes a pair it is given
    assert line not in log.checkpoint_at(cp.size).cosignatures
    log.close()
