"""Pure Merkle-tree maths of RFC 9162 §2.1 over a HashReader.

A *node* `(level, n)` is the root of the complete subtree over leaves `[n·2^level, (n+1)·2^level)`;
level 0 nodes are leaf hashes. Storage answers for complete nodes only (`HashReader`), so every
proof needs O(log n) reads: a proof's siblings are ranges of the tree, and each range splits into
at most log₂ n complete nodes.

Verbs come in pairs:

    prove_inclusion / check_inclusion        RFC 9162 §2.1.3
    prove_consistency / check_consistency    RFC 9162 §2.1.4

`roots_from_consistency` is the verifier's walk on its own (the roots a consistency proof leads
to), for `ledger.verify`, which must tell a proof that fails from a proof that shows a fork. The
subtree proofs of draft-ietf-plants-merkle-tree-certs have no product user; they are kept beside
their tests (tests/ledger/merkle_subtree.py) until one needs them.

Checks return None or raise VerificationError (MalformedError for arguments that cannot describe a
tree). Sizes and indexes are limited to 2^63 - 1 (RFC 9162 tree sizes are uint64; we stay signed so
they fit a database BIGINT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .errors import MalformedError, VerificationError
from .hashing import EMPTY_ROOT, HASH_SIZE, node_hash

__all__ = [
    "MAX_SIZE",
    "HashReader",
    "Node",
    "check_consistency",
    "check_inclusion",
    "consistency_proof_size",
    "prove_consistency",
    "prove_inclusion",
    "prove_inclusions",
    "range_nodes",
    "roots_from_consistency",
    "tree_hash",
]

MAX_SIZE = 2**63 - 1

Node = tuple[int, int]  # (level, n)


class HashReader(Protocol):
    """Storage's one duty to the maths: the hashes of complete nodes, in the order asked.

    MUST return one 32-byte hash per node. MUST raise NotFoundError for a node the log does not
    (yet) have. Nodes are always complete subtrees of the tree the caller holds.
    """

    def read_hashes(self, nodes: Sequence[Node]) -> list[bytes]: ...


def _largest_power_of_two_below(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_SIZE:
        raise MalformedError(f"{name} must be an integer from 0 to 2^63-1, got {value!r}")


def _check_hash(name: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise MalformedError(f"{name} must be a {HASH_SIZE}-byte hash")


def _check_root(name: str, value: bytes) -> None:
    # Roots are only ever compared, so any bytes are accepted: a root of the wrong length simply
    # never matches (the RFC 9162 vectors use short placeholder roots where no hashing happens).
    if not isinstance(value, bytes | bytearray):
        raise MalformedError(f"{name} must be bytes")


def range_nodes(lo: int, hi: int) -> list[Node]:
    """Split leaves [lo, hi) into maximal complete nodes, left to right.

    For the ranges the proofs use (lo a multiple of a power of two >= hi - lo), folding these nodes
    from the right gives MTH(D[lo:hi]) exactly as RFC 9162 §2.1.1 defines it.
    """
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Combine a range's complete nodes (left to right) into the range's hash."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _read_ranges(ranges: Sequence[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """Hash every range [lo, hi) with one call to the reader."""
    plan = []
    for lo, hi in ranges:
        width = hi - lo
        if width & (width - 1) == 0 and lo % width == 0:  # a complete node (most ranges of a proof)
            plan.append([(width.bit_length() - 1, lo // width)])
        else:
            plan.append(range_nodes(lo, hi))
    flat = [node for nodes in plan for node in nodes]
    hashes = reader.read_hashes(flat) if flat else []
    out, at = [], 0
    for nodes in plan:
        n = len(nodes)
        out.append(hashes[at] if n == 1 else _fold(hashes[at : at + n]))
        at += n
    return out


def tree_hash(size: int, reader: HashReader) -> bytes:
    """Return MTH(D[0:size]), the root hash of the tree of the first `size` leaves."""
    _check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _read_ranges([(0, size)], reader)[0]


# --- inclusion, RFC 9162 §2.1.3 -------------------------------------------------------------------


def _sibling(fn: int, sn: int, level: int, n: int) -> tuple[int, int] | None:
    """The sibling range of node `fn` of `level` in a tree of n leaves whose last node there is `sn`.

    As the verifier of RFC 9162 §2.1.3.2 walks a path: a right child's sibling is the complete node
    to its left, a left child's is the node to its right (which may be the incomplete right edge),
    and the last node of a level has none there.
    """
    if fn & 1:
        return (fn - 1) << level, fn << level
    if fn < sn:
        end = (fn + 2) << level
        return (fn + 1) << level, end if end < n else n
    return None


def _path_ranges(index: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """The sibling ranges of PATH(m, D[lo:hi]) (RFC 9162 §2.1.3.1), leaf to root, walked bottom-up
    with integer steps (`_sibling`). `lo` is a multiple of BIT_CEIL(hi - lo), so the shape is that
    of a tree of hi - lo leaves."""
    ranges: list[tuple[int, int]] = []
    n = hi - lo
    fn, sn, level = index - lo, n - 1, 0
    while sn:
        r = _sibling(fn, sn, level, n)
        if r is not None:
            ranges.append((lo + r[0], lo + r[1]))
        fn >>= 1
        sn >>= 1
        level += 1
    return ranges


def prove_inclusion(index: int, size: int, reader: HashReader) -> list[bytes]:
    """Return the audit path for leaf `index` in the tree of `size` leaves, leaf to root."""
    _check_size("size", size)
    _check_size("index", index)
    if index >= size:
        raise MalformedError(f"index {index} is not in a tree of size {size}")
    return _read_ranges(_path_ranges(index, 0, size), reader)


def prove_inclusions(indexes: Sequence[int], size: int, reader: HashReader) -> list[list[bytes]]:
    """`prove_inclusion(i, size, reader)` for each index, visiting each node on the way up once.

    The path of a leaf is its sibling at the bottom followed by the path of its parent, so nearby
    leaves share the tails of their paths: a run of n consecutive leaves visits about 2n nodes and
    hashes about 2n sibling ranges, rather than n·log2(size). Siblings are found as `_path_ranges`
    finds them.
    """
    _check_size("size", size)
    for index in indexes:
        _check_size("index", index)
        if index >= size:
            raise MalformedError(f"index {index} is not in a tree of size {size}")
    # 1. Bottom-up: the sibling range of every node the paths pass through, level by level.
    siblings: list[dict[int, tuple[int, int] | None]] = []
    frontier, sn, level = set(indexes), size - 1, 0
    while sn:
        siblings.append({fn: _sibling(fn, sn, level, size) for fn in frontier})
        frontier = {fn >> 1 for fn in frontier}
        sn >>= 1
        level += 1
    ranges = list({r for here in siblings for r in here.values() if r is not None})
    hashes = dict(zip(ranges, _read_ranges(ranges, reader), strict=True))
    # 2. Top-down: a node's path is its sibling's hash, then its parent's path (the root's is empty).
    paths: dict[int, list[bytes]] = {fn: [] for fn in frontier}
    for here in reversed(siblings):
        paths = {fn: paths[fn >> 1] if r is None else [hashes[r], *paths[fn >> 1]] for fn, r in here.items()}
    return [list(paths[index]) for index in indexes]


def _root_from_inclusion(proof: Sequence[bytes], index: int, leaf: bytes, size: int) -> bytes:
    # RFC 9162 §2.1.3.2, steps numbered as there.
    if index >= size:
        raise VerificationError(f"index {index} is beyond the tree size {size}")
    fn, sn, r = index, size - 1, leaf  # 2.
    for p in proof:  # 3.
        if sn == 0:  # 3.1
            raise VerificationError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:  # 3.2
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:  # 3.3
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # 4.
        raise VerificationError("the inclusion proof is shorter than the tree is deep")
    return r


def check_inclusion(proof: Sequence[bytes], *, index: int, leaf: bytes, size: int, root: bytes) -> None:
    """Check that `leaf` is at `index` in the tree of `size` with `root`; return None or raise."""
    _check_size("size", size)
    _check_size("index", index)
    _check_hash("leaf", leaf)
    _check_root("root", root)
    for p in proof:
        _check_hash("proof hash", p)
    if _root_from_inclusion(proof, index, leaf, size) != root:
        raise VerificationError(f"inclusion proof for index {index} does not lead to the root of size {size}")


# --- consistency, RFC 9162 §2.1.4 -----------------------------------------------------------------


def _subproof_ranges(m: int, lo: int, hi: int, known: bool) -> list[tuple[int, int]]:
    """The ranges of SUBPROOF(m, D[lo:hi], b) (RFC 9162 §2.1.4.1), in proof order."""
    ranges: list[tuple[int, int]] = []
    while True:
        n = hi - lo
        if m == n:
            if not known:
                ranges.append((lo, hi))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, known = lo + k, m - k, False
    ranges.reverse()  # SUBPROOF appends the outer sibling after the inner proof
    return ranges


def prove_consistency(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """Return PROOF(old_size, D[new_size]): the tree of `old_size` is a prefix of `new_size`."""
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if not 0 < old_size <= new_size:
        raise MalformedError(
            f"a consistency proof needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    if old_size == new_size:
        return []
    return _read_ranges(_subproof_ranges(old_size, 0, new_size, True), reader)


def check_consistency(
    proof: Sequence[bytes], *, old_size: int, new_size: int, old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree (old_size, old_root) is a prefix of (new_size, new_root); None or raise."""
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    _check_root("old_root", old_root)
    _check_root("new_root", new_root)
    for p in proof:
        _check_hash("proof hash", p)
    # RFC 9162 §2.1.4.2, steps numbered as there.
    if old_size > new_size:
        raise VerificationError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise VerificationError("sizes are equal but the consistency proof is not empty")
        if old_root != new_root:
            raise VerificationError(f"two different roots for the same size {old_size}")
        return
    if not proof:  # 1.
        raise VerificationError("empty consistency proof for different sizes")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # 2.
        path.insert(0, old_root)
    fr, sr = roots_from_consistency(path, old_size=old_size, new_size=new_size)
    if fr != old_root:
        raise VerificationError(f"consistency proof does not lead to the old root of size {old_size}")
    if sr != new_root:
        raise VerificationError(f"consistency proof does not lead to the new root of size {new_size}")


