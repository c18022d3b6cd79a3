"""Web Push's two pieces of cryptography: the message (RFC 8291) and the sender's identity (RFC 8292).

    VapidKey.generate() / VapidKey.from_pem(pem) / VapidKey.load_or_create(path)
    VapidKey.public_key            the 65-byte uncompressed P-256 point (the browser's applicationServerKey)
    VapidKey.authorization(endpoint, *, sub, at)  -> the Authorization header: `vapid t=<JWT>, k=<key>`
    encrypt_message(plaintext, *, p256dh, auth, salt=None, sender=None) -> the aes128gcm body
    check_p256dh(text) / check_auth(text)          the subscription's keys, parsed; raise InvalidEvent
    b64url / unb64url                               unpadded base64url, as Web Push writes every key

The message (RFC 8291 §3, over RFC 8188's aes128gcm): an ephemeral P-256 key pair of the sender's,
agreed with the subscription's `p256dh` key (ECDH), mixed with its 16-byte `auth` secret:

    PRK_key = HMAC-SHA-256(auth, ecdh_secret)
    IKM     = HMAC-SHA-256(PRK_key, "WebPush: info" || 0x00 || ua_public || as_public || 0x01)
    PRK     = HMAC-SHA-256(salt, IKM)
    CEK     = HMAC-SHA-256(PRK, "Content-Encoding: aes128gcm" || 0x00 || 0x01)[:16]
    NONCE   = HMAC-SHA-256(PRK, "Content-Encoding: nonce" || 0x00 || 0x01)[:12]
    body    = salt (16) || rs (uint32, 4096) || idlen (65) || as_public || AES-128-GCM(CEK, NONCE, plaintext || 0x02)

One record (RFC 8291 §4: a push message fits in 4096 bytes), the last, so its delimiter is 0x02.
tests/api/test_watch_crypto.py checks it against RFC 8291 Appendix A byte for byte and against
http_ece, an independent implementation.

VAPID (RFC 8292 §2): a JWT signed with ES256 by the platform's own P-256 key, whose claims are the
push service's origin (`aud`), an expiry at most 24 hours ahead (`exp`) and a contact (`sub`, a
mailto: or https: URI); sent as `Authorization: vapid t=<JWT>, k=<public key>` (§3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import InvalidEvent

__all__ = [
    "MAX_PLAINTEXT",
    "RECORD_SIZE",
    "VapidKey",
    "b64url",
    "check_auth",
    "check_p256dh",
    "encrypt_message",
    "unb64url",
]

RECORD_SIZE = 4096  # RFC 8291 §4: push services must accept at least 4096 bytes of payload
MAX_PLAINTEXT = RECORD_SIZE - 16 - 4 - 1 - 65 - 16 - 1  # header (86), GCM tag (16), delimiter (1): 3993
JWT_LIFETIME = 12 * 3600  # seconds; RFC 8292 §2: no more than 24 hours


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 §5), as Web Push writes keys and JWTs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes of unpadded (or padded) base64url text. Raises ValueError for anything else."""
    if not isinstance(text, str) or not text.isascii() or any(c in text for c in "+/ \n"):
        raise ValueError("expected base64url text")
    stripped = text.rstrip("=")
    data = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    if b64url(data) != stripped:  # canonical: no stray bits in the last character
        raise ValueError("not canonical base64url")
    return data


def _public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def check_p256dh(text: object) -> bytes:
    """The subscription's `p256dh` key: base64url of an uncompressed P-256 point (65 bytes, 0x04 first)
    that is on the curve. Returns the 65 bytes; raises InvalidEvent naming `subscription.keys.p256dh`."""
    field = "subscription.keys.p256dh"
    try:
        raw = unb64url(text)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidEvent(field, "expected base64url of an uncompressed P-256 point") from exc
    if len(raw) != 65 or raw[0] != 4:
        raise InvalidEvent(field, f"expected a 65-byte uncompressed P-256 point, found {len(raw)} bytes")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidEvent(field, "the point is not on the P-256 curve") from exc
    return raw


