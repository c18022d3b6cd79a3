"""The SQL repository against its executable specification, `state.MemoryState`.

Hypothesis draws random histories — a few parties harvesting, testing, certifying, splitting,
merging, shipping, receiving (in part, or rejecting), selling, recalling and destroying, with a share
of attempts that break a rule (wrong party, too much, stale head, bad time, wrong unit, …) — and
applies each event both to a MemoryState and, the way the service's `admit` hook does, to a
`Repository` inside one SQL transaction (`check_event`, then `apply` in a savepoint). Both must refuse
the same events with the same rule, field and message, and end in the same lots, holdings,
shipments, disposals, parties and lineage. Each example runs in a transaction that is rolled back,
so every example starts from an empty database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from farmtrace.ledger.sqlstore import make_engine
from farmtrace.trace.errors import RuleViolation
from farmtrace.trace.lineage import ancestors, descendants
from farmtrace.trace.model.encoding import encode_event, event_id
from farmtrace.trace.model.event import Event
from farmtrace.trace.model.units import format_decimal
from farmtrace.trace.model.values import PartyRecord
from farmtrace.trace.rules import MemoryState, Transit, check_event, effects
from farmtrace.trace.store.sql_state import Repository
from farmtrace.trace.store.tables import (
    TABLES,
    TraceCertificate,
    TraceDisposal,
    TraceEvent,
    TraceHolding,
    TraceLot,
    TraceParty,
    TraceTransit,
)

from .story import (
    CABBAGE,
    CERTIFY,
    COOP,
    FARMER,
    INSPECT_FAIL,
    INSPECT_PASS,
    MARKET,
    PROCESSOR,
    REGULATOR,
    SHOP,
    START,
    STATION,
    key_id,
    key_wire,
    party_wire,
    wire,
)

PARTIES = (REGULATOR, STATION, COOP, FARMER, MARKET, SHOP, PROCESSOR)
PRODUCERS = (COOP, FARMER)
RECEIVERS = (MARKET, SHOP, PROCESSOR)
SELLERS = (MARKET, SHOP)
HOLDERS = (COOP, FARMER, MARKET, SHOP, PROCESSOR)


# --- the twin: one history, two implementations --------------------------------------------------


@dataclass
class Twin:
    """A MemoryState and a Repository (on `conn`, inside the caller's transaction) fed the same events."""

    conn: Connection
    mem: MemoryState = field(default_factory=MemoryState)
    clock: datetime = START
    index: int = 0
    outcomes: list[tuple[str, str | None]] = field(default_factory=list)  # (kind, rule or None)
    recalled: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def story(self, last: int = 40) -> str:
        """The last events submitted, one a line: id, kind, party, lots (in -> out), outcome."""
        return "\n".join(self.log[-last:])

    def __post_init__(self) -> None:
        self.repo = Repository(self.conn)
        record = _record(REGULATOR)
        at = START - timedelta(days=1)
        self.mem.genesis(record, at=at)
        self.repo.register(record, at=at, event_id="0" * 64)
        for pid in PARTIES[1:]:
            assert (
                self.submit(self.event("party.register", REGULATOR, detail={"party": party_wire(pid)}))
                is None
            )

    @property
    def now(self) -> datetime:
        return self.clock + timedelta(seconds=30)

    def event(self, kind: str, party: str, *, time: datetime | None = None, **kw: Any) -> Event:
        kw.setdefault("key", self.key(party))
        return Event.from_wire(wire(kind, party, time=time or self.clock, **kw))

    def key(self, party: str) -> str:
        """The party's first usable key (its original one if all are revoked or it is unknown)."""
        p = self.mem.party(party)
        usable = sorted(k for k, s in (p.keys.items() if p else ()) if s.revoked_at is None)
        return usable[0] if usable else key_id(party)

    def submit(self, event: Event) -> str | None:
        """Record `event` in both; assert they agree; return the rule that refused it, or None."""
        eid = event_id(encode_event(event))
        now = self.now
        try:
            self.mem.record(event, eid, now=now)
            mem = None
        except RuleViolation as exc:
            mem = (exc.rule, exc.field, _utc(exc.message))
        try:
            check_event(event, self.repo, now=now)  # what the service's admit hook does
            with self.conn.begin_nested():
                self.repo.apply(event, eid, effects(event, eid), ledger_index=self.index)
            self.index += 1
            sql = None
        except RuleViolation as exc:
            sql = (exc.rule, exc.field, _utc(exc.message))
        self.log.append(
            f"{eid[:8]} {event.kind:<16} {event.party} {_lots(event)} -> {mem[0] if mem else 'ok'}"
        )
        assert sql == mem, f"SQL {sql} but memory {mem}\n{self.story()}"
        if mem is None:  # catch a divergence at the event that causes it (cheap: four queries)
            assert quick_state(self.conn) == quick_mem_state(self.mem), f"state differs after\n{self.story()}"
        self.clock += timedelta(minutes=1)
        self.outcomes.append((event.kind, mem and mem[0]))
        if mem is None and event.kind == "recall":
            self.recalled.append(event.inputs[0].lot)
        return mem and mem[0]


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)")