def consistency_proof_size(old_size: int, new_size: int) -> int:
    """The number of hashes in PROOF(old_size, D[new_size]) (0 < old_size <= new_size)."""
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if not 0 < old_size <= new_size:
        raise MalformedError(
            f"a consistency proof needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    return 0 if old_size == new_size else len(_subproof_ranges(old_size, 0, new_size, True))


def roots_from_consistency(path: Sequence[bytes], *, old_size: int, new_size: int) -> tuple[bytes, bytes]:
    """Steps 3 to 7 of RFC 9162 §2.1.4.2: the (old, new) roots that a consistency path leads to.

    `path` is the proof as the verifier holds it after step 2: when `old_size` is a power of two,
    the hash of the old tree comes first (the RFC puts the old root there). Needs
    0 < old_size < new_size. Raises VerificationError if the path has the wrong length for the sizes.
    """
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if not 0 < old_size < new_size:
        raise VerificationError(f"no consistency path from size {old_size} to size {new_size}")
    if not path:
        raise VerificationError("empty consistency proof for different sizes")
    _check_root("the first hash of the path", path[0])  # may be the caller's old root, of any length
    for p in path[1:]:
        _check_hash("proof hash", p)
    fn, sn = old_size - 1, new_size - 1  # 3.
    while fn & 1:  # 4.
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:  # 6.1
            raise VerificationError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:  # 6.2
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:  # 6.3
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # 7.
        raise VerificationError("the consistency proof is shorter than the tree is deep")
    return fr, sr
