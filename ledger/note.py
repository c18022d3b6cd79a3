"""C2SP signed notes with Ed25519 keys, and C2SP tlog-cosignature witness cosignatures.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:

    <text, ending in \\n>
    \\n
    — <name> <base64(key ID ‖ signature)>\\n      (the dash is U+2014, then one space)

Key strings (c2sp.org/signed-note, as golang.org/x/mod/sumdb/note writes them):

    verifier key   <name>+<hex key ID>+<base64(type ‖ public key)>
    signer key     PRIVATE+KEY+<name>+<hex key ID>+<base64(type ‖ seed)>

The key ID is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key). Type 0x01 is an Ed25519
signature over the note text; type 0x04 is a cosignature/v1 (c2sp.org/tlog-cosignature), an Ed25519
signature over

    cosignature/v1\\n
    time <decimal POSIX seconds>\\n
    <checkpoint text>

carried as 8-byte big-endian timestamp ‖ 64-byte signature.

`sign_note` / `open_note` are the pair; `open_note` verifies every signature it has a key for and
keeps the others as unverified, like Go's note.Open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import MalformedError, VerificationError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "cosigned_at",
    "decode_b64",
    "key_id",
    "open_note",
    "parse_signature_line",
    "sign_note",
    "signed_by",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
MAX_NOTE_SIZE = 1_000_000  # as Go's note.Open
MAX_SIGNATURES = 100
_DASH = "\u2014 "


def key_id(name: str, key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name ‖ 0x0A ‖ key), key being type ‖ public key."""
    return hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]


