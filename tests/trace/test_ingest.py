"""Bulk ingest (`TraceService.record_many` over `ingest.runs.Run`) against the reference, event by event.

Hypothesis draws a random history with test_repository's generator (a Twin: `MemoryState` and the
SQL `Repository` applying each event in turn and agreeing on every verdict). Every event is then
signed with its party's key and the whole history is fed to a fresh TraceService in random
batches, with small runs and small load-ahead windows so that runs and windows split everywhere.
The service must reach the same verdict on every event (a refusal by the same rule; an event
signed with a key nobody registered is refused as unauthenticated instead), keep one anomaly per
refusal by a rule, and end in exactly the reference's lots, holdings, shipments, disposals,
parties and event times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.trace.errors import RuleViolation, SignatureRefused, TraceError
from farmtrace.trace.ingest import record, runs
from farmtrace.trace.ingest.record import Receipt
from farmtrace.trace.model.encoding import encode_entry, sign_event
from farmtrace.trace.model.event import Event
from farmtrace.trace.service import TraceService
from farmtrace.trace.store.bulk import BatchState
from farmtrace.trace.store.tables import TraceAnomaly

from ..conftest import fresh_schema
from .story import START, key_id, party_wire, private_key, wire
from .test_repository import (
    PARTIES,
    REGULATOR,
    SETTINGS,
    History,
    Twin,
    _sqlite,
    assert_tables_match,
    rolled_back,
    sql_state,
)

FIXED_NOW = START + timedelta(hours=6)  # after every event a history draws (a minute apart)
KEYS = {key_id(p, g): private_key(p, g) for p in PARTIES for g in range(4)}


class FixedTwin(Twin):
    """The reference with one wall clock for the whole history (a service run reads its clock once),
    keeping every event it was given, the parties' registrations included."""

    @property
    def now(self):  # type: ignore[override]
        return FIXED_NOW

    def submit(self, event: Event) -> str | None:
        party = self.mem.party(event.party)
        registered = party is not None and event.key_id in party.keys
        self.__dict__.setdefault("events", []).append((event, registered))
        return super().submit(event)