def _utc(message: str) -> str:
    """The message with every time in UTC: the repository keeps UTC text, MemoryState the event's offset,
    so a message may name the same instant as 06:01+08:00 or as 22:01+00:00."""
    return _TIME.sub(lambda m: datetime.fromisoformat(m.group()).astimezone(UTC).isoformat(), message)


def _lots(event: Event) -> str:
    ins = ",".join(f"{r.lot}:{r.quantity}{r.unit}" for r in event.inputs)
    outs = ",".join(f"{o.lot}:{o.quantity}{o.unit}" for o in event.outputs)
    return f"{ins} -> {outs}" if outs else ins


def _record(pid: str) -> PartyRecord:
    register = Event.from_wire(
        wire("party.register", REGULATOR, time=START, detail={"party": party_wire(pid)})
    )
    return register.detail.party  # type: ignore[attr-defined]


# --- comparing the two states -----------------------------------------------------------------------


def sql_state(conn: Connection) -> dict[str, Any]:
    repo = Repository(conn)
    lots = {}
    for (code,) in conn.execute(select(TraceLot.__table__.c.code)):
        lot = repo.lot(code)
        assert lot is not None
        lots[code] = lot
    h, t, d = TraceHolding.__table__, TraceTransit.__table__, TraceDisposal.__table__
    certificates: dict[str, set[str]] = {}
    for r in conn.execute(select(TraceCertificate.__table__)):
        certificates.setdefault(r.certificate_no, set()).add(r.lot)
    return {
        "lots": lots,
        "holdings": {(r.lot, r.party): Decimal(r.quantity) for r in conn.execute(select(h))},
        "transits": {
            (r.ship_event, r.lot): Transit(
                r.ship_event, r.lot, r.source, r.destination, Decimal(r.quantity), r.unit, Decimal(r.received)
            )
            for r in conn.execute(select(t))
        },
        "disposed": {(r.lot, r.how): Decimal(r.quantity) for r in conn.execute(select(d))},
        "events": {
            r.id: datetime.fromisoformat(r.at_utc)
            for r in conn.execute(select(TraceEvent.__table__.c.id, TraceEvent.__table__.c.at_utc))
        },
        "parties": {pid: repo.party(pid) for (pid,) in conn.execute(select(TraceParty.__table__.c.id))},
        "certificates": {number: frozenset(lots) for number, lots in certificates.items()},
        "inspections": {
            eid: lot
            for (eid,) in conn.execute(select(TraceEvent.__table__.c.id))
            if (lot := repo.inspected_lot(eid)) is not None
        },
    }


def quick_state(conn: Connection) -> tuple[Any, ...]:
    """Lots (head, quantity, flags), holdings, shipments and disposals, in four queries."""
    lot, h, t, d = (m.__table__ for m in (TraceLot, TraceHolding, TraceTransit, TraceDisposal))
    cols = (
        lot.c.code,
        lot.c.head,
        lot.c.quantity,
        lot.c.failed,
        lot.c.recalled,
        lot.c.rejected,
        lot.c.cleared,
    )
    return (
        {r[0]: (r[1], Decimal(r[2]), *map(bool, r[3:])) for r in conn.execute(select(*cols))},
        {(r.lot, r.party): Decimal(r.quantity) for r in conn.execute(select(h))},
        {(r.ship_event, r.lot): (Decimal(r.quantity), Decimal(r.received)) for r in conn.execute(select(t))},
        {(r.lot, r.how): Decimal(r.quantity) for r in conn.execute(select(d))},
    )


