"""The domain's one error tree.

    TraceError
    ├── InvalidEvent       malformed input; `.field` is a dotted path such as "inputs[0].quantity"
    ├── SignatureRefused   a signature, or the key it claims, does not verify
    ├── RuleViolation      a domain rule refused an event; `.rule` is a code of `rules.RULES`
    ├── NotFound           no such party, lot, event or shipment; `.what` and `.key`
    ├── Forbidden          the caller may not do this (used above the pure core)
    ├── LineageCycle       a lot is its own ancestor; `.path` is the cycle (never true of a sound ledger)
    ├── ComplianceDivergence  the tables behind a compliance record contradict the signed log
    │                      (trace/compliance.py; `.expected`, `.found`, `.index`)
    └── ReplayFailure      the replay audit failed (trace/replay.py, which defines it and its subclasses
        ├── LedgerAuditFailed, WitnessMismatch (LogBehindWitness, ForkedFromWitness)
        ├── EntryRefused, ProjectionDivergence   each names the entry, witness or row it is about)
        └── IndexRootMismatch  an index entry commits another head index root than the log gives
                               (trace/index_audit.py; `.committed`, `.recomputed`)

Every message is an English sentence that names the field, lot, party or rule and says what was
expected and what was found. The API maps these classes to HTTP statuses, once, in `api/errors.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "Forbidden",
    "InvalidEvent",
    "LineageCycle",
    "NotFound",
    "RuleViolation",
    "SignatureRefused",
    "TraceError",
]


class TraceError(Exception):
    """Base of every error raised by farmtrace.trace."""


class InvalidEvent(TraceError, ValueError):
    """Input does not parse or breaks the event model; `field` is the dotted path to the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid {field}: {message}")
        self.field = field
        self.message = message


class SignatureRefused(TraceError):
    """A signature does not verify, or the key that made it is not the one the event names."""


class RuleViolation(TraceError):
    """A domain rule refused an event.

    `rule` is one of `rules.RULES` (e.g. "mass_balance"); `message` says what was expected and found;
    `field` optionally points into the event (e.g. "inputs[0].quantity").
    """

    def __init__(self, rule: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{message} (rule {rule})")
        self.rule = rule
        self.message = message
        self.field = field


class NotFound(TraceError, LookupError):
    """There is no `what` (e.g. "lot") with key `key`."""

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"no {what} {key!r} is known")
        self.what = what
        self.key = key


class Forbidden(TraceError):
    """The caller is not allowed to do this (a party acting outside its rights)."""


class LineageCycle(TraceError):
    """The parent relation between lots has a cycle; `path` lists it, first lot repeated last.

    A ledger cannot produce one (an output lot must be new), so this means corrupt or forged data.
    """

    def __init__(self, path: Sequence[str]) -> None:
        super().__init__(f"lot lineage has a cycle: {' -> '.join(path)}")
        self.path = tuple(path)