def _history(engine, data, steps: int) -> tuple[list[Event], list[str | None], FixedTwin]:
    """Events a random history submitted, in order, and the reference verdict (rule or None) of each."""
    with rolled_back(engine) as conn:
        twin = FixedTwin(conn)
        history = History(twin, data.draw)
        for _ in range(data.draw(st.integers(steps // 2, steps), label="steps")):
            history.step()
        events = twin.__dict__["events"]
        assert len(events) == len(twin.outcomes)
        return (
            events,
            [(rule, registered) for (_, rule), (_, registered) in zip(twin.outcomes, events, strict=True)],
            twin,
        )


def _entry(event: Event) -> bytes:
    signed = sign_event(event, KEYS[event.key_id])
    return encode_entry(signed.canonical, signed.signature)


def _genesis() -> bytes:
    # The Twin bootstraps its regulator without an event; the service needs the signed genesis.
    return _entry(
        Event.from_wire(
            wire(
                "party.register",
                REGULATOR,
                time=START - timedelta(days=1),
                detail={"party": party_wire(REGULATOR)},
            )
        )
    )


@contextmanager
def _service(url: str) -> Iterator[TraceService]:
    store = SqlStore.from_url(url, create=True)
    service = TraceService(
        Log(store, Signer.from_seed("test.local/log", b"\x01" * 32)), store.engine, clock=lambda: FIXED_NOW
    )
    service.create_tables()
    try:
        yield service
    finally:
        service.log.close()
        store.close()


def _ingest(url: str, events: list[tuple[Event, bool]], data) -> list[Receipt | TraceError]:
    entries = [_entry(e) for e, _ in events]
    results: list[Receipt | TraceError] = []
    with _service(url) as service:
        genesis = service.record_genesis(_genesis())  # as `farmtrace init` does, on the machine
        i = 0
        while i < len(entries):
            n = data.draw(st.integers(1, 40), label="batch")
            results += service.record_many(entries[i : i + n])
            i += n
        with service.engine.connect() as conn:
            state = sql_state(conn)
            anomalies = conn.execute(select(func.count()).select_from(TraceAnomaly.__table__)).scalar()
        state["events"].pop(genesis.event_id)
    return results, state, anomalies  # type: ignore[return-value]


def _check(events, verdicts, twin, results, state, anomalies) -> None:
    refused_by_rule = 0
    for (event, _), (want, registered), got in zip(events, verdicts, results, strict=True):
        where = f"{event.kind} by {event.party}: reference {want}, service {got!r}\n{twin.story()}"
        if want is None:
            assert isinstance(got, Receipt) and not got.duplicate, where
        elif isinstance(got, RuleViolation):
            assert got.rule == want, where
            refused_by_rule += 1
        else:  # signed with a key not (yet) registered to the party: nobody can tell who sent it
            assert isinstance(got, SignatureRefused) and not registered, where
    assert anomalies == refused_by_rule
    assert_tables_match(state, twin.mem)


@pytest.fixture
def small_runs(monkeypatch):
    """Runs of a few events and short load-ahead windows, so both split histories everywhere.

    Yields a function giving how many runs fell back to Repository since (see ingest.runs): none
    should, unforced. The suite runs strict (tests/conftest.py), so a fault would also raise.
    """
    monkeypatch.setattr(record, "RUN_SIZE", 7)
    monkeypatch.setattr(runs, "WINDOW", 3)
    before = runs.fallbacks()
    return lambda: runs.fallbacks() - before


@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_sqlite_bulk_ingest_matches_the_reference(tmp_path, small_runs, data) -> None:
    events, verdicts, twin = _history(_sqlite(tmp_path), data, steps=60)
    url = f"sqlite:///{tmp_path / f'ingest-{uuid.uuid4().hex}.db'}"
    _check(events, verdicts, twin, *_ingest(url, events, data))
    assert small_runs() == 0


@pytest.mark.postgres
@settings(max_examples=6, **SETTINGS)
@given(data=st.data())
def test_postgres_bulk_ingest_matches_the_reference(tmp_path, postgres_server, small_runs, data) -> None:
    events, verdicts, twin = _history(_sqlite(tmp_path), data, steps=40)
    with fresh_schema(postgres_server) as url:
        _check(events, verdicts, twin, *_ingest(url, events, data))
    assert small_runs() == 0


@settings(max_examples=10, **SETTINGS)
@given(data=st.data())
def test_a_run_that_fails_falls_back_to_one_event_at_a_time(tmp_path, small_runs, monkeypatch, data) -> None:
    """In production (not strict), a fast run that fails on anything but a verdict is redone through
    Repository, with the same results, and counted."""
    monkeypatch.setenv("FARMTRACE_INGEST_STRICT", "0")
    real = BatchState.apply_effects
    calls = {"n": 0}

    def flaky(self, *args, **kw):
        calls["n"] += 1
        if calls["n"] % 5 == 0:
            raise TraceError("a fault in the overlay")
        return real(self, *args, **kw)

    monkeypatch.setattr(BatchState, "apply_effects", flaky)
    events, verdicts, twin = _history(_sqlite(tmp_path), data, steps=40)
    url = f"sqlite:///{tmp_path / f'ingest-{uuid.uuid4().hex}.db'}"
    _check(events, verdicts, twin, *_ingest(url, events, data))
    assert small_runs() > 0 or calls["n"] < 5


def test_a_genesis_that_loses_the_race_is_refused_and_not_an_anomaly(tmp_path, monkeypatch) -> None:
    """A genesis candidate decoded while the ledger had no party, whose transaction finds one (another
    genesis won in between), is refused without an anomaly: nobody we know signed it."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    with _service(url) as service:
        recorder = service.recorder
        real = recorder._party_count

        def race() -> int:
            monkeypatch.setattr(recorder, "_party_count", real)
            n = real()
            assert isinstance(service.record_genesis(_genesis()), Receipt)  # the winner, in between
            return n

        monkeypatch.setattr(recorder, "_party_count", race)
        late = Event.from_wire(
            wire("party.register", REGULATOR, time=START - timedelta(hours=1), detail={"party": party_wire(REGULATOR)})
        )
        [result] = recorder.record_many([_entry(late)], operator=True)
        assert isinstance(result, RuleViolation) and result.rule == "party_unknown", result
        with service.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(TraceAnomaly.__table__)).scalar() == 0
        assert service.log.size == 1