def quick_mem_state(mem: MemoryState) -> tuple[Any, ...]:
    return (
        {c: (x.head, x.quantity, x.failed, x.recalled, x.rejected, x.cleared) for c, x in mem.lots.items()},
        dict(mem.holdings),
        {k: (x.quantity, x.received) for k, x in mem.transits.items()},
        dict(mem.disposed),
    )


def assert_tables_match(sql: dict[str, Any], mem: MemoryState) -> None:
    """The tables (`sql_state`) hold exactly the reference's lots, holdings, shipments, disposals,
    event times and parties."""
    assert sql["lots"] == mem.lots
    assert sql["holdings"] == mem.holdings
    assert sql["transits"] == mem.transits
    assert sql["disposed"] == mem.disposed
    assert sql["events"] == mem.events
    assert sql["parties"] == mem.parties
    assert sql["certificates"] == mem.certificates
    assert sql["inspections"] == mem.inspections


def assert_same_state(twin: Twin) -> None:
    mem = twin.mem
    assert_tables_match(sql_state(twin.conn), mem)
    repo = twin.repo
    for code in mem.lots:
        assert repo.children_of(code) == mem.children_of(code), code
        assert repo.holders(code) == mem.holders(code), code


def assert_lineage_invariants(twin: Twin) -> None:
    repo, mem = twin.repo, twin.mem
    codes = sorted(mem.lots)
    back = {c: repo.ancestors(c) for c in codes}
    forward = {c: repo.descendants(c) for c in codes}
    for c in codes:
        # The recursive queries agree with the pure walks over the reference state ...
        assert back[c] == ancestors(c, mem.parents_of), c
        assert forward[c] == descendants(c, mem.children_of), c
        # ... and are each other's inverse: d descends from c iff c is an ancestor of d.
        assert c not in back[c] and c not in forward[c]
        for d in forward[c]:
            assert c in back[d], (c, d)
        for a in back[c]:
            assert c in forward[a], (a, c)
    lots = sql_state(twin.conn)["lots"]
    for code in twin.recalled:  # a recall reaches every descendant, also those made after it
        assert lots[code].recalled
        assert all(lots[d].recalled for d in forward[code]), code
    for code, lot in lots.items():  # and flags spread downstream only
        if lot.failed or lot.recalled:
            assert all(lots[d].failed or not lot.failed for d in forward[code])


# --- random histories ---------------------------------------------------------------------------------


