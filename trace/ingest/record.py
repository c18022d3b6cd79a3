# size: the write path in one place (record_many and project_many share decoding, keys and runs)
"""Recording signed events: the write path, from ledger entries to receipts.

`Recorder.record_many` (`TraceService.record` / `record_many` / `record_genesis` delegate here):

  1. decode each ledger entry strictly (`model.encoding.decode_entry`): InvalidEvent names the field;
  2. find the party's key (a registered one, or one registered earlier in the same batch) and
     verify the Ed25519 signatures, on worker processes while the rest of the batch is decoded
     (`ingest.verifying`); no key: SignatureRefused. A key from an earlier entry of the batch
     counts only if that entry was accepted: checked in log order, inside the transaction (else
     SignatureRefused, never an anomaly in the named party's name);
  3. hand the entries to the ledger in runs of up to RUN_SIZE, each with a `select` hook
     (`ingest.runs.Run`) that, *inside* the ledger's write transaction, answers an event already
     accepted with its first receipt (idempotent resubmission), refuses a bad signature, runs
     `rules.check.check_event` and applies `rules.effects.effects`, so the ledger entries and the
     tables commit together or not at all;
  4. a rule's refusal is kept as an anomaly (in the same transaction; it never enters the lot's
     chain) and returned as the entry's result.

The receipt names the ledger index, the leaf hash and, since the entry's batch is signed before
the log's future resolves, an inclusion proof against that signed checkpoint.

`Recorder.project_many` runs steps 1-3 for entries already in a ledger at known indexes (the replay
audit's use): the same decoding, keys, verification workers and `Run`, in one plain transaction on
the projection's database, with no append, no checkpoint and no receipt.

The batch runs inside `speed.bulk_work()` (the write path's performance tricks, trace/ingest/speed.py).
Index entries (trace/head_index.py) are not events: `record_many` refuses one, `project_many` steps
over them; `after_batch` (the index keeper's nudge, if set) is called after each `record_many`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log

from ..errors import RuleViolation, SignatureRefused, TraceError
from ..head_index import is_index_entry
from ..model.details import KeyAddDetail, PartyRegisterDetail
from ..model.encoding import SignedEvent, decode_entry
from ..rules.check import check_genesis
from ..store.queries import Engine
from ..store.sql_state import Repository
from . import speed
from .runs import Candidate, Duplicate, Run
from .verifying import Pending, Work, verify_later

__all__ = ["RUN_SIZE", "NotProjected", "Receipt", "Recorder"]

RUN_SIZE = 500  # entries admitted per ledger transaction step (see runs.Run)


@dataclass(frozen=True)
class Receipt:
    """What an accepted event got: its id, where it is in the ledger, and proof it is there."""

    event_id: str
    index: int
    leaf_hash: bytes
    size: int
    checkpoint: str
    proof: list[bytes] = field(default_factory=list)
    duplicate: bool = False


@dataclass(frozen=True)
class NotProjected:
    """The first entry `Recorder.project_many` could not apply at its own `index`, and why: the
    TraceError the write path gave (a refusal), or a sentence (a repeat, another index)."""

    index: int
    cause: TraceError | str


def _refusal_before(
    first_index: int, results: Sequence[Receipt | TraceError | None], start: int, end: int
) -> NotProjected | None:
    """The first entry of positions [start, end) that decoding or the key lookup refused, or None."""
    for i in range(start, end):
        refused = results[i]
        if isinstance(refused, TraceError):
            return NotProjected(first_index + i, refused)
    return None


_INDEX_REFUSED = (
    "a head index entry (farmtrace/index/v1) is not an event: only the log's operator appends one"
)


def _runs(start: int, end: int) -> Iterator[range]:
    """[start, end) in consecutive ranges of at most RUN_SIZE."""
    for first in range(start, end, RUN_SIZE):
        yield range(first, min(first + RUN_SIZE, end))


class _ProjectionTxn:
    """The part of a ledger WriteTxn that a `Run` uses (its connection and savepoints), over a plain
    transaction on the projection's engine: `project_many` writes no ledger rows."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.connection.begin_nested():
            yield


def _keys_registered_by(signed: SignedEvent) -> dict[str, tuple[str, bytes]]:
    """key id -> (party, public key) for the keys a party.register or party.key_add event adds."""
    detail = signed.event.detail
    if isinstance(detail, PartyRegisterDetail):
        return {k.key_id: (detail.party.id, k.public_key) for k in detail.party.keys}
    if isinstance(detail, KeyAddDetail):
        return {detail.key_id: (detail.party_id, detail.public_key)}
    return {}


