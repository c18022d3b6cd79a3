"""A witness policy (c2sp.org/tlog-policy) and the check that a checkpoint is current and witnessed.

The policy text, one item a line (whitespace: spaces and tabs; `#` comments and blank lines ignored):

    log <vkey> [<url>]                  a log whose checkpoints are accepted (may be absent)
    witness <name> <vkey> [<url>]       a witness, by its cosignature/v1 verifier key
    group <name> <k>|all|any <name>...  k of the named witnesses or groups (defined above it)
    quorum <name>|none                  exactly one: the witness or group that must cosign

`parse_policy` / `format_policy` are the pair (the formatter writes the canonical form: no comments,
one space between items). Where farmtrace differs from tlog-policy (docs/witness-policy.md): the
maximum age of the quorum's cosignatures is not a line of the file (the spec has none, and an
extra line would make the file unreadable to other implementations) but `Policy.max_age`, given
to `parse_policy` beside the text (the server's FARMTRACE_WITNESS_MAX_AGE).

`check_witnessed(note, policy, now=)` reads a checkpoint note's signature lines and answers a
`Witnessed`: which policy witnesses cosigned validly and when, which cosignatures by a policy key
do not verify, the time the quorum was reached, and one `state`:

    none         the policy needs no cosignature (`quorum none`): no independent witnesses
    witnessed    the quorum holds with cosignatures no older than max_age
    stale        the quorum holds, but only with cosignatures older than max_age
    quorum       some policy witness cosigned validly, but too few for the quorum
    unwitnessed  no policy witness cosigned validly

The time a quorum was reached is defined recursively: a witness's is its cosignature's timestamp;
a group of k's is the k-th newest of its members' (no time if fewer than k have one). So the
quorum holds with cosignatures no older than max_age exactly when that time is at least
now - max_age. Signature lines of unknown keys (the log's own, other witnesses', other types)
are ignored. The log's signature is not checked here: that is `open_checkpoint`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import LedgerError, MalformedError, VerificationError
from .note import CosignatureVerifier, Verifier, _check_text, _parse_signatures

__all__ = [
    "Cosigned",
    "Policy",
    "PolicyGroup",
    "PolicyWitness",
    "Witnessed",
    "check_witnessed",
    "format_policy",
    "parse_policy",
]

MAX_ITEMS = 64  # of logs, witnesses and groups each (the spec recommends supporting at least 32)
_SPACE = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class PolicyWitness:
    """A policy's witness: its name in the policy, its cosignature key, and an optional URL."""

    name: str
    key: CosignatureVerifier
    url: str | None = None


@dataclass(frozen=True)
class PolicyGroup:
    """`group <name> <k> <members>`: witnessed when at least `threshold` of `members` are."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """A parsed policy: accepted logs, witnesses, groups, the quorum's name, and farmtrace's max age.

    `max_age` (seconds) bounds how old the quorum's cosignatures may be; None: no bound.
    """

    logs: tuple[Verifier, ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[PolicyGroup, ...]
    quorum: str  # a witness's or group's name, or "none"
    max_age: int | None = None

    @classmethod
    def of_witnesses(
        cls, keys: Sequence[CosignatureVerifier], *, quorum: int | None, max_age: int | None
    ) -> Policy:
        """The policy `quorum` of these witnesses (named by their key names), or `quorum none`
        when there are none. `quorum` None means a majority. Raises MalformedError for a quorum
        outside 1..n or a key listed twice."""
        if not keys:
            if quorum:
                raise MalformedError("a witness quorum needs witnesses")
            return cls(logs=(), witnesses=(), groups=(), quorum="none", max_age=max_age)
        k = len(keys) // 2 + 1 if quorum is None else quorum
        witnesses = tuple(PolicyWitness(name=key.name, key=key) for key in keys)
        group = PolicyGroup("witnesses", k, tuple(w.name for w in witnesses))
        return parse_policy(format_policy(cls((), witnesses, (group,), "witnesses")), max_age=max_age)

    @property
    def required(self) -> bool:
        return self.quorum != "none"


@dataclass(frozen=True)
class Cosigned:
    """A policy witness's valid cosignature: the witness's policy name and the cosignature's time."""

    name: str
    timestamp: int


