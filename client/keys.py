"""A party's Ed25519 signing key, kept in a JSON file readable only by its owner."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from farmtrace.trace.auth import DEFAULT_LIFETIME, make_token
from farmtrace.trace.clock import utc_now
from farmtrace.trace.model.encoding import encode_entry, encode_event, signing_message
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.ids import check_party_id, key_id_for

__all__ = ["PartyKey"]

KEY_FILE_FORMAT = "farmtrace-party-key/v1"
DEFAULT_ORIGIN = "farmtrace.local/log"  # FARMTRACE_LOG_ORIGIN's default (api/settings.py)


class PartyKey:
    """One party's signing key. Build it with `generate`, `from_seed` or `load`."""

    def __init__(self, party: str, private_key: Ed25519PrivateKey) -> None:
        check_party_id(party, field="party")
        self.party = party
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id_for(self.public_key)

    def __repr__(self) -> str:
        return f"PartyKey(party={self.party!r}, key_id={self.key_id!r})"

    @classmethod
    def generate(cls, party: str) -> PartyKey:
        return cls(party, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, party: str, seed: bytes) -> PartyKey:
        return cls(party, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def load(cls, path: str | Path) -> PartyKey:
        doc = json.loads(Path(path).read_text())
        if doc.get("format") != KEY_FILE_FORMAT:
            raise ValueError(f"{path} is not a {KEY_FILE_FORMAT} file")
        key = cls.from_seed(doc["party"], base64.b64decode(doc["seed"]))
        if key.key_id != doc["key_id"]:
            raise ValueError(f"{path}: the key id does not match the key")
        return key

    def save(self, path: str | Path) -> None:
        """Write the key to a new file with mode 0600 (never overwrites)."""
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        doc = {
            "format": KEY_FILE_FORMAT,
            "party": self.party,
            "key_id": self.key_id,
            "seed": base64.b64encode(seed).decode(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
            f.write("\n")

    def public_record_key(self) -> dict[str, str]:
        """This key as a PartyRecord lists it."""
        return {"key_id": self.key_id, "public_key": base64.b64encode(self.public_key).decode()}

    def sign(self, wire: dict[str, Any]) -> bytes:
        """Sign an event's wire form (party and key_id are set to this key's); return the ledger entry."""
        wire = {**wire, "party": self.party, "key_id": self.key_id}
        canonical = encode_event(Event.from_wire(wire))
        return encode_entry(canonical, self._key.sign(signing_message(canonical)))

    def sign_canonical(self, canonical: bytes) -> bytes:
        """Sign an event already encoded by `encode_event` as this key's party and key id (a caller
        that parsed and encoded it, as trace/sheet_drafts.py does, spares `sign` doing it again);
        return the ledger entry. Raises ValueError if the bytes name another party or key."""
        said = orjson.loads(canonical)
        if not isinstance(said, dict) or said.get("party") != self.party or said.get("key_id") != self.key_id:
            raise ValueError(f"the event is not {self.party}'s with key {self.key_id}")
        return encode_entry(canonical, self._key.sign(signing_message(canonical)))

    def token(
        self, *, origin: str = DEFAULT_ORIGIN, lifetime: int = DEFAULT_LIFETIME, now: datetime | None = None
    ) -> str:
        """A credential for this party at the service whose log is `origin` (the name at its
        GET /ledger/key; `Client` asks for it), valid `lifetime` seconds from `now` (default: the
        machine's clock; servers accept at most an hour). Another service refuses it (trace/auth.py)."""
        return make_token(
            self.party, self._key, origin=origin, expires=int((now or utc_now()).timestamp()) + lifetime
        )
