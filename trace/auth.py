"""Party authentication for regulator-only reads: short-lived tokens signed with the party's own key.

The server keeps no passwords and no secrets: a token is a statement signed by one of the party's
registered Ed25519 keys, checked like an event's signature.

    token   = "ft2." ‖ party ‖ "." ‖ key_id ‖ "." ‖ expires ‖ "." ‖ base64url(signature)
    message = b"farmtrace/auth/v2\\n" ‖ origin ‖ "\\n" ‖ party ‖ "\\n" ‖ key_id ‖ "\\n" ‖ expires ‖ "\\n"

`origin` is the log origin of the service the token is for (FARMTRACE_LOG_ORIGIN, the name in its
checkpoints and at GET /ledger/key): it is signed but not carried, so a token made for one service
does not verify at another, which checks it against its own origin. `expires` is POSIX seconds; a
token is refused once expired, or if it claims more than MAX_LIFETIME ahead (plus CLOCK_SKEW for a
signer whose clock runs fast): a stolen token is good for minutes, not a day. The signature is
unpadded base64url of exactly 64 bytes, parsed strictly: any other spelling (padding, white space,
junk characters a lenient decoder would skip, non-zero trailing bits) is refused, so a token has
one spelling only.

Version 1 (`ft1`, no origin, up to 24 hours) is no longer accepted. `make_token` / `check_token`
are the pair.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .crypto import verify_ed25519
from .errors import Forbidden, SignatureRefused
from .model.ids import key_id_for
from .rules.view import PartyState, StateReader

__all__ = ["CLOCK_SKEW", "DEFAULT_LIFETIME", "MAX_LIFETIME", "check_token", "make_token"]

DEFAULT_LIFETIME = 10 * 60  # what a client signs for a few requests
MAX_LIFETIME = 60 * 60  # the longest a server accepts (the browser's sign-in session)
CLOCK_SKEW = 60  # seconds a signer's clock may run ahead of the server's
_PREFIX = "ft2"
_EXPIRES = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{86}")  # 64 bytes, unpadded base64url


def _message(origin: str, party: str, key_id: str, expires: int) -> bytes:
    return f"farmtrace/auth/v2\n{origin}\n{party}\n{key_id}\n{expires}\n".encode()


def _b64url(sig: bytes) -> str:
    return base64.urlsafe_b64encode(sig).decode().rstrip("=")


def make_token(party: str, private_key: Ed25519PrivateKey, *, origin: str, expires: int) -> str:
    """A token for `party` at the service whose log is `origin`, signed with `private_key`, valid
    until `expires` (POSIX seconds)."""
    if not origin or "\n" in origin:
        raise ValueError(f"a log origin is one non-empty line, found {origin!r}")
    key_id = key_id_for(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    sig = private_key.sign(_message(origin, party, key_id, expires))
    return ".".join([_PREFIX, party, key_id, str(expires), _b64url(sig)])


def _signature(text: str) -> bytes:
    """The 64 signature bytes of a token, or Forbidden for any spelling but the canonical one."""
    if _SIGNATURE.fullmatch(text):
        sig = base64.urlsafe_b64decode(text + "==")
        if _b64url(sig) == text:  # the last character's unused bits are zero
            return sig
    raise Forbidden("the token's signature is not 86 characters of unpadded base64url")


def check_token(
    token: str, view: StateReader, *, origin: str, now: datetime, role: str | None = None
) -> PartyState:
    """Return the authenticated party (with `role`, if given) for a token made for log `origin`;
    raise Forbidden otherwise."""
    parts = token.split(".") if isinstance(token, str) else []
    # ASCII digits only, and few of them: str.isdigit() would admit "²" and Arabic-Indic digits.
    if len(parts) != 5 or parts[0] != _PREFIX or not _EXPIRES.fullmatch(parts[3]):
        raise Forbidden("the credentials are not a farmtrace token (ft2.party.key.expires.signature)")
    _, party_id, key_id, expires_text, sig_text = parts
    sig = _signature(sig_text)
    expires = int(expires_text)
    t = int(now.timestamp())
    if expires <= t:
        raise Forbidden("the token has expired; sign a new one")
    if expires > t + MAX_LIFETIME + CLOCK_SKEW:
        raise Forbidden(f"a token may be valid for at most {MAX_LIFETIME // 60} minutes")
    party = view.party(party_id)
    key = party.keys.get(key_id) if party else None
    if party is None or key is None:
        raise Forbidden(f"party {party_id} has no registered key {key_id}")
    # A recorded revocation ends the key at once, whatever time it states (rules.check_event).
    if party.status != "active" or key.revoked_at is not None:
        raise Forbidden(f"party {party_id} or its key {key_id} is no longer active")
    try:
        verify_ed25519(key.public_key, sig, _message(origin, party_id, key_id, expires))
    except SignatureRefused as exc:
        raise Forbidden(
            f"the token's signature does not verify for this service (log {origin}); "
            "a token is good only at the service it was signed for"
        ) from exc
    if role is not None and role not in party.roles:
        raise Forbidden(f"this needs the {role} role; party {party_id} has {', '.join(sorted(party.roles))}")
    return party
