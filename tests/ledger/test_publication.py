"""`ledger.publication.publish` on its own: an empty log, nothing new, a new cosignature, growth."""

from __future__ import annotations

from farmtrace.ledger.errors import NotFoundError
from farmtrace.ledger.log import Log
from farmtrace.ledger.publication import publish, remove_leftovers, tiles_added
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_audit import check_tiled_log
from farmtrace.ledger.tile_paths import format_tile_path, tiles_for_size


def _fetch(root):
    def fetch(path):
        try:
            return (root / path).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(path) from None

    return fetch


def _files(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_an_empty_log_publishes_its_checkpoint_only(signer, tmp_path):
    log = Log(MemoryStore(), signer)
    try:
        done = publish(log, tmp_path / "pub")
        assert (done.size, done.previous_size, done.written, done.removed) == (0, 0, 1, 0)
        assert _files(tmp_path / "pub") == {"checkpoint"}
        assert check_tiled_log(_fetch(tmp_path / "pub"), log_key=signer.verifier).size == 0
        assert publish(log, tmp_path / "pub").written == 0
    finally:
        log.close()


def test_growth_and_a_new_cosignature_are_published(signer, tmp_path):
    store = MemoryStore()
    log = Log(store, signer)
    out = tmp_path / "pub"
    try:
        log.append_many([f"entry {i}".encode() for i in range(255)])
        assert publish(log, out).written == 3  # tile/0/000.p/255, its bundle, the checkpoint
        assert publish(log, out).written == 0  # nothing new
        # A witness line added to the same checkpoint: only the checkpoint is written again.
        store.add_cosignature(255, "— witness.example AQIDBAUGBwgJCgsM\n")
        again = publish(log, out)
        assert (again.written, again.removed) == (1, 0)
        assert (out / "checkpoint").read_text().endswith("— witness.example AQIDBAUGBwgJCgsM\n")
        # One more entry fills tile 0: the full tile and bundle come, the partial ones go.
        log.append(b"entry 255")
        grown = publish(log, out)
        assert (grown.size, grown.previous_size, grown.removed) == (256, 255, 2)
        assert _files(out) == {"checkpoint"} | {format_tile_path(t) for t in tiles_for_size(256)}
        assert check_tiled_log(_fetch(out), log_key=signer.verifier).entries == 256
    finally:
        log.close()


def test_the_tiles_a_pass_adds_are_those_the_old_tree_lacked_full_exhaustively():
    # Every pair of sizes around the tile boundaries of levels 0, 1 and 2 (256 and 65,536).
    edges = sorted({0, 1, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 65_536 + 256, 131_073})
    for new in edges:
        every = tiles_for_size(new)
        for old in (e for e in edges if e <= new):
            had_full = {t for t in tiles_for_size(old) if t.is_full}
            assert tiles_added(old, new) == [t for t in every if t not in had_full], (old, new)


def test_leftovers_of_a_killed_pass_are_removed_and_nothing_else(signer, tmp_path):
    log = Log(MemoryStore(), signer)
    try:
        log.append_many([b"entry %d" % i for i in range(300)])
        pub = tmp_path / "pub"
        publish(log, pub)
        before = _files(pub)
        (pub / "tile" / "0" / ".publish-abc123").write_bytes(b"half a tile")
        (pub / ".publish-xyz").write_bytes(b"half a checkpoint")
        assert remove_leftovers(pub) == 2
        assert _files(pub) == before
        assert check_tiled_log(_fetch(pub), log_key=signer.verifier).size == 300
    finally:
        log.close()
