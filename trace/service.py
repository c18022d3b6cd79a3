"""TraceService: the domain's one front, over a ledger `Log` and the SQL engine of its store.

A facade: recording delegates to the write path (trace/ingest/record.py, `Recorder`), and every
read is a one-line delegate to the module of trace/reads/ that answers it, with a typed answer
(frozen dataclasses):

    reads/lots.py      lot_summary, trace_graph          reads/recalls.py   recall_report
                       lot_for, trace_for (as an audience is shown them: audience.py)
    reads/journeys.py  journey_bundle                    reads/parties.py   parties, party, anomalies, party_names
    reads/portal.py    holdings, incoming, shipments_from
    reads/reports.py   prices, priced_products, product_names_en, lot_products, recent_recalls, entry_event
    reads/events.py    signed_event, events_between, trace_events, epcis, record_times

No read answers a dict: callers read the answers' attributes, and an answer's `to_wire()` writes
the JSON the HTTP API serves (GET /lots/{code}, .../trace, .../journey). All SQL is in trace/store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from farmtrace.ledger.log import Log

from .audience import Audience, Custody, visible_lot, visible_trace
from .auth import check_token
from .clock import Clock, utc_now
from .errors import TraceError
from .ingest.record import Receipt, Recorder
from .model.encoding import SignedEvent
from .model.event import Event
from .reads import events as event_reads
from .reads import journeys as journey_reads
from .reads import lots as lot_reads
from .reads import parties as party_reads
from .reads import portal as portal_reads
from .reads import recalls as recall_reads
from .reads import reports as report_reads
from .reads.events import LoggedEvent
from .reads.reports import RecallNotice
from .rules import PartyState
from .store.queries import Engine, create_tables
from .store.sql_state import Repository

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
        create_tables(self.engine)

    # --- recording ---------------------------------------------------------------------------------

    def record(self, entry: bytes) -> Receipt:
        """Record one signed event (a ledger entry). Raises TraceError subclasses (see `record_many`)."""
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

    def party_for_token(self, token: str, *, role: str | None = None) -> PartyState:
        """The party a request's token authenticates (holding `role`, if given), checked against
        this service's log origin and clock (trace/auth.py `check_token`). Raises Forbidden otherwise."""
        with self.engine.connect() as conn:
            return check_token(token, Repository(conn), origin=self.log.origin, now=self.clock(), role=role)

    # --- lots, lineage, recalls, the consumer's evidence --------------------------------------------

    def lot_summary(self, code: str) -> lot_reads.LotSummary:
        return lot_reads.lot(self.engine, code)

    def trace_graph(self, code: str, *, direction: str = "both") -> lot_reads.TraceGraph:
        return lot_reads.trace(self.engine, code, direction=direction)

    def lot_for(self, code: str, audience: Audience) -> lot_reads.LotSummary:
        """The lot as `audience` is shown it (trace/audience.py): its facts, and the holders it may see."""
        summary = lot_reads.lot(self.engine, code)
        if audience.regulator:
            return visible_lot(summary, audience, Custody())
        return visible_lot(summary, audience, Custody.of_shipments(lot_reads.shipments(self.engine, [code])))

    def trace_for(self, code: str, audience: Audience, *, direction: str = "both") -> lot_reads.TraceGraph:
        """The lineage graph as `audience` is shown it (trace/audience.py)."""
        graph = lot_reads.trace(self.engine, code, direction=direction)
        if audience.regulator:
            return visible_trace(graph, audience, Custody())
        custody = Custody.of_shipments(lot_reads.shipments(self.engine, [n.lot for n in graph.nodes]))
        return visible_trace(graph, audience, custody)

    def recall_report(self, code: str) -> recall_reads.RecallReach:
        return recall_reads.recall_report(self.engine, code)

    def journey_bundle(self, code: str) -> journey_reads.Journey:
        return journey_reads.journey(self.engine, self.log, code)

    # --- parties ---------------------------------------------------------------------------------------

    def parties(self) -> list[party_reads.PartySummary]:
        return party_reads.parties(self.engine)

    def party(self, party_id: str) -> party_reads.PartySummary:
        return party_reads.party(self.engine, party_id)

    def party_names(self) -> dict[str, str]:
        return party_reads.party_names(self.engine)

    def anomalies(
        self,
        *,
        rule: str | None = None,
        party: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[party_reads.Anomaly]:
        return party_reads.anomalies(
            self.engine, rule=rule, party=party, since=since, until=until, limit=limit
        )

    # --- the signed events: exports --------------------------------------------------------------------

    def signed_event(self, event_id: str) -> tuple[SignedEvent, int]:
        return event_reads.signed_event(self.engine, self.log, event_id)

    def events_between(self, since: datetime, until: datetime) -> list[LoggedEvent]:
        return event_reads.events_between(self.engine, self.log, since, until)

    def trace_events(self, code: str) -> list[LoggedEvent]:
        return event_reads.trace_events(self.engine, self.log, code)

    def epcis(
        self, events: Sequence[tuple[Event, str, int]], *, created: datetime, base: str
    ) -> dict[str, Any]:
        return event_reads.epcis(self.engine, events, created=created, base=base)

    def record_times(self, indexes: Sequence[int]) -> dict[int, datetime]:
        return event_reads.record_times(self.engine, indexes)

    # --- reports and notices ---------------------------------------------------------------------------

    def prices(
        self, *, product: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[report_reads.PriceRow]:
        return report_reads.prices(self.engine, product=product, since=since, until=until)

    def priced_products(self) -> list[str]:
        return report_reads.priced_products(self.engine)

    def product_names_en(self, names: Sequence[str]) -> dict[str, str]:
        return report_reads.product_names_en(self.engine, names)

    def lot_products(self, codes: Sequence[str]) -> dict[str, str]:
        return report_reads.lot_products(self.engine, codes)

    def recent_recalls(self, *, limit: int = 5, since: datetime | None = None) -> list[RecallNotice]:
        return report_reads.recent_recalls(self.engine, self.log, limit=limit, since=since)

    def entry_event(self, index: int) -> report_reads.EntryRecord | None:
        return report_reads.entry_event(self.engine, index)

    # --- a party's own view (the portal) ---------------------------------------------------------------

    def holdings(self, party_id: str) -> list[portal_reads.Holding]:
        return portal_reads.holdings(self.engine, party_id)

    def incoming(self, party_id: str) -> list[portal_reads.Incoming]:
        return portal_reads.incoming(self.engine, party_id)

    def shipments_from(self, party_id: str) -> list[portal_reads.Shipment]:
        return portal_reads.shipments_from(self.engine, party_id)
