"""The one Chromium harness of the consumer-page tests: the browser, phones, and `verify_page`.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright through `executable_path`: Playwright
never downloads a browser here. Without it, browser tests skip with the reason, unless CI is set,
where they fail instead (STYLE.md: CI runs everything).

What a test module gets here:
- `browser`: Chromium for the module's tests (a pytest fixture, in tests/web/conftest.py): the test
  process's one Chromium, lent to the module (shared_chromium.py), its contexts closed after it.
- `phone`: a fixture making phone-sized pages, each in a context of its own, closed after the test.
- `verify_page(browser, url, ...)`: open a consumer page in a fresh context, wait for its verdict and
  return what it concluded and shows, in one round trip.
- the browser modes of issue 17 §4 (`MODES`: WebCrypto as it is, WebCrypto without Ed25519 via
  tests/web/js/no_ed25519.js, no crypto.subtle via no_subtle.js), the host `INSECURE_HOST` that every
  browser of the harness maps to 127.0.0.1 (plain HTTP to it is not a secure context), the page's
  clock set ahead, a journey served in place of the server's, and CDP CPU throttling.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FARMTRACE_CHROMIUM", "/usr/bin/chromium"))
# A host name that is not localhost, resolved to this machine inside Chromium only: a page opened
# over plain HTTP there is outside a secure context (Chromium gives it no crypto.subtle).
INSECURE_HOST = "farm.test"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "web"
PRELUDES = Path(__file__).parent / "js"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# Issue 17 §4: the browsers a phone can be. The prelude runs before the page's scripts.
MODES = {
    "webcrypto": None,  # as it is: Chromium has WebCrypto Ed25519
    "no-ed25519": PRELUDES / "no_ed25519.js",  # WebCrypto refuses Ed25519, as in-app webviews do
    "no-subtle": PRELUDES / "no_subtle.js",  # no crypto.subtle, as outside a secure context
}
ENGINES = {"webcrypto": "webcrypto", "no-ed25519": "noble", "no-subtle": "noble"}
SETTLED = "#verify:not([data-state=pending])"
# What verify_page reads off the page (null where the page has no such element): its first match's
# innerText, which is what Playwright's inner_text returns.
TEXTS = {
    "heading": "#verify h2",
    "note": "#verify .verify-more",
    "detail": ".verify-detail",
    "complete": ".verify-complete",
    "witnessed": ".verify-witnessed",
    "failures_text": ".verify-failures",
}
READ = """(texts) => ({
    state: document.querySelector('#verify').getAttribute('data-state'),
    engine: document.querySelector('#verify').getAttribute('data-engine'),
    subtle: !!(globalThis.crypto && crypto.subtle),
    outcome: window.farmtraceVerification,
    texts: Object.fromEntries(Object.entries(texts).map(([k, s]) => {
        const e = document.querySelector(s);
        return [k, e ? e.innerText : null];
    })),
})"""


def require_chromium() -> Path:
    """Debian's Chromium, or skip (fail under CI) saying why."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; see scripts/setup.sh)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            missing = f"the playwright package is missing: {exc}"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return CHROMIUM


@contextmanager
def chromium():
    """A headless Chromium browser (Playwright, Debian's binary), lent for the block: the process's
    one Chromium (shared_chromium.py, the fast twin), or with FARMTRACE_TEST_CHROMIUM=module one
    launched for the block (launched_chromium, the model). Contexts opened in the block close with it."""
    path = require_chromium()
    if os.environ.get("FARMTRACE_TEST_CHROMIUM") == "module":
        with launched_chromium(path) as browser:
            yield browser
    else:
        from .shared_chromium import lease

        with lease(path, CHROMIUM_ARGS) as browser:
            yield browser


@contextmanager
def launched_chromium(path: Path):
    """Playwright's driver and a Chromium started for the block, stopped after it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module's tests."""
    with chromium() as b:
        yield b


