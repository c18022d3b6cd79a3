"""trace/crypto.py: the one Ed25519 verification of the trace floor, and its key cache."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from farmtrace.trace import crypto
from farmtrace.trace.crypto import verify_ed25519
from farmtrace.trace.errors import SignatureRefused

# RFC 8032 §7.1, TEST 2: one-byte message 0x72.
PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
MESSAGE = b"\x72"


def test_rfc8032_vector_verifies() -> None:
    assert verify_ed25519(PUBLIC, SIGNATURE, MESSAGE) is None


@pytest.mark.parametrize(
    ("public", "signature", "message"),
    [
        (PUBLIC, SIGNATURE, b"\x73"),  # another message
        (PUBLIC, bytes([SIGNATURE[0] ^ 1]) + SIGNATURE[1:], MESSAGE),  # a flipped bit
        (PUBLIC, SIGNATURE[:63], MESSAGE),  # a short signature
        (PUBLIC, b"", MESSAGE),
        (b"\x01" * 32, SIGNATURE, MESSAGE),  # another key
        (PUBLIC[:31], SIGNATURE, MESSAGE),  # not a key at all
    ],
)
def test_anything_else_is_refused(public: bytes, signature: bytes, message: bytes) -> None:
    with pytest.raises(SignatureRefused):
        verify_ed25519(public, signature, message)


def test_the_key_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "KEY_CACHE_SIZE", 3)
    monkeypatch.setattr(crypto, "_keys", {})
    for i in range(10):
        private = Ed25519PrivateKey.from_private_bytes(bytes([i + 1]) * 32)
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        verify_ed25519(public, private.sign(b"m"), b"m")
        assert len(crypto._keys) <= 3
    # A cached key still refuses another message.
    with pytest.raises(SignatureRefused):
        verify_ed25519(public, private.sign(b"m"), b"n")
