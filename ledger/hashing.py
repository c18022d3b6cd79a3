"""RFC 9162 §2.1.1 hashing: SHA-256 with domain separation between leaves and interior nodes."""

from __future__ import annotations

import hashlib

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "leaf_hash", "node_hash"]

HASH_SIZE = 32

# RFC 9162 §2.1.1: MTH({}) = SHA-256() — the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF = hashlib.sha256(b"\x00")
_NODE = hashlib.sha256(b"\x01")


def leaf_hash(entry: bytes) -> bytes:
    """Return SHA-256(0x00 ‖ entry), the hash of a leaf (RFC 9162 §2.1.1)."""
    h = _LEAF.copy()
    h.update(entry)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 ‖ left ‖ right), the hash of an interior node (RFC 9162 §2.1.1)."""
    h = _NODE.copy()
    h.update(left)
    h.update(right)
    return h.digest()