@dataclass(frozen=True)
class Witnessed:
    """What `check_witnessed` found (see the module docstring for `state`)."""

    state: str
    cosigned: tuple[Cosigned, ...]  # valid cosignatures by policy witnesses, in note order
    invalid: tuple[str, ...]  # policy witnesses whose cosignature line does not verify
    quorum_at: int | None  # when the quorum was reached (POSIX seconds); None if it is not
    max_age: int | None

    @property
    def ok(self) -> bool:
        return self.state in ("none", "witnessed") and not self.invalid

    def require(self) -> None:
        """Return None if the checkpoint is current and witnessed; raise VerificationError otherwise."""
        if self.invalid:
            raise VerificationError(f"the cosignature of {self.invalid[0]} does not verify")
        if not self.ok:
            raise VerificationError(f"the checkpoint is not current and witnessed: {self.state}")


# --- the policy text ------------------------------------------------------------------------------


def _threshold(word: str, n: int) -> int:
    if word == "all":
        return n
    if word == "any":
        return 1
    if not word.isascii() or not word.isdigit() or (word != "0" and word.startswith("0")):
        raise MalformedError(f"a group's threshold is all, any or a decimal number, got {word!r}")
    k = int(word)
    if not 1 <= k <= n:
        raise MalformedError(f"a group's threshold must be from 1 to its {n} members, got {k}")
    return k


def _vkey(text: str, cls: type[Verifier]) -> Verifier:
    try:
        return cls.from_key_string(text)
    except LedgerError as exc:
        raise MalformedError(f"{text!r} is not a {cls.__name__} key: {exc}") from exc


def parse_policy(text: str, *, max_age: int | None = None) -> Policy:
    """Parse a tlog-policy text strictly. Raises MalformedError naming the line that is wrong."""
    if not isinstance(text, str):
        raise MalformedError("a policy is text")
    if max_age is not None and (not isinstance(max_age, int) or max_age < 1):
        raise MalformedError(
            f"a policy's maximum age is a whole number of seconds, at least 1, got {max_age!r}"
        )
    if any((c < " " and c not in "\t\n") or c == "\x7f" for c in text):
        raise MalformedError("a policy has no control characters but tab and newline")
    logs: list[Verifier] = []
    witnesses: dict[str, PolicyWitness] = {}
    groups: dict[str, PolicyGroup] = {}
    quorum: str | None = None
    used: set[str] = set()
    for number, raw in enumerate(text.split("\n"), 1):
        items = _SPACE.split(raw.strip(" \t"))
        if items == [""] or items[0].startswith("#"):
            continue
        where = f"policy line {number}"
        word, args = items[0], items[1:]
        if word == "log" and len(args) in (1, 2):
            key = _vkey(args[0], Verifier)
            if any(k.public_key == key.public_key for k in logs):
                raise MalformedError(f"{where}: the log key is listed twice")
            logs.append(key)
        elif word == "witness" and len(args) in (2, 3):
            name, key = args[0], _vkey(args[1], CosignatureVerifier)
            if name == "none" or name in witnesses or name in groups:
                raise MalformedError(f"{where}: the name {name!r} is taken")
            if any(w.key.public_key == key.public_key for w in witnesses.values()):
                raise MalformedError(f"{where}: the witness key is listed twice")
            witnesses[name] = PolicyWitness(name, key, args[2] if len(args) == 3 else None)
        elif word == "group" and len(args) >= 3:
            name, members = args[0], tuple(args[2:])
            if name == "none" or name in witnesses or name in groups:
                raise MalformedError(f"{where}: the name {name!r} is taken")
            for m in members:
                if m not in witnesses and m not in groups:
                    raise MalformedError(f"{where}: {m!r} is not a witness or group defined above")
                if m in used:
                    raise MalformedError(f"{where}: {m!r} is already a member of a group")
            if len(set(members)) != len(members):
                raise MalformedError(f"{where}: a member is listed twice")
            used.update(members)
            groups[name] = PolicyGroup(name, _threshold(args[1], len(members)), members)
        elif word == "quorum" and len(args) == 1:
            if quorum is not None:
                raise MalformedError(f"{where}: a policy has exactly one quorum line")
            if args[0] != "none" and args[0] not in witnesses and args[0] not in groups:
                raise MalformedError(
                    f"{where}: the quorum {args[0]!r} is not a witness or group defined above"
                )
            quorum = args[0]
        else:
            raise MalformedError(f"{where}: expected log, witness, group or quorum with its arguments")
        if max(len(logs), len(witnesses), len(groups)) > MAX_ITEMS:
            raise MalformedError(f"a policy has at most {MAX_ITEMS} logs, witnesses and groups each")
    if quorum is None:
        raise MalformedError("a policy needs a quorum line (quorum none for no witnesses)")
    return Policy(tuple(logs), tuple(witnesses.values()), tuple(groups.values()), quorum, max_age)


