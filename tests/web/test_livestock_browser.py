"""Livestock on the consumer page in Chromium (issue 20 §5): once the browser has checked the pork
lot's journey, the steps it draws from the signed entries (static/facts.js, facts-view.js) say what
the server painted first (web/timeline.py), line for line, in zh and en: the animals and their ear
tags, both 动物检疫合格证明, the slaughter's yield and its 肉品品质检验合格证."""

from __future__ import annotations

import time

import pytest

from farmtrace.trace.index_keeper import IndexKeeper

from ..trace.story import ANIMAL_CERT, MEAT_CERT, PRODUCT_CERT
from .browser_support import screenshot, settle
from .consumer_support import live_server
from .test_livestock_page import PORK_LOT, site  # noqa: F401 - the pork story's app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Each step of the journey card as its texts: title, lines, ear tags (folded or not), who and when;
# and the origin cards' labels and values.
STEPS = """() => [...document.querySelectorAll(".card.journey .step, .card.origin")].map((li) => ({
  kind: li.dataset.kind || "origin", type: li.dataset.type || null,
  texts: [...li.querySelectorAll("h3, p:not(.unverified-label), summary, dt, dd")].map((e) => e.textContent.replace(/\\s+/g, " ").trim()),
}))"""


@pytest.fixture(scope="module")
def served(site):  # noqa: F811
    _, app = site
    IndexKeeper(app.state.service.log, clock=time.time, lag=0).commit_due()  # completeness is proven
    with live_server(app) as url:
        yield url


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_drawn_facts_say_what_the_server_painted(served, browser, lang):
    url = f"{served}/l/{PORK_LOT}?lang={lang}"
    painted_ctx = browser.new_context(java_script_enabled=False)
    try:
        painted_page = painted_ctx.new_page()
        painted_page.goto(url)
        painted = painted_page.evaluate(STEPS)
    finally:
        painted_ctx.close()
    ctx = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US")
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        assert settle(page) == "verified"
        drawn = page.evaluate(STEPS)
        assert page.locator("[data-server]").count() == 0 and errors == []
        # The step marks differ (✓ verified is drawn by the browser); every other text is the same.
        assert [s["kind"] for s in drawn] == [s["kind"] for s in painted] and len(drawn) == 13
        assert drawn == painted
        quarantine = page.inner_text(".step[data-kind=quarantine]")
        assert ANIMAL_CERT in quarantine and PRODUCT_CERT not in quarantine  # the first of the two
        assert PRODUCT_CERT in page.inner_text(".card.journey")
        assert MEAT_CERT in page.inner_text(".step[data-kind=transform][data-type=slaughter]")
        screenshot(page, f"livestock-pork-{lang}")
    finally:
        ctx.close()
