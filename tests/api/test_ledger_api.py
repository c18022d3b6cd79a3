"""The ledger's public HTTP interface, with a fresh database per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import pytest

from farmtrace.ledger import merkle
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.note import Verifier

from .conftest import LOG_SIGNER


def _fill(client, n):
    log = client.app.state.log
    log.append_many([f"entry {i}".encode() for i in range(n)])
    return log


def _b(s):
    return base64.b64decode(s)


def test_checkpoint_is_the_exact_signed_note(client):
    _fill(client, 10)
    r = client.get("/ledger/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    cp = open_checkpoint(r.content, LOG_SIGNER.verifier).checkpoint
    assert cp.size == 10
    assert r.text == client.app.state.log.checkpoint().note_with_cosignatures()


def test_key_is_the_verifier_key_string(client):
    r = client.get("/ledger/key")
    assert r.status_code == 200
    assert Verifier.from_key_string(r.text.strip()) == LOG_SIGNER.verifier


def test_inclusion_proof_verifies_against_the_signed_checkpoint(client):
    _fill(client, 300)
    cp = open_checkpoint(client.get("/ledger/checkpoint").content, LOG_SIGNER.verifier).checkpoint
    for index in (0, 7, 255, 256, 299):
        body = client.get("/ledger/proof/inclusion", params={"index": index, "size": cp.size}).json()
        assert body["index"] == index and body["size"] == cp.size
        assert _b(body["leaf_hash"]) == leaf_hash(f"entry {index}".encode())
        merkle.check_inclusion(
            [_b(h) for h in body["hashes"]],
            index=index,
            leaf=_b(body["leaf_hash"]),
            size=cp.size,
            root=cp.root,
        )


def test_consistency_proof_verifies(client):
    log = _fill(client, 5)
    old = log.checkpoint()
    _fill(client, 100)
    new = log.checkpoint()
    body = client.get("/ledger/proof/consistency", params={"from": old.size, "to": new.size}).json()
    assert body["from"] == old.size and body["to"] == new.size
    merkle.check_consistency(
        [_b(h) for h in body["hashes"]],
        old_size=old.size,
        new_size=new.size,
        old_root=old.root,
        new_root=new.root,
    )


def test_entries_are_paginated_with_leaf_hashes(client):
    _fill(client, 25)
    page = client.get("/ledger/entries", params={"start": 20, "limit": 3}).json()
    assert [e["index"] for e in page["entries"]] == [20, 21, 22]
    assert page["next"] == 23 and page["size"] == 25
    e = page["entries"][0]
    assert _b(e["entry"]) == b"entry 20" and _b(e["leaf_hash"]) == leaf_hash(b"entry 20")
    last = client.get("/ledger/entries", params={"start": 23, "limit": 10}).json()
    assert [e["index"] for e in last["entries"]] == [23, 24] and last["next"] is None


def test_a_checkpoint_of_a_given_size(client):
    log = _fill(client, 3)
    sizes = [c.size for c in log.checkpoints()]
    assert client.get(f"/ledger/checkpoint/{sizes[-1]}").status_code == 200
    r = client.get("/ledger/checkpoint/2")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


BAD = [
    ("/ledger/proof/inclusion?index=-1&size=3", 400, "index"),
    ("/ledger/proof/inclusion?index=abc&size=3", 400, "index"),
    ("/ledger/proof/inclusion?index=0&size=99999999999999999999999", 400, "size"),
    ("/ledger/proof/inclusion?index=1&size=1", 404, None),
    ("/ledger/proof/inclusion?index=0&size=4", 404, None),
    ("/ledger/proof/inclusion?size=3", 400, "index"),
    ("/ledger/proof/consistency?from=0&to=3", 400, "from"),
    ("/ledger/proof/consistency?from=3&to=2", 404, None),
    ("/ledger/proof/consistency?from=1&to=9", 404, None),
    ("/ledger/proof/consistency?from=1e3&to=3", 400, "from"),
    ("/ledger/entries?start=-5", 400, "start"),
    ("/ledger/entries?start=0&limit=1000000", 400, "limit"),
    ("/ledger/entries?start=4", 404, None),
    ("/ledger/checkpoint/-1", 400, "size"),
]


@pytest.mark.parametrize(("url", "status", "field"), BAD)
def test_bad_parameters_get_problem_json_never_500(client, url, status, field):
    _fill(client, 3)
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["type"].startswith("http://127.0.0.1:8000/problems/") and body["detail"]
    if field:
        assert body["field"] == field
        assert field in body["detail"]


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/ledger/proof/inclusion" in client.get("/openapi.json").json()["paths"]