def _check_utf8(text: str, what: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError as exc:  # lone surrogates cannot be UTF-8
        raise MalformedError(f"{what} is not valid UTF-8") from exc


def _check_name(name: str) -> None:
    # c2sp.org/signed-note: a key name is non-empty UTF-8, has no Unicode spaces and no plus sign.
    if not isinstance(name, str) or not name or "+" in name or any(ch.isspace() for ch in name):
        raise MalformedError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
    _check_utf8(name, "a key name")


def decode_b64(text: str, what: str) -> bytes:
    """Strict standard base64 (canonical, padded); MalformedError naming `what` otherwise."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise MalformedError(f"{what} is not canonical base64")
    return raw


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 note verifier: a key name, its key ID and public key. Build it with a named constructor."""

    name: str
    key_id: bytes
    public_key: bytes
    alg: int = ALG_ED25519

    @classmethod
    def from_key_string(cls, vkey: str) -> Verifier:
        """Parse `name+hexid+base64(type ‖ key)`; the ID must match the key and the type must fit the class."""
        if not isinstance(vkey, str):
            raise MalformedError("a verifier key must be a string")
        name, sep1, rest = vkey.partition("+")
        hex_id, sep2, b64 = rest.partition("+")
        if not (sep1 and sep2):
            raise MalformedError("a verifier key reads name+keyid+base64key")
        _check_name(name)
        if len(hex_id) != 8 or hex_id != hex_id.lower() or not all(c in "0123456789abcdef" for c in hex_id):
            raise MalformedError("the key ID of a verifier key must be 8 lowercase hex digits")
        key = decode_b64(b64, "the verifier key")
        if len(key) != 33 or key[0] != cls.alg:
            raise MalformedError(f"a {cls.__name__} key is type {cls.alg:#04x} and 32 bytes long")
        if key_id(name, key) != bytes.fromhex(hex_id):
            raise MalformedError("the key ID does not match the verifier key")
        return cls(name=name, key_id=bytes.fromhex(hex_id), public_key=key[1:])

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Verifier:
        _check_name(name)
        if len(public_key) != 32:
            raise MalformedError("an Ed25519 public key is 32 bytes")
        return cls(
            name=name, key_id=key_id(name, bytes([cls.alg]) + public_key), public_key=bytes(public_key)
        )

    def key_string(self) -> str:
        """The verifier key in its text form; parses back to an equal Verifier."""
        raw = bytes([self.alg]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    def verify(self, message: bytes, signature: bytes) -> None:
        """Return None if `signature` signs `message` under this key; raise VerificationError otherwise."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature as exc:
            raise VerificationError(f"the signature of {self.name} does not verify") from exc

    def verify_note_signature(self, text: str, signature: bytes) -> None:
        """Verify a signature line's payload for note `text`."""
        self.verify(text.encode(), signature)


class Signer:
    """An Ed25519 note signer. Build it with `generate` or `from_key_string`; never serialised by accident."""

    alg = ALG_ED25519
    verifier_class: type[Verifier] = Verifier

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_name(name)
        self._key = private_key
        self.verifier = self.verifier_class.from_public_key(name, _raw_public(private_key.public_key()))
        self.name = name
        self.key_id = self.verifier.key_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, key_id={self.key_id.hex()})"

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        if len(seed) != 32:
            raise MalformedError("an Ed25519 seed is 32 bytes")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_key_string(cls, skey: str) -> Signer:
        """Parse `PRIVATE+KEY+name+hexid+base64(type ‖ seed)`; the ID must match the derived public key."""
        prefix = "PRIVATE+KEY+"
        if not isinstance(skey, str) or not skey.startswith(prefix):
            raise MalformedError("a signer key starts with PRIVATE+KEY+")
        name, sep1, rest = skey[len(prefix) :].partition("+")
        hex_id, sep2, b64 = rest.partition("+")
        if not (sep1 and sep2):
            raise MalformedError("a signer key reads PRIVATE+KEY+name+keyid+base64key")
        raw = decode_b64(b64, "the signer key")
        if len(raw) != 33 or raw[0] != cls.alg:
            raise MalformedError(f"a {cls.__name__} key is type {cls.alg:#04x} and 32 bytes long")
        signer = cls.from_seed(name, raw[1:])
        if signer.key_id.hex() != hex_id:
            raise MalformedError("the key ID does not match the signer key")
        return signer

    def key_string(self) -> str:
        """The private key in its text form. Treat the result as a secret."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.alg]) + seed).decode()}"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def sign_note_text(self, text: str) -> bytes:
        """The signature payload (without key ID) for note `text`."""
        return self.sign(text.encode())


def _cosigned_message(text: str, timestamp: int) -> bytes:
    # c2sp.org/tlog-cosignature: the signed message is a header, a time line, then the checkpoint.
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


class CosignatureVerifier(Verifier):
    """A witness's cosignature/v1 verifier (key type 0x04)."""

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, key_id: bytes, public_key: bytes, alg: int = ALG_COSIGNATURE_V1) -> None:
        super().__init__(name=name, key_id=key_id, public_key=public_key, alg=ALG_COSIGNATURE_V1)

    def verify_note_signature(self, text: str, signature: bytes) -> None:
        if len(signature) != 8 + 64:
            raise VerificationError(f"the cosignature of {self.name} is not 72 bytes")
        (timestamp,) = struct.unpack(">Q", signature[:8])
        self.verify(_cosigned_message(text, timestamp), signature[8:])

    @staticmethod
    def timestamp(signature: bytes) -> int:
        """The time (POSIX seconds) a cosignature payload states."""
        return struct.unpack(">Q", signature[:8])[0]


class CosignatureSigner(Signer):
    """A witness's cosignature/v1 signer; the time of cosigning is an explicit argument."""

    alg = ALG_COSIGNATURE_V1
    verifier_class = CosignatureVerifier

    def __init__(self, name: str, private_key: Ed25519PrivateKey, *, timestamp: int | None = None) -> None:
        super().__init__(name, private_key)
        self.timestamp = timestamp

    def at_time(self, timestamp: int) -> CosignatureSigner:
        """This signer, cosigning at `timestamp` (POSIX seconds, 0 to 2^63-1 per c2sp.org/tlog-cosignature)."""
        if not isinstance(timestamp, int) or not 0 <= timestamp <= 2**63 - 1:
            raise MalformedError(f"a cosignature time is from 0 to 2^63-1 seconds, got {timestamp!r}")
        return CosignatureSigner(self.name, self._key, timestamp=timestamp)

    def sign_note_text(self, text: str) -> bytes:
        if self.timestamp is None:
            raise MalformedError("a cosignature needs a time: use signer.at_time(seconds)")
        return struct.pack(">Q", self.timestamp) + self.sign(_cosigned_message(text, self.timestamp))


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the signer's name, key ID and signature payload."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified by a known key, and the others."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()
    unverified: tuple[NoteSignature, ...] = field(default=())


