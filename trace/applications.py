"""Enrollment: a party applies with a key it generated itself; a regulator approves by signing.

An application carries the party's public record (or, after a lost device, just the new key) and
a proof of possession: the new key's Ed25519 signature over

    b"farmtrace/application/v1\\n" ‖ canonical JSON (RFC 8785) of {"kind", "party_id", "record"}

so nobody can enrol a key they do not hold. Applications stay off the ledger. A regulator approves
one by recording a party.register (or party.key_add) event, signed with the regulator's own key;
`settle` marks the application approved once that event is on the ledger. `reject` closes it.

Anyone may file, without credentials: a party that lost its device has nothing left to sign in
with. So a filing must never stand in the way of another, and filing is rate-limited:

- A party may have several pending applications of a kind (each for a different key); the only
  duplicate refused is the same key applied for twice. Someone who files a lost-device application
  for party P therefore cannot block P's own; the regulator sees both, side by side, and approves
  the one the party confirms (by phone or at the desk). Once one registration of a party is
  approved, the party's other pending registrations are closed as superseded.
- Each client network may file `per_hour` applications an hour: addresses are counted by their
  /24 (IPv4) or /64 (IPv6) prefix, since one host commonly holds a whole IPv6 /64 and neighbouring
  IPv4 addresses are cheap. The window slides and is kept in this process (each worker counts its
  own). The address is the one the ASGI server reports: `farmtrace serve` (uvicorn) takes it from
  X-Forwarded-For when the request comes from a proxy on 127.0.0.1 or ::1; for a proxy elsewhere,
  set FORWARDED_ALLOW_IPS to the proxy's address, or every filing counts as the proxy's. The desk holds at most `max_pending` pending
  applications. Past either, `Busy` (429) says when to try again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import rfc8785

from .clock import to_utc_text
from .crypto import verify_ed25519
from .errors import InvalidEvent, NotFound, SignatureRefused, TraceError
from .model.ids import check_party_id
from .model.values import KeyRecord, parse_key_record, parse_party_record
from .store.applications import ApplicationRow, ApplicationRows, ApplicationStore
from .store.queries import Engine

__all__ = ["POP_PREFIX", "Applications", "Busy", "client_network", "contact_commitment", "pop_message"]

POP_PREFIX = b"farmtrace/application/v1\n"
_WINDOW = timedelta(hours=1)
# trace_application.id is an INTEGER column: 32 bits on PostgreSQL, so a larger id names no row
# (and would make PostgreSQL raise "integer out of range" instead of finding nothing).
_MAX_ROW_ID = 2**31 - 1
_MAX_CLIENTS = 100_000  # addresses remembered at most; the oldest are forgotten first


class Busy(TraceError):
    """Too many applications: from this client address, or pending at the desk. `retry_after`
    is the number of seconds after which a filing may succeed."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def client_network(client: str) -> str:
    """The network a client address is counted by: its /24 (IPv4) or /64 (IPv6); an IPv4-mapped
    IPv6 address as its IPv4 address; anything that is no IP address (a test client's name) as is."""
    try:
        address = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def contact_commitment(details: dict[str, str], salt: bytes) -> str:
    """SHA-256(salt ‖ RFC 8785 JSON of the private contact details), hex: what the public record carries."""
    return hashlib.sha256(salt + rfc8785.dumps(details)).hexdigest()


def _check_private(private: dict[str, Any] | None, commitment: str) -> tuple[str, str] | None:
    """Validate {details: {str: str}, salt: hex} against the record's commitment; return (details JSON, salt)."""
    if private is None:
        return None
    details, salt = private.get("details"), private.get("salt")
    if (
        not isinstance(details, dict)
        or not all(isinstance(k, str) and isinstance(v, str) and len(v) <= 200 for k, v in details.items())
        or len(details) > 20
    ):
        raise InvalidEvent("private.details", "expected an object of at most 20 short text fields")
    try:
        salt_bytes = bytes.fromhex(salt) if isinstance(salt, str) else b""
    except ValueError:
        salt_bytes = b""
    if len(salt_bytes) < 16:
        raise InvalidEvent("private.salt", "expected at least 16 random bytes, hex-encoded")
    if contact_commitment(details, salt_bytes) != commitment:
        raise InvalidEvent("private", "the details and salt do not match the record's contact_commitment")
    return json.dumps(details, ensure_ascii=False, sort_keys=True), salt


