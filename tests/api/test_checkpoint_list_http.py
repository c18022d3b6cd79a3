"""GET /log/checkpoints on the primary: every checkpoint the log signed, with its cosignatures, a page
at a time, in the mirror's `farmtrace-checkpoints/v1` list, through the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from farmtrace.ledger import checkpoint_list
from farmtrace.ledger.checkpoint_list import read_checkpoint_pages
from farmtrace.ledger.errors import MalformedError, VerificationError
from farmtrace.ledger.mirror import cosign_checkpoint
from farmtrace.ledger.note import CosignatureSigner, Signer

from .conftest import LOG_SIGNER

WITNESS = CosignatureSigner.from_seed("witness.test.example/w1", bytes([7]) * 32)


def _fetch(client):
    def fetch(path: str) -> bytes:
        r = client.get(f"/log/{path}")
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("text/x.farmtrace.checkpoints")
        return r.content

    return fetch


def _grow(client, batches: int) -> None:
    log = client.app.state.log
    for b in range(batches):
        log.append_many([f"batch {b} entry {i}".encode() for i in range(b + 1)])


def test_every_checkpoint_is_listed_with_its_cosignatures_a_page_at_a_time(client, monkeypatch):
    _grow(client, 5)
    log = client.app.state.log

    middle = log.checkpoints()[len(log.checkpoints()) // 2]
    line = cosign_checkpoint(middle.note, WITNESS, at=1_800_000_000)
    log.add_cosignature(
        middle.note + line if line.endswith("\n") else middle.note + line + "\n", WITNESS.verifier
    )
    monkeypatch.setattr(checkpoint_list, "CHECKPOINT_PAGE", 2)  # the reader's page size
    monkeypatch.setattr("farmtrace.api.routes.checkpoints.CHECKPOINT_PAGE", 2)  # and the route's
    listed = list(read_checkpoint_pages(_fetch(client), log_key=LOG_SIGNER.verifier))
    want = log.checkpoints()
    assert [cp.size for cp, _, _ in listed] == [cp.size for cp in want]
    assert [note for _, note, _ in listed] == [cp.note for cp in want]
    cosigned = {cp.size: lines for cp, _, lines in listed if lines}
    assert list(cosigned) == [middle.size] and len(cosigned[middle.size]) == 1
    assert client.get("/log/checkpoints", params={"after": want[-1].size}).content.split(b"\n")[1] == b"0"


def test_the_list_checks_out_only_under_the_log_key(client):
    _grow(client, 2)
    other = Signer.from_seed(LOG_SIGNER.verifier.name, bytes([5]) * 32)
    with pytest.raises((VerificationError, MalformedError)):
        list(read_checkpoint_pages(_fetch(client), log_key=other.verifier))


def test_a_bad_after_is_refused_naming_it(client):  # a bad query parameter is 400, as elsewhere
    for bad in ("x", "-2"):
        r = client.get("/log/checkpoints", params={"after": bad})
        assert r.status_code == 400, r.text
        assert r.json()["field"] == "after"
