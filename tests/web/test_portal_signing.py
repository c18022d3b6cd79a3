"""The browser's signing library (web/static/signing.js, over codec.js) on the portal's own page, in Chromium.

RFC 8785 canonical JSON made by `FarmtraceCodec.jcs` in the page must equal `rfc8785.dumps` for
every wire form of every kind (tests/trace/story.py) and for Hypothesis-made JSON with CJK, emoji,
escapes, control characters and keys whose UTF-16 order differs from their code-point order. An
entry signed in the browser, with a key generated into IndexedDB or imported from a key file, must
pass `decode_entry` and `verify_signed_event` as the server runs them, and a token made there must
pass `check_token` for this service only. The same byte-level parity runs in Node in the default
run (tests/web/test_js_codec.py, test_js_signing.py); these prove the page's wiring and storage.
"""

from __future__ import annotations

import base64
import json

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from farmtrace.client import PartyKey
from farmtrace.trace.model.encoding import decode_entry, encode_event, verify_signed_event
from farmtrace.trace.model.event import Event

from ..trace.jcs_text import TEXT
from ..trace.story import COOP, sample_wires
from .consumer_support import chromium, close_app, free_port, live_server
from .portal_support import genesis_app, new_phone

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The values travel as JSON text and are parsed in the page, as the portal's own data is: Playwright's
# argument passing would turn a "__proto__" key into the object's prototype instead of a property.
CANONICAL = """(text) => JSON.parse(text).map((v) => {
    const bytes = FarmtraceCodec.utf8encode(FarmtraceCodec.jcs(v));
    return FarmtraceCodec.b64encode(bytes);
})"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signing")
    port = free_port()
    app, _, _ = genesis_app(tmp, port)
    with live_server(app, port) as base, chromium() as browser:
        ctx, p = new_phone(browser)
        p.goto(f"{base}/portal/enroll")
        p.wait_for_selector("html[data-portal-ready]", state="attached")
        yield p
        assert p.errors == []
        ctx.close()
    close_app(app)


def _browser_canonical(page, values: list) -> list[bytes]:
    return [base64.b64decode(b) for b in page.evaluate(CANONICAL, json.dumps(values))]


def test_every_wire_form_canonicalizes_as_the_server_does(page):
    wires = [{"v": 1, **w} for w in sample_wires().values()]
    assert _browser_canonical(page, wires) == [rfc8785.dumps(w) for w in wires]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(JSON, min_size=1, max_size=10))
@example([{"__proto__": None, "constructor": {"__proto__": [1]}}])
def test_generated_json_canonicalizes_as_rfc8785(page, values):
    assert _browser_canonical(page, values) == [rfc8785.dumps(v) for v in values]


SIGN_ALL = """async ([wires, keyFile]) => {
    const key = keyFile ? await FarmtraceSigning.importKeyFile(keyFile) : await FarmtraceSigning.generate(wires[0].party);
    const out = [];
    for (const w of wires) out.push(await FarmtraceSigning.signEvent(key, w));
    return {publicKey: key.publicKey, keyId: key.keyId, extractable: key.privateKey.extractable, signed: out};
}"""


@pytest.mark.parametrize("imported", [False, True], ids=["generated", "key-file"])
def test_browser_signed_entries_verify_on_the_server(page, tmp_path, imported):
    wires = [w for w in sample_wires().values() if w["party"] == COOP]
    key_file = None
    if imported:
        key = PartyKey.generate(COOP)
        key.save(tmp_path / "coop.key")
        key_file = (tmp_path / "coop.key").read_text()
    result = page.evaluate(SIGN_ALL, [wires, key_file])
    assert result["extractable"] is False
    public_key = base64.b64decode(result["publicKey"])
    if imported:
        assert result["keyId"] == key.key_id and public_key == key.public_key
    assert len(result["signed"]) == len(wires) >= 3
    for wire, signed in zip(wires, result["signed"], strict=True):
        entry = decode_entry(base64.b64decode(signed["entry"]))
        verify_signed_event(entry, public_key)
        assert entry.id == signed["id"]
        assert entry.canonical == encode_event(Event.from_wire({**wire, "key_id": result["keyId"]}))


TOKENS = """async (keyFile) => {
    const key = await FarmtraceSigning.importKeyFile(keyFile);
    return [await FarmtraceSigning.token(key), await FarmtraceSigning.signIn(key)];
}"""


def test_browser_tokens_verify_on_the_server_bound_to_its_log(page, tmp_path):
    # A token made in the browser (trace/auth.py v2: the log origin signed in, from GET /ledger/key)
    # is accepted by check_token for this server's origin, and by no other.
    from datetime import UTC, datetime

    from farmtrace.trace.auth import MAX_LIFETIME, check_token
    from farmtrace.trace.errors import Forbidden
    from farmtrace.trace.model.event import Event as Ev
    from farmtrace.trace.rules.memory import MemoryState

    from ..trace.story import START, party_wire, private_key, wire
    from .consumer_support import LOG_SIGNER

    key = PartyKey(COOP, private_key(COOP))
    key.save(tmp_path / "coop.key")
    api_token, session = page.evaluate(TOKENS, (tmp_path / "coop.key").read_text())
    view = MemoryState()
    register = wire("party.register", COOP, time=START, detail={"party": party_wire(COOP)})
    view.genesis(Ev.from_wire(register).detail.party, at=START)  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    for t, lifetime in ((api_token, 600), (session, 55 * 60)):
        assert t.startswith("ft2.")
        assert abs(int(t.split(".")[3]) - now.timestamp() - lifetime) < 30 and lifetime <= MAX_LIFETIME
        assert check_token(t, view, origin=LOG_SIGNER.name, now=now).id == COOP
        with pytest.raises(Forbidden, match="does not verify for this service"):
            check_token(t, view, origin="another.example/log", now=now)
