"""The consumer page on browsers without WebCrypto Ed25519, in real Chromium (issue 17 §4).

Three ways a phone's browser can be, each a Chromium context:
- `webcrypto`: as it is (Chromium has WebCrypto Ed25519), the baseline;
- `no-ed25519`: tests/web/js/no_ed25519.js runs before the page's scripts and makes WebCrypto refuse
  Ed25519 with NotSupportedError, as in-app webviews and older Safari do;
- `no-subtle`: tests/web/js/no_subtle.js removes crypto.subtle, as on a page outside a secure context;
  and once for real: the page opened as http://farm.test:PORT/ (a plain-HTTP host that is not
  localhost), where Chromium itself gives no crypto.subtle.

The page must verify a good journey with the vendored noble engine, say so, and report exactly the
failure codes WebCrypto reports on tampered ones: the shared cases (journey_cases.py) on a harness
page, and edits made in the database behind the server's back on the real page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from . import journey_cases
from .browser_support import ENGINES as ENGINE
from .browser_support import INSECURE_HOST, MODES, new_context, verify_page
from .consumer_support import edit_entry, served_demo
from .js.node import STATIC
from .test_js_ed25519 import BOTH, edge_cases

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BAG = "XF-BAG-0001"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_demo(tmp_path_factory.mktemp("fallback")) as served:
        yield served.url, served.app, served.data


def _verify_page(browser, mode: str, url: str, lang: str = "zh") -> dict:
    """Open the bag's page in `mode`; what the page concluded, and what it shows."""
    return verify_page(
        browser,
        f"{url}/l/{BAG}?lang={lang}",
        mode=mode,
        locale="zh-CN" if lang == "zh" else "en-US",
        shot=f"fallback-{mode}-{lang}",
    )


@pytest.fixture(scope="module")
def baseline(browser, served):
    """The bag's page in Chromium as it is (WebCrypto), the fallback's measure: loaded once."""
    url, _, _ = served
    return _verify_page(browser, "webcrypto", url)


@pytest.mark.parametrize("mode", ["no-ed25519", "no-subtle"])
def test_the_page_verifies_with_the_fallback_and_says_so(browser, served, baseline, mode):
    url, _, _ = served
    fallback = _verify_page(browser, mode, url)
    assert baseline["engine"] == "webcrypto" and fallback["engine"] == "noble"
    assert fallback["subtle"] is (mode != "no-subtle")
    assert baseline["ok"] is True and fallback["ok"] is True
    assert fallback["state"] == baseline["state"]
    assert fallback["failures"] == baseline["failures"] == []
    assert fallback["events"] == baseline["events"] == 10
    assert "noble-ed25519" in fallback["note"] and "WebCrypto" in baseline["note"]
    assert fallback["errors"] == baseline["errors"] == []
    # The fallback is fetched only by the browser that needs it, once.
    assert baseline["fetched"].count("noble.js") == 0 and fallback["fetched"].count("noble.js") == 1
    english = _verify_page(browser, mode, url, lang="en")
    assert "JavaScript verifier (noble-ed25519)" in english["note"]


def test_edits_in_the_database_fail_with_the_same_codes(browser, served):
    url, _, tmp = served
    events = httpx.get(f"{url}/lots/{BAG}/journey", timeout=30).json()["events"]
    harvest, third = events[0]["index"], events[2]["index"]

    def flip_signature(entry: bytes) -> bytes:
        header, canonical, sig, end = entry.split(b"\n")
        return b"\n".join([header, canonical, sig[:5] + (b"A" if sig[5:6] != b"A" else b"B") + sig[6:], end])

    edits = [
        (harvest, lambda e: e.replace(b'"quantity":"500"', b'"quantity":"600"', 1)),
        (third, flip_signature),
    ]
    originals = [(index, edit_entry(tmp / "db.sqlite", index, edit)) for index, edit in edits]
    try:
        outcomes = {mode: _verify_page(browser, mode, url) for mode in MODES}
    finally:
        for index, original in originals:
            edit_entry(tmp / "db.sqlite", index, lambda _, o=original: o)
    codes = {mode: [(f["reason"], f["index"]) for f in o["failures"]] for mode, o in outcomes.items()}
    assert {mode: o["engine"] for mode, o in outcomes.items()} == ENGINE
    assert codes["no-ed25519"] == codes["no-subtle"] == codes["webcrypto"]
    reasons = [reason for reason, _ in codes["webcrypto"]]
    assert reasons.count("signature.invalid") == 2 and ("signature.invalid", harvest) in codes["webcrypto"]
    assert all(o["state"] == "failed" and o["ok"] is False for o in outcomes.values())