def _parse_application(
    kind: str, record: dict[str, Any], private: dict[str, Any] | None
) -> tuple[str, KeyRecord, tuple[str, str] | None]:
    """An application's party id, its one key, and its checked contact details (details JSON, salt)
    if it carries any. Raises InvalidEvent naming the field."""
    if kind == "register":
        parsed = parse_party_record(record)
        if len(parsed.keys) != 1:
            raise InvalidEvent("record.keys", "an application carries exactly one key: the one that signs it")
        return parsed.id, parsed.keys[0], _check_private(private, parsed.contact_commitment)
    if kind == "key":
        if not isinstance(record, dict) or set(record) != {"party_id", "key_id", "public_key"}:
            raise InvalidEvent("record", "a key application is {party_id, key_id, public_key}")
        check_party_id(record["party_id"], field="record.party_id")
        key = parse_key_record(
            {"key_id": record["key_id"], "public_key": record["public_key"]}, field="record"
        )
        return record["party_id"], key, None
    raise InvalidEvent("kind", f"expected register or key, found {kind!r}")


def pop_message(kind: str, party_id: str, record: dict[str, Any]) -> bytes:
    """The bytes a new key signs to prove its holder applies (see the module docstring)."""
    return POP_PREFIX + rfc8785.dumps({"kind": kind, "party_id": party_id, "record": record})


