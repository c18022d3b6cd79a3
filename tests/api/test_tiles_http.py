"""The log served as C2SP tlog-tiles below /log/, and the entry-size limit at capture, through the real
app with a fresh database per test (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text

from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.entry_bundles import parse_entry_bundle
from farmtrace.ledger.errors import NotFoundError, VerificationError
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.tile_audit import check_tiled_log
from farmtrace.ledger.tile_paths import format_tile_path, tiles_for_size

from .conftest import LOG_SIGNER

IMMUTABLE = "public, max-age=31536000, immutable"


def _fill(client, n):
    log = client.app.state.log
    log.append_many([f"entry {i}".encode() for i in range(log.size, n)])
    return log


def _fetch(client):
    def fetch(path):
        r = client.get(f"/log/{path}")
        if r.status_code == 404:
            raise NotFoundError(f"{path}: 404")
        assert r.status_code == 200, (path, r.status_code)
        return r.content

    return fetch


def test_checkpoint_is_the_latest_note_with_a_short_cache_life(client):
    _fill(client, 3)
    r = client.get("/log/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=5"
    assert r.text == client.get("/ledger/checkpoint").text
    assert open_checkpoint(r.content, LOG_SIGNER.verifier).checkpoint.size == 3


def test_tiles_and_bundles_with_their_cache_policy_and_head(client):
    _fill(client, 300)
    full = client.get("/log/tile/0/000")
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == IMMUTABLE
    assert full.content == b"".join(leaf_hash(f"entry {i}".encode()) for i in range(256))
    partial = client.get("/log/tile/0/001.p/44")
    assert partial.headers["cache-control"] == "public, max-age=60"
    assert len(partial.content) == 44 * 32
    bundle = client.get("/log/tile/entries/001.p/44")
    assert parse_entry_bundle(bundle.content, width=44) == [f"entry {i}".encode() for i in range(256, 300)]
    zipped = client.get("/log/tile/entries/000", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"  # bundles are compressed at the HTTP layer
    assert zipped.headers["cache-control"] == IMMUTABLE
    assert len(parse_entry_bundle(zipped.content, width=256)) == 256
    level1 = client.get("/log/tile/1/000.p/1").content
    assert level1 == client.app.state.log.tree_hash(256)  # the MTH of tile 0/000
    head = client.head("/log/tile/0/000")
    assert head.status_code == 200 and head.content == b""
    # Hash tiles are random bytes: sent as they are, even to a client that accepts gzip.
    assert head.headers["content-length"] == full.headers["content-length"] == "8192"
    assert "content-encoding" not in full.headers
    plain = client.get("/log/tile/entries/000", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    assert plain.content == zipped.content
    refused = client.get("/log/tile/entries/000", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "content-encoding" not in refused.headers
    assert head.headers["cache-control"] == IMMUTABLE
    # An older checkpoint's partial tile (a prefix of today's) is still served.
    assert client.get("/log/tile/0/001.p/3").content == partial.content[: 3 * 32]


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/002.p/1",  # beyond the tree of 300
        "tile/0/001.p/45",  # wider than the tree has it
        "tile/0/001",  # not full yet
        "tile/entries/001",
        "tile/1/000",
        "tile/2/000.p/1",
        "tile/0/x000/001.p/44",  # malformed: not the canonical name
        "tile/0/1.p/44",
        "tile/0/001.p/044",
        "tile/64/000",
        "tile/entries",
        "tiles",
    ],
)
def test_what_is_not_a_tile_of_the_tree_is_404(client, path):
    _fill(client, 300)
    r = client.get(f"/log/{path}")
    assert r.status_code == 404, path
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/problems/not-found")


def test_an_empty_log_has_a_checkpoint_and_no_tiles(client):
    assert client.get("/log/tile/0/000.p/1").status_code == 404
    assert check_tiled_log(_fetch(client), log_key=LOG_SIGNER.verifier).size == 0


def test_the_whole_log_verifies_over_http(client):
    _fill(client, 70_000 // 100)
    report = check_tiled_log(_fetch(client), log_key=LOG_SIGNER.verifier)
    assert report.entries == 700 and report.bundles == 3


@pytest.mark.parametrize(
    ("table", "where", "named"),
    [
        ("ledger_tile", "level = 0 AND idx = 1", "tile/0/001"),
        ("ledger_tile", "level = 0 AND idx = 2", "tile/0/002.p/188"),  # a right-edge tile
        ("ledger_entry", "idx = 300", "tile/entries/001"),
    ],
)
def test_tampering_with_the_database_is_found_and_the_resource_named(client, table, where, named):
    _fill(client, 700)
    column = "hashes" if table == "ledger_tile" else "entry"
    engine = client.app.state.log.engine
    with engine.begin() as conn:
        (value,) = conn.execute(text(f"SELECT {column} FROM {table} WHERE {where}")).one()
        flipped = bytes([value[0] ^ 0x01]) + bytes(value[1:])
        conn.execute(text(f"UPDATE {table} SET {column} = :v WHERE {where}"), {"v": flipped})
    with pytest.raises(VerificationError, match=named.replace(".", r"\.")):
        check_tiled_log(_fetch(client), log_key=LOG_SIGNER.verifier)


def test_every_resource_of_the_tree_is_served(client):
    _fill(client, 513)
    for tile in tiles_for_size(513):
        assert client.get(f"/log/{format_tile_path(tile)}").status_code == 200


# --- the entry-size limit at capture -------------------------------------------------------------------


def test_an_entry_over_65535_bytes_is_413_naming_it_and_nothing_is_stored(client):
    log = client.app.state.log
    before = log.size
    big = base64.b64encode(b"x" * 65_536).decode()
    r = client.post("/events", json={"entry": big})
    assert r.status_code == 413
    body = r.json()
    assert body["type"].endswith("/problems/entry-too-large")
    assert body["field"] == "entry"
    assert "65536 bytes" in body["detail"] and "65535" in body["detail"]
    assert log.size == before
    # In a batch, that entry gets its own 413 problem, in its place; the others are judged as usual.
    r = client.post("/events/batch", json={"entries": [base64.b64encode(b"not an event").decode(), big]})
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert not first["ok"] and first["problem"]["status"] == 400
    assert not second["ok"] and second["problem"]["status"] == 413
    assert (
        second["problem"]["field"] == "entries[1]" and "entry 1 is 65536 bytes" in second["problem"]["detail"]
    )
    assert log.size == before
