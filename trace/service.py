"""The domain's use cases: record signed events, and answer lots, traces, recalls and anomalies.

Recording events (`record_many`; `record` is a batch of one) is the write path,
trace/ingest/record.py (`Recorder`); the methods here delegate to it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log

from .auth import check_token
from .clock import Clock, utc_now
from .errors import InvalidEvent, NotFound, TraceError
from .ingest.record import Receipt, Recorder
from .model.encoding import SignedEvent, decode_entry
from .model.event import Event
from .reads import events as event_reads
from .reads import parties as party_reads
from .reads import portal as portal_reads
from .reads import reports as report_reads
from .reads.events import LoggedEvent
from .reads.reports import RecallNotice
from .rules import PartyState
from .store.rows import in_chunks
from .store.sql_state import Repository
from .store.tables import (
    TABLES,
    TraceDisposal,
    TraceEvent,
    TraceEventLot,
    TraceHolding,
    TraceLot,
    TraceParty,
    TracePartyKey,
    TraceTransit,
)

__all__ = ["RecallNotice", "Receipt", "TraceService", "utc_now"]


class TraceService:
    """The domain over a ledger `log` and the SQL `engine` its store uses (they must be the same database)."""

    def __init__(
        self, log: Log, engine: Engine, *, clock: Clock = utc_now, bootstrap_keys: Collection[bytes] = ()
    ) -> None:
        """`bootstrap_keys`: raw Ed25519 public keys the operator allows to sign the genesis entry
        (the first regulator registering itself) when it comes over the network; see `record_genesis`."""
        self.log = log
        self.engine = engine
        self.clock = clock
        self.bootstrap_keys = frozenset(bytes(k) for k in bootstrap_keys)
        self.recorder = Recorder(log, engine, clock=clock, bootstrap_keys=self.bootstrap_keys)

    def create_tables(self) -> None:
        SQLModel.metadata.create_all(self.engine, tables=TABLES)

    # --- recording ---------------------------------------------------------------------------------

    def record(self, entry: bytes) -> Receipt:
        """Record one signed event (a ledger entry). Raises TraceError subclasses; see the module docstring."""
        (outcome,) = self.record_many([entry])
        if isinstance(outcome, TraceError):
            raise outcome
        return outcome

    def record_genesis(self, entry: bytes) -> Receipt:
        """Record the genesis entry as the operator, on this machine (`farmtrace init`, the demo).

        The genesis entry is the first regulator's party.register of itself, signed with one of its
        own keys, while the ledger has no party. Over the network (`record`, `record_many`) it is
        accepted only when signed with one of `bootstrap_keys` (rules: genesis). Raises TraceError
        subclasses: RuleViolation if the ledger already has parties, SignatureRefused if the entry
        is not a genesis entry (nobody's key could have signed it).
        """
        (outcome,) = self.recorder.record_many([entry], operator=True)
        if isinstance(outcome, TraceError):
            raise outcome
        return outcome

    def record_many(self, entries: Sequence[bytes]) -> list[Receipt | TraceError]:
        """Record many signed events in one go; one result per entry, in order.

        Entries are decoded, their signatures verified on worker processes (`ingest.verifying`), and
        admitted in runs of up to `ingest.record.RUN_SIZE`, each in one ledger transaction (`ingest.runs.Run`). A later
        entry sees the effects of earlier ones, so a batch may register a party and then act as it.
        An error that is no verdict on an entry (the database failing) is raised; runs committed
        before it stay committed, and resubmitting the whole batch is safe (idempotent).
        """
        return self.recorder.record_many(entries)

    # --- reading -----------------------------------------------------------------------------------

    def signed_event(self, event_id: str) -> tuple[SignedEvent, int]:
        """The signed event with this id and its ledger index. Raises NotFound."""
        return event_reads.signed_event(self.engine, self.log, event_id)

    def lot(self, code: str) -> dict[str, Any]:
        """A lot's public state: product, quantity, flags, parents, children, holders, its events."""
        with self.engine.connect() as conn:
            repo = Repository(conn)
            state = repo.lot(code)
            if state is None:
                raise NotFound("lot", code)
            return {
                "code": state.code,
                "product": state.product.to_wire(),
                "quantity": str(state.quantity),
                "unit": state.unit,
                "created_by": state.created_by,
                "created_at": state.created_at.isoformat(),
                "head": state.head,
                "status": {
                    "failed": state.failed,
                    "recalled": state.recalled,
                    "rejected": state.rejected,
                    "cleared": state.cleared,
                },
                "parents": list(state.parents),
                "children": list(repo.children_of(code)),
                "holders": {p: str(q) for p, q in repo.holders(code).items()},
                "events": [{"id": e, "index": i, "role": r} for e, i, r in repo.lot_events(code)],
            }

    def trace(self, code: str, *, direction: str = "both") -> dict[str, Any]:
        """The lineage graph of a lot: every ancestor (back), every descendant (forward), or both.

        Nodes carry product, quantity, unit, creator, status flags and current holders; edges are
        (parent, child, quantity of the parent that went into the child).
        """
        if direction not in ("back", "forward", "both"):
            raise InvalidEvent("direction", f"expected back, forward or both, found {direction!r}")
        with self.engine.connect() as conn:
            repo = Repository(conn)
            if repo.lot(code) is None:
                raise NotFound("lot", code)
            back = repo.ancestors(code) if direction in ("back", "both") else set()
            forward = repo.descendants(code) if direction in ("forward", "both") else set()
            codes = sorted({code} | back | forward)
            rows = repo.lots_rows(codes)
            holders = self._holders(conn, codes)
            all_edges = repo.edges(codes)
            has_parents = {c for _, c in all_edges}
            edges = [(p, c) for p, c in all_edges if p in rows and c in rows]
            quantities = self._edge_quantities(conn, edges)
            parties = self._party_names(
                conn, {r.created_by for r in rows.values()} | {p for h in holders.values() for p in h}
            )
        nodes = []
        for c in codes:
            r = rows[c]
            nodes.append(
                {
                    "lot": c,
                    "product": r.product_name,
                    "product_en": json.loads(r.product).get("name_en"),
                    "quantity": r.quantity,
                    "unit": r.unit,
                    "created_by": r.created_by,
                    "created_by_name": parties.get(r.created_by),
                    "created_at": r.created_at,
                    "origin": c not in has_parents,
                    "status": {
                        "failed": bool(r.failed),
                        "recalled": bool(r.recalled),
                        "rejected": bool(r.rejected),
                        "cleared": bool(r.cleared),
                    },
                    "holders": [
                        {"party": p, "name": parties.get(p), "quantity": str(q)}
                        for p, q in sorted(holders.get(c, {}).items())
                    ],
                    "direction": "self" if c == code else ("back" if c in back else "forward"),
                }
            )
        return {
            "lot": code,
            "direction": direction,
            "nodes": nodes,
            "edges": [{"from": p, "to": c, "quantity": quantities.get((p, c))} for p, c in edges],
            "origins": sorted(n["lot"] for n in nodes if n["origin"] and n["direction"] != "forward"),
        }

    def _holders(self, conn, codes: Sequence[str]) -> dict[str, dict[str, Decimal]]:
        out: dict[str, dict[str, Decimal]] = {}
        h = TraceHolding.__table__
        for chunk in in_chunks(codes):
            for r in conn.execute(select(h).where(h.c.lot.in_(chunk))):
                q = Decimal(r.quantity)
                if q > 0:
                    out.setdefault(r.lot, {})[r.party] = q
        return out

    def _edge_quantities(self, conn, edges: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """How much of the parent went into the child, from the event that created the child."""
        el = TraceEventLot.__table__
        lot = TraceLot.__table__
        children = sorted({c for _, c in edges})
        created = {}
        for chunk in in_chunks(children):
            for r in conn.execute(select(lot.c.code, lot.c.created_event).where(lot.c.code.in_(chunk))):
                created[r.code] = r.created_event
        events = sorted(set(created.values()))
        lines: dict[str, list] = {}
        for chunk in in_chunks(events):
            for r in conn.execute(select(el).where(el.c.event_id.in_(chunk))):
                lines.setdefault(r.event_id, []).append(r)
        out = {}
        for p, c in edges:
            rows = lines.get(created.get(c, ""), [])
            ins = [r for r in rows if r.role == "input"]
            outs = [r for r in rows if r.role == "output"]
            if len(ins) == 1:  # a split or repack: each child got its own output quantity
                mine = [r for r in outs if r.lot == c]
                out[(p, c)] = f"{mine[0].quantity} {mine[0].unit}" if mine else None
            else:  # a merge: each parent gave its input quantity
                mine = [r for r in ins if r.lot == p]
                out[(p, c)] = f"{mine[0].quantity} {mine[0].unit}" if mine else None
        return out

    def _party_names(self, conn, ids: set[str]) -> dict[str, str]:
        t = TraceParty.__table__
        out = {}
        for chunk in in_chunks(sorted(ids)):
            for r in conn.execute(select(t.c.id, t.c.name_zh).where(t.c.id.in_(chunk))):
                out[r.id] = r.name_zh
        return out

    def recall_report(self, code: str) -> dict[str, Any]:
        """Everything a recall of `code` reaches: each affected lot, who holds how much, what is in
        transit, what was sold or destroyed, and shipped vs received for each shipment line."""
        with self.engine.connect() as conn:
            repo = Repository(conn)
            if repo.lot(code) is None:
                raise NotFound("lot", code)
            codes = sorted({code} | repo.descendants(code))
            holders = self._holders(conn, codes)
            tr = TraceTransit.__table__
            dp = TraceDisposal.__table__
            transits, disposals = [], {}
            for chunk in in_chunks(codes):
                transits += list(conn.execute(select(tr).where(tr.c.lot.in_(chunk))))
                for r in conn.execute(select(dp).where(dp.c.lot.in_(chunk))):
                    disposals.setdefault(r.lot, {})[r.how] = r.quantity
            rows = repo.lots_rows(codes)
            names = self._party_names(
                conn,
                {p for h in holders.values() for p in h}
                | {t.destination for t in transits}
                | {t.source for t in transits},
            )
        parties: dict[str, dict[str, Any]] = {}
        for lot_code, by_party in holders.items():
            for p, q in by_party.items():
                entry = parties.setdefault(p, {"party": p, "name": names.get(p), "lots": []})
                entry["lots"].append({"lot": lot_code, "quantity": str(q), "unit": rows[lot_code].unit})
        lines = []
        for t in transits:
            shipped, received = Decimal(t.quantity), Decimal(t.received)
            lines.append(
                {
                    "ship_event": t.ship_event,
                    "lot": t.lot,
                    "from": t.source,
                    "from_name": names.get(t.source),
                    "to": t.destination,
                    "to_name": names.get(t.destination),
                    "shipped": str(shipped),
                    "received": str(received),
                    "outstanding": str(shipped - received),
                    "unit": t.unit,
                }
            )
            if shipped > received:  # still on the road: the destination must be told too
                entry = parties.setdefault(
                    t.destination, {"party": t.destination, "name": names.get(t.destination), "lots": []}
                )
                entry.setdefault("in_transit", []).append(
                    {"lot": t.lot, "quantity": str(shipped - received), "unit": t.unit}
                )
        return {
            "lot": code,
            "affected_lots": [
                {
                    "lot": c,
                    "product": rows[c].product_name,
                    "product_en": json.loads(rows[c].product).get("name_en"),
                    "quantity": rows[c].quantity,
                    "unit": rows[c].unit,
                    "recalled": bool(rows[c].recalled),
                    "sold": disposals.get(c, {}).get("sold", "0"),
                    "destroyed": disposals.get(c, {}).get("destroyed", "0"),
                }
                for c in codes
            ],
            "parties": sorted(parties.values(), key=lambda p: p["party"]),
            "shipments": lines,
        }

    def anomalies(
        self,
        *,
        rule: str | None = None,
        party: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[party_reads.Anomaly]:
        return party_reads.anomalies(self.engine, rule=rule, party=party, since=since, until=until, limit=limit)

    def parties(self) -> list[party_reads.PartySummary]:
        return party_reads.parties(self.engine)

    def party(self, party_id: str) -> party_reads.PartySummary:
        return party_reads.party(self.engine, party_id)

    def party_for_token(self, token: str, *, role: str | None = None) -> PartyState:
        """The party a request's token authenticates (holding `role`, if given), checked against
        this service's log origin and clock (trace/auth.py `check_token`). Raises Forbidden otherwise."""
        with self.engine.connect() as conn:
            return check_token(token, Repository(conn), origin=self.log.origin, now=self.clock(), role=role)

    # --- the consumer's view -------------------------------------------------------------------------

    def journey(self, code: str) -> dict[str, Any]:
        """Everything needed to check a lot's history independently, with no trust in this server:

        - `events`: every event naming the lot or any lot it was made from, in ledger order, each
          with its ledger entry exactly as stored (base64; null if the row is gone), leaf hash, and an
          inclusion proof against `checkpoint`; `event` is the decoded event, or null when the stored
          bytes no longer decode (a verifier then reports that entry);
        - `keys`: each signing key's public key, with the ledger entry that registered it (itself
          proven) so a verifier can see the key was put on the public record;
        - `checkpoint`: the signed checkpoint all proofs lead to; `log_key`: the log's key (a page
          must embed its own copy and compare);
        - `recalls`: recall events reaching the lot (on it or on an ancestor).
        """
        with self.engine.connect() as conn:
            repo = Repository(conn)
            state = repo.lot(code)
            if state is None:
                raise NotFound("lot", code)
            lots = sorted({code} | repo.ancestors(code))
            el = TraceEventLot.__table__
            ev = TraceEvent.__table__
            ids: set[str] = set()
            for chunk in in_chunks(lots):
                ids |= {r[0] for r in conn.execute(select(el.c.event_id).where(el.c.lot.in_(chunk)))}
            meta = {
                r.ledger_index: r
                for r in conn.execute(
                    select(ev.c.id, ev.c.ledger_index, ev.c.kind, ev.c.party).where(ev.c.id.in_(sorted(ids)))
                )
            }
            parties = self._party_names(conn, {m.party for m in meta.values()})
            kt = TracePartyKey.__table__
            keys = {r.key_id: r for r in conn.execute(select(kt).where(kt.c.party_id.in_(sorted(parties))))}
            registered = {
                r.id: r.ledger_index
                for r in conn.execute(
                    select(ev.c.id, ev.c.ledger_index).where(
                        ev.c.id.in_(sorted({k.added_by_event for k in keys.values()}))
                    )
                )
            }
        # Read the checkpoint after the tables: every event found above is already inside it (the
        # tables and the ledger commit together), so no proof can point beyond the checkpoint.
        cp = self.log.checkpoint()
        size = cp.size
        indexes = sorted(meta)
        stored = dict(event_reads.stored_entries(self.log, indexes))

        def proven(index: int, entry: bytes | None) -> dict[str, Any]:
            return {
                "index": index,
                "entry": base64.b64encode(entry).decode() if entry is not None else None,
                "leaf_hash": base64.b64encode(leaf_hash(entry)).decode() if entry is not None else None,
                "proof": [base64.b64encode(h).decode() for h in self.log.prove_inclusion(index, size)],
            }

        events, used_keys = [], set()
        for index in indexes:
            m = meta[index]
            entry = stored.get(index)
            try:
                signed = decode_entry(entry) if entry is not None else None
            except TraceError:
                signed = None  # served as stored: the verifier names it
            if signed is not None:
                used_keys.add(signed.event.key_id)
            item = proven(index, entry)
            item.update(
                {
                    "id": m.id,
                    "kind": m.kind,
                    "party": m.party,
                    "party_name": parties.get(m.party),
                    "event": signed.event.to_wire() if signed is not None else None,
                }
            )
            events.append(item)
        key_out = {}
        for kid in sorted(used_keys):
            r = keys.get(kid)
            if r is None:
                continue
            reg = registered.get(r.added_by_event)
            key_out[kid] = {
                "party": r.party_id,
                "public_key": base64.b64encode(bytes(r.public_key)).decode(),
                "registered_in": proven(reg, stored.get(reg) or event_reads.entry_at(self.log, reg))
                if reg is not None
                else None,
            }
        recalls = [
            {
                "id": e["id"],
                "lot": e["event"]["inputs"][0]["lot"],
                "time": e["event"]["event_time"],
                "reason": e["event"]["detail"]["reason"],
                "instructions": e["event"]["detail"]["instructions"],
            }
            for e in events
            if e["kind"] == "recall" and e["event"] is not None
        ]
        return {
            "lot": code,
            "product": state.product.to_wire(),
            "quantity": str(state.quantity),
            "unit": state.unit,
            "status": {
                "failed": state.failed,
                "recalled": state.recalled,
                "rejected": state.rejected,
                "cleared": state.cleared,
            },
            "lots": lots,
            "events": events,
            "keys": key_out,
            "checkpoint": cp.note_with_cosignatures(),
            "size": size,
            "log_key": self.log.verifier.key_string(),
            "recalls": recalls,
        }

    # --- regulators' reports ---------------------------------------------------------------------------

    def events_between(self, since: datetime, until: datetime) -> list[LoggedEvent]:
        return event_reads.events_between(self.engine, self.log, since, until)

    def trace_events(self, code: str) -> list[LoggedEvent]:
        return event_reads.trace_events(self.engine, self.log, code)

    def epcis(self, events: Sequence[tuple[Event, str, int]], *, created: datetime, base: str) -> dict[str, Any]:
        return event_reads.epcis(self.engine, events, created=created, base=base)

    def record_times(self, indexes: Sequence[int]) -> dict[int, datetime]:
        return event_reads.record_times(self.engine, indexes)

    def lot_products(self, codes: Sequence[str]) -> dict[str, str]:
        return report_reads.lot_products(self.engine, codes)

    def product_names_en(self, names: Sequence[str]) -> dict[str, str]:
        return report_reads.product_names_en(self.engine, names)

    def party_names(self) -> dict[str, str]:
        return party_reads.party_names(self.engine)

    def prices(
        self, *, product: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[report_reads.PriceRow]:
        return report_reads.prices(self.engine, product=product, since=since, until=until)

    def priced_products(self) -> list[str]:
        return report_reads.priced_products(self.engine)

    def entry_event(self, index: int) -> report_reads.EntryRecord | None:
        return report_reads.entry_event(self.engine, index)

    # --- a party's own view (the portal) -------------------------------------------------------------

    def holdings(self, party_id: str) -> list[portal_reads.Holding]:
        return portal_reads.holdings(self.engine, party_id)

    def incoming(self, party_id: str) -> list[portal_reads.Incoming]:
        return portal_reads.incoming(self.engine, party_id)

    def shipments_from(self, party_id: str) -> list[portal_reads.Shipment]:
        return portal_reads.shipments_from(self.engine, party_id)

    # --- the public home page ----------------------------------------------------------------------------

    def recent_recalls(self, *, limit: int = 5, since: datetime | None = None) -> list[RecallNotice]:
        return report_reads.recent_recalls(self.engine, self.log, limit=limit, since=since)
