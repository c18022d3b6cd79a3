"""The consumer page's checks, in Python (trace/verify_journey.py) and in JavaScript (web/static/verify.js),
run over the same cases (journey_cases.py): same verdict, same failures, in the same order.

The JavaScript runs twice: in Node (one process for all the cases, in the default run) and in
Chromium (marker `browser`), where it is loaded as the consumer page loads it, after codec.js."""

from __future__ import annotations

import json
import re

import pytest

from farmtrace.api.cli import main as farmtrace
from farmtrace.ledger.errors import MalformedError
from farmtrace.trace.verify_journey import REASONS, check_journey
from farmtrace.web.i18n import MESSAGES

from . import journey_cases
from .consumer_support import chromium, close_app, demo_app, edit_entry, live_server
from .js.node import STATIC, node

VERIFY_JS = STATIC / "verify.js"
HARNESS = "http://localhost/verify-harness"
CHECK = (
    "async ([j, k]) => { const r = await FarmtraceVerify.checkJourney(j, k);"
    " return {ok: r.ok, failures: r.failures, ms: r.ms}; }"
)


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """The demo's journeys as the JSON endpoint serves them, and the log key."""
    app, _ = demo_app(tmp_path_factory.mktemp("journeys"))
    service = app.state.service
    try:
        journeys = {
            "bag": json.loads(json.dumps(service.journey_bundle("XF-BAG-0001").to_wire())),
            "recalled": json.loads(json.dumps(service.journey_bundle("XF-LJ-002").to_wire())),
        }
        yield journeys, service.log.verifier.key_string()
    finally:
        service.log.close()


def _python(case, genuine):
    journeys, log_key = genuine
    journey, pinned = journey_cases.build(case, journeys, log_key)
    return check_journey(journey, log_key=pinned)


@pytest.mark.parametrize("case", journey_cases.CASES, ids=lambda c: c.name)
def test_python_names_the_failures(case, genuine):
    report = _python(case, genuine)
    assert [f.reason for f in report.failures] == case.expect
    assert report.ok is (not case.expect)
    assert all(f.reason in REASONS for f in report.failures)


def test_genuine_journey_report(genuine):
    report = _python(journey_cases.CASES[0], genuine)
    assert report.ok and report.lot == "XF-BAG-0001" and report.events == 10
    assert report.summary().startswith("lot XF-BAG-0001: verified, 10 events proven")


def test_tampered_entry_is_named_with_its_index(genuine):
    case = next(c for c in journey_cases.CASES if c.name.startswith("entry byte changed"))
    report = _python(case, genuine)
    harvest = genuine[0]["bag"]["events"][0]["index"]
    first = report.failures[0]
    assert (first.reason, first.index, first.check) == ("signature.invalid", harvest, "signature")
    assert "does not match the record" in first.message
    assert report.summary().startswith("lot XF-BAG-0001: NOT verified: event at index")


def test_a_malformed_pinned_key_is_the_callers_mistake(genuine):
    with pytest.raises(MalformedError):
        check_journey(genuine[0]["bag"], log_key="not a key")


def test_nothing_in_the_journey_makes_it_raise(genuine):
    journey = genuine[0]["bag"]
    odd = [
        None,
        [],
        {"lot": 1, "events": [], "keys": {}, "checkpoint": ""},
        {**journey, "events": [None, 7, {"entry": 5, "index": "x", "proof": "y"}]},
        {**journey, "keys": {"k": None, "l": {"public_key": "!!", "registered_in": 3}}},
    ]
    for j in odd:
        report = check_journey(j, log_key=genuine[1])
        assert not report.ok


def test_every_reason_has_a_message_in_both_languages():
    for reason in REASONS:
        zh, en = MESSAGES[f"verify.reason.{reason}"]
        assert zh and en


def test_verify_js_knows_every_reason_and_no_other():
    source = VERIFY_JS.read_text() + (STATIC / "completeness.js").read_text()  # step 6 is there
    pattern = r'"((?:journey|log_key|checkpoint|key|entry|signature|inclusion|chain|index)\.[a-z_]+)"'
    assert set(re.findall(pattern, source)) == set(REASONS)


