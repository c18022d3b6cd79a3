"""An entry's event must be RFC 8785 canonical bytes, not just JSON that means the same: verify.js
(which compares jcs(parsed) with the decoded text) and trace/verify_journey.py both report
entry.malformed for each respelling below, and accept the genuine entry.

verify.js once re-encoded jcs(parsed) to UTF-8 and compared bytes; it now compares the texts, which
is the same test because utf8decode is strict (valid UTF-8 round-trips byte for byte). These cases
hold it to that: each respelling parses to the same value as the genuine event."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from farmtrace.trace.verify_journey import check_journey

from .consumer_support import demo_app
from .js.node import node

CHECK = "async ([j, k]) => (await FarmtraceVerify.checkJourney(j, k)).failures"

# Each turns the harvest's canonical JSON into another spelling of the same JSON value.
RESPELLINGS = {
    "a space after the first colon": lambda t: t.replace('":', '": ', 1),
    "the first two members swapped": lambda t: _swap_first_members(t),
    "an ASCII letter escaped": lambda t: t.replace('"kind":"harvest"', '"kind":"\\u0068arvest"', 1),
    "a Chinese character escaped": lambda t: _escape_first_cjk(t),
    "the version written 1.0": lambda t: t.replace('"v":1', '"v":1.0', 1),
    "a byte order mark before it": lambda t: "\ufeff" + t,
    "a space before the closing brace": lambda t: t[:-1] + " }",
}


def _swap_first_members(text: str) -> str:
    obj = json.loads(text)
    first, second, *rest = list(obj.items())
    return json.dumps(dict([second, first, *rest]), ensure_ascii=False, separators=(",", ":"))


def _escape_first_cjk(text: str) -> str:
    at = next(i for i, c in enumerate(text) if ord(c) > 0x2E80)
    return text[:at] + f"\\u{ord(text[at]):04x}" + text[at + 1 :]


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    app, _ = demo_app(tmp_path_factory.mktemp("canonical"))
    service = app.state.service
    try:
        yield (
            json.loads(json.dumps(service.journey_bundle("XF-BAG-0001").to_wire())),
            service.log.verifier.key_string(),
        )
    finally:
        service.log.close()


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "vmap.js", "completeness.js", "verify.js") as process:
        yield process


def _respelt(journey: dict, respell) -> tuple[dict, int]:
    j = copy.deepcopy(journey)
    item = j["events"][0]
    header, canonical, sig, end = base64.b64decode(item["entry"]).split(b"\n")
    text = canonical.decode()
    other = respell(text)
    assert other != text and json.loads(other.lstrip("\ufeff")) == json.loads(text)
    item["entry"] = base64.b64encode(b"\n".join([header, other.encode(), sig, end])).decode()
    return j, item["index"]


def test_the_genuine_entry_is_canonical(genuine, js):
    journey, key = genuine
    assert check_journey(journey, log_key=key).ok
    assert js.evaluate(CHECK, [journey, key]) == []


@pytest.mark.parametrize("name", sorted(RESPELLINGS))
def test_a_respelt_entry_is_malformed_in_both(name, genuine, js):
    journey, key = genuine
    j, index = _respelt(journey, RESPELLINGS[name])
    python = [(f.reason, f.index) for f in check_journey(j, log_key=key).failures]
    js_failures = [(f["reason"], f["index"]) for f in js.evaluate(CHECK, [j, key])]
    assert python[0] == ("entry.malformed", index)
    assert js_failures == python
