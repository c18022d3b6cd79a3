"""ledger/policy.py: the tlog-policy text, and check_witnessed's states and quorum times."""

from __future__ import annotations

import base64
import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.ledger.checkpoint import Checkpoint, sign_checkpoint
from farmtrace.ledger.errors import MalformedError, VerificationError
from farmtrace.ledger.note import CosignatureSigner, NoteSignature, Signer, sign_note
from farmtrace.ledger.policy import Policy, check_witnessed, format_policy, parse_policy

LOG = Signer.from_seed("policy.farmtrace.example/log", bytes(32))
W = [CosignatureSigner.from_seed(f"w{n}.example/w", bytes([n + 1]) * 32) for n in range(6)]
NOW = 1_800_000_000


def _note(*cosigners: tuple[CosignatureSigner, int], root: bytes = bytes(32)) -> str:
    note = sign_checkpoint(Checkpoint(LOG.name, 7, root), LOG)
    text = note[: note.rfind("\n\n") + 1]
    return sign_note(text, LOG, *(w.at_time(t) for w, t in cosigners))


def _spec_example() -> str:
    # tlog-policy's example, with real keys: 2 of X1..X3 and any of Y1..Y3.
    lines = [f"log {LOG.verifier.key_string()}", ""]
    lines += [f"witness X{i + 1} {W[i].verifier.key_string()}" for i in range(3)]
    lines += ["group X-witnesses 2 X1 X2 X3", ""]
    lines += [f"witness Y{i + 1} {W[3 + i].verifier.key_string()}" for i in range(3)]
    lines += [
        "group Y-witnesses any Y1 Y2 Y3",
        "# both organisations",
        "group X-and-Y all X-witnesses Y-witnesses",
    ]
    return "\n".join([*lines, "quorum X-and-Y", ""])


def test_the_spec_example_parses_and_formats_canonically():
    policy = parse_policy(_spec_example(), max_age=600)
    assert [w.name for w in policy.witnesses] == ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    assert [(g.name, g.threshold) for g in policy.groups] == [
        ("X-witnesses", 2),
        ("Y-witnesses", 1),
        ("X-and-Y", 2),
    ]
    assert policy.quorum == "X-and-Y" and policy.max_age == 600 and policy.logs == (LOG.verifier,)
    text = format_policy(policy)
    assert "#" not in text and "any" not in text and parse_policy(text, max_age=600) == policy
    assert format_policy(parse_policy("  quorum\tnone  \n")) == "quorum none\n"


BAD_POLICIES = [
    ("", "needs a quorum line"),
    ("quorum none\nquorum none\n", "exactly one quorum"),
    ("quorum X\n", "not a witness or group defined above"),
    (f"group G 1 X\nwitness X {W[0].verifier.key_string()}\nquorum G\n", "defined above"),
    (
        f"witness X {W[0].verifier.key_string()}\nwitness X {W[1].verifier.key_string()}\nquorum X\n",
        "taken",
    ),
    (
        f"witness X {W[0].verifier.key_string()}\nwitness Y {W[0].verifier.key_string()}\nquorum X\n",
        "twice",
    ),
    (f"witness none {W[0].verifier.key_string()}\nquorum none\n", "taken"),
    (f"witness X {W[0].verifier.key_string()}\ngroup G 2 X\nquorum G\n", "from 1 to its 1"),
    (f"witness X {W[0].verifier.key_string()}\ngroup G 01 X\nquorum G\n", "threshold"),
    (f"witness X {W[0].verifier.key_string()}\ngroup G 1 X X\nquorum G\n", "listed twice"),
    (f"witness X {W[0].verifier.key_string()}\ngroup G 1 X\ngroup H 1 X\nquorum G\n", "already a member"),
    (f"witness X {LOG.verifier.key_string()}\nquorum X\n", "CosignatureVerifier"),
    (f"log {W[0].verifier.key_string()}\nquorum none\n", "not a Verifier"),
    ("quorum none\r\n", "control characters"),
    ("witness X\nquorum none\n", "policy line 1"),
    ("frobnicate\nquorum none\n", "expected log, witness"),
]


@pytest.mark.parametrize(("text", "says"), BAD_POLICIES)
def test_bad_policies_are_refused_naming_the_problem(text, says):
    with pytest.raises(MalformedError, match=says):
        parse_policy(text)


_WORDS = [
    "quorum",
    "none",
    "group",
    "witness",
    "log",
    "all",
    "any",
    "X",
    "G",
    "0",
    "1",
    "2",
    "#",
    " ",
    "\t",
    "\n",
]


@given(
    st.lists(st.sampled_from([*_WORDS, W[0].verifier.key_string(), LOG.verifier.key_string()]), max_size=30)
)
def test_the_parser_raises_only_its_own_error(words):
    text = "".join(words)
    with contextlib.suppress(MalformedError):
        parse_policy(text)


def test_of_witnesses_majority_and_none():
    keys = [w.verifier for w in W[:3]]
    assert format_policy(Policy.of_witnesses(keys, quorum=None, max_age=60)).endswith(
        "group witnesses 2 w0.example/w w1.example/w w2.example/w\nquorum witnesses\n"
    )
    assert Policy.of_witnesses([], quorum=None, max_age=60).quorum == "none"
    with pytest.raises(MalformedError):
        Policy.of_witnesses(keys, quorum=4, max_age=60)


