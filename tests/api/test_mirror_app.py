"""api/mirror_app.py: the mirror serves the log's tiles over its own copy, lists its checkpoints with
their cosignatures, and answers add-checkpoint as a witness would, cosigning only what it holds."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.mirror_app import create_mirror_app
from farmtrace.api.mirroring import Follower
from farmtrace.ledger.checkpoint_list import parse_checkpoint_list
from farmtrace.ledger.log import Log
from farmtrace.ledger.mirror import Mirror
from farmtrace.ledger.note import CosignatureSigner, Signer, open_note
from farmtrace.ledger.store import MemoryStore
from farmtrace.ledger.tile_audit import check_tiled_log
from farmtrace.ledger.tile_paths import parse_tile_path
from farmtrace.ledger.tile_reads import read_resource
from farmtrace.ledger.verify import check_evidence, parse_evidence
from farmtrace.ledger.witness import AddCheckpoint, format_add_checkpoint

LOG = Signer.from_seed("mirrored.farmtrace.example/log", bytes(range(32)))
MIRROR_KEY = CosignatureSigner.from_seed("mirror.test.example/m1", bytes([9]) * 32)


def _fetcher(holder: dict):
    def fetch(path: str) -> bytes:
        log = holder["log"]
        if path == "checkpoint":
            return log.checkpoint().note_with_cosignatures().encode()
        return read_resource(log, parse_tile_path(path), size=log.size)

    return fetch


@pytest.fixture
def setup():
    primary = Log(MemoryStore(), LOG)
    primary.append_many([f"entry {i}".encode() for i in range(300)])
    holder = {"log": primary}
    mirror = Mirror(
        MemoryStore(),
        _fetcher(holder),
        log_key=LOG.verifier,
        cosigner=MIRROR_KEY,
        clock=lambda: 1_800_000_000,
    )
    follower = Follower(mirror, interval=30.0)  # followed on demand: add-checkpoint wakes it
    with TestClient(create_mirror_app(mirror, follower)) as client:
        assert follower.wait_for(300, 10)  # it follows once at its start
        yield client, primary, holder, mirror
    primary.close()


def _body(primary: Log, old: int) -> bytes:
    cp = primary.checkpoint()
    proof = primary.prove_consistency(old, cp.size) if 0 < old < cp.size else []
    return format_add_checkpoint(AddCheckpoint(old, tuple(proof), cp.note.encode()))


def test_tiles_checkpoints_and_add_checkpoint(setup):
    client, primary, _, _ = setup
    r = client.post("/add-checkpoint", content=_body(primary, 300))  # what it holds: cosigned
    assert r.status_code == 200, r.text
    # The tiles over its copy verify from the tiles alone; its checkpoint carries its cosignature.
    report = check_tiled_log(
        lambda p: _get(client, f"/log/{p}"), log_key=LOG.verifier, witnesses=[MIRROR_KEY.verifier]
    )
    assert report.size == 300 and {s.name for s in report.checkpoint.cosignatures} == {MIRROR_KEY.name}
    primary.append_many([f"more {i}".encode() for i in range(50)])
    r = client.post("/add-checkpoint", content=_body(primary, 300))
    assert r.status_code == 200, r.text
    open_note(primary.checkpoint().note + r.text, [LOG.verifier, MIRROR_KEY.verifier])  # its cosignature
    listed = parse_checkpoint_list(_get(client, "/log/checkpoints"), log_key=LOG.verifier)
    assert [cp.size for cp, _, _ in listed] == [300, 350]
    assert all(any(line.startswith(f"\u2014 {MIRROR_KEY.name} ") for line in lines) for _, _, lines in listed)
    # A stale old size: 409 with the mirror's size; another log: 404; a bad signature: 403.
    r = client.post("/add-checkpoint", content=_body(primary, 300))
    assert (r.status_code, r.headers["content-type"], r.text) == (409, "text/x.tlog.size", "350\n")
    other = Log(MemoryStore(), Signer.generate("other.example/log"))
    other.append(b"x")
    assert client.post("/add-checkpoint", content=_body(other, 0)).status_code == 404
    impostor = Log(MemoryStore(), Signer.generate(LOG.name))
    impostor.append(b"x")
    assert client.post("/add-checkpoint", content=_body(impostor, 0)).status_code == 403
    assert client.post("/add-checkpoint", content=b"old 1\n").status_code == 400
    about = client.get("/").text
    assert hashlib.sha256(LOG.name.encode()).hexdigest() in about and "size 350" in about
    other.close(), impostor.close()


def test_a_fork_offered_to_add_checkpoint_is_refused_with_evidence(setup):
    client, _, _, mirror = setup
    forked = Log(MemoryStore(), LOG)
    forked.append_many([f"entry {i}".encode() for i in range(200)])
    forked.append_many([f"rewritten {i}".encode() for i in range(200, 400)])
    r = client.post("/add-checkpoint", content=_body(forked, 300))
    assert r.status_code == 422
    evidence = parse_evidence(r.content[r.content.index(b"farmtrace-log-inconsistency/v1") :])
    check_evidence(evidence, log_key=LOG.verifier)
    assert mirror.held().size == 300
    forked.close()


def _get(client: TestClient, path: str) -> bytes:
    from farmtrace.ledger.errors import NotFoundError

    r = client.get(path)
    if r.status_code == 404:
        raise NotFoundError(path)
    assert r.status_code == 200, r.text
    return r.content


def test_a_mirror_holding_nothing_yet_answers_404_for_its_tiles_and_checkpoints():
    """Before the first checkpoint is held, the read routes say so (404), not an empty list."""

    def unreachable(path: str) -> bytes:
        raise OSError("the primary is unreachable")

    mirror = Mirror(MemoryStore(), unreachable, log_key=LOG.verifier, cosigner=MIRROR_KEY, clock=lambda: 1)
    follower = Follower(mirror, interval=30.0)
    with TestClient(create_mirror_app(mirror, follower)) as client:
        for path in ("/log/checkpoints", "/log/checkpoint", "/log/tile/0/000"):
            r = client.get(path)
            assert r.status_code == 404, (path, r.status_code, r.text)
            assert "holds no checkpoint" in r.text, path