def test_verify_lot_command(tmp_path, capsys):
    """`farmtrace verify-lot` fetches the journey over HTTP and runs the same checks."""
    app, _ = demo_app(tmp_path)
    key = app.state.log.verifier.key_string()
    try:
        with live_server(app) as url:
            assert farmtrace(["verify-lot", "XF-BAG-0001", "--server", url, "--key", key]) == 0
            assert "lot XF-BAG-0001: verified, 10 events" in capsys.readouterr().out
            assert farmtrace(["verify-lot", "XF-BAG-0001", "--server", url]) == 0  # key from the server
            assert "pass --key to pin it" in capsys.readouterr().out
            assert (
                farmtrace(
                    ["verify-lot", "XF-BAG-0001", "--server", url, "--key", journey_cases.OTHER_LOG_KEY]
                )
                == 1
            )
            out = capsys.readouterr().out
            assert "NOT verified" in out and "log_key.mismatch" in out and "checkpoint.signature" in out
            assert farmtrace(["verify-lot", "XF-BAG-0001", "--server", url, "--key", "junk"]) == 2
            assert farmtrace(["verify-lot", "NO-SUCH-LOT", "--server", url, "--key", key]) == 1
            capsys.readouterr()
            index = app.state.service.journey_bundle("XF-BAG-0001").events[0].proven.index
            edit_entry(tmp_path / "db.sqlite", index, lambda e: e.replace(b'"500"', b'"600"', 1))
            assert farmtrace(["verify-lot", "XF-BAG-0001", "--server", url, "--key", key]) == 1
            lines = capsys.readouterr().out.split("\n\n")[0].splitlines()  # the checks; then the facts
            assert lines[0].startswith("lot XF-BAG-0001: NOT verified: event at index")
            assert [line.split()[0] for line in lines[1:]] == [
                "signature.invalid",
                "inclusion.invalid",
                "chain.follows",
            ]
    finally:
        close_app(app)


def _assert_agree(case, genuine, evaluate):
    """verify.js (through `evaluate`) and check_journey give `case` the same verdict and failures."""
    journeys, log_key = genuine
    journey, pinned = journey_cases.build(case, journeys, log_key)
    python = check_journey(journey, log_key=pinned)
    js = evaluate(CHECK, [journey, pinned])
    assert js["ok"] is python.ok
    assert [(f["reason"], f["index"], f["key"], f["lot"]) for f in js["failures"]] == [
        f.where() for f in python.failures
    ]
    assert [f["reason"] for f in js["failures"]] == case.expect


# --- the same cases in Node ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def js_node():
    """One Node process with codec.js and verify.js loaded, for every case."""
    with node("codec.js", "vmap.js", "completeness.js", "verify.js") as process:
        yield process


@pytest.mark.parametrize("case", journey_cases.CASES, ids=lambda c: c.name)
def test_javascript_agrees_with_python(case, genuine, js_node):
    _assert_agree(case, genuine, js_node.evaluate)


# --- the same cases in Chromium ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def js_page():
    """A page at http://localhost (a secure context: WebCrypto works) loading codec.js then verify.js,
    as the consumer page does (templates/lot.html)."""
    with chromium() as browser:
        page = browser.new_page()

        def serve(route):
            name = route.request.url.rsplit("/", 1)[-1]
            if name in ("codec.js", "vmap.js", "completeness.js", "verify.js"):
                route.fulfill(body=(STATIC / name).read_text(), content_type="text/javascript")
            else:
                route.fulfill(
                    body="<!doctype html>"
                    + "".join(f'<script src="/{n}"></script>' for n in ("codec.js", "vmap.js", "completeness.js"))
                    + '<script src="/verify.js"></script>',
                    content_type="text/html",
                )

        page.route("http://localhost/**", serve)
        page.goto(HARNESS)
        assert page.evaluate("FarmtraceVerify.supported()"), "this Chromium has no WebCrypto Ed25519"
        yield page


@pytest.mark.browser
@pytest.mark.parametrize("case", journey_cases.CASES, ids=lambda c: c.name)
def test_javascript_in_chromium_agrees_with_python(case, genuine, js_page):
    _assert_agree(case, genuine, lambda function, arg: js_page.evaluate(function, arg))