def _genesis_shape(signed: SignedEvent) -> bool:
    """The first regulator registering itself: the one event accepted while no party exists."""
    detail = signed.event.detail
    if not isinstance(detail, PartyRegisterDetail):
        return False
    record = detail.party
    return (
        record.id == signed.event.party
        and "regulator" in record.roles
        and any(k.key_id == signed.event.key_id for k in record.keys)
    )


def _genesis_key(signed: SignedEvent) -> tuple[str, bytes]:
    detail = signed.event.detail
    assert isinstance(detail, PartyRegisterDetail)
    return signed.event.party, next(
        k.public_key for k in detail.party.keys if k.key_id == signed.event.key_id
    )


class Recorder:
    """The write path over a ledger `log` and the SQL `engine` its store uses (the same database).

    `clock` gives the time rules are checked at; `bootstrap_keys` are the raw Ed25519 public keys
    the operator allows to sign the genesis entry over the network (see `TraceService.record_genesis`).
    `Recorder.projecting(engine, clock=...)` makes one with no log, for `project_many` only.
    """

    def __init__(
        self,
        log: Log | None,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        bootstrap_keys: Collection[bytes],
    ) -> None:
        self.log = log
        self.engine = engine
        self.clock = clock
        self.bootstrap_keys = frozenset(bytes(k) for k in bootstrap_keys)
        self._key_cache: dict[str, tuple[str, bytes]] = {}
        self.after_batch: Callable[[], None] | None = None  # called after each record_many batch
        speed.install()  # idempotent; tests/trace/test_speed.py uninstalls it to compare

    @classmethod
    def projecting(cls, engine: Engine, *, clock: Callable[[], datetime]) -> Recorder:
        """A Recorder of no log: it applies entries already logged elsewhere to `engine`'s tables
        (`project_many`, the replay audit's use); `record_many` refuses. No bootstrap key: a genesis
        entry is let in only as the operator's."""
        return cls(None, engine, clock=clock, bootstrap_keys=())

    def record_many(self, entries: Sequence[bytes], *, operator: bool = False) -> list[Receipt | TraceError]:
        """One result per entry, in order: a Receipt or the TraceError that refused it.

        `operator`: the caller is the operator on this machine (the genesis entry needs no bootstrap
        key then). A later entry sees the effects of earlier ones, so a batch may register a party
        and then act as it. An error that is no verdict on an entry (the database failing) is raised;
        runs committed before it stay committed, and resubmitting the whole batch is safe (idempotent).
        """
        with speed.bulk_work():
            results = self._record_many(entries, operator=operator)
        if self.after_batch is not None:
            self.after_batch()
        return results

    def _record_many(self, entries: Sequence[bytes], *, operator: bool) -> list[Receipt | TraceError]:
        if self.log is None:
            raise TypeError(
                "this Recorder projects logged entries (project_many); it has no log to append to"
            )
        results: list[Receipt | TraceError | None] = [None] * len(entries)
        prepared = self._prepare(entries, results, operator=operator)
        # All decoding is done before the first run starts: the log's writer thread then runs alone
        # (a thread parsing events at the same time would delay each of its database calls).
        submitted = [
            (candidates, self._submit_run([c for _, c in candidates], verdicts))
            for candidates, verdicts in prepared
        ]
        owed: list[tuple[int, str, int, bytes | None]] = []  # (i, event id, index, entry if new)
        for candidates, (run, future) in submitted:
            future.result()
            for (i, c), outcome in zip(candidates, run.outcomes, strict=True):
                if isinstance(outcome, Duplicate):
                    owed.append((i, c.signed.id, outcome.index, None))
                elif isinstance(outcome, int):
                    owed.append((i, c.signed.id, outcome, c.entry))
                else:
                    results[i] = outcome
        for (i, *_), receipt in zip(owed, self._receipts([o[1:] for o in owed]), strict=True):
            results[i] = receipt
        return results  # type: ignore[return-value]

    def project_many(
        self, first_index: int, entries: Sequence[bytes], *, operator: bool = False
    ) -> NotProjected | None:
        """Apply entries that are already in a ledger, at `first_index`, `first_index + 1`, ..., to
        the tables of this Recorder's engine; None when every one was accepted at its own index.

        The same steps as `record_many` (decode, keys, signatures on the workers, rules, effects,
        through the same `Run`), minus the ledger's: nothing is appended or signed, and no receipt
        is made. All of the call is one transaction on the engine: if an entry is refused, repeats
        an earlier event or would land at another index, nothing of the call is kept and the first
        such entry is returned as NotProjected. A database failure is raised (nothing kept either).
        """
        with speed.bulk_work():
            results: list[Receipt | TraceError | None] = [None] * len(entries)
            prepared = self._prepare(entries, results, operator=operator)
            with self.engine.connect() as conn:
                txn = conn.begin()
                try:
                    stop = self._project_runs(_ProjectionTxn(conn), first_index, prepared, results)
                except BaseException:
                    txn.rollback()
                    raise
                if stop is None:
                    txn.commit()
                else:
                    txn.rollback()
                return stop

    def _project_runs(
        self,
        txn: _ProjectionTxn,
        first_index: int,
        prepared: list[tuple[list[tuple[int, Candidate]], Pending]],
        results: list[Receipt | TraceError | None],
    ) -> NotProjected | None:
        """Run each prepared run in `txn` at the indexes its entries hold; the first entry (in order)
        not accepted at its own index, or None."""
        done = 0  # entries before this position were accepted at their own index
        for candidates, verdicts in prepared:
            first = candidates[0][0]
            if (stop := _refusal_before(first_index, results, done, first)) is not None:
                return stop
            run = Run([c for _, c in candidates], verdicts, now=self.clock)
            run(txn, first_index + first)
            for (i, c), outcome in zip(candidates, run.outcomes, strict=True):
                if (stop := _refusal_before(first_index, results, done, i)) is not None:
                    return stop
                if isinstance(outcome, Duplicate):
                    why = f"it repeats event {c.signed.id}, already recorded at entry {outcome.index}"
                    return NotProjected(first_index + i, why)
                if isinstance(outcome, TraceError):
                    return NotProjected(first_index + i, outcome)
                if outcome != first_index + i:  # cannot happen while every earlier entry was accepted
                    return NotProjected(first_index + i, f"it was recorded at index {outcome} instead")
                done = i + 1
        return _refusal_before(first_index, results, done, len(results))

    def _prepare(
        self, entries: Sequence[bytes], results: list[Receipt | TraceError | None], *, operator: bool
    ) -> list[tuple[list[tuple[int, Candidate]], Pending]]:
        """Decode `entries` in runs of RUN_SIZE, find their keys and start verifying their signatures:
        each run's (entry position, Candidate) pairs and pending verdicts. Refusals go into `results`."""
        prepared: list[tuple[list[tuple[int, Candidate]], Pending]] = []
        # Keys registered by earlier entries of this batch: a party registered by entry n may sign
        # entry n+1. Its signature is checked against that key here; whether the registration was
        # accepted is checked in order, inside the ledger's transaction (`Candidate.batch_key`):
        # until then the key is nobody's, and an entry it signed is refused as unauthenticated.
        batch_keys: dict[str, tuple[str, bytes]] = {}
        genesis_open: list[bool | None] = [None]
        for span in self._spans(entries, results):
            candidates, work = self._candidates(
                entries, span, results, batch_keys, genesis_open, operator=operator
            )  # fmt: skip
            if candidates:
                prepared.append((candidates, verify_later(work)))
        return prepared

    def _spans(self, entries: Sequence[bytes], results: list[Receipt | TraceError | None]) -> Iterator[range]:
        """`entries`' positions in runs of at most RUN_SIZE, around index entries (refused into
        `results` when recording, stepped over when projecting)."""
        start = 0
        for i, entry in enumerate(entries):
            if is_index_entry(entry):
                if self.log is not None:
                    results[i] = RuleViolation("role", _INDEX_REFUSED, "entry")
                yield from _runs(start, i)
                start = i + 1
        yield from _runs(start, len(entries))

    def _candidates(
        self,
        entries: Sequence[bytes],
        span: range,
        results: list[Receipt | TraceError | None],
        batch_keys: dict[str, tuple[str, bytes]],
        genesis_open: list[bool | None],
        *,
        operator: bool,
    ) -> tuple[list[tuple[int, Candidate]], list[Work]]:
        """Decode the entries of `span` and find each one's key: (entry index, Candidate) pairs and
        the signature work they need. Refusals go into `results`; `batch_keys` and `genesis_open`
        (a one-item box: None until a registration is seen) carry over between runs."""
        run: list[tuple[int, SignedEvent]] = []
        for i in span:
            try:
                run.append((i, decode_entry(entries[i])))
            except TraceError as exc:
                results[i] = exc
        if genesis_open[0] is None and any(isinstance(s.event.detail, PartyRegisterDetail) for _, s in run):
            genesis_open[0] = self._party_count() == 0
        keys = self._keys({s.event.key_id for _, s in run})
        candidates: list[tuple[int, Candidate]] = []
        work: list[Work] = []
        for i, signed in run:
            genesis = bool(genesis_open[0]) and _genesis_shape(signed)
            if genesis:  # one genesis per batch: a second self-registration needs a regulator's key
                genesis_open[0] = False
                try:
                    check_genesis(
                        signed.event,
                        public_key=_genesis_key(signed)[1],
                        bootstrap_keys=self.bootstrap_keys,
                        operator=operator,
                    )
                except RuleViolation as exc:
                    results[i] = exc  # not an anomaly: nobody we know signed it
                    continue
            key = _genesis_key(signed) if genesis else keys.get(signed.event.key_id)
            batch_key = None
            if key is None and batch_keys.get(signed.event.key_id, ("",))[0] == signed.event.party:
                key = batch_keys[signed.event.key_id]
                batch_key = key[1]
            if key is None or key[0] != signed.event.party:
                # Unauthenticated: not an anomaly of any party's (we cannot tell who sent it).
                event = signed.event
                results[i] = SignatureRefused(f"party {event.party} has no registered key {event.key_id}")
                continue
            candidates.append((i, Candidate(entries[i], signed, len(work), genesis, batch_key)))
            work.append((key[1], signed.signature, signed.canonical))
            batch_keys.update(_keys_registered_by(signed))
        return candidates, work

    def _receipts(self, owed: Sequence[tuple[str, int, bytes | None]]) -> list[Receipt]:
        """Receipts for (event id, ledger index, entry) against the latest checkpoint: one checkpoint
        read and one batch of proofs for them all. A duplicate's entry is None: its receipt names the
        entry the ledger holds (the resubmitted bytes may carry another valid signature)."""
        if not owed:
            return []
        assert self.log is not None  # _record_many checked
        cp = self.log.checkpoint()
        note = cp.note_with_cosignatures()
        stored = self._stored_entries(sorted({index for _, index, entry in owed if entry is None}))
        proofs = self.log.prove_inclusions([index for _, index, _ in owed], cp.size)
        return [
            Receipt(
                event_id=event_id,
                index=index,
                leaf_hash=leaf_hash(stored[index] if entry is None else entry),
                size=cp.size,
                checkpoint=note,
                proof=proof,
                duplicate=entry is None,
            )
            for (event_id, index, entry), proof in zip(owed, proofs, strict=True)
        ]

    def _stored_entries(self, indexes: Sequence[int]) -> dict[int, bytes]:
        """The ledger's entries at these sorted indexes, read as few ranges of consecutive ones."""
        assert self.log is not None  # _record_many checked
        found: dict[int, bytes] = {}
        k = 0
        while k < len(indexes):
            end = k + 1
            while end < len(indexes) and indexes[end] == indexes[end - 1] + 1:
                end += 1
            found.update(self.log.read_entries(indexes[k], indexes[end - 1] + 1))
            k = end
        return found

    def _submit_run(
        self, candidates: list[Candidate], verdicts: Pending, *, fast: bool = True
    ) -> tuple[Run, Future]:
        assert self.log is not None  # _record_many checked
        run = Run(candidates, verdicts, now=self.clock, fast=fast)
        return run, self.log.submit_selected([c.entry for c in candidates], select=run)

    def _keys(self, key_ids: set[str]) -> dict[str, tuple[str, bytes]]:
        """key id -> (party, raw public key) for the registered ones. A key id names one key forever
        (it is a hash of the key, and the rules refuse a second key with the same id), so they are
        remembered; whether a key is active is the rules' question, asked against the tables."""
        missing = [k for k in key_ids if k not in self._key_cache]
        if missing:
            with self.engine.connect() as conn:
                self._key_cache.update(Repository(conn).registered_keys(missing))
        return {k: self._key_cache[k] for k in key_ids if k in self._key_cache}

    def _party_count(self) -> int:
        with self.engine.connect() as conn:
            return Repository(conn).party_count()
