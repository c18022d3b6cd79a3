"""An independent, deliberately naive RFC 9162 tree for tests: recursion straight from §2.1."""

from __future__ import annotations

import hashlib


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1, computed from the leaf *hashes* by recursion."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def leaves_for(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + f"entry {i}".encode()).digest() for i in range(n)]


class ListReader:
    """A HashReader over a list of leaf hashes, computing every node naively."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.reads = 0

    def read_hashes(self, nodes):
        self.reads += 1
        return [mth(self.leaves[n << level : (n + 1) << level]) for level, n in nodes]


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, by its recursion, leaf to root."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]
