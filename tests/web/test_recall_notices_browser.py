"""A recall reaches the market in the portal, and the market acknowledges it there (docs/recall-notices.md).

On the demo, in Chromium: the regulator recalls a lot the market holds (with its key file, through
the Python client); the market's portal home says so, the notice shows the lot and what to do, and
the market signs a recall_ack in the browser with its own key. The console then lists the market as
having acknowledged, with its note; the market's stop-sale list prints the lot.
"""

from __future__ import annotations

import httpx
import pytest

from farmtrace.client import Client, PartyKey

from .portal_support import shot, sign_in_with_key_file, submit
from .test_portal_browser import demo, phones  # noqa: F401 - the fixtures (browser: conftest)

LOT = "MWD-BC-03"


@pytest.mark.browser
def test_the_market_acknowledges_a_recall_in_the_portal(demo, phones):  # noqa: F811
    base, _app, keys, _ = demo
    regulator = PartyKey.load(keys / "regulator.key")
    lot = httpx.get(f"{base}/lots/{LOT}", headers={"Accept": "application/json"}, timeout=30).json()
    recall = Client(base, key=regulator).record(
        {
            "kind": "recall",
            "location": {"name": "长沙市市场监督管理局"},
            "inputs": [{"lot": LOT, "quantity": lot["quantity"], "unit": lot["unit"]}],
            "detail": {"reason": "抽检不合格 / failed a test", "instructions": "立即下架"},
        }
    )["event_id"]
    page = phones("en-US")
    sign_in_with_key_file(page, base, keys / "market.key", lang="en")
    page.goto(f"{base}/portal?lang=en")
    page.locator("#recall-notices a").click()
    page.wait_for_url("**/portal/notices**")
    card = page.locator(f'[data-recall="{recall}"]')
    assert "failed a test" in card.inner_text() and "Not acknowledged yet" in card.inner_text()
    card.locator("a", has_text="Read and acknowledge").click()
    page.wait_for_selector("html[data-portal-ready]", state="attached")
    page.fill("#f-note", "taken off sale")
    assert submit(page) == "ok", page.inner_text("#event-form")
    assert "Recall acknowledged" in page.inner_text(".form-ok")
    shot(page, "recall-ack-en")
    # The console names the market as having acknowledged, with its note.
    origin = httpx.get(f"{base}/ledger/key", timeout=30).text.strip().split("+", 1)[0]
    headers = {"Authorization": f"FarmTrace {regulator.token(origin=origin)}"}
    console = httpx.get(f"{base}/console/recalls/{recall}?lang=en", headers=headers, timeout=30).text
    market = PartyKey.load(keys / "market.key").party
    assert f'data-party="{market}" data-acknowledged="yes"' in console and "taken off sale" in console
    # The market's stop-sale list, as it prints.
    page.goto(f"{base}/portal/stop-sale?lang=zh")
    assert page.locator(f'tr[data-lot="{LOT}"]').count() == 1
    page.emulate_media(media="print")
    assert not page.locator(".pnav").is_visible()
    shot(page, "stop-sale-print-zh")