def new_context(browser, *, mode: str = "webcrypto", phone: bool = True, **options):
    """A fresh browser context (its own storage) as a phone in `mode` (see MODES) would be."""
    ctx = browser.new_context(**(PHONE if phone else {}), **options)
    if MODES[mode]:
        ctx.add_init_script(path=str(MODES[mode]))
    return ctx


def open_page(ctx):
    """A new page of `ctx` that keeps its script errors (page.errors) and the URLs it asked for
    (page.requested)."""
    page = ctx.new_page()
    page.errors, page.requested = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requested.append(r.url))
    return page


@pytest.fixture
def phone(browser):
    """phone(locale="zh-CN", mode="webcrypto", **context options) -> a phone-sized page in a context
    of its own (no CSP bypass unless asked); all closed after the test."""
    contexts = []

    def make(locale: str = "zh-CN", *, mode: str = "webcrypto", **extra):
        ctx = new_context(browser, mode=mode, locale=locale, **extra)
        contexts.append(ctx)
        return open_page(ctx)

    yield make
    for ctx in contexts:
        ctx.close()


def settle(page, timeout: float = 30_000) -> str:
    """Wait until the page's check has a verdict; the verdict (#verify's data-state)."""
    page.wait_for_selector(SETTLED, timeout=timeout)
    return page.get_attribute("#verify", "data-state")


def serve_json(page, answers: dict[str, object]) -> None:
    """Make `page` receive each of `answers` (URL -> JSON value) in place of what the server would
    send, as a dishonest server would."""
    for url, value in answers.items():
        page.route(
            url,
            lambda route, _request, body=json.dumps(value): route.fulfill(
                body=body, content_type="application/json"
            ),
        )


def read_verdict(page) -> dict:
    """What the settled page concluded and shows, read in one round trip (see verify_page)."""
    got = page.evaluate(READ, TEXTS)
    return {
        **(got["outcome"] or {}),
        **got["texts"],
        "state": got["state"],
        "engine": got["engine"],
        "subtle": got["subtle"],
        "errors": list(page.errors),
        "fetched": [r.split("?")[0].rsplit("/", 1)[-1] for r in page.requested],
    }


def verify_page(
    browser,
    url: str,
    *,
    mode: str = "webcrypto",
    phone: bool = True,
    locale: str | None = None,
    ahead: float | None = None,
    answers: dict[str, object] | None = None,
    shot: str | None = None,
    timeout: float = 30_000,
) -> dict:
    """Open `url` (a consumer page) in a fresh context and wait for its verdict.

    `mode`: a browser of MODES; `phone`: a phone's viewport (else Playwright's default window);
    `locale`: the browser's language; `ahead`: the page's clock (Date) fixed that many seconds after
    the machine's; `answers`: JSON served in place of the server's, by URL (see serve_json);
    `shot`: a screenshot's name (test-artifacts/web/NAME.png). Returns window.farmtraceVerification's
    fields (ok, failures, events, ...) merged with what the page shows: `state` and `engine` (#verify's
    data attributes), `subtle` (whether the page had crypto.subtle), the texts of TEXTS (None where
    absent), `errors` (uncaught script errors) and `fetched` (the file names it requested).
    """
    ctx = new_context(browser, mode=mode, phone=phone, **({"locale": locale} if locale else {}))
    try:
        page = open_page(ctx)
        if ahead is not None:
            page.clock.set_fixed_time(time.time() + ahead)
        if answers:
            serve_json(page, answers)
        page.goto(url)
        settle(page, timeout)
        verdict = read_verdict(page)
        if shot:
            screenshot(page, shot)
        return verdict
    finally:
        ctx.close()


def throttle_cpu(page, rate: float):
    """Slow the page's CPU `rate` times (CDP Emulation.setCPUThrottlingRate; 1 is no throttling);
    the CDP session, which can set another rate later."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    return cdp


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (test-artifacts/web/NAME.png, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