class History:
    """Draws plausible events from the reference state; about one in five is meant to break a rule."""

    def __init__(self, twin: Twin, draw: Callable[[st.SearchStrategy], Any]) -> None:
        self.t = twin
        self.draw = draw
        self.next_lot = 0

    # --- drawing helpers ---------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        # The rare branch is the high end: Hypothesis favours (and shrinks towards) small integers,
        # so failing examples shrink towards histories without the rare twists.
        return self.draw(st.integers(0, 99)) >= 100 - p * 100

    def pick(self, items: Any) -> Any:
        return self.draw(st.sampled_from(sorted(items)))

    def new_code(self) -> str:
        if self.t.mem.lots and self.chance(0.05):
            return self.pick(self.t.mem.lots)  # a code already in use
        self.next_lot += 1
        return f"L-{self.next_lot}"

    def quantity(self, most: Decimal) -> Decimal:
        """A quantity up to `most` (whole, or with a half); now and then a little more than `most`."""
        if self.chance(0.05):
            return most + 1
        whole = int(most)
        if whole < 1:
            return most
        q = Decimal(self.draw(st.integers(1, whole)))
        if q < most and self.chance(0.2):
            q += Decimal("0.5")
        return min(q, most)

    def party(self, right: str) -> str:
        return right if not self.chance(0.04) else self.pick(PARTIES)

    def ref(self, lot: str, quantity: Decimal) -> dict[str, Any]:
        state = self.t.mem.lot(lot)
        assert state is not None
        head = state.head
        if self.chance(0.03) and self.t.mem.events:
            head = self.pick(self.t.mem.events)  # a stale (or unrelated) head
        unit = state.unit
        if self.chance(0.02):
            unit = "jin" if unit == "kg" else "kg"
        return {"lot": lot, "quantity": format_decimal(quantity), "unit": unit, "follows": [head]}

    def when(self) -> datetime:
        if self.chance(0.02):
            return self.t.clock - timedelta(hours=self.draw(st.integers(1, 48)))  # time_order / key_inactive
        if self.chance(0.015):
            return self.t.now + timedelta(minutes=10)  # future
        return self.t.clock

    def held(self, parties: tuple[str, ...] = HOLDERS) -> list[tuple[str, str, Decimal]]:
        return sorted((lot, p, q) for (lot, p), q in self.t.mem.holdings.items() if q > 0 and p in parties)

    def make(self, kind: str, party: str, **kw: Any) -> Event:
        key = self.t.key(party)
        if self.chance(0.01):
            key = key_id(party, self.draw(st.integers(0, 3)))  # key_unknown or key_inactive
        return self.t.event(kind, party, time=self.when(), key=key, **kw)

    # --- operations: each returns an event, or None when nothing fits -------------------------------

    def harvest(self) -> Event | None:
        unit = "jin" if self.chance(0.2) else "kg"
        outs = [
            {
                "lot": self.new_code(),
                "quantity": str(self.draw(st.integers(1, 500))),
                "unit": unit,
                "product": CABBAGE,
            }
            for _ in range(self.draw(st.integers(1, 2)))
        ]
        if outs[0]["lot"] == outs[-1]["lot"] and len(outs) == 2:
            outs.pop()
        party = self.party(self.pick(PRODUCERS))
        return self.make("harvest", party, outputs=outs, detail={"origin": {"name": "3号地"}})

    def inspect(self) -> Event | None:
        if not self.t.mem.lots:
            return None
        code = self.pick(self.t.mem.lots)
        lot = self.t.mem.lots[code]
        detail = INSPECT_FAIL if self.chance(0.15) else INSPECT_PASS
        return self.make(
            "inspect",
            self.party(STATION),
            inputs=[self.ref(code, self.quantity(lot.quantity))],
            detail=detail,
        )

    def certify(self) -> Event | None:
        held = self.held(PRODUCERS)
        if not held:
            return None
        lot, party, _ = self.pick(held)
        quantity = self.quantity(self.t.mem.lots[lot].quantity)
        return self.make("certify", self.party(party), inputs=[self.ref(lot, quantity)], detail=CERTIFY)

    def transform(self) -> Event | None:
        held = self.held()
        if not held:
            return None
        lot, party, q = self.pick(held)
        merge = [x for x in held if x[1] == party and x[0] != lot]
        if merge and self.chance(0.35):
            others = [
                merge[i]
                for i in sorted(
                    set(self.draw(st.lists(st.integers(0, len(merge) - 1), min_size=1, max_size=2)))
                )
            ]
            inputs = [(lot, q)] + [(x[0], x[2]) for x in others]
            total = sum(((self.t.mem.lots[c].unit == "jin" and qq / 2) or qq) for c, qq in inputs)
            outs = [
                {
                    "lot": self.new_code(),
                    "quantity": format_decimal(self.quantity(total)),
                    "unit": "kg",
                    "product": CABBAGE,
                }
            ]
            kind = "merge"
        else:
            take = self.quantity(q)
            inputs = [(lot, take)]
            n = self.draw(st.integers(1, 4))
            base = take / 2 if self.t.mem.lots[lot].unit == "jin" else take  # outputs in kg
            part = (base / n).quantize(Decimal("0.001"), rounding="ROUND_DOWN")
            if part <= 0:
                return None
            sizes = [part] * n
            if self.chance(0.08):
                sizes[0] += 1  # outputs exceed inputs
            outs = [
                {"lot": self.new_code(), "quantity": format_decimal(s), "unit": "kg", "product": CABBAGE}
                for s in sizes
            ]
            kind = "split" if n > 1 else self.pick(["repack", "process", "split"])
        if len({o["lot"] for o in outs} | {c for c, _ in inputs}) != len(outs) + len(inputs):
            return None  # a lot code drawn twice in one event is a parse error, not a rule's business
        return self.make(
            "transform", self.party(party), inputs=[self.ref(c, qq) for c, qq in inputs], outputs=outs, detail={"type": kind}
        )  # fmt: skip

    def ship(self) -> Event | None:
        held = self.held()
        ready = [x for x in held if self.t.mem.lots[x[0]].cleared and not self.blocked(x[0])]
        if ready and self.chance(0.8):
            held = ready  # mostly what may leave: the history moves on instead of piling up refusals
        if not held:
            return None
        lot, party, q = self.pick(held)
        to = self.pick(RECEIVERS) if not self.chance(0.08) else self.pick(PARTIES)
        return self.make(
            "ship", self.party(party), inputs=[self.ref(lot, self.quantity(q))], detail={"destination": to}
        )

    def receive(self) -> Event | None:
        open_ = [t for t in self.t.mem.transits.values() if t.received < t.quantity]
        if not open_:
            return None
        t = self.t.mem.transits[self.pick([(x.ship_event, x.lot) for x in open_])]
        check = (
            {"result": "rejected", "note": "包装破损"}
            if self.chance(0.15)
            else {"result": "accepted", "certificate_no": CERTIFY["certificate_no"]}
        )
        if self.chance(0.05):
            check = {"result": "accepted"}  # no certificate: market_entry at a market or shop
        elif self.chance(0.05):  # a number no 合格证 carries: market_entry, unless checked on paper
            check = {"result": "accepted", "certificate_no": "NO-SUCH-CERT-999"}
            if self.chance(0.5):
                check["certificate_source"] = "paper"
        elif self.chance(0.1) and self.t.mem.inspections:  # any inspection: this lot's, another's, failed
            check = {"result": "accepted", "inspection_event": self.pick(sorted(self.t.mem.inspections))}
        elif self.chance(0.03):  # any recorded event id: market_entry unless it is an inspection
            check = {"result": "accepted", "inspection_event": self.pick(sorted(self.t.mem.events))}
        detail = {"source": t.source, "ship_event": t.ship_event, "entry_check": check}
        if self.chance(0.04):
            detail["source"] = self.pick(HOLDERS)
        quantity = self.quantity(t.quantity - t.received)
        return self.make(
            "receive", self.party(t.destination), inputs=[self.ref(t.lot, quantity)], detail=detail
        )

    def blocked(self, code: str) -> bool:
        lot = self.t.mem.lots[code]
        return lot.failed or lot.recalled or lot.rejected

    def sell(self) -> Event | None:
        held = self.held(SELLERS)
        ready = [x for x in held if not self.blocked(x[0])]
        if ready and self.chance(0.8):
            held = ready
        if not held:
            return None
        lot, party, q = self.pick(held)
        price = {"amount": "6.8", "currency": "CNY", "unit": "kg", "stage": "retail"}
        return self.make(
            "sell", self.party(party), inputs=[self.ref(lot, self.quantity(q))], detail={}, price=price
        )

    def recall(self) -> Event | None:
        if not self.t.mem.lots:
            return None
        code = self.pick(self.t.mem.lots)
        lot = self.t.mem.lots[code]
        detail = {"reason": "抽检不合格", "instructions": "立即下架"}
        return self.make(
            "recall", self.party(REGULATOR), inputs=[self.ref(code, lot.quantity)], detail=detail
        )

    def destroy(self) -> Event | None:
        held = self.held()
        if not held:
            return None
        lot, party, q = self.pick(held)
        detail: dict[str, Any] = {"reason": "召回销毁"}
        actor = party
        if self.chance(0.3):
            actor, detail["holder"] = self.pick([REGULATOR, MARKET]), party  # supervised destruction
        return self.make(
            "destroy", self.party(actor), inputs=[self.ref(lot, self.quantity(q))], detail=detail
        )

    def administer(self) -> Event | None:
        target = self.pick([FARMER, PROCESSOR, COOP])
        what = self.pick(["suspend", "key_add", "key_revoke"])
        if what == "suspend":
            return self.make(
                "party.suspend", self.party(REGULATOR), detail={"party_id": target, "reason": "违规"}
            )
        generation = self.draw(st.integers(0, 2))
        if what == "key_add":
            return self.make(
                "party.key_add",
                self.party(REGULATOR),
                detail={"party_id": target, **key_wire(target, generation)},
            )
        detail = {"party_id": target, "key_id": key_id(target, generation), "reason": "丢失"}
        return self.make("party.key_revoke", self.party(REGULATOR), detail=detail)  # fmt: skip

    # Ordered so that Hypothesis' preference for the first choices favours moving goods along.
    OPS = (
        ("receive", 5),
        ("ship", 5),
        ("sell", 3),
        ("transform", 4),
        ("certify", 3),
        ("inspect", 3),
        ("harvest", 3),
        ("recall", 1),
        ("destroy", 1),
        ("administer", 1),
    )

    def step(self) -> None:
        names = [name for name, weight in self.OPS for _ in range(weight)]
        event = getattr(self, self.draw(st.sampled_from(names)))() or self.harvest()
        self.t.submit(event)