def format_policy(policy: Policy) -> str:
    """The policy's canonical text (no max age: see the module docstring); parses back to `policy`."""
    lines = [f"log {k.key_string()}" for k in policy.logs]
    for w in policy.witnesses:
        lines.append(" ".join(["witness", w.name, w.key.key_string(), *([w.url] if w.url else [])]))
    for g in policy.groups:
        lines.append(" ".join(["group", g.name, str(g.threshold), *g.members]))
    lines.append(f"quorum {policy.quorum}")
    return "".join(line + "\n" for line in lines)


# --- the check ------------------------------------------------------------------------------------


def _quorum_time(policy: Policy, times: dict[str, int]) -> int | None:
    """When the quorum was reached (see the module docstring), from each witness's cosignature time."""
    reached = dict(times)
    for g in policy.groups:  # each group refers only to names defined above it
        member_times = sorted((reached[m] for m in g.members if m in reached), reverse=True)
        if len(member_times) >= g.threshold:
            reached[g.name] = member_times[g.threshold - 1]
    return reached.get(policy.quorum)


def check_witnessed(note_text: str, policy: Policy, *, now: int) -> Witnessed:
    """Check the cosignatures of a checkpoint note against `policy` at `now` (POSIX seconds).

    Returns a Witnessed (never raises for a cosignature that fails: it is listed in `invalid` and
    does not count). Raises MalformedError if the note's text or signature block does not parse.
    """
    if not isinstance(note_text, str):
        raise MalformedError("a checkpoint note is text")
    split = note_text.rfind("\n\n")
    if split < 0:
        raise MalformedError("a signed note has a blank line between text and signatures")
    text, block = note_text[: split + 1], note_text[split + 2 :]
    _check_text(text)
    by_key = {(w.key.name, w.key.key_id): w for w in policy.witnesses}
    cosigned: list[Cosigned] = []
    invalid: list[str] = []
    times: dict[str, int] = {}
    for sig in _parse_signatures(block):
        witness = by_key.get((sig.name, sig.key_id))
        if witness is None:
            continue  # the log's signature, an unknown witness, another signature type
        try:
            witness.key.verify_note_signature(text, sig.signature)
        except VerificationError:
            invalid.append(witness.name)
            continue
        stamp = CosignatureVerifier.timestamp(sig.signature)
        if witness.name not in times:  # a witness counts once (the first valid line)
            cosigned.append(Cosigned(witness.name, stamp))
            times[witness.name] = stamp
    quorum_at = _quorum_time(policy, times) if policy.required else None
    if not policy.required:
        state = "none"
    elif quorum_at is None:
        state = "quorum" if cosigned else "unwitnessed"
    elif policy.max_age is not None and quorum_at < now - policy.max_age:
        state = "stale"
    else:
        state = "witnessed"
    return Witnessed(state, tuple(cosigned), tuple(invalid), quorum_at, policy.max_age)
