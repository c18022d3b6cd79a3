"""Party authentication for regulator-only reads: short-lived tokens signed with the party's own key.

The server keeps no passwords and no secrets: a token is a statement signed by one of the party's
registered Ed25519 keys, checked like an event's signature.

    token   = "ft1." ‖ party ‖ "." ‖ key_id ‖ "." ‖ expires ‖ "." ‖ base64url(signature)
    message = b"farmtrace/auth/v1\\n" ‖ party ‖ "\\n" ‖ key_id ‖ "\\n" ‖ expires ‖ "\\n"

`expires` is POSIX seconds; a token is refused once expired or if it claims more than
MAX_LIFETIME ahead. `make_token` / `check_token` are the pair.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import Forbidden
from .ids import key_id_for
from .rules import LotView, PartyState

__all__ = ["MAX_LIFETIME", "check_token", "make_token"]

MAX_LIFETIME = 24 * 3600
_PREFIX = "ft1"
_EXPIRES = re.compile(r"[0-9]{1,12}")


def _message(party: str, key_id: str, expires: int) -> bytes:
    return f"farmtrace/auth/v1\n{party}\n{key_id}\n{expires}\n".encode()


def make_token(party: str, private_key: Ed25519PrivateKey, *, expires: int) -> str:
    """A token for `party`, signed with `private_key`, valid until `expires` (POSIX seconds)."""
    key_id = key_id_for(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    sig = private_key.sign(_message(party, key_id, expires))
    return ".".join(
        [_PREFIX, party, key_id, str(expires), base64.urlsafe_b64encode(sig).decode().rstrip("=")]
    )


def check_token(token: str, view: LotView, *, now: datetime, role: str | None = None) -> PartyState:
    """Return the authenticated party (with `role`, if given); raise Forbidden otherwise."""
    parts = token.split(".") if isinstance(token, str) else []
    # ASCII digits only, and few of them: str.isdigit() would admit "²" and Arabic-Indic digits.
    if len(parts) != 5 or parts[0] != _PREFIX or not _EXPIRES.fullmatch(parts[3]):
        raise Forbidden("the credentials are not a farmtrace token (ft1.party.key.expires.signature)")
    _, party_id, key_id, expires_text, sig_text = parts
    expires = int(expires_text)
    t = int(now.timestamp())
    if expires <= t:
        raise Forbidden("the token has expired; sign a new one")
    if expires > t + MAX_LIFETIME:
        raise Forbidden(f"a token may be valid for at most {MAX_LIFETIME // 3600} hours")
    party = view.party(party_id)
    key = party.keys.get(key_id) if party else None
    if party is None or key is None:
        raise Forbidden(f"party {party_id} has no registered key {key_id}")
    if party.status != "active" or (key.revoked_at is not None and key.revoked_at <= now):
        raise Forbidden(f"party {party_id} or its key {key_id} is no longer active")
    try:
        sig = base64.urlsafe_b64decode(sig_text + "=" * (-len(sig_text) % 4))
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(sig, _message(party_id, key_id, expires))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise Forbidden("the token's signature does not verify") from exc
    if role is not None and role not in party.roles:
        raise Forbidden(f"this needs the {role} role; party {party_id} has {', '.join(sorted(party.roles))}")
    return party