def test_a_page_outside_a_secure_context_verifies_with_noble(browser, served):
    """For real: http://farm.test:PORT/ is plain HTTP to a host that is not localhost, so Chromium gives
    the page no crypto.subtle at all (every browser of the harness maps the name to 127.0.0.1)."""
    url, _, _ = served
    port = url.rsplit(":", 1)[1]
    outcome = _verify_page(browser, "webcrypto", f"http://{INSECURE_HOST}:{port}")
    assert outcome["subtle"] is False
    assert outcome["engine"] == "noble" and outcome["ok"] is True and outcome["errors"] == []


# --- the shared tamper cases, in Chromium, with the fallback forced ------------------------------------

CHECK = (
    "async ([j, k]) => { const r = await FarmtraceVerify.checkJourney(j, k);"
    " return {ok: r.ok, failures: r.failures, engine: await FarmtraceVerify.engine()}; }"
)
HARNESS = "http://localhost/verify-harness"
LOT_HTML = STATIC.parent / "templates" / "lot.html"


def _page_scripts() -> dict[str, Path]:
    """The scripts templates/lot.html loads, in its order (those named by a literal), by file."""
    names = re.findall(r"asset_url\('([^']+)'\)", LOT_HTML.read_text())
    found = {name: next(p for p in (STATIC / name, STATIC / "vendor" / name) if p.exists()) for name in names}
    # codec.js names noble.js (fetched on need, data-noble) before verify.js runs
    assert {"noble.js", "codec.js", "verify.js"} <= found.keys()
    assert list(found).index("codec.js") < list(found).index("verify.js")
    return found


@pytest.fixture(scope="module")
def genuine(served):
    _, app, _ = served
    service = app.state.service
    journeys = {
        "bag": json.loads(json.dumps(service.journey_bundle("XF-BAG-0001").to_wire())),
        "recalled": json.loads(json.dumps(service.journey_bundle("XF-LJ-002").to_wire())),
    }
    return journeys, service.log.verifier.key_string()


@pytest.fixture(scope="module")
def harnesses(browser):
    """One page per mode at http://localhost, loading the consumer page's scripts in its order."""
    files = _page_scripts()
    pages, contexts = {}, []
    for mode in MODES:
        ctx = new_context(browser, mode=mode)
        contexts.append(ctx)
        page = ctx.new_page()

        def serve(route):
            name = route.request.url.rsplit("/", 1)[-1]
            if name in files:
                route.fulfill(body=files[name].read_text(), content_type="text/javascript")
            else:
                tags = "".join(f'<script src="/{n}"></script>' for n in files)
                route.fulfill(body=f"<!doctype html>{tags}", content_type="text/html")

        page.route("http://localhost/**", serve)
        page.goto(HARNESS)
        assert page.evaluate("FarmtraceVerify.engine()") == ENGINE[mode]
        pages[mode] = page
    yield pages
    for ctx in contexts:
        ctx.close()


@pytest.mark.parametrize("case", journey_cases.CASES, ids=lambda c: c.name)
def test_every_case_gets_the_same_codes_with_either_engine(case, genuine, harnesses):
    journeys, log_key = genuine
    journey, pinned = journey_cases.build(case, journeys, log_key)
    answers = {mode: page.evaluate(CHECK, [journey, pinned]) for mode, page in harnesses.items()}
    assert {mode: a.pop("engine") for mode, a in answers.items()} == ENGINE
    assert answers["no-ed25519"] == answers["webcrypto"]
    assert answers["no-subtle"] == answers["webcrypto"]
    assert answers["webcrypto"]["ok"] is (not case.expect)
    assert answers["webcrypto"]["ok"] is (not answers["webcrypto"]["failures"])


def test_chromium_boringssl_parts_from_noble_where_openssl_does(browser):
    """The edge cases of docs/browser-ed25519.md, with Chromium's own WebCrypto (BoringSSL)."""
    ctx = new_context(browser)
    page = ctx.new_page()
    try:
        body = {
            n: (STATIC / p).read_text()
            for n, p in (("noble.js", "vendor/noble.js"), ("codec.js", "codec.js"))
        }
        page.route(
            "http://localhost/**",
            lambda route: route.fulfill(
                body=body.get(route.request.url.rsplit("/", 1)[-1])
                or '<!doctype html><script src="/noble.js"></script><script src="/codec.js"></script>',
                content_type="text/javascript" if route.request.url.endswith(".js") else "text/html",
            ),
        )
        page.goto(HARNESS)
        cases = edge_cases(page.evaluate)
        verdicts = page.evaluate(BOTH, [case for case, _, _ in cases.values()])
    finally:
        ctx.close()
    assert dict(zip(cases, verdicts, strict=True)) == {
        name: [web, noble] for name, (_, web, noble) in cases.items()
    }
