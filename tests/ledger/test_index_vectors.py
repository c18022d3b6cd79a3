"""The head index's test vectors (tests/ledger/vectors/index_v1.json, docs/index.md) against
ledger/verifiable_map.py and the format's own definitions.

The file is written by tests/ledger/index_vectors.py (`--regen`), never here: these tests only read
it, and one compares it with the script's output so that the two cannot drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import rfc8785

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.verifiable_map import (
    REASONS,
    MapProof,
    MapProofError,
    MemoryNodes,
    check_key,
    map_root,
    prove_key,
    update_map,
)
from farmtrace.trace.model.ids import check_party_id, is_valid_lot_code

from . import index_vectors

VECTORS = json.loads(index_vectors.PATH.read_text(encoding="utf-8"))
MAPS = VECTORS["maps"]
TRACE = VECTORS["trace"]


def _b(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text, validate=True)


def _verdict(root: bytes, case: dict) -> str | None:
    try:
        check_key(root, _b(case["key"]), _b(case["value_hash"]), MapProof.from_wire(case["proof"]))
    except MalformedError:
        return "map.malformed"
    except MapProofError as e:
        return e.reason
    return None


def test_the_file_is_what_its_script_writes():
    assert index_vectors.PATH.read_text(encoding="utf-8") == index_vectors.dumps(index_vectors.build()), (
        "run .venv/bin/python tests/ledger/index_vectors.py --regen, and say why in the commit"
    )


def test_the_vectors_cover_what_the_format_promises():
    assert sorted(len(m["items"]) for m in MAPS) == [0, 1, 2, 3, 20]
    keys = [_b(i["key"]) for m in MAPS for i in m["items"]]
    shared = [
        (a, b)
        for a in keys
        for b in keys
        if a < b and int.from_bytes(a, "big") ^ int.from_bytes(b, "big") == 1
    ]
    assert shared, "two keys sharing their first 255 bits"
    kinds = {c["name"] for m in MAPS for c in m["cases"]}
    assert kinds == {"present", "absent, empty", "absent, another key's leaf"}
    depths = {len(c["proof"]["siblings"]) for m in MAPS for c in m["cases"]}
    assert {0, 255, 256} <= depths  # a leaf at the root, an empty subtree beside the twins, the twins
    assert {c["reason"] for m in MAPS for c in m.get("refused", [])} == set(REASONS)


@pytest.mark.parametrize("vector", MAPS, ids=lambda m: m["name"])
def test_each_map_has_its_root_stored_or_not(vector):
    items = {_b(i["key"]): _b(i["value_hash"]) for i in vector["items"]}
    root = _b(vector["root"])
    assert map_root(items) == root
    one_by_one = MemoryNodes()
    for k in reversed(list(items)):
        update_map(one_by_one, {k: items[k]})
    at_once = MemoryNodes()
    assert update_map(at_once, items) == root
    assert one_by_one.nodes == at_once.nodes


@pytest.mark.parametrize("vector", MAPS, ids=lambda m: m["name"])
def test_each_proof_is_the_one_the_store_gives_and_checks(vector):
    items = {_b(i["key"]): _b(i["value_hash"]) for i in vector["items"]}
    store, root = MemoryNodes(), _b(vector["root"])
    update_map(store, items)
    for case in vector["cases"]:
        key = _b(case["key"])
        value, proof = prove_key(store, key)
        assert value == _b(case["value_hash"]) == items.get(key)
        assert proof.to_wire() == case["proof"]  # byte for byte: the wire form is canonical
        assert case["reason"] is None
        assert _verdict(root, case) is None
        want = (
            "present"
            if value is not None
            else "absent, another key's leaf"
            if proof.other
            else "absent, empty"
        )
        assert case["name"] == want


@pytest.mark.parametrize("vector", [m for m in MAPS if "refused" in m], ids=lambda m: m["name"])
def test_each_tampered_proof_is_refused_for_its_reason(vector):
    root = _b(vector["root"])
    for case in vector["refused"]:
        assert case["reason"] in REASONS, case["name"]
        assert _verdict(root, case) == case["reason"], case["name"]


# --- the trace level: keys, values and the index entry, from the spec's own words ------------------


def test_each_lot_leaf_is_the_specs():
    for leaf in TRACE["lots"]:
        value = leaf["value"]
        assert sorted(value) == ["count", "head", "lot"] and value["lot"] == leaf["lot"]
        assert is_valid_lot_code(value["lot"]) and len(value["head"]) == 64 and value["count"] >= 1
        want_key = hashlib.sha256(b"farmtrace/index/v1/lot\n" + value["lot"].encode()).digest()
        assert _b(leaf["map_key"]) == want_key
        assert leaf["value_bytes"].encode() == rfc8785.dumps(value)
        assert _b(leaf["value_hash"]) == hashlib.sha256(rfc8785.dumps(value)).digest()


def test_each_key_leaf_is_the_specs():
    revoked = 0
    for leaf in TRACE["keys"]:
        value = leaf["value"]
        public = _b(value["public_key"])
        assert value["key_id"] == leaf["key_id"] == hashlib.sha256(public).digest()[:8].hex()
        check_party_id(value["party"])
        assert set(value) - {"revoked", "revoked_at"} == {
            "key_id",
            "party",
            "public_key",
            "registered",
            "registered_at",
        }
        assert ("revoked" in value) == ("revoked_at" in value)
        if "revoked" in value:
            revoked += 1
            assert value["revoked"] > value["registered"]
        want_key = hashlib.sha256(b"farmtrace/index/v1/key\n" + value["key_id"].encode("ascii")).digest()
        assert _b(leaf["map_key"]) == want_key
        assert leaf["value_bytes"].encode() == rfc8785.dumps(value)
        assert _b(leaf["value_hash"]) == hashlib.sha256(rfc8785.dumps(value)).digest()
    assert revoked == 1 and len(TRACE["keys"]) == 2  # one active key, one revoked


def test_the_index_entry_commits_the_root_of_those_leaves():
    leaves = TRACE["lots"] + TRACE["keys"]
    root = map_root({_b(x["map_key"]): _b(x["value_hash"]) for x in leaves})
    assert _b(TRACE["root"]) == root
    entry = TRACE["index_entry"]
    body = {
        "keys": len(TRACE["keys"]),
        "lots": len(TRACE["lots"]),
        "root": TRACE["root"],
        "size": entry["size"],
        "time": entry["time"],
    }
    want = b"farmtrace/index/v1\n" + rfc8785.dumps(body) + b"\n"
    assert _b(entry["bytes"]) == want == entry["text"].encode()
    for case in TRACE["cases"]:
        assert _verdict(root, case) is None and case["reason"] is None
    absent = [c for c in TRACE["cases"] if c["value_hash"] is None]
    assert [c["lot"] for c in absent] == ["XF-NOT-INDEXED"]
    assert _b(absent[0]["key"]) == hashlib.sha256(b"farmtrace/index/v1/lot\nXF-NOT-INDEXED").digest()


def test_the_docs_example_is_the_vectors_entry():
    doc = (index_vectors.PATH.parents[3] / "docs" / "index.md").read_text(encoding="utf-8")
    assert "```text\n" + TRACE["index_entry"]["text"] + "```" in doc


def test_the_servers_codec_writes_and_reads_the_vectors_bytes():
    """trace/head_index.py (the server's side of the format) against the same vectors."""
    from farmtrace.trace import head_index

    for leaf in TRACE["lots"]:
        head = head_index.LotHead.parse(leaf["value_bytes"].encode())
        assert head.value() == leaf["value_bytes"].encode()
        assert head.map_key() == head_index.lot_map_key(leaf["lot"]) == _b(leaf["map_key"])
    for leaf in TRACE["keys"]:
        state = head_index.KeyState.parse(leaf["value_bytes"].encode())
        assert state.value() == leaf["value_bytes"].encode()
        assert state.map_key() == head_index.key_map_key(leaf["key_id"]) == _b(leaf["map_key"])
    entry = head_index.decode_index_entry(_b(TRACE["index_entry"]["bytes"]))
    assert (entry.size, entry.root, entry.lots, entry.keys) == (57, _b(TRACE["root"]), 2, 2)
    assert entry.time == TRACE["index_entry"]["time"]
    assert head_index.encode_index_entry(entry) == _b(TRACE["index_entry"]["bytes"])
    assert head_index.is_index_entry(_b(TRACE["index_entry"]["bytes"]))
