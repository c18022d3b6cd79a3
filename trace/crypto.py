"""Ed25519 signature verification for the trace floor: the one place it calls the primitive.

Every signature the domain checks (events, proofs of possession, sign-in tokens, journeys, bulk
ingest's worker processes) goes through `verify_ed25519`, which returns None or raises
`SignatureRefused`. Callers that owe their caller another error (`Forbidden` for a token) or a
verdict (bulk ingest, the journey checker) catch it and say so in their own words. The ledger
floor verifies its signed notes itself (`ledger/note.py`): it cannot import trace.

Decoding a public key costs about as much as a verification, and a party signs many events with one
key, so decoded keys are kept, per process, in a small bounded cache.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import SignatureRefused

__all__ = ["KEY_CACHE_SIZE", "verify_ed25519"]

KEY_CACHE_SIZE = 10_000  # decoded keys kept per process; cleared whole when full
_keys: dict[bytes, Ed25519PublicKey] = {}


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Check the RFC 8032 Ed25519 `signature` over `message` by `public_key` (32 raw bytes).

    Returns None, or raises SignatureRefused if the key is not a valid Ed25519 public key or the
    signature (of any length) does not verify.
    """
    key = _keys.get(public_key)
    if key is None:
        try:
            key = Ed25519PublicKey.from_public_bytes(public_key)
        except (ValueError, TypeError) as exc:
            raise SignatureRefused("the public key is not a valid 32-byte Ed25519 key") from exc
        if len(_keys) >= KEY_CACHE_SIZE:
            _keys.clear()
        _keys[public_key] = key
    try:
        key.verify(signature, message)
    except (InvalidSignature, TypeError) as exc:
        raise SignatureRefused("the Ed25519 signature does not verify") from exc
