# size: the checks in the order verify.js runs them, under the docstring that tables every reason code
"""Check a lot's journey independently: the checks the consumer's page runs in JavaScript, in Python.

A journey is `TraceService.journey_bundle(code).to_wire()` (GET /lots/{code}/journey). `check_journey`
trusts nothing in it but the log key the caller pins, and collects every failure rather than stopping
at the first, so a consumer (or `farmtrace verify-lot`) is told precisely what failed. Its twin is
`web/static/verify.js`; both give each failure the same `reason` code, in the same order, and
tests/web/test_journey_checks.py runs both over the same tampered journeys.

The checks, in the order failures are reported:

  0. shape       lot, events, keys and checkpoint are present with their JSON types   journey.malformed
                 (nothing else is checked when this fails)
  1. log key     the journey's `log_key` is the pinned key                            log_key.mismatch
  2. checkpoint  the note parses; the pinned key signed it; its origin is the key's   checkpoint.malformed
                 name (C2SP signed-note and tlog-checkpoint)                          checkpoint.signature
                 with a witness policy (ledger/policy.py): each cosignature by a      checkpoint.cosignature
                 policy witness verifies; the quorum cosigned; no longer ago than     checkpoint.unwitnessed,
                 the policy's max age (unwitnessed: no valid cosignature; quorum:     checkpoint.quorum,
                 some, too few; stale: the quorum is older than the max age)          checkpoint.stale
  3. keys        for each key (sorted by key id):
                 a. the public key is 32 bytes and hashes to its key id              key.id
                 b. `registered_in` is present                                       key.not_registered
                 c. its entry parses and is the party.register (or party.key_add)    key.registration
                    that puts exactly this key on record for this party
                 d. its inclusion proof leads to the checkpoint's root               key.registration_proof
  4. events      for each event, in the order given:
                 a. the entry is b"farmtrace/entry/v1\\n" ‖ canonical ‖ b"\\n" ‖       entry.malformed
                    base64(64-byte signature) ‖ b"\\n", canonical being RFC 8785 JSON of an event
                 b. its key is in `keys`, belongs to its party, and was registered   key.unknown, key.party,
                    earlier in the ledger                                             key.order
                 c. Ed25519 over b"farmtrace/event/v1\\n" ‖ canonical by that key     signature.invalid
                 d. SHA-256(0x00 ‖ entry) is its `leaf_hash`, and the inclusion      inclusion.leaf,
                    proof leads to the checkpoint's root (RFC 9162 §2.1.3.2)          inclusion.invalid
  5. chain       over the events whose entry parsed:
                 a. ledger indexes strictly increase                                  chain.order
                 b. each lot is created (named in outputs) by one event only          chain.created_twice
                 c. the lineage — the lot, the inputs of the event that created it,   chain.no_creation
                    and so on back to the fields — has a creating event for every lot
                 d. each event names a lot of that lineage                            chain.unrelated
                 e. each input on a lineage lot follows exactly [the previous event   chain.follows
                    naming that lot] (trace/model/event.py: the lot's head)
  6. index       completeness by the head index (trace/journey_index_check.py):
                 a. the journey carries its index section                            index.missing
                 b. the entry is an index entry, at its own ledger index N           index.entry
                 c. proven in the checkpoint (else, or with no checkpoint, stop)     index.inclusion
                    with an index age policy: the entry is the log's last before     index.stale
                    the checkpoint, or at most the max age older than the newest
                    valid witness cosignature (no witnesses: `now`)
                 d. each lineage lot's and each signing key's item is there, and     index.missing,
                    its value (or null) is proven by the entry's map root            index.proof
                 e. below N, each lineage lot's events are exactly the index's       chain.hidden_tail
                    `count`, ending at its `head`
                 f. no event after its key's revocation (by ledger index, as the     key.revoked
                    write path refuses them: trace/rules/check.py)
                 events at N and above: "recorded, not yet indexed" (report.index)

Steps 2d and 4d are skipped when the checkpoint fails (there is no trusted root to prove against).
What this cannot see: events after the lot's last event that the server leaves out, and revocations
of a key, both beyond the head index's latest entry (step 6 sees them below it), and the
registrar's own signature on a key's registration (only its inclusion in the log is checked).

The pieces steps 3 and 4 share (strict base64, the entry parser, the registration match, the
inclusion check) are in trace/journey_entries.py; this module holds the steps themselves, in the
order verify.js runs them, so that the two can be read side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from farmtrace.ledger.checkpoint import Checkpoint, open_checkpoint
from farmtrace.ledger.errors import MalformedError, VerificationError
from farmtrace.ledger.note import Verifier
from farmtrace.ledger.policy import Policy, Witnessed, check_witnessed

from .crypto import verify_ed25519
from .errors import SignatureRefused
from .journey_entries import ParsedEntry, decode_b64, inclusion_failure, is_index, parse_entry, registers
from .journey_index_check import Freshness, IndexOutcome, check_index
from .model.encoding import signing_message
from .model.ids import key_id_for

__all__ = ["REASONS", "JourneyFailure", "JourneyReport", "check_journey"]

# Every reason code, by check; verify.js uses the same codes and the page's catalogue has a message
# for each (web/i18n/common.py, "verify.reason.<code>").
REASONS = (
    "journey.malformed",
    "log_key.mismatch",
    "checkpoint.malformed",
    "checkpoint.signature",
    "checkpoint.cosignature",
    "checkpoint.unwitnessed",
    "checkpoint.quorum",
    "checkpoint.stale",
    "key.id",
    "key.not_registered",
    "key.registration",
    "key.registration_proof",
    "entry.malformed",
    "key.unknown",
    "key.party",
    "key.order",
    "signature.invalid",
    "inclusion.leaf",
    "inclusion.invalid",
    "chain.order",
    "chain.created_twice",
    "chain.no_creation",
    "chain.unrelated",
    "chain.follows",
    "index.missing",
    "index.entry",
    "index.inclusion",
    "index.stale",
    "index.proof",
    "chain.hidden_tail",
    "key.revoked",
)


@dataclass(frozen=True)
class JourneyFailure:
    """One failed check: its `reason` code (REASONS), an English `message`, and where it applies.

    `index` is the ledger index of the event (for key.* failures: of the key's registration entry),
    `key` a key id, `lot` a lot code; each is None where it does not apply.
    """

    reason: str
    message: str
    index: int | None = None
    key: str | None = None
    lot: str | None = None

    @property
    def check(self) -> str:
        """The check that failed: "signature", "inclusion", "chain", ..."""
        return self.reason.split(".", 1)[0]

    def where(self) -> tuple[str, int | None, str | None, str | None]:
        """(reason, index, key, lot): what verify.js reports for the same failure."""
        return (self.reason, self.index, self.key, self.lot)


@dataclass(frozen=True)
class JourneyReport:
    """The outcome of `check_journey`: verified only if there are no failures at all."""

    lot: str | None
    events: int
    size: int | None
    failures: tuple[JourneyFailure, ...]
    witnessed: Witnessed | None = None  # step 2's witness check, when a policy was given
    index: IndexOutcome | None = None  # step 6: complete, pending (events not yet indexed), ...

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if self.ok:
            return f"lot {self.lot}: verified, {self.events} events proven against the checkpoint of size {self.size}"
        first = self.failures[0]
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return f"lot {self.lot}: NOT verified: {first.message}{more}"


def check_journey(
    journey: Mapping[str, Any],
    *,
    log_key: str | Verifier,
    policy: Policy | None = None,
    now: int | None = None,
    index_max_age: int | None = None,
) -> JourneyReport:
    """Check `journey` against the pinned `log_key` (a verifier key string or a Verifier), and, given
    a witness `policy`, its checkpoint's cosignatures at `now` (POSIX seconds; required with a policy).
    Given `index_max_age` (seconds; `now` required), the head index's entry must be the log's last
    before the checkpoint or at most that much older than the newest valid witness cosignature on
    the checkpoint, or than `now` when none (docs/index.md §4 step 1b): else index.stale.

    Returns a JourneyReport listing every failure (see the module docstring); it never raises for
    anything in the journey. Raises MalformedError if `log_key` itself is not a valid verifier key
    (that is the caller's mistake, not the server's).
    """
    verifier = log_key if isinstance(log_key, Verifier) else Verifier.from_key_string(log_key)
    if index_max_age is not None and now is None:
        raise MalformedError("checking the index entry's age needs the time (now=)")
    failures: list[JourneyFailure] = []

    def fail(reason: str, message: str, **where: Any) -> None:
        failures.append(JourneyFailure(reason, message, **where))

    # 0. The shape the rest relies on.
    lot = journey.get("lot") if isinstance(journey, Mapping) else None
    events = journey.get("events") if isinstance(journey, Mapping) else None
    keys = journey.get("keys") if isinstance(journey, Mapping) else None
    note = journey.get("checkpoint") if isinstance(journey, Mapping) else None
    if not (
        isinstance(lot, str) and isinstance(events, list) and isinstance(keys, dict) and isinstance(note, str)
    ):
        fail("journey.malformed", "the journey lacks lot, events, keys or checkpoint, or has the wrong types")
        return JourneyReport(
            lot=lot if isinstance(lot, str) else None, events=0, size=None, failures=tuple(failures)
        )

    # 1. The log key the server names must be the one we pinned (we use ours either way).
    if journey.get("log_key") != verifier.key_string():
        fail("log_key.mismatch", f"the server names log key {journey.get('log_key')!r}, not the pinned key")

    # 2. The checkpoint: signed by the pinned key, origin = the key's name.
    cp: Checkpoint | None = None
    try:
        cp = open_checkpoint(note, verifier).checkpoint
    except MalformedError as exc:
        fail("checkpoint.malformed", f"the checkpoint does not parse: {exc}")
    except VerificationError as exc:
        fail("checkpoint.signature", f"the checkpoint is not signed by the log key: {exc}")
    witnessed = _check_witnessed(note, policy, now, fail) if cp is not None and policy is not None else None

    # 3. Keys: each was put on the public record, by an entry proven in the log.
    public, registered_at = _check_keys(keys, cp, fail)
    # 4. Each event: its entry, its key, its signature, its place in the log.
    parsed_events = _check_events(events, keys, public, registered_at, cp, fail)
    # 5. The chain: one lineage, each lot's events linked by hash in ledger order.
    _check_chain(lot, parsed_events, fail)
    # 6. Completeness: every event of the lineage below the head index's entry, no revoked signer.
    index = check_index(journey, lot, parsed_events, cp, fail, _freshness(witnessed, now, index_max_age))
    return JourneyReport(
        lot=lot,
        events=len(events),
        size=cp.size if cp else None,
        failures=tuple(failures),
        witnessed=witnessed,
        index=index,
    )


_WITNESS_CODES = {
    "unwitnessed": "checkpoint.unwitnessed",
    "quorum": "checkpoint.quorum",
    "stale": "checkpoint.stale",
}


def _check_witnessed(note: str, policy: Policy, now: int | None, fail: Callable[..., None]) -> Witnessed:
    """Step 2, with a policy: the cosignatures of the (log-signed) checkpoint, as witnessed.js checks them."""
    if now is None:
        raise MalformedError("checking a witness policy needs the time (now=)")
    witnessed = check_witnessed(note, policy, now=now)
    for name in witnessed.invalid:
        fail("checkpoint.cosignature", f"the cosignature of witness {name} does not verify", key=name)
    code = _WITNESS_CODES.get(witnessed.state)
    if code is not None:
        when = witnessed.quorum_at
        fail(
            code, f"the checkpoint is not current and witnessed ({witnessed.state}; quorum reached at {when})"
        )
    return witnessed


def _freshness(witnessed: Witnessed | None, now: int | None, max_age: int | None) -> Freshness | None:
    """Step 6's index age policy: against the newest valid witness cosignature, else `now`."""
    if max_age is None or now is None:
        return None
    stamps = [c.timestamp for c in witnessed.cosigned] if witnessed is not None else []
    if stamps:
        return Freshness(max_age, max(stamps), witnessed=True)
    return Freshness(max_age, now, witnessed=False)


def _check_keys(
    keys: dict[str, Any], cp: Checkpoint | None, fail: Callable[..., None]
) -> tuple[dict[str, bytes], dict[str, int]]:
    """Step 3: report each key that is not proven registered; return (the public key of each key
    whose id checks out, the ledger index of each proven registration)."""
    public: dict[str, bytes] = {}
    registered_at: dict[str, int] = {}
    for kid in sorted(keys):
        k = keys[kid]
        k = k if isinstance(k, dict) else {}
        pub = decode_b64(k.get("public_key"))
        if pub is None or len(pub) != 32 or key_id_for(pub) != kid:
            fail("key.id", f"key {kid}: the public key given does not have this key id", key=kid)
            continue
        public[kid] = pub
        reg = k.get("registered_in")
        if not isinstance(reg, dict):
            fail("key.not_registered", f"key {kid} comes with no ledger entry that registered it", key=kid)
            continue
        at = reg.get("index") if is_index(reg.get("index")) else None
        entry = decode_b64(reg.get("entry"))
        parsed = parse_entry(entry) if entry is not None else None
        if parsed is None or not registers(
            parsed.event, party=k.get("party"), key_id=kid, public_key=k.get("public_key")
        ):
            fail(
                "key.registration",
                f"key {kid}: the entry at index {at} does not register this key for party {k.get('party')}",
                index=at,
                key=kid,
            )
            continue
        if cp is not None and inclusion_failure(reg, entry, cp) is not None:
            fail(
                "key.registration_proof",
                f"key {kid}: its registration (index {at}) is not proven in the checkpoint",
                index=at,
                key=kid,
            )
            continue
        if at is not None:
            registered_at[kid] = at
    return public, registered_at


def _check_events(
    events: list[Any],
    keys: dict[str, Any],
    public: dict[str, bytes],
    registered_at: dict[str, int],
    cp: Checkpoint | None,
    fail: Callable[..., None],
) -> list[tuple[int | None, ParsedEntry]]:
    """Step 4: report each event whose entry, key, signature or inclusion fails; return the events
    whose entry parsed, with their ledger index, for step 5."""
    parsed_events: list[tuple[int | None, ParsedEntry]] = []
    for item in events:
        item = item if isinstance(item, dict) else {}
        at = item.get("index") if is_index(item.get("index")) else None
        entry = decode_b64(item.get("entry"))
        parsed = parse_entry(entry) if entry is not None else None
        if parsed is None:
            fail("entry.malformed", f"the entry at index {at} is not a well-formed signed event", index=at)
        else:
            parsed_events.append((at, parsed))
            _check_signer(at, parsed, keys, public, registered_at, fail)
        if cp is not None and entry is not None:
            wrong = inclusion_failure(item, entry, cp)
            if wrong == "leaf":
                fail(
                    "inclusion.leaf",
                    f"event at index {at}: the entry does not hash to its leaf hash",
                    index=at,
                )
            elif wrong == "invalid":
                fail(
                    "inclusion.invalid",
                    f"event at index {at}: the inclusion proof does not lead to the checkpoint of size {cp.size}",
                    index=at,
                )
    return parsed_events


def _check_signer(
    at: int | None,
    parsed: ParsedEntry,
    keys: dict[str, Any],
    public: dict[str, bytes],
    registered_at: dict[str, int],
    fail: Callable[..., None],
) -> None:
    """Steps 4b and 4c for one parsed event: its key is known, its party's, registered before it,
    and its signature verifies."""
    ev = parsed.event
    kid = ev["key_id"]
    if kid not in keys:
        fail(
            "key.unknown",
            f"event at index {at} is signed by key {kid}, which the journey lacks",
            index=at,
            key=kid,
        )
    elif not isinstance(keys[kid], dict) or keys[kid].get("party") != ev["party"]:
        fail(
            "key.party",
            f"event at index {at}: key {kid} is not a key of party {ev['party']}",
            index=at,
            key=kid,
        )
    elif kid in registered_at and (at is None or registered_at[kid] >= at):
        fail(
            "key.order",
            f"event at index {at} is signed by key {kid} before it was registered",
            index=at,
            key=kid,
        )
    if kid in public:
        try:
            verify_ed25519(public[kid], parsed.signature, signing_message(parsed.canonical))
        except SignatureRefused:
            fail(
                "signature.invalid",
                f"event at index {at} ({ev['kind']}): the signature does not match the record",
                index=at,
                key=kid,
            )


def _check_chain(
    target: str, events: list[tuple[int | None, ParsedEntry]], fail: Callable[..., None]
) -> None:
    """Step 5: ledger order, one creator per lot, a creator for every lot of the lineage, and each
    event on the lineage linked to the lot's previous event."""
    # a. Ledger order.
    last = -1
    for at, _ in events:
        if at is None or at <= last:
            fail("chain.order", f"the event at index {at} is out of ledger order", index=at)
        else:
            last = at
    # b. Who created each lot.
    creator: dict[str, tuple[int | None, ParsedEntry]] = {}
    for at, p in events:
        for out in p.event["outputs"]:
            if out["lot"] in creator:
                fail(
                    "chain.created_twice",
                    f"lot {out['lot']} is created again at index {at}",
                    index=at,
                    lot=out["lot"],
                )
            else:
                creator[out["lot"]] = (at, p)
    # c. The lineage, from the lot back to its fields.
    lineage: list[str] = []
    queue = [target]
    while queue:
        code = queue.pop(0)
        if code in lineage:
            continue
        lineage.append(code)
        if code in creator:
            queue.extend(ref["lot"] for ref in creator[code][1].event["inputs"])
    for code in sorted(lineage):
        if code not in creator:
            fail("chain.no_creation", f"no event in the journey creates lot {code}", lot=code)
    _check_links(target, set(lineage), events, fail)


def _check_links(
    target: str, members: set[str], events: list[tuple[int | None, ParsedEntry]], fail: Callable[..., None]
) -> None:
    """Steps 5d and 5e: each event names a lot of the lineage (`members`); each input on a lineage
    lot follows exactly the previous event in the journey that named that lot."""
    head: dict[str, str] = {}
    for at, p in events:
        ev = p.event
        named = [r["lot"] for r in ev["inputs"]] + [o["lot"] for o in ev["outputs"]]
        if not members.intersection(named):
            fail(
                "chain.unrelated",
                f"the event at index {at} names no lot in the history of {target}",
                index=at,
            )
            continue
        for ref in ev["inputs"]:
            code = ref["lot"]
            if code not in members:
                continue
            if code not in head or ref["follows"] != [head[code]]:
                before = head.get(code)
                fail(
                    "chain.follows",
                    f"the event at index {at} follows {', '.join(ref['follows'])} on lot {code}, but the "
                    f"previous event on it in the journey is {before}",
                    index=at,
                    lot=code,
                )
                break
        for code in named:
            if code in members:
                head[code] = p.id
