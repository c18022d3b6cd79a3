"""All 518 RFC 9162 / subtree proof vectors of transparency-dev/merkle (tests/vectors, copied from transparency-dev/merkle with its licence)."""

from __future__ import annotations

import base64
import json

import pytest

from farmtrace.ledger import merkle
from farmtrace.ledger.errors import LedgerError

from ..conftest import STANDARDS
from . import merkle_subtree as subtree

VECTORS = sorted((STANDARDS / "rfc9162-vectors").rglob("*.json"))


def _b(s: str) -> bytes:
    return base64.b64decode(s)


def _check(kind: str, d: dict) -> None:
    proof = [_b(p) for p in d["proof"] or []]
    if kind == "inclusion":
        merkle.check_inclusion(
            proof, index=d["leafIdx"], leaf=_b(d["leafHash"]), size=d["treeSize"], root=_b(d["root"])
        )
    elif kind == "consistency":
        merkle.check_consistency(
            proof, old_size=d["size1"], new_size=d["size2"], old_root=_b(d["root1"]), new_root=_b(d["root2"])
        )
    elif kind == "subtreeinclusion":
        subtree.check_subtree_inclusion(
            proof,
            index=d["leafIdx"],
            leaf=_b(d["leafHash"]),
            start=d["start"],
            end=d["end"],
            root=_b(d["root"]),
        )
    elif kind == "subtreeconsistency":
        subtree.check_subtree_consistency(
            proof,
            start=d["start"],
            end=d["end"],
            size=d["size"],
            subtree_root=_b(d["root1"]),
            root=_b(d["root2"]),
        )
    else:
        raise AssertionError(f"unknown vector kind {kind}")


def test_all_518_vectors_are_present():
    assert len(VECTORS) == 518


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: str(p.relative_to(STANDARDS / "rfc9162-vectors")))
def test_vector(path):
    kind = path.relative_to(STANDARDS / "rfc9162-vectors").parts[0]
    d = json.loads(path.read_text())
    if d["wantErr"]:
        with pytest.raises(LedgerError):
            _check(kind, d)
    else:
        _check(kind, d)
