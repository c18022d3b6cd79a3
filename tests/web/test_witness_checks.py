"""Current and witnessed: step 2's witness policy in both twins (trace/verify_journey.py with
ledger/policy.py; web/static/verify.js with witnessed.js), over the same cosigned journeys.

The demo's bag journey has no cosignatures; each case signs its checkpoint text with test witnesses
at chosen times (or forks it under the log's own key), and both verifiers must give the same
verdict, the same failures in the same order, and the same witness state and quorum time.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from farmtrace.ledger.checkpoint import parse_checkpoint, sign_checkpoint
from farmtrace.ledger.note import CosignatureSigner, NoteSignature, sign_note
from farmtrace.ledger.policy import Policy, format_policy, parse_policy
from farmtrace.trace.verify_journey import check_journey

from .consumer_support import chromium, demo_app
from .js.node import STATIC, node

NOW = 1_800_000_000
W = [CosignatureSigner.from_seed(f"witness{n}.example/w", bytes([40 + n]) * 32) for n in range(3)]
POLICY = Policy.of_witnesses([w.verifier for w in W], quorum=2, max_age=3600)
NO_WITNESSES = Policy.of_witnesses([], quorum=None, max_age=3600)
CHECK = (
    "async ([j, k, w]) => { const r = await FarmtraceVerify.checkJourney(j, k, w);"
    " return {ok: r.ok, failures: r.failures, witnessed: r.witnessed}; }"
)
# What checkJourney needs loaded before verify.js, in the page's order (templates/lot.html); the head
# index's scripts only where that part of the work has them.
SCRIPTS = tuple(
    name
    for name in ("codec.js", "vmap.js", "completeness.js", "witnessed.js", "verify.js")
    if (STATIC / name).exists()
)
WITNESS_CODES = {"checkpoint.cosignature", "checkpoint.unwitnessed", "checkpoint.quorum", "checkpoint.stale"}


@dataclass(frozen=True)
class Case:
    name: str
    cosigners: tuple[tuple[int, int], ...]  # (witness number, seconds before NOW)
    expect: list[str]  # the witness reason codes, in order (other codes: see `others`)
    state: str
    policy: Policy = POLICY
    edit: Callable[[dict[str, Any], Any], None] | None = None
    others: bool = field(default=False)  # other failures follow (a fork breaks every proof)


def _text(note: str) -> str:
    return note[: note.rfind("\n\n") + 1]


def _unknown_lines(j: dict[str, Any], _: Any) -> None:
    stranger = CosignatureSigner.from_seed("stranger.example/w", bytes([99]) * 32).at_time(NOW)
    lines = [
        NoteSignature(stranger.name, stranger.key_id, stranger.sign_note_text(_text(j["checkpoint"]))),
        NoteSignature("witness1.example/w", b"\0\0\0\0", bytes(72)),  # a known name, another key ID
        NoteSignature("mldsa.example/w", b"\1\2\3\4", bytes(200)),  # another signature type
    ]
    j["checkpoint"] += "".join(s.line() for s in lines)


def _fork(j: dict[str, Any], log_signer: Any) -> None:
    # The log's own key signs another root for the same size; the genuine cosignatures are copied
    # over (they do not verify on it) and no witness cosigned the fork.
    note = j["checkpoint"]
    cp = parse_checkpoint(_text(note))
    forked = sign_checkpoint(type(cp)(cp.origin, cp.size, bytes(32), cp.extensions), log_signer)
    j["checkpoint"] = forked + "".join(
        line + "\n" for line in note.rstrip("\n").split("\n") if "witness" in line
    )


def _flip_time(j: dict[str, Any], _: Any) -> None:
    head, _, last = j["checkpoint"].rstrip("\n").rpartition("\n")
    name, b64 = last.split(" ")[1:]
    raw = bytearray(base64.b64decode(b64))
    raw[4 + 7] ^= 1  # the cosignature's time, one second off
    j["checkpoint"] = f"{head}\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"


CASES = [
    Case("two of three, fresh", ((0, 10), (1, 20)), [], "witnessed"),
    Case("three of three, one stale", ((0, 10), (1, 9000), (2, 30)), [], "witnessed"),
    Case("stale: the quorum's newest is too old", ((0, 10), (1, 3601)), ["checkpoint.stale"], "stale"),
    Case("short of the quorum", ((2, 10),), ["checkpoint.quorum"], "quorum"),
    Case("unwitnessed", (), ["checkpoint.unwitnessed"], "unwitnessed"),
    Case(
        "unknown extra signature lines are ignored", ((0, 10), (1, 20)), [], "witnessed", edit=_unknown_lines
    ),
    Case(
        "a cosignature with its time changed",
        ((0, 10), (1, 20)),
        ["checkpoint.cosignature", "checkpoint.quorum"],
        "quorum",
        edit=_flip_time,
    ),
    Case(
        "forked checkpoint, cosigned by nobody",
        ((0, 10), (1, 20)),
        ["checkpoint.cosignature", "checkpoint.cosignature", "checkpoint.unwitnessed"],
        "unwitnessed",
        edit=_fork,
        others=True,
    ),
    Case("no witnesses configured", (), [], "none", policy=NO_WITNESSES),
]


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    app, _ = demo_app(tmp_path_factory.mktemp("witnessed"))
    service = app.state.service
    try:
        journey = json.loads(json.dumps(service.journey_bundle("XF-BAG-0001").to_wire()))
        yield journey, service.log.verifier.key_string(), service.log.signer
    finally:
        service.log.close()


def _build(case: Case, genuine) -> dict[str, Any]:
    journey, _, log_signer = genuine
    j = copy.deepcopy(journey)
    if case.cosigners:
        text = _text(j["checkpoint"])
        j["checkpoint"] = sign_note(text, log_signer, *(W[n].at_time(NOW - ago) for n, ago in case.cosigners))
    if case.edit is not None:
        case.edit(j, log_signer)
    return j


def _python(case: Case, genuine):
    return check_journey(_build(case, genuine), log_key=genuine[1], policy=case.policy, now=NOW)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_python_names_the_witness_failures(case, genuine):
    report = _python(case, genuine)
    codes = [f.reason for f in report.failures]
    assert [c for c in codes if c in WITNESS_CODES] == case.expect
    assert report.witnessed is not None and report.witnessed.state == case.state
    assert report.ok is (not case.expect and not case.others)
    if case.others:
        assert codes[: len(case.expect)] == case.expect  # step 2 reports before the proofs fail
        # every proof against the forged root fails (the head index's entry among them, when there is one)
        rest = {c for c in codes[len(case.expect) :] if not c.startswith("index.")}
        assert rest == {"key.registration_proof", "inclusion.invalid"}
    else:
        assert codes == case.expect


def test_without_a_policy_nothing_changes(genuine):
    report = check_journey(_build(CASES[4], genuine), log_key=genuine[1])
    assert report.ok and report.witnessed is None


def _assert_agree(case: Case, genuine, evaluate) -> None:
    python = _python(case, genuine)
    witness = {"policy": format_policy(case.policy), "maxAge": case.policy.max_age, "now": NOW}
    js = evaluate(CHECK, [_build(case, genuine), genuine[1], witness])
    assert js["ok"] is python.ok
    assert [(f["reason"], f["index"], f["key"], f["lot"]) for f in js["failures"]] == [
        f.where() for f in python.failures
    ]
    w = python.witnessed
    assert js["witnessed"]["state"] == w.state
    assert js["witnessed"]["quorumAt"] == w.quorum_at
    assert [(c["name"], c["timestamp"]) for c in js["witnessed"]["cosigned"]] == [
        (c.name, c.timestamp) for c in w.cosigned
    ]


@pytest.fixture(scope="module")
def js_node():
    with node(*SCRIPTS) as process:
        yield process


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_javascript_agrees_with_python(case, genuine, js_node):
    _assert_agree(case, genuine, js_node.evaluate)


@pytest.fixture(scope="module")
def js_page():
    scripts = [p.name for p in (STATIC / "vendor").glob("noble.js")] + list(SCRIPTS)
    with chromium() as browser:
        page = browser.new_page()

        def serve(route):
            name = route.request.url.rsplit("/", 1)[-1]
            if name in scripts:
                path = STATIC / name if (STATIC / name).exists() else STATIC / "vendor" / name
                route.fulfill(body=path.read_text(), content_type="text/javascript")
            else:
                tags = "".join(f'<script src="/{s}"></script>' for s in scripts)
                route.fulfill(body=f"<!doctype html>{tags}", content_type="text/html")

        page.route("http://localhost/**", serve)
        page.goto("http://localhost/witness-harness")
        yield page


@pytest.mark.browser
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_javascript_in_chromium_agrees_with_python(case, genuine, js_page):
    _assert_agree(case, genuine, lambda function, arg: js_page.evaluate(function, arg))


# --- the policy parser's twin ----------------------------------------------------------------------

PARSE = (
    "async ([text, maxAge]) => { try { const p = await FarmtraceWitnessed.parsePolicy(text, maxAge);"
    " return {witnesses: p.witnesses.map((w) => [w.name, w.key.name]), quorum: p.quorum, maxAge: p.maxAge,"
    " groups: p.groups.map((g) => [g.name, g.threshold, g.members])}; } catch (e) { return {error: e.message}; } }"
)


def test_javascript_parses_policies_as_python_does(js_node):
    from tests.ledger.test_policy import BAD_POLICIES, _spec_example

    for text, _ in BAD_POLICIES:
        assert "error" in js_node.evaluate(PARSE, [text, None]), text
    for text in (_spec_example(), format_policy(POLICY), "# none\n\tquorum   none \n"):
        policy = parse_policy(text, max_age=60)
        assert js_node.evaluate(PARSE, [text, 60]) == {
            "witnesses": [[w.name, w.key.name] for w in policy.witnesses],
            "quorum": policy.quorum,
            "maxAge": 60,
            "groups": [[g.name, g.threshold, list(g.members)] for g in policy.groups],
        }
