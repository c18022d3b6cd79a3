"""Subtree proofs of draft-ietf-plants-merkle-tree-certs §4 (Merkle Tree Certificates), over a HashReader.

Moved out of farmtrace.ledger.merkle: no product code proves or checks a subtree, and a draft's
code that nothing runs should not sit in the product (Tessera's "no speculative abstractions").
It stays here, beside its only users (test_merkle.py and the subtree vectors of test_vectors.py),
so that the day a feature needs it, it comes back tested. It builds on merkle's range machinery
(`_read_ranges`, `_path_ranges`), the same the RFC 9162 proofs use.

    prove_subtree_inclusion / check_subtree_inclusion      §4.3
    prove_subtree_consistency / check_subtree_consistency  §4.4
"""

from __future__ import annotations

from collections.abc import Sequence

from farmtrace.ledger.errors import MalformedError, VerificationError
from farmtrace.ledger.hashing import EMPTY_ROOT, node_hash
from farmtrace.ledger.merkle import (
    MAX_SIZE,
    HashReader,
    _check_hash,
    _check_root,
    _check_size,
    _largest_power_of_two_below,
    _path_ranges,
    _read_ranges,
    check_inclusion,
)

__all__ = [
    "check_subtree_consistency",
    "check_subtree_inclusion",
    "prove_subtree_consistency",
    "prove_subtree_inclusion",
    "valid_subtree",
]


def _bit_ceil(n: int) -> int:
    """The smallest power of two >= n (n >= 1)."""
    return 1 << (n - 1).bit_length()


def valid_subtree(start: int, end: int) -> bool:
    """Whether [start, end) is a subtree: non-empty, start a multiple of BIT_CEIL(end - start)."""
    return 0 <= start < end <= MAX_SIZE + 1 and start % _bit_ceil(end - start) == 0


def _check_subtree(start: int, end: int) -> None:
    _check_size("start", start)
    _check_size("end", end)
    if not valid_subtree(start, end):
        raise VerificationError(f"[{start}, {end}) is not a valid subtree")


def prove_subtree_inclusion(index: int, start: int, end: int, reader: HashReader) -> list[bytes]:
    """Return the path from leaf `index` to the root of subtree [start, end) (§4.3.1)."""
    _check_subtree(start, end)
    if not start <= index < end:
        raise MalformedError(f"index {index} is not in the subtree [{start}, {end})")
    return _read_ranges(_path_ranges(index, start, end), reader)


def check_subtree_inclusion(
    proof: Sequence[bytes], *, index: int, leaf: bytes, start: int, end: int, root: bytes
) -> None:
    """Check that `leaf` is at `index` in the subtree [start, end) whose hash is `root` (§4.3.3)."""
    _check_subtree(start, end)
    _check_size("index", index)
    if not start <= index < end:
        raise VerificationError(f"index {index} is not in the subtree [{start}, {end})")
    # A subtree is a Merkle tree of its own over D[start:end].
    check_inclusion(proof, index=index - start, leaf=leaf, size=end - start, root=root)


def _subtree_subproof_ranges(start: int, end: int, lo: int, hi: int, known: bool) -> list[tuple[int, int]]:
    """SUBTREE_SUBPROOF of §4.4.1 for [start, end) inside D[lo:hi], in proof order."""
    ranges: list[tuple[int, int]] = []
    while True:
        if start == lo and end == hi:
            if not known:
                ranges.append((lo, hi))
            break
        k = _largest_power_of_two_below(hi - lo)
        if end <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        elif lo + k <= start:
            ranges.append((lo, lo + k))
            lo = lo + k
        else:
            # start < lo+k < end: a valid subtree then starts at lo, and only its right part recurses.
            ranges.append((lo, lo + k))
            lo, start, known = lo + k, lo + k, False
    ranges.reverse()
    return ranges


def prove_subtree_consistency(start: int, end: int, size: int, reader: HashReader) -> list[bytes]:
    """Return the proof that subtree [start, end) is part of the tree of `size` (§4.4.1)."""
    _check_subtree(start, end)
    _check_size("size", size)
    if end > size:
        raise MalformedError(f"subtree [{start}, {end}) does not fit a tree of size {size}")
    return _read_ranges(_subtree_subproof_ranges(start, end, 0, size, True), reader)


def check_subtree_consistency(
    proof: Sequence[bytes], *, start: int, end: int, size: int, subtree_root: bytes, root: bytes
) -> None:
    """Check that subtree [start, end) with hash `subtree_root` is in the tree (size, root) (§4.4.3).

    The empty subtree [i, i) is in every tree of size >= i; its hash must be MTH({}) and its proof empty.
    """
    _check_size("size", size)
    if start == end and 0 <= start <= size:
        if proof:
            raise VerificationError("an empty subtree needs an empty consistency proof")
        if subtree_root != EMPTY_ROOT:
            raise VerificationError("the hash of an empty subtree must be the empty tree hash")
        return
    _check_subtree(start, end)
    _check_root("subtree_root", subtree_root)
    _check_root("root", root)
    for p in proof:
        _check_hash("proof hash", p)
    if end > size:
        raise VerificationError(f"subtree [{start}, {end}) is beyond the tree size {size}")
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        # The subtree's right edge is the tree's: climb to the subtree's root.
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if fn == sn:
        fr = sr = subtree_root
        rest = list(proof)
    else:
        if not proof:
            raise VerificationError("empty subtree consistency proof for a subtree that is not a node")
        fr = sr = proof[0]
        rest = list(proof[1:])
    for c in rest:
        if tn == 0:
            raise VerificationError("the subtree consistency proof is longer than the tree is deep")
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if tn != 0:
        raise VerificationError("the subtree consistency proof is shorter than the tree is deep")
    if fr != subtree_root:
        raise VerificationError(
            f"subtree consistency proof does not lead to the subtree root of [{start}, {end})"
        )
    if sr != root:
        raise VerificationError(f"subtree consistency proof does not lead to the root of size {size}")