def _flat(k: int, n: int = 3, max_age: int | None = 3600) -> Policy:
    return Policy.of_witnesses([w.verifier for w in W[:n]], quorum=k, max_age=max_age)


def test_states():
    p = _flat(2)
    fresh, old = NOW - 10, NOW - 7200
    assert check_witnessed(_note(), p, now=NOW).state == "unwitnessed"
    assert check_witnessed(_note((W[0], fresh)), p, now=NOW).state == "quorum"
    got = check_witnessed(_note((W[0], fresh), (W[2], fresh - 5)), p, now=NOW)
    assert (got.state, got.quorum_at, got.ok) == ("witnessed", fresh - 5, True)
    assert [(c.name, c.timestamp) for c in got.cosigned] == [
        ("w0.example/w", fresh),
        ("w2.example/w", fresh - 5),
    ]
    stale = check_witnessed(_note((W[0], fresh), (W[1], old)), p, now=NOW)
    assert (stale.state, stale.quorum_at, stale.ok) == ("stale", old, False)
    # The newest quorum decides: the third witness's fresh cosignature makes the quorum fresh again.
    assert check_witnessed(_note((W[0], fresh), (W[1], old), (W[2], fresh)), p, now=NOW).state == "witnessed"
    # Exactly max_age old is still current; one second more is stale.
    assert check_witnessed(_note((W[0], NOW - 3600), (W[1], NOW)), p, now=NOW).state == "witnessed"
    assert check_witnessed(_note((W[0], NOW - 3601), (W[1], NOW)), p, now=NOW).state == "stale"
    assert check_witnessed(_note((W[0], 1), (W[1], 1)), _flat(2, max_age=None), now=NOW).state == "witnessed"
    none = check_witnessed(_note((W[0], fresh)), Policy.of_witnesses([], quorum=None, max_age=60), now=NOW)
    assert (none.state, none.ok, none.cosigned) == ("none", True, ())
    with pytest.raises(VerificationError, match="stale"):
        stale.require()


def test_unknown_lines_are_ignored_and_a_bad_cosignature_is_named():
    p = _flat(1)
    note = _note((W[0], NOW))
    stranger = CosignatureSigner.from_seed("stranger.example/w", bytes([9]) * 32).at_time(NOW)
    extra = [
        NoteSignature(
            stranger.name, stranger.key_id, stranger.sign_note_text(note[: note.rfind("\n\n") + 1])
        ),
        NoteSignature("w1.example/w", b"\0\0\0\0", bytes(72)),  # a known name with another key ID
        NoteSignature("ml-dsa.example/w", b"\1\2\3\4", bytes(100)),  # another signature type
    ]
    got = check_witnessed(note + "".join(s.line() for s in extra), p, now=NOW)
    assert (got.state, got.invalid) == ("witnessed", ())
    # A cosignature for another root (a forked checkpoint) does not verify on this one.
    forked = _note((W[1], NOW), root=bytes([1]) * 32)
    moved = _note((W[0], NOW)) + forked.splitlines(keepends=True)[-1]
    got = check_witnessed(moved, _flat(2), now=NOW)
    assert (got.state, got.invalid) == ("quorum", ("w1.example/w",))
    with pytest.raises(VerificationError, match=r"w1\.example/w"):
        got.require()


def test_every_flipped_bit_of_a_cosignature_is_caught():
    note = _note((W[0], NOW))
    head, line = note[: note.rfind("— w0")], note[note.rfind("— w0") :]
    name, b64 = line.rstrip("\n").split(" ")[1:]
    raw = base64.b64decode(b64)
    for bit in range(32, len(raw) * 8):  # past the key ID: the time and the signature
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        text = f"{head}— {name} {base64.b64encode(bytes(flipped)).decode()}\n"
        got = check_witnessed(text, _flat(1), now=NOW)
        assert got.state == "unwitnessed" and got.invalid == ("w0.example/w",), bit


def test_quorum_times_of_nested_groups_exhaustively():
    """Every subset of the six witnesses, each at one of two times, against the spec's example:
    the quorum time is the definition's (2 of X, 1 of Y, then both)."""
    policy = parse_policy(_spec_example(), max_age=100)
    names = ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    for times in itertools.product([None, NOW - 50, NOW - 500], repeat=6):
        cosigners = [(W[i], t) for i, t in enumerate(times) if t is not None]
        got = check_witnessed(_note(*cosigners), policy, now=NOW)
        xs = sorted((t for t in times[:3] if t is not None), reverse=True)
        ys = sorted((t for t in times[3:] if t is not None), reverse=True)
        want = min(xs[1], ys[0]) if len(xs) >= 2 and ys else None
        assert got.quorum_at == want, dict(zip(names, times, strict=True))
        expected = "witnessed" if want and want >= NOW - 100 else "stale" if want else None
        assert got.state == (expected or ("quorum" if cosigners else "unwitnessed"))