# --- the property -------------------------------------------------------------------------------------


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine, tables=TABLES)
    return engine


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is always rolled back: each example starts from empty tables."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()


def run_history(engine: Engine, data: st.DataObject, steps: int) -> Twin:
    with rolled_back(engine) as conn:
        twin = Twin(conn)
        history = History(twin, data.draw)
        for _ in range(data.draw(st.integers(steps // 2, steps), label="steps")):
            history.step()
        try:
            assert_same_state(twin)
            assert_lineage_invariants(twin)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nafter\n{twin.story()}") from exc
        return twin


# No shrink phase: shrinking a failing 60-step SQL history takes Hypothesis its whole five-minute
# budget, which pytest-timeout (300 s) would report as a bare timeout. Instead a failure names the
# event where the two implementations part and prints the history up to it (`Twin.story`); the
# example database replays it.
SETTINGS = dict(
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_sqlite_repository_matches_memory_state(tmp_path, data) -> None:
    run_history(_sqlite(tmp_path), data, steps=60)


@pytest.mark.postgres
@settings(max_examples=8, **SETTINGS)
@given(data=st.data())
def test_postgres_repository_matches_memory_state(postgres_url, data) -> None:
    run_history(_postgres(postgres_url), data, steps=30)


_ENGINES: dict[str, Engine] = {}


def _sqlite(tmp_path) -> Engine:
    # One database file per test function (Hypothesis reuses the fixture across examples; every
    # example rolls back, so each starts from empty tables).
    url = f"sqlite:///{tmp_path / 'repository.db'}"
    if url not in _ENGINES:
        _ENGINES[url] = _engine(url)
    return _ENGINES[url]


def _postgres(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = _engine(url)
    return _ENGINES[url]


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()


# --- the generator is not vacuous ---------------------------------------------------------------------


def test_histories_accept_and_refuse_a_mix(tmp_path) -> None:
    """Many histories drawn together reach every kind and a good share of refusals by many rules.

    The draws are derandomized: this states a property of the generator over one fixed sample, which
    a fresh random sample could miss by chance (the correctness properties above keep drawing anew)."""
    outcomes: list[tuple[str, str | None]] = []

    @settings(max_examples=15, database=None, derandomize=True, **SETTINGS)
    @given(data=st.data())
    def collect(data) -> None:
        outcomes.extend(run_history(_sqlite(tmp_path), data, steps=40).outcomes)

    collect()
    accepted = {kind for kind, rule in outcomes if rule is None}
    assert {"harvest", "inspect", "certify", "transform", "ship", "receive", "sell"} <= accepted
    rules = {rule for _, rule in outcomes if rule}
    assert len(rules) >= 8, rules
    assert 0.1 < sum(1 for _, r in outcomes if r) / len(outcomes) < 0.9


# --- parents are a set ----------------------------------------------------------------------------------


def test_merge_parents_are_sorted_in_both(tmp_path) -> None:
    """A merge's inputs in any order give the merged lot the same parents, sorted, in both."""
    with rolled_back(_sqlite(tmp_path)) as conn:
        twin = Twin(conn)
        for code in ("L-B", "L-A"):
            out_ = [{"lot": code, "quantity": "10", "unit": "kg", "product": CABBAGE}]
            assert (
                twin.submit(twin.event("harvest", COOP, outputs=out_, detail={"origin": {"name": "3号地"}}))
                is None
            )
        inputs = [
            {"lot": c, "quantity": "10", "unit": "kg", "follows": [twin.mem.lots[c].head]}
            for c in ("L-B", "L-A")
        ]
        merged = [{"lot": "L-M", "quantity": "20", "unit": "kg", "product": CABBAGE}]
        assert twin.submit(twin.event("transform", COOP, inputs=inputs, outputs=merged, detail={"type": "merge"})) is None  # fmt: skip
        assert twin.mem.lots["L-M"].parents == ("L-A", "L-B")
        assert twin.repo.lot("L-M").parents == ("L-A", "L-B")  # type: ignore[union-attr]
        assert_same_state(twin)
