"""Bulk admission: decide and apply a run of signed events inside one ledger write transaction.

A `Run` is the `select` hook the write path (`record.record_many`) hands to `Log.submit_selected`.
For each event, in order, it reaches the verdict the one-event path would: a duplicate of an
accepted event, a signature that does not verify, a rule's refusal (kept as an anomaly, never in
the lot's chain), or acceptance at the next ledger index. Later events of the run see the effects
of earlier ones.

The rules read a `BatchState` (trace/store/bulk.py): a `MemoryState` whose rows are loaded from the
tables in bulk just before they are needed, and whose changes are written back in bulk by `flush`.
A run of n events costs a few dozen statements in all, where applying events one by one through
`Repository` costs about thirty each.

Events whose effects reach beyond the rows they name (party changes; a failed or recalled flag on a
lot that already has descendants, to which it spreads) and the genesis registration go through
`Repository`, the SQL reference, after a flush; the overlay is dropped afterwards. They are rare.
`Run(fast=False)` sends every event that way.

The fast path's faults. A fast run that fails on anything but a verdict is a bug in the overlay, so
it is never silently absorbed: when `strict()` (the environment has FARMTRACE_INGEST_STRICT=1; the
test suite sets it, tests/conftest.py) the fault propagates and the batch fails. Otherwise (production) the run
is rolled back and redone through `Repository` inside the same hook, so the entries are still
admitted exactly as the reference would; the fault is counted in `FALLBACKS` and logged with its
traceback the first time (then once per LOG_EVERY faults), so a persistent bug shows as a metric
and a log line rather than as a quiet slowdown.
tests/trace/test_ingest.py replays random histories both ways and compares every table.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..errors import RuleViolation, SignatureRefused, TraceError
from ..model.encoding import SignedEvent
from ..model.event import Event
from ..rules.check import check_event
from ..rules.effects import Effects, effects
from ..store.bulk import BatchState
from ..store.sql_state import Repository
from .verifying import Pending

__all__ = ["FALLBACKS", "WINDOW", "Candidate", "Duplicate", "Outcome", "Run", "RunTxn", "fallbacks", "strict"]

log = logging.getLogger(__name__)

WINDOW = 512  # events whose rows are loaded ahead in one go
LOG_EVERY = 1000  # after the first, one log line per this many fast-path faults

FALLBACKS = 0  # fast runs redone through Repository since the process started (a metric)
_fallbacks_lock = threading.Lock()


def strict() -> bool:
    """True if a fault of the fast path must propagate (FARMTRACE_INGEST_STRICT=1) instead of
    being counted and redone through `Repository`; read at each fault, so tests can switch it."""
    return os.environ.get("FARMTRACE_INGEST_STRICT", "") == "1"


def fallbacks() -> int:
    """How many fast runs faulted and were redone through `Repository` in this process."""
    return FALLBACKS


def _count_fallback(exc: Exception) -> None:
    global FALLBACKS
    with _fallbacks_lock:
        FALLBACKS += 1
        n = FALLBACKS
    if n == 1 or n % LOG_EVERY == 0:
        log.error("bulk admission fault #%d, run redone one event at a time (a bug to fix)", n, exc_info=exc)


@dataclass(frozen=True)
class Candidate:
    """An entry to admit: its decoded form, its place in the verification work, and whether it is
    the genesis registration (the first regulator registering itself while no party exists).

    `batch_key` is the public key its signature was checked with when that key came from an earlier
    entry of the same upload (a party.register or party.key_add not yet admitted). It counts only if,
    when this entry's turn comes, the key is on record for the party: else the entry is refused as
    unauthenticated (SignatureRefused), never kept as an anomaly in that party's name.
    """

    entry: bytes
    signed: SignedEvent
    work: int
    genesis: bool = False
    batch_key: bytes | None = None


@dataclass(frozen=True)
class Duplicate:
    """The event was accepted before, at `index`."""

    index: int


Outcome = int | Duplicate | TraceError  # the index an accepted event got, or why not


class RunTxn(Protocol):
    """What a Run uses of the transaction it runs in: the ledger's `WriteTxn` has it, and so has the
    plain transaction of `Recorder.project_many` (entries already logged, projected again)."""

    connection: Any

    def savepoint(self) -> AbstractContextManager[None]: ...


class Run:
    """The `select` hook for a run of candidates (see the module docstring).

    After the log's future resolves without error, `outcomes[i]` is candidate i's `Outcome`. If the
    fast run fails on anything but a verdict: if `strict()` the fault propagates; else the run is
    rolled back and redone through `Repository` within the same hook (so later runs still see it
    applied first), `fell_back` is set and the fault counted (see the module docstring).
    """

    def __init__(
        self,
        candidates: Sequence[Candidate],
        verdicts: Pending,
        *,
        now: Callable[[], datetime],
        fast: bool = True,
    ) -> None:
        self.candidates = list(candidates)
        self.verdicts = verdicts
        self.now = now
        self.fast = fast
        self.outcomes: list[Outcome | None] = [None] * len(self.candidates)
        self.fell_back = False  # the fast run failed and the run was redone through Repository

    def __call__(self, txn: RunTxn, first_index: int) -> list[bool]:
        verdicts = self.verdicts.result()
        now = self.now()
        if self.fast:
            try:
                with txn.savepoint():
                    return self._admit(txn, first_index, verdicts, now, fast=True)
            except Exception as exc:  # not a verdict (those are outcomes): a fault of the overlay's
                if strict():
                    raise
                _count_fallback(exc)
                self.fell_back = True
                self.outcomes = [None] * len(self.candidates)
        return self._admit(txn, first_index, verdicts, now, fast=False)

    def _admit(
        self, txn: RunTxn, first_index: int, verdicts: list[bool], now: datetime, *, fast: bool
    ) -> list[bool]:
        cands = self.candidates
        state = BatchState(txn.connection)  # type: ignore[attr-defined]
        known = state.known_events(c.signed.id for c in cands)
        keep: list[bool] = []
        index = first_index
        loaded_until = 0  # candidates before this one have had their rows loaded
        for k, c in enumerate(cands):
            signed = c.signed
            outcome: Outcome
            if signed.id in known:
                outcome = Duplicate(known[signed.id])
            elif not verdicts[c.work]:
                outcome = SignatureRefused(
                    f"the signature of event {signed.id} does not verify with key {signed.event.key_id}"
                )
            elif c.batch_key is not None and not _key_on_record(state, signed.event, c.batch_key):
                # The registration that carried the key was refused (or names another key).
                e = signed.event
                outcome = SignatureRefused(f"party {e.party} has no registered key {e.key_id}")
            else:
                fx = effects(signed.event, signed.id)
                through_repository = not fast or c.genesis or state.spreads(fx)
                if through_repository:
                    loaded_until = k + 1  # the overlay is dropped: load again from the next event
                elif k >= loaded_until:
                    state.prefetch(x.signed.event for x in cands[k : k + WINDOW])
                    loaded_until = k + WINDOW
                try:
                    if through_repository:
                        _through_repository(txn, state, c, fx, index, now)
                    else:
                        check_event(signed.event, state, now=now)
                        state.apply_effects(signed.event, signed.id, fx, ledger_index=index)
                    outcome = index
                except RuleViolation as exc:
                    # A genesis that lost the race to another (the ledger had no party when it was
                    # decoded) is not an anomaly: its key is no party's, nobody we know signed it.
                    if not c.genesis:
                        state.add_anomaly(signed, exc, at=now)
                    outcome = exc
            self.outcomes[k] = outcome
            keep.append(isinstance(outcome, int))
            if isinstance(outcome, int):
                known[signed.id] = index
                index += 1
        state.flush()
        return keep


def _key_on_record(state: BatchState, event: Event, public_key: bytes) -> bool:
    """True if `event`'s key id is a key of its party, on record now, and is `public_key`."""
    party = state.party(event.party)
    key = party.keys.get(event.key_id) if party is not None else None
    return key is not None and key.public_key == public_key


def _through_repository(
    txn: RunTxn, state: BatchState, c: Candidate, fx: Effects, index: int, now: datetime
) -> None:
    """Check and apply one event through `Repository`, in a savepoint; the overlay is flushed before
    and dropped after. Raises RuleViolation (the savepoint is rolled back then)."""
    signed = c.signed
    state.flush()
    try:
        with txn.savepoint():
            repo = Repository(txn.connection)  # type: ignore[attr-defined]
            if c.genesis:
                if repo.party_count():
                    raise RuleViolation(
                        "party_unknown", "the ledger already has parties; ask a regulator to register you"
                    )
            else:
                check_event(signed.event, repo, now=now)
            repo.apply(signed.event, signed.id, fx, ledger_index=index)
    finally:
        state.reset()
