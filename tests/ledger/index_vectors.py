"""The head index's test vectors, format v1 (docs/index.md): tests/ledger/vectors/index_v1.json.

This script writes them; tests/ledger/test_index_vectors.py checks them against
ledger/verifiable_map.py and tests/web/test_js_vmap.py against web/static/vmap.js. Nothing
regenerates them silently: a test only compares this script's output with the file.

  .venv/bin/python tests/ledger/index_vectors.py           compare with the file (exit 1 if they differ)
  .venv/bin/python tests/ledger/index_vectors.py --regen   write the file

Every input is derived from fixed labels (SHA-256 of a text, an Ed25519 key from a fixed seed), so
the file is the same on every machine. The trace-level keys and values (a lot's, a signing key's)
and the index entry's bytes are written here from the spec itself (docs/index.md), with hashlib and
rfc8785, not with the trace code that keeps the index: the vectors are what that code must match.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.ledger.errors import MalformedError
from farmtrace.ledger.verifiable_map import (
    EMPTY,
    MapProof,
    MapProofError,
    MemoryNodes,
    check_key,
    map_root,
    prove_key,
    update_map,
)
from farmtrace.trace.model.ids import uscc_check_char

PATH = Path(__file__).resolve().parent / "vectors" / "index_v1.json"

__all__ = ["PATH", "b64", "build", "index_entry", "key_map_key", "lot_map_key", "verdict"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


# --- the map --------------------------------------------------------------------------------------

_TWIN = bytearray(sha("farmtrace/vectors/twin"))
_TWIN[31] &= 0xFE
TWINS = (bytes(_TWIN), bytes(_TWIN[:31]) + bytes([_TWIN[31] | 1]))  # they share their first 255 bits
_NEAR = bytearray(_TWIN)
_NEAR[31] ^= 0x02  # bit 254 flipped: shares 254 bits with the twins


def _keys(n: int) -> list[bytes]:
    return [sha(f"farmtrace/vectors/map-key/{i}") for i in range(n)]


def _value(key: bytes) -> bytes:
    return hashlib.sha256(b"farmtrace/vectors/value\n" + key).digest()


MAPS = {
    "empty": [],
    "one key": _keys(1),
    "two keys": _keys(2),
    "three keys, two sharing 255 bits": [*_keys(1), *TWINS],
    "twenty keys, two sharing 255 bits": [*_keys(18), *TWINS],
}


def verdict(root: bytes, key: bytes, value_hash: bytes | None, wire: object) -> str | None:
    """None if the wire proof checks, else the reason (ledger.verifiable_map.REASONS)."""
    try:
        check_key(root, key, value_hash, MapProof.from_wire(wire))
    except MalformedError:
        return "map.malformed"
    except MapProofError as e:
        return e.reason
    return None


def _case(name: str, key: bytes, value: bytes | None, wire: object, root: bytes) -> dict:
    return {
        "name": name,
        "key": b64(key),
        "value_hash": None if value is None else b64(value),
        "proof": wire,
        "reason": verdict(root, key, value, wire),
    }


def _absent_keys(store: MemoryNodes, keys: list[bytes]) -> list[bytes]:
    """Keys not in the map: two whose path ends at an empty subtree and two at another key's leaf
    (as many as the map allows), and, beside the twins, one that leaves them at bit 254."""
    found: dict[bool, list[bytes]] = {False: [], True: []}
    for i in range(400):
        k = sha(f"farmtrace/vectors/absent/{i}")
        _, proof = prove_key(store, k)
        if len(found[proof.other is not None]) < 2:
            found[proof.other is not None].append(k)
    near = [bytes(_NEAR)] if TWINS[0] in keys else []
    return found[False] + found[True] + near


def _tampered(root: bytes, present: tuple[bytes, bytes, dict], absent: tuple[bytes, dict]) -> list[dict]:
    """Proofs a checker must refuse, each with the reason it must give."""
    k, v, wire = present
    a, awire = absent
    s0 = base64.b64decode(wire["siblings"][0])
    flipped = b64(bytes([s0[0] ^ 0x80]) + s0[1:])
    other_key = base64.b64decode(awire["other"]["key"])
    off_path = bytearray(a)
    depth = len(awire["siblings"])
    off_path[(depth - 1) >> 3] ^= 1 << (7 - ((depth - 1) & 7))  # leaves the other leaf's subtree
    cases = [
        ("a sibling's first bit flipped", k, v, {**wire, "siblings": [flipped, *wire["siblings"][1:]]}),
        ("a level dropped", k, v, {**wire, "siblings": wire["siblings"][1:]}),
        ("a level added", k, v, {**wire, "siblings": [*wire["siblings"], None]}),
        ("another value", k, _value(b"another"), wire),
        ("the present key said absent", k, None, wire),
        ("a value claimed at another key's leaf", a, _value(a), awire),
        ("absence shown by the key's own leaf", other_key, None, awire),
        ("absence shown by a leaf off the key's path", bytes(off_path), None, awire),
        ("EMPTY spelled out instead of null", k, v, {**wire, "siblings": [*wire["siblings"], b64(EMPTY)]}),
        ("257 siblings", k, v, {**wire, "siblings": [None] * 257}),
        ("base64 with a non-zero unused bit", k, v, {**wire, "siblings": [wire["siblings"][0][:-2] + "B="]}),
        ("a member too many", k, v, {**wire, "depth": len(wire["siblings"])}),
        ("other without its value hash", a, None, {**awire, "other": {"key": awire["other"]["key"]}}),
    ]
    return [_case(name, key, value, w, root) for name, key, value, w in cases]


def _map_vector(name: str, keys: list[bytes]) -> dict:
    items = {k: _value(k) for k in keys}
    store = MemoryNodes()
    root = update_map(store, items)
    assert root == map_root(items)
    cases = []
    for k in sorted(keys) + _absent_keys(store, keys):
        value, proof = prove_key(store, k)
        kind = (
            "present"
            if value is not None
            else "absent, another key's leaf"
            if proof.other
            else "absent, empty"
        )
        cases.append(_case(kind, k, value, proof.to_wire(), root))
    out = {"name": name, "items": [{"key": b64(k), "value_hash": b64(v)} for k, v in sorted(items.items())]}
    out |= {"root": b64(root), "cases": cases}
    present = next((c for c in cases if c["name"] == "present" and c["proof"]["siblings"]), None)
    absent = next(
        (c for c in cases if c["name"] == "absent, another key's leaf" and c["proof"]["siblings"]), None
    )
    if present and absent:
        p = (base64.b64decode(present["key"]), base64.b64decode(present["value_hash"]), present["proof"])
        out["refused"] = _tampered(root, p, (base64.b64decode(absent["key"]), absent["proof"]))
    return out


# --- the trace level (docs/index.md, "Map keys and values") ---------------------------------------


def lot_map_key(code: str) -> bytes:
    return hashlib.sha256(b"farmtrace/index/v1/lot\n" + code.encode("utf-8")).digest()


def key_map_key(key_id: str) -> bytes:
    return hashlib.sha256(b"farmtrace/index/v1/key\n" + key_id.encode("ascii")).digest()


def index_entry(*, keys: int, lots: int, root: bytes, size: int, time: int) -> bytes:
    body = rfc8785.dumps({"keys": keys, "lots": lots, "root": b64(root), "size": size, "time": time})
    return b"farmtrace/index/v1\n" + body + b"\n"


ENTRY_TIME = 1795761000  # 2026-11-27T06:30:00Z: after the revocation the vectors' key state records


def _public_key(seed: str) -> bytes:
    private = Ed25519PrivateKey.from_private_bytes(sha(seed))
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _leaf(what: str, map_key: bytes, value: dict) -> dict:
    data = rfc8785.dumps(value)
    return {
        what: value[what if what == "lot" else "key_id"],
        "map_key": b64(map_key),
        "value": value,
        "value_bytes": data.decode("utf-8"),
        "value_hash": b64(hashlib.sha256(data).digest()),
    }


def _trace_vector() -> dict:
    lots = [
        {"count": 1, "head": sha("farmtrace/vectors/event/0").hex(), "lot": "XF-BAG-0001"},
        {"count": 7, "head": sha("farmtrace/vectors/event/1").hex(), "lot": "CN.GX-2026/07"},
    ]
    keys = []
    for i, (uscc17, registered, at, revoked) in enumerate(
        [
            ("91430100MA4L0003Y", 3, "2026-11-20T06:00:00+08:00", None),
            ("93430124MA4L0001X", 5, "2026-11-20T06:05:00+08:00", (41, "2026-11-21T09:30:00+08:00")),
        ]
    ):
        public = _public_key(f"farmtrace/vectors/signing-key/{i}")
        party = uscc17 + uscc_check_char(uscc17)  # a valid party id (18-character USCC)
        value = {
            "key_id": hashlib.sha256(public).digest()[:8].hex(),
            "party": party,
            "public_key": b64(public),
            "registered": registered,
            "registered_at": at,
        }
        if revoked is not None:
            value |= {"revoked": revoked[0], "revoked_at": revoked[1]}
        keys.append(value)
    lot_leaves = [_leaf("lot", lot_map_key(v["lot"]), v) for v in lots]
    key_leaves = [_leaf("key_id", key_map_key(v["key_id"]), v) for v in keys]
    items = {
        base64.b64decode(x["map_key"]): base64.b64decode(x["value_hash"]) for x in lot_leaves + key_leaves
    }
    root = map_root(items)
    entry = index_entry(keys=len(keys), lots=len(lots), root=root, size=57, time=ENTRY_TIME)
    store = MemoryNodes()
    update_map(store, items)
    proofs = []
    for x in lot_leaves + key_leaves:
        k = base64.b64decode(x["map_key"])
        value, proof = prove_key(store, k)
        proofs.append(_case("present", k, value, proof.to_wire(), root))
    absent = lot_map_key("XF-NOT-INDEXED")
    value, proof = prove_key(store, absent)
    proofs.append({"lot": "XF-NOT-INDEXED"} | _case("absent lot", absent, value, proof.to_wire(), root))
    return {
        "lots": lot_leaves,
        "keys": key_leaves,
        "root": b64(root),
        "index_entry": {"size": 57, "time": ENTRY_TIME, "text": entry.decode("utf-8"), "bytes": b64(entry)},
        "cases": proofs,
    }


def build() -> dict:
    """The whole vector file, as JSON."""
    return {
        "format": "farmtrace head index v1 (docs/index.md); every hash and key in standard base64",
        "generated_by": "tests/ledger/index_vectors.py",
        "maps": [_map_vector(name, keys) for name, keys in MAPS.items()],
        "trace": _trace_vector(),
    }


def dumps(vectors: dict) -> str:
    return json.dumps(vectors, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = dumps(build())
    if sys.argv[1:] == ["--regen"]:
        PATH.parent.mkdir(exist_ok=True)
        PATH.write_text(text, encoding="utf-8")
        print(f"wrote {PATH}")
    elif PATH.is_file() and PATH.read_text(encoding="utf-8") == text:
        print(f"{PATH} is what this script writes")
    else:
        print(f"{PATH} differs from what this script writes (--regen to write it)")
        sys.exit(1)