def _check_text(text: str) -> None:
    # c2sp.org/signed-note: non-empty UTF-8 ending in a newline; it MAY contain empty lines (the
    # signatures start after the *last* blank line); no control characters but newline.
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedError("a note's text must end with a newline")
    if text.startswith("\n"):
        raise MalformedError("a note's first line must not be empty")
    _check_utf8(text, "a note")
    if any(ch < " " and ch != "\n" for ch in text):
        raise MalformedError("a note must not contain control characters")


def sign_note(text: str, *signers: Signer, existing: Iterable[NoteSignature] = ()) -> str:
    """Return `text` signed by each signer, then any `existing` signature lines from other keys."""
    _check_text(text)
    if not signers and not existing:
        raise MalformedError("signing a note needs at least one signer")
    lines, seen = [], set()
    for s in signers:
        if (s.name, s.key_id) in seen:
            raise MalformedError(f"{s.name} is listed twice among the signers")
        lines.append(NoteSignature(s.name, s.key_id, s.sign_note_text(text)).line())
        seen.add((s.name, s.key_id))
    for sig in existing:
        if (sig.name, sig.key_id) not in seen:
            lines.append(sig.line())
            seen.add((sig.name, sig.key_id))
    return text + "\n" + "".join(lines)


def _parse_signatures(block: str) -> list[NoteSignature]:
    if not block.endswith("\n"):
        raise MalformedError("a note's signature block must end with a newline")
    out = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise MalformedError("a signature line starts with an em dash and a space")
        name, sep, b64 = line[len(_DASH) :].partition(" ")
        if not sep or " " in b64:
            raise MalformedError("a signature line reads '— name base64'")
        _check_name(name)
        raw = decode_b64(b64, "a signature")
        if len(raw) < 5:
            raise MalformedError("a signature is a 4-byte key ID and at least one byte")
        out.append(NoteSignature(name, raw[:4], raw[4:]))
    if len(out) > MAX_SIGNATURES:
        raise MalformedError(f"a note has at most {MAX_SIGNATURES} signatures")
    return out


def parse_signature_line(line: str) -> NoteSignature:
    """One signature line ("— name base64", with or without its newline), unverified.
    Raises MalformedError if it is not one."""
    (sig,) = _parse_signatures(line if line.endswith("\n") else line + "\n")
    return sig


def signed_by(line: str, verifier: Verifier) -> bool:
    """Whether the signature `line` names `verifier` (its name and key ID); the signature is not checked."""
    try:
        sig = parse_signature_line(line)
    except MalformedError:
        return False
    return (sig.name, sig.key_id) == (verifier.name, verifier.key_id)


def cosigned_at(line: str) -> int:
    """The time (POSIX seconds) a cosignature/v1 line states; 0 if it cannot be read as one."""
    try:
        sig = parse_signature_line(line)
    except MalformedError:
        return 0
    return CosignatureVerifier.timestamp(sig.signature) if len(sig.signature) >= 8 else 0


def open_note(message: str | bytes, verifiers: Sequence[Verifier]) -> Note:
    """Open a signed note: every signature by a known key must verify, and at least one must.

    Raises MalformedError for a note that does not parse, VerificationError for a bad signature by a
    known key or a note no known key signed. An empty list of verifiers is refused.
    """
    if not verifiers:
        raise MalformedError("opening a note needs at least one trusted verifier key")
    if isinstance(message, bytes):
        if len(message) > MAX_NOTE_SIZE:
            raise MalformedError("the note is too large")
        try:
            message = message.decode()
        except UnicodeDecodeError as exc:
            raise MalformedError("a note must be UTF-8") from exc
    _check_utf8(message, "a note")
    if len(message.encode()) > MAX_NOTE_SIZE:
        raise MalformedError("the note is too large")
    split = message.rfind("\n\n")
    if split < 0:
        raise MalformedError("a signed note has a blank line between text and signatures")
    text, block = message[: split + 1], message[split + 2 :]
    _check_text(message)  # the whole note: UTF-8, no control characters (signature lines too)
    _check_text(text)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    for sig in _parse_signatures(block):
        v = known.get((sig.name, sig.key_id))
        if v is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        v.verify_note_signature(text, sig.signature)
        if any(s.name == sig.name and s.key_id == sig.key_id for s in verified):
            raise VerificationError(f"{sig.name} signed the note twice")
        verified.append(sig)
    if not verified:
        raise VerificationError("no trusted key signed the note")
    return Note(text=text, signatures=tuple(verified), unverified=tuple(unverified))