def check_auth(text: object) -> bytes:
    """The subscription's `auth` secret: base64url of 16 bytes (RFC 8291 §3.2). Raises InvalidEvent."""
    field = "subscription.keys.auth"
    try:
        raw = unb64url(text)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidEvent(field, "expected base64url of a 16-byte secret") from exc
    if len(raw) != 16:
        raise InvalidEvent(field, f"expected a 16-byte secret, found {len(raw)} bytes")
    return raw


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def encrypt_message(
    plaintext: bytes,
    *,
    p256dh: bytes,
    auth: bytes,
    salt: bytes | None = None,
    sender: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The aes128gcm body of a push message to the subscription with keys `p256dh` (65 bytes) and
    `auth` (16 bytes), by the steps in the module docstring. `salt` and `sender` (the ephemeral key)
    are fresh and random unless given (the RFC's test vector gives them). Raises ValueError for a
    plaintext over MAX_PLAINTEXT bytes or a `p256dh` that is no P-256 point."""
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"a push message holds at most {MAX_PLAINTEXT} bytes, found {len(plaintext)}")
    if len(auth) != 16:
        raise ValueError(f"the auth secret is 16 bytes, found {len(auth)}")
    salt = os.urandom(16) if salt is None else salt
    sender = ec.generate_private_key(ec.SECP256R1()) if sender is None else sender
    ua_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    as_public = _public_point(sender.public_key())
    try:
        ecdh_secret = sender.exchange(ec.ECDH(), ua_key)
    except InvalidKey as exc:  # pragma: no cover - from_encoded_point has checked the point
        raise ValueError("the subscription's key cannot be agreed with") from exc
    # 1. RFC 8291 §3.3-3.4: the input keying material from the ECDH secret and the auth secret.
    prk_key = _hmac(auth, ecdh_secret)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + p256dh + as_public + b"\x01")
    # 2. RFC 8188 §2.2-2.3: the content encryption key and nonce from the salt.
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    # 3. RFC 8188 §2: one record, the last (delimiter 0x02, no padding), after the header.
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    header = salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_public)]) + as_public
    return header + ciphertext


@dataclass(frozen=True)
class VapidKey:
    """The platform's P-256 key pair that identifies it to push services (RFC 8292)."""

    private: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> VapidKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes) -> VapidKey:
        """The key in PKCS#8 PEM (as `to_pem` writes it). Raises ValueError for anything but a P-256 key."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("a VAPID key is a P-256 private key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> VapidKey:
        """The key kept in `path`; made there first (mode 0600) if there is none. Two processes starting
        at once agree: the new key is written to a file of its own and linked into place, which fails
        for the second (it then reads the first's). Raises ValueError for a file holding no P-256 key."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(cls.generate().to_pem())
            try:
                os.link(fresh, path)
            except FileExistsError:
                pass  # another process made it first: read its key
            finally:
                fresh.unlink()
        return cls.from_pem(path.read_bytes())

    def to_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_key(self) -> bytes:
        """The 65-byte uncompressed point: the browser's `applicationServerKey`, and VAPID's `k`."""
        return _public_point(self.private.public_key())

    def jwt(self, *, aud: str, sub: str, exp: int) -> str:
        """An ES256-signed JWT with claims `aud`, `exp` (POSIX seconds) and `sub` (RFC 8292 §2)."""
        header = b64url(b'{"typ":"JWT","alg":"ES256"}')
        claims = b64url(json.dumps({"aud": aud, "exp": exp, "sub": sub}, separators=(",", ":")).encode())
        signing_input = f"{header}.{claims}".encode("ascii")
        r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        # RFC 7518 §3.4: ES256's signature is R || S, 32 bytes each, not DER.
        return f"{header}.{claims}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def authorization(self, endpoint: str, *, sub: str, at: datetime) -> str:
        """The Authorization header for a POST to `endpoint` at time `at` (RFC 8292 §3): the JWT's
        audience is the endpoint's origin, and it expires JWT_LIFETIME seconds after `at`."""
        parts = urlsplit(endpoint)
        aud = f"{parts.scheme}://{parts.netloc}"
        token = self.jwt(aud=aud, sub=sub, exp=int(at.timestamp()) + JWT_LIFETIME)
        return f"vapid t={token}, k={b64url(self.public_key)}"
