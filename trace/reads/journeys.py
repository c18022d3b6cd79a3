"""The consumer's evidence bundle: everything needed to check a lot's history with no trust in
this server (GET /lots/{code}/journey; checked by web/static/verify.js and trace/verify_journey.py).

journey(engine, log, code) -> Journey. Raises NotFound for an unknown lot.

- `events`: every event naming the lot or any lot it was made from, in ledger order, each with its
  ledger entry exactly as stored (base64; None if the row is gone), leaf hash, and an inclusion
  proof against `checkpoint`; `event` is the decoded event, or None when the stored bytes no
  longer decode (a verifier then reports that entry);
- `keys`: each signing key's public key, with the ledger entry that registered it (itself proven)
  so a verifier can see the key was put on the public record; and, for each party the events name
  whose party.register entry no signing key comes with (a buyer that has not signed yet, a party
  signing with a key it added later), one key that entry registered, so its name is proven too;
- `checkpoint`: the signed checkpoint all proofs lead to; `log_key`: the log's key (a page must
  embed its own copy and compare);
- `recalls`: recall events reaching the lot (on it or on an ancestor);
- `index`: the latest committed head index entry, proven in `checkpoint`, and the map proofs of
  every lineage lot and every key that signed an event (trace/reads/journey_index.py); None (null)
  while the log has no index entry.

`Journey.to_wire()` is the JSON the verifiers read; its shape must not change.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log

from ..errors import NotFound, TraceError
from ..model.encoding import SignedEvent, decode_entry
from ..store import lot_queries, party_queries
from ..store.lot_queries import LotStatus
from ..store.queries import Engine, EventRow, events_with_ids
from ..store.sql_state import Repository
from .events import entry_at, stored_entries
from .journey_index import JourneyIndex, read_index

__all__ = ["Journey", "JourneyEvent", "JourneyKey", "JourneyRecall", "ProvenEntry", "journey"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class ProvenEntry:
    """A ledger entry as stored (None if its row is gone) with its inclusion proof (base64 hashes)."""

    index: int
    entry: bytes | None
    proof: tuple[bytes, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "entry": _b64(self.entry) if self.entry is not None else None,
            "leaf_hash": _b64(leaf_hash(self.entry)) if self.entry is not None else None,
            "proof": [_b64(h) for h in self.proof],
        }


@dataclass(frozen=True)
class JourneyEvent:
    """A proven entry and what the tables say it is; `event` is the decoded event's wire form, or
    None when the stored bytes no longer decode."""

    proven: ProvenEntry
    id: str
    kind: str
    party: str
    party_name: str | None
    event: dict[str, Any] | None

    def to_wire(self) -> dict[str, Any]:
        return {
            **self.proven.to_wire(),
            "id": self.id,
            "kind": self.kind,
            "party": self.party,
            "party_name": self.party_name,
            "event": self.event,
        }


@dataclass(frozen=True)
class JourneyKey:
    """A signing key (raw Ed25519 public key) and the proven entry that registered it, if known."""

    party: str
    public_key: bytes
    registered_in: ProvenEntry | None


@dataclass(frozen=True)
class JourneyRecall:
    id: str
    lot: str
    time: str
    reason: str
    instructions: str


@dataclass(frozen=True)
class Journey:
    lot: str
    product: dict[str, Any]
    quantity: str
    unit: str
    status: LotStatus
    lots: tuple[str, ...]
    events: tuple[JourneyEvent, ...]
    keys: tuple[tuple[str, JourneyKey], ...]  # (key id, key), by key id
    checkpoint: str  # the signed note, with its cosignatures
    size: int
    log_key: str
    recalls: tuple[JourneyRecall, ...]
    index: JourneyIndex | None = None

    def to_wire(self) -> dict[str, Any]:
        """GET /lots/{code}/journey: the bundle verify.js and trace/verify_journey.py check."""
        return {
            "lot": self.lot,
            "product": self.product,
            "quantity": self.quantity,
            "unit": self.unit,
            "status": self.status.to_wire(),
            "lots": list(self.lots),
            "events": [e.to_wire() for e in self.events],
            "keys": {
                kid: {
                    "party": k.party,
                    "public_key": _b64(k.public_key),
                    "registered_in": k.registered_in.to_wire() if k.registered_in is not None else None,
                }
                for kid, k in self.keys
            },
            "checkpoint": self.checkpoint,
            "size": self.size,
            "log_key": self.log_key,
            "recalls": [vars(r).copy() for r in self.recalls],
            "index": self.index.to_wire() if self.index is not None else None,
        }


def journey(engine: Engine, log: Log, code: str) -> Journey:
    """The evidence bundle of lot `code` (see the module docstring). Raises NotFound."""
    with engine.connect() as conn:
        repo = Repository(conn)
        state = repo.lot(code)
        if state is None:
            raise NotFound("lot", code)
        lots = sorted({code} | repo.ancestors(code))
        meta: dict[int, EventRow] = {
            r.index: r for r in events_with_ids(conn, lot_queries.event_ids_of_lots(conn, lots))
        }
        names = party_queries.party_names(conn, {m.party for m in meta.values()})
        keys = {k.key_id: k for k in party_queries.keys_of(conn, names)}
        registered = {r.id: r.index for r in events_with_ids(conn, {k.added_by_event for k in keys.values()})}
    indexes = sorted(meta)
    stored = dict(stored_entries(log, indexes))
    decoded = {i: _decoded(stored.get(i)) for i in indexes}
    signers = {signed.event.key_id for signed in decoded.values() if signed is not None}
    # The head index after the tables, the checkpoint after both: every event found above and the
    # index entry are already inside it (the tables, the index and the ledger commit together), so
    # no proof can point beyond the checkpoint.
    proofs = read_index(engine, lots, signers)
    cp = log.checkpoint()

    def proven(index: int, entry: bytes | None) -> ProvenEntry:
        return ProvenEntry(index=index, entry=entry, proof=tuple(log.prove_inclusion(index, cp.size)))

    events, used_keys = [], set()
    for index in indexes:
        m, entry, signed = meta[index], stored.get(index), decoded[index]
        if signed is not None:
            used_keys.add(signed.event.key_id)
        wire = signed.event.to_wire() if signed is not None else None
        events.append(JourneyEvent(proven(index, entry), m.id, m.kind, m.party, names.get(m.party), wire))
    key_out = []
    for kid in sorted(used_keys):
        k = keys.get(kid)
        if k is None:
            continue
        reg = registered.get(k.added_by_event)
        registered_in = proven(reg, stored.get(reg) or entry_at(log, reg)) if reg is not None else None
        key_out.append(
            (kid, JourneyKey(party=k.party_id, public_key=k.public_key, registered_in=registered_in))
        )
    key_out += _naming_keys(
        engine, events, key_out, cp.size, lambda i: proven(i, stored.get(i) or entry_at(log, i))
    )
    key_out.sort(key=lambda item: item[0])
    return Journey(
        lot=code,
        product=state.product.to_wire(),
        quantity=str(state.quantity),
        unit=state.unit,
        status=LotStatus(
            failed=state.failed, recalled=state.recalled, rejected=state.rejected, cleared=state.cleared
        ),
        lots=tuple(lots),
        events=tuple(events),
        keys=tuple(key_out),
        checkpoint=cp.note_with_cosignatures(),
        size=cp.size,
        log_key=log.verifier.key_string(),
        recalls=_recalls(events),
        index=JourneyIndex(proven(proofs.head.size, entry_at(log, proofs.head.size)), proofs)
        if proofs is not None
        else None,
    )


def _decoded(entry: bytes | None) -> SignedEvent | None:
    """The signed event of a stored entry, or None if it is gone or no longer decodes (served as
    stored: the verifier names it)."""
    try:
        return decode_entry(entry) if entry is not None else None
    except TraceError:
        return None


def _naming_keys(
    engine: Engine,
    events: list[JourneyEvent],
    carried: list[tuple[str, JourneyKey]],
    size: int,
    prove: Callable[[int], ProvenEntry],
) -> list[tuple[str, JourneyKey]]:
    """Issue 17 §1: a party's name is a fact only from its party.register entry, proven. For each
    party the events name (a signer, a ship's destination, a receive's source) whose register entry
    no key in `carried` comes with, one key that entry registered (its oldest), with the entry proven:
    a verifier checks it as any key (step 3) and learns the party's name from the log. A key that
    signed nothing here is harmless to every check."""
    named: set[str] = set()
    for e in events:
        if e.event is None:
            continue
        named.add(e.event["party"])
        detail = e.event.get("detail") or {}
        other = {"ship": "destination", "receive": "source"}.get(e.event["kind"])
        if other is not None and isinstance(detail.get(other), str):
            named.add(detail[other])
    with engine.connect() as conn:
        rows = party_queries.keys_of(conn, named)  # oldest first, per party
        by_id = {r.id: r for r in events_with_ids(conn, {k.added_by_event for k in rows})}
    have = {k.registered_in.index for _, k in carried if k.registered_in is not None}
    out, done = [], set()
    for k in rows:
        reg = by_id.get(k.added_by_event)
        if reg is None or reg.kind != "party.register" or k.party_id in done or reg.index >= size:
            continue
        done.add(k.party_id)
        if reg.index not in have:
            key = JourneyKey(party=k.party_id, public_key=k.public_key, registered_in=prove(reg.index))
            out.append((k.key_id, key))
    return out


def _recalls(events: list[JourneyEvent]) -> tuple[JourneyRecall, ...]:
    """The recall events among `events` (those that decode), as the consumer is told of them."""
    return tuple(
        JourneyRecall(
            id=e.id,
            lot=e.event["inputs"][0]["lot"],
            time=e.event["event_time"],
            reason=e.event["detail"]["reason"],
            instructions=e.event["detail"]["instructions"],
        )
        for e in events
        if e.kind == "recall" and e.event is not None
    )