class Applications:
    """Pending registrations and key replacements, over the domain's database."""

    def __init__(self, engine: Engine, *, per_hour: int = 20, max_pending: int = 300) -> None:
        if per_hour < 1 or max_pending < 1:
            raise ValueError("per_hour and max_pending must be at least 1")
        self.store = ApplicationStore(engine)
        self.per_hour = per_hour
        self.max_pending = max_pending
        self._filed: dict[str, deque[datetime]] = {}  # client address -> its filing times in the window
        self._lock = threading.Lock()

    def _admit(self, client: str, now: datetime) -> None:
        """Count a filing by `client`'s network at `now`; raise Busy past `per_hour` in the last hour."""
        network = client_network(client)
        with self._lock:
            times = self._filed.pop(network, None) or deque()
            while times and times[0] <= now - _WINDOW:
                times.popleft()
            self._filed[network] = times  # re-inserted: the dict stays ordered by last filing
            if len(times) >= self.per_hour:
                wait = times[0] + _WINDOW - now
                raise Busy(
                    f"this address's network ({network}) filed {len(times)} applications in the last hour, "
                    "the most allowed; "
                    "try again later",
                    retry_after=max(1, int(wait.total_seconds()) + 1),
                )
            times.append(now)
            while len(self._filed) > _MAX_CLIENTS:
                del self._filed[next(iter(self._filed))]

    def submit(
        self,
        kind: str,
        record: dict[str, Any],
        proof: str,
        *,
        now: datetime,
        client: str,
        private: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """File an application from client address `client`. `record` is a PartyRecord wire form
        (kind "register") or {"party_id", "key_id", "public_key"} (kind "key"); `private` optionally
        carries the contact details behind the record's commitment. Raises InvalidEvent,
        SignatureRefused, TraceError (a key already registered or already applied for), NotFound,
        and Busy (see the module docstring). Every filing counts against the address's allowance,
        refused ones too: checking a proof costs the server as much as storing it."""
        self._admit(client, now)
        party_id, key, private_row = _parse_application(kind, record, private)
        try:
            sig = base64.b64decode(proof, validate=True)
            verify_ed25519(key.public_key, sig, pop_message(kind, party_id, record))
        except (binascii.Error, ValueError, SignatureRefused) as exc:
            raise SignatureRefused(
                "the proof of possession does not verify with the application's key"
            ) from exc
        with self.store.begin() as rows:
            registered = rows.party_commitment(party_id) is not None
            if kind == "register" and registered:
                raise TraceError(f"party {party_id} is already registered")
            if kind == "key" and not registered:
                raise NotFound("party", party_id)
            if rows.key_active_from(key.key_id) is not None:
                raise TraceError(f"key {key.key_id} is already registered")
            # Only the same key twice is a duplicate: another key's application for this party may be
            # someone else's, and must not block the party's own (module docstring).
            pending = rows.pending_for_key(key.key_id)
            if pending is not None:
                raise TraceError(f"key {key.key_id} already has a pending application (#{pending})")
            waiting = rows.pending_count()
            if waiting >= self.max_pending:
                raise Busy(
                    f"the desk already holds {waiting} pending applications, the most it takes; "
                    "try again once a regulator has decided some",
                    retry_after=600,
                )
            new_id = rows.add(
                kind=kind,
                party_id=party_id,
                record=json.dumps(record, ensure_ascii=False, sort_keys=True),
                key_id=key.key_id,
                submitted_at=to_utc_text(now),
                private=private_row[0] if private_row else None,
                salt=private_row[1] if private_row else None,
            )
        return self.get(new_id)

    def get(self, application_id: int) -> dict[str, Any]:
        if not 0 < application_id <= _MAX_ROW_ID:
            raise NotFound("application", str(application_id))
        with self.store.connect() as rows:
            r = rows.get(application_id)
        if r is None:
            raise NotFound("application", str(application_id))
        return self._json(r)

    def list(self, *, status: str | None = "pending") -> list[dict[str, Any]]:
        self.settle()
        with self.store.connect() as rows:
            return [self._json(r) for r in rows.all(status=status)]

    def reject(self, application_id: int, *, by: str, note: str, now: datetime) -> dict[str, Any]:
        if not 0 < application_id <= _MAX_ROW_ID:
            raise NotFound("pending application", str(application_id))
        with self.store.begin() as rows:
            done = rows.reject(application_id, decided_at=to_utc_text(now), decided_by=by, note=note[:500])
        if not done:
            raise NotFound("pending application", str(application_id))
        return self.get(application_id)

    def settle(self) -> None:
        """Mark pending applications approved whose key is now registered on the ledger."""
        with self.store.begin() as rows:
            for r in rows.all(status="pending"):
                active_from = rows.key_active_from(r.key_id)
                if active_from is None:
                    continue
                self._keep_private(rows, r)
                by = rows.recorded_by(active_from)
                rows.approve(r.id, decided_at=active_from, decided_by=by)
                if r.kind == "register":  # a party is registered once: its other filings are moot
                    rows.supersede(
                        r.party_id,
                        approved=r.id,
                        decided_at=active_from,
                        decided_by=by,
                        note=f"superseded: application #{r.id} for this party was approved",
                    )

    @staticmethod
    def _keep_private(rows: ApplicationRows, application: ApplicationRow) -> None:
        """On approval, the contact details move to the regulator-only table (if they match the ledger)."""
        if application.private is None or application.salt is None:
            return
        commitment = rows.party_commitment(application.party_id)
        details = json.loads(application.private)
        if commitment is None or contact_commitment(details, bytes.fromhex(application.salt)) != commitment:
            return
        rows.keep_private(application.party_id, details=application.private, salt=application.salt)

    def store_private(self, party_id: str, details: dict[str, str], salt: str) -> None:
        """Keep a registered party's contact details (regulator desk); they must match its commitment."""
        with self.store.begin() as rows:
            commitment = rows.party_commitment(party_id)
            if commitment is None:
                raise NotFound("party", party_id)
            checked = _check_private({"details": details, "salt": salt}, commitment)
            assert checked is not None
            rows.keep_private(party_id, details=checked[0], salt=checked[1])

    def private(self, party_id: str) -> dict[str, str] | None:
        """A party's contact details, for regulators only (None if the desk holds none)."""
        with self.store.connect() as rows:
            details = rows.private_details(party_id)
        return json.loads(details) if details else None

    @staticmethod
    def _json(r: ApplicationRow) -> dict[str, Any]:
        return {
            "id": r.id,
            "kind": r.kind,
            "party_id": r.party_id,
            "record": json.loads(r.record),
            "key_id": r.key_id,
            "submitted_at": r.submitted_at,
            "status": r.status,
            "decided_at": r.decided_at,
            "decided_by": r.decided_by,
            "note": r.note,
            "private": json.loads(r.private) if r.private else None,
        }
