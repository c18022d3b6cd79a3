"""The domain's use cases: record signed events, and answer lots, traces, recalls and anomalies.

Recording events (`record_many`; `record` is a batch of one) is the write path,
trace/ingest/record.py (`Recorder`); the methods here delegate to it.
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log
from farmtrace.ledger.sqlstore import LedgerCheckpoint

from .auth import check_token
from .clock import Clock, cst_day, parse_utc, utc_now
from .epcis import epcis_document
from .errors import InvalidEvent, NotFound, TraceError
from .ingest.record import Receipt, Recorder
from .model.encoding import SignedEvent, decode_entry
from .reads import portal
from .repository import Repository, in_chunks
from .rules import PartyState
from .store.tables import (
    TABLES,
    TraceAnomaly,
    TraceDisposal,
    TraceEvent,
    TraceEventLot,
    TraceHolding,
    TraceLot,
    TraceParty,
    TracePartyKey,
    TraceTransit,
    to_utc_text,
)

__all__ = ["RecallNotice", "Receipt", "TraceService", "utc_now"]


@dataclass(frozen=True)
class RecallNotice:
    """A recall as the public is told of it (`TraceService.recent_recalls`).

    `lot`, `reason`, `instructions`, `event_time` and `regulator` come from the signed recall event
    in the ledger; `product` (the lot's product, wire form: name_zh, name_en, gtin…) and
    `regulator_names` ({"name_zh", "name_en"}, empty if unknown) from the tables.
    When the stored entry no longer decodes, the recall is still listed, from the tables, with
    `reason` and `instructions` None: a recall must never vanish from view because its bytes were
    damaged (the audit names the entry).
    """

    event_id: str
    index: int
    lot: str
    product: dict[str, Any]
    reason: str | None
    instructions: str | None
    event_time: str  # as recorded, with its UTC offset
    regulator: str
    regulator_names: dict[str, str | None]


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

    def _known(self, event_id: str) -> int | None:
        with self.engine.connect() as conn:
            return Repository(conn).known_event(event_id)

    # --- reading -----------------------------------------------------------------------------------

    def signed_event(self, event_id: str) -> tuple[SignedEvent, int]:
        """The signed event with this id and its ledger index. Raises NotFound."""
        index = self._known(event_id)
        if index is None:
            raise NotFound("event", event_id)
        (entry,) = [e for _, e in self.log.read_entries(index, index + 1)]
        return decode_entry(entry), index

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
    ) -> list[dict[str, Any]]:
        t = TraceAnomaly.__table__
        q = select(t).order_by(t.c.id.desc()).limit(limit)
        if rule:
            q = q.where(t.c.rule == rule)
        if party:
            q = q.where(t.c.party == party)
        if since:
            q = q.where(t.c.at_utc >= to_utc_text(since))
        if until:
            q = q.where(t.c.at_utc < to_utc_text(until))
        with self.engine.connect() as conn:
            return [
                {
                    "id": r.id,
                    "at": r.at_utc,
                    "party": r.party,
                    "kind": r.kind,
                    "rule": r.rule,
                    "field": r.field,
                    "message": r.message,
                    "lots": r.lots.split(),
                    "event_id": r.event_id,
                    "event": json.loads(r.event),
                }
                for r in conn.execute(q)
            ]

    def parties(self) -> list[dict[str, Any]]:
        t = TraceParty.__table__
        with self.engine.connect() as conn:
            return [self._party_public(r) for r in conn.execute(select(t).order_by(t.c.id))]

    def party(self, party_id: str) -> dict[str, Any]:
        t = TraceParty.__table__
        k = TracePartyKey.__table__
        with self.engine.connect() as conn:
            r = conn.execute(select(t).where(t.c.id == party_id)).first()
            if r is None:
                raise NotFound("party", party_id)
            out = self._party_public(r)
            out["keys"] = [
                {"key_id": x.key_id, "active_from": x.active_from, "revoked_at": x.revoked_at}
                for x in conn.execute(select(k).where(k.c.party_id == party_id).order_by(k.c.active_from))
            ]
            return out

    def party_for_token(self, token: str, *, role: str | None = None) -> PartyState:
        """The party a request's token authenticates (holding `role`, if given), checked against
        this service's log origin and clock (trace/auth.py `check_token`). Raises Forbidden otherwise."""
        with self.engine.connect() as conn:
            return check_token(token, Repository(conn), origin=self.log.origin, now=self.clock(), role=role)

    @staticmethod
    def _party_public(r) -> dict[str, Any]:
        return {
            "id": r.id,
            "id_type": r.id_type,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "roles": r.roles.split(),
            "address": r.address,
            "status": r.status,
            "registered_at": r.registered_at,
        }

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
        stored = dict(self._entries(indexes))

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
                "registered_in": proven(reg, stored.get(reg) or self._entry_at(reg))
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

    def _entry_at(self, index: int) -> bytes | None:
        rows = self.log.read_entries(index, index + 1)
        return rows[0][1] if rows else None

    def _entries(self, indexes: Sequence[int], *, max_gap: int = 8) -> list[tuple[int, bytes]]:
        """The stored entries at these sorted indexes (missing rows are left out).

        Indexes at most `max_gap` apart are read as one range: one query per cluster, without
        reading long stretches of other entries between far-apart events.
        """
        out: list[tuple[int, bytes]] = []
        start = 0
        while start < len(indexes):
            end = start
            while end + 1 < len(indexes) and indexes[end + 1] - indexes[end] <= max_gap:
                end += 1
            wanted = set(indexes[start : end + 1])
            out += [(i, e) for i, e in self.log.read_entries(indexes[start], indexes[end] + 1) if i in wanted]
            start = end + 1
        return out

    # --- regulators' reports ---------------------------------------------------------------------------

    def events_between(self, since: datetime, until: datetime) -> list[tuple[Any, str, int]]:
        """(event, id, ledger index) of every event with event time in [since, until), in ledger order."""
        ev = TraceEvent.__table__
        with self.engine.connect() as conn:
            indexes = [
                r[0]
                for r in conn.execute(
                    select(ev.c.ledger_index)
                    .where(ev.c.at_utc >= to_utc_text(since), ev.c.at_utc < to_utc_text(until))
                    .order_by(ev.c.ledger_index)
                )
            ]
        return self._decode_at(indexes)

    def trace_events(self, code: str) -> list[tuple[Any, str, int]]:
        """(event, id, ledger index) of every event on the lot, its ancestors and its descendants."""
        with self.engine.connect() as conn:
            repo = Repository(conn)
            if repo.lot(code) is None:
                raise NotFound("lot", code)
            lots = sorted({code} | repo.ancestors(code) | repo.descendants(code))
            el = TraceEventLot.__table__
            indexes: set[int] = set()
            for chunk in in_chunks(lots):
                indexes |= {r[0] for r in conn.execute(select(el.c.seq).where(el.c.lot.in_(chunk)))}
        return self._decode_at(sorted(indexes))

    def _decode_at(self, indexes: Sequence[int]) -> list[tuple[Any, str, int]]:
        """Decode the entries at these indexes (an export's: dense, so read in long ranges)."""
        out = []
        for index, entry in self._entries(indexes, max_gap=256):
            signed = decode_entry(entry)
            out.append((signed.event, signed.id, index))
        return out

    def epcis(
        self, events: Sequence[tuple[Any, str, int]], *, created: datetime, base: str
    ) -> dict[str, Any]:
        """The EPCIS 2.0 document of these (event, id, ledger index) triples, in the given order.

        Every lot the events name gets its one identifier (trace/epcis.py: the GTIN its product was
        created with, from the tables), whether or not the document holds the event that created it;
        recordTime is when the ledger recorded each event (`record_times`). `base`: the vocabulary
        base URI. `created` must be timezone-aware.
        """
        lots = sorted({r.lot for e, _, _ in events for r in (*e.inputs, *e.outputs)})
        times = self.record_times([i for _, _, i in events])
        return epcis_document(
            [(e, eid) for e, eid, _ in events],
            created=created,
            base=base,
            recorded={eid: times[i] for _, eid, i in events if i in times},
            gtins=self.lot_gtins(lots),
        )

    def lot_gtins(self, codes: Sequence[str]) -> dict[str, str]:
        """lot code -> the GTIN of its product, for those of `codes` that are known and have one."""
        lot = TraceLot.__table__
        codes = sorted(set(codes))
        out = {}
        with self.engine.connect() as conn:
            for chunk in in_chunks(codes):
                for r in conn.execute(select(lot.c.code, lot.c.product).where(lot.c.code.in_(chunk))):
                    gtin = json.loads(r.product).get("gtin")
                    if gtin is not None:
                        out[r.code] = gtin
        return out

    def record_times(self, indexes: Sequence[int]) -> dict[int, datetime]:
        """ledger index -> when the ledger recorded that entry (UTC): the signing time of the first
        checkpoint that includes it, the moment its batch became durable. Indexes beyond the log are
        left out. Reads only the checkpoints from the first index's to the last one's.
        """
        if not indexes:
            return {}
        cp = LedgerCheckpoint.__table__
        lo, hi = min(indexes), max(indexes)
        with self.engine.connect() as conn:
            last = conn.execute(select(func.min(cp.c.size)).where(cp.c.size > hi)).scalar()
            upper = last if last is not None else hi
            rows = conn.execute(
                select(cp.c.size, cp.c.signed_at)
                .where(cp.c.size > lo, cp.c.size <= upper)
                .order_by(cp.c.size)
            ).all()
        sizes = [r.size for r in rows]
        out = {}
        for index in set(indexes):
            k = bisect_right(sizes, index)  # the first checkpoint whose size exceeds the index
            if k < len(rows):
                out[index] = datetime.fromtimestamp(rows[k].signed_at, UTC)
        return out

    def lot_products(self, codes: Sequence[str]) -> dict[str, str]:
        """Product names (Chinese) of the given lots."""
        lot = TraceLot.__table__
        codes = sorted(set(codes))
        out = {}
        with self.engine.connect() as conn:
            for chunk in in_chunks(codes):
                for r in conn.execute(select(lot.c.code, lot.c.product_name).where(lot.c.code.in_(chunk))):
                    out[r.code] = r.product_name
        return out

    def product_names_en(self, names: list[str]) -> dict[str, str]:
        """The English name (where one was recorded) of the product of the first lot named each of
        `names` (Chinese names, as `priced_products` lists them)."""
        lot = TraceLot.__table__
        out = {}
        with self.engine.connect() as conn:
            for name in names:
                row = conn.execute(select(lot.c.product).where(lot.c.product_name == name).limit(1)).first()
                en = json.loads(row.product).get("name_en") if row else None
                if en:
                    out[name] = en
        return out

    def party_names(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {
                r.id: r.name_zh
                for r in conn.execute(select(TraceParty.__table__.c.id, TraceParty.__table__.c.name_zh))
            }

    def prices(
        self, *, product: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Recorded prices by day, product and stage (production / wholesale / retail): min, mean, max, count.

        Days are China Standard Time calendar days; prices are CNY per the unit recorded with them.
        """
        ev = TraceEvent.__table__
        q = select(
            ev.c.at_utc, ev.c.product_name, ev.c.price_amount, ev.c.price_unit, ev.c.price_stage
        ).where(ev.c.price_amount.is_not(None))
        if product:
            q = q.where(ev.c.product_name == product)
        if since:
            q = q.where(ev.c.at_utc >= to_utc_text(since))
        if until:
            q = q.where(ev.c.at_utc < to_utc_text(until))
        groups: dict[tuple[str, str, str, str], list[Decimal]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                day = cst_day(parse_utc(r.at_utc)).isoformat()
                groups.setdefault((day, r.product_name or "", r.price_stage, r.price_unit), []).append(
                    Decimal(r.price_amount)
                )
        return [
            {
                "day": day,
                "product": prod,
                "stage": stage,
                "unit": unit,
                "count": len(v),
                "min": str(min(v)),
                "mean": str((sum(v) / len(v)).quantize(Decimal("0.01"))),
                "max": str(max(v)),
            }
            for (day, prod, stage, unit), v in sorted(groups.items())
        ]

    # --- a party's own view (the portal) -------------------------------------------------------------

    def holdings(self, party_id: str) -> list[portal.Holding]:
        return portal.holdings(self.engine, party_id)

    def incoming(self, party_id: str) -> list[portal.Incoming]:
        return portal.incoming(self.engine, party_id)

    def shipments_from(self, party_id: str) -> list[portal.Shipment]:
        return portal.shipments_from(self.engine, party_id)

    # --- the public home page ----------------------------------------------------------------------------

    def recent_recalls(self, *, limit: int = 5, since: datetime | None = None) -> list[RecallNotice]:
        """The latest `limit` recalls, newest (in ledger order) first; with `since`, only those whose
        event time is at or after it. Each names the recalled lot (the event's first input: the
        rules flag it and its descendants). See `RecallNotice` for where each field comes from.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        ev = TraceEvent.__table__
        el = TraceEventLot.__table__
        lot = TraceLot.__table__
        q = select(ev.c.id, ev.c.ledger_index, ev.c.party, ev.c.event_time).where(ev.c.kind == "recall")
        if since is not None:
            q = q.where(ev.c.at_utc >= to_utc_text(since))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(ev.c.ledger_index.desc()).limit(limit)).all()
            if not rows:
                return []
            indexes = [r.ledger_index for r in rows]
            # The tables' word on each recall's lot: used only when the entry cannot be read.
            listed = {
                r.seq: r.lot
                for r in conn.execute(
                    select(el.c.seq, el.c.lot).where(el.c.seq.in_(indexes), el.c.role == "input")
                )
            }
            pt = TraceParty.__table__
            names = {
                x.id: {"name_zh": x.name_zh, "name_en": x.name_en}
                for x in conn.execute(
                    select(pt.c.id, pt.c.name_zh, pt.c.name_en).where(
                        pt.c.id.in_(sorted({r.party for r in rows}))
                    )
                )
            }
        stored = dict(self._entries(sorted(indexes)))
        found: list[tuple[Any, Any]] = []
        for r in rows:
            try:
                event = decode_entry(stored[r.ledger_index]).event
            except (KeyError, TraceError):
                event = None
            found.append((r, event))
        codes = {e.inputs[0].lot if e is not None else listed.get(r.ledger_index, "") for r, e in found}
        with self.engine.connect() as conn:
            products = {
                x.code: json.loads(x.product)
                for x in conn.execute(select(lot.c.code, lot.c.product).where(lot.c.code.in_(sorted(codes))))
            }
        out = []
        for r, event in found:
            code = event.inputs[0].lot if event is not None else listed.get(r.ledger_index, "")
            out.append(
                RecallNotice(
                    event_id=r.id,
                    index=r.ledger_index,
                    lot=code,
                    product=products.get(code, {}),
                    reason=event.detail.reason if event is not None else None,
                    instructions=event.detail.instructions if event is not None else None,
                    event_time=event.event_time if event is not None else r.event_time,
                    regulator=event.party if event is not None else r.party,
                    regulator_names=names.get(r.party, {}),
                )
            )
        return out

    # --- the regulator's console ---------------------------------------------------------------------

    def priced_products(self) -> list[str]:
        """The names of the products that have recorded prices, sorted (the price chart's picker)."""
        ev = TraceEvent.__table__
        q = (
            select(ev.c.product_name)
            .where(ev.c.price_amount.is_not(None), ev.c.product_name.is_not(None))
            .distinct()
            .order_by(ev.c.product_name)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(q)]

    def entry_event(self, index: int) -> dict[str, Any] | None:
        """What the tables say ledger entry `index` recorded: event id, kind, party, time and lots.

        For naming an entry an audit found altered: the entry's bytes can no longer be trusted, the
        projection written when it was accepted still says what it was. None if no event has it.
        """
        ev = TraceEvent.__table__
        el = TraceEventLot.__table__
        with self.engine.connect() as conn:
            r = conn.execute(select(ev).where(ev.c.ledger_index == index)).first()
            if r is None:
                return None
            lots = [x.lot for x in conn.execute(select(el.c.lot).where(el.c.seq == index).order_by(el.c.lot))]
            name = self._party_names(conn, {r.party}).get(r.party)
        return {
            "index": index,
            "event_id": r.id,
            "kind": r.kind,
            "party": r.party,
            "party_name": name,
            "event_time": r.event_time,
            "lots": lots,
        }
