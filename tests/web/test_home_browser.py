"""The home page and /docs in a real browser with every other server cut off.

Debian's Chromium through Playwright; every request to a host that is not this machine's loopback
is aborted (and recorded), as on a network without the internet. The home page at a phone's
viewport, /docs at a desktop's. Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .consumer_support import PHONE, close_app, demo_app, free_port, live_server, screenshot
from .test_home import add_price_history

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture(scope="module")
def served(browser, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("home-browser")
    port = free_port()
    app, _ = demo_app(tmp, port=port)
    # Two more days of farm-gate cabbage prices, so the page draws its chart.
    add_price_history(app, tmp / "keys", product="宁乡包菜", prices={2: "0.5", 1: "0.55"})
    with live_server(app, port) as url:
        yield url
    close_app(app)


class Offline:
    """A browser page on which only loopback answers; what it asked elsewhere, failed or broke is kept."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.aborted: list[str] = []
        self.failed: list[str] = []
        self.bad_status: list[str] = []
        self.errors: list[str] = []
        self.csp: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on(
            "response", lambda r: self.bad_status.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "console",
            lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None,
        )

    def _route(self, route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.aborted.append(route.request.url)
            route.abort("internetdisconnected")

    def clean(self) -> None:
        assert self.aborted == [], self.aborted
        assert self.failed == [], self.failed
        assert self.bad_status == [], self.bad_status
        assert self.errors == [], self.errors
        assert self.csp == [], self.csp


@pytest.fixture
def offline(browser):
    contexts = []

    def make(**options) -> Offline:
        ctx = browser.new_context(**options)
        contexts.append(ctx)
        return Offline(ctx)

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_home_page_offline_on_a_phone(served, offline, locale):
    tab = offline(**PHONE, locale=locale)
    page = tab.page
    response = page.goto(served + "/")
    assert response.status == 200
    zh = locale.startswith("zh")
    assert page.get_attribute("html", "lang") == ("zh-CN" if zh else "en")
    assert page.inner_text("h1") == (
        "农产品质量安全追溯平台" if zh else "Farm-to-table traceability platform"
    )
    assert page.locator(".recall-item").count() >= 1
    assert page.locator(".price-table tbody tr").count() >= 1
    assert page.locator("svg.price-chart .series").count() >= 2
    # The stylesheet applied (home.css draws the recall's red edge), and nothing is wider than a phone.
    edge = page.eval_on_selector(".recall-item", "e => getComputedStyle(e).borderLeftStyle")
    assert edge == "solid"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, f"home-{locale}")
    tab.clean()

    # The search form: a known lot opens its consumer page, in the same language.
    page.fill("#lot", "XF-BAG-0001")
    page.click(".home-search button[type=submit]")
    page.wait_for_url("**/l/XF-BAG-0001?lang=*")
    assert page.get_attribute("html", "lang") == ("zh-CN" if zh else "en")
    page.wait_for_selector("#verify[data-state=verified]", timeout=15_000)  # offline, too
    page.go_back()
    # An unknown one: a 404 page that says so, with the form again.
    page.fill("#lot", "NX-BC-9999")
    with page.expect_response(lambda r: "/search?" in r.url) as answer:
        page.click(".home-search button[type=submit]")
    assert answer.value.status == 404
    assert "NX-BC-9999" in page.inner_text("#search-message")
    assert page.input_value("#lot") == "NX-BC-9999"
    screenshot(page, f"home-search-notfound-{locale}")
    tab.bad_status.clear()  # the 404 was the point
    tab.clean()


def test_docs_render_the_operations_offline(served, offline):
    tab = offline(viewport={"width": 1200, "height": 900})
    page = tab.page
    assert page.goto(served + "/docs").status == 200
    page.wait_for_selector(".opblock", timeout=20_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.innerText.trim())")
    assert "/ledger/checkpoint" in paths and "/ledger/proof/inclusion" in paths, paths
    assert page.locator(".opblock").count() >= 10
    assert "farmtrace" in page.inner_text(".info .title")
    # An operation opens with its parameters: the UI is live, not just painted.
    inclusion = page.locator(".opblock").filter(
        has=page.locator(".opblock-summary-path", has_text="/ledger/proof/inclusion")
    )
    inclusion.first.locator(".opblock-summary").click()
    page.wait_for_selector(".parameters-container .parameters", timeout=10_000)
    assert "index" in inclusion.first.inner_text() and "size" in inclusion.first.inner_text()
    screenshot(page, "docs-offline")
    tab.clean()
