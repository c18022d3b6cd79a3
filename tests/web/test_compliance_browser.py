"""The console's compliance records in Chromium (Playwright), against a live demo server: the
regulator suspends a party on the parties page and finds the suspension on its record, follows an
item's evidence to the signed event, and downloads the record for the credit platform. Screenshots
at a phone's and a desktop's width go to test-artifacts/console/."""

from __future__ import annotations

import csv
import io
import json

import pytest

# The console's browser fixtures and helpers: one live demo server and fresh browser profiles.
from .test_console_browser import _download, act, open_page, served, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_suspension_shows_on_the_record_with_its_evidence_and_exports(served, open_page):  # noqa: F811
    page = open_page(phone=False)
    sign_in(page, served)
    stall, coop = served.parties["stall"], served.parties["coop"]
    page.goto(f"{served.url}/console/parties")
    act(
        page,
        f"article.party[data-party='{stall}'] form[data-action=suspend]",
        "suspended",
        fill={"reason": "无证经营"},
    )

    # The console's navigation leads to the records; the stall now has one suspension, public.
    page.click("nav.console-nav a[href^='/console/compliance']")
    page.wait_for_load_state()
    row = page.locator(f"tr[data-party='{stall}']")
    assert row.locator("td[data-count=suspension]").inner_text().strip() == "1"
    assert row.locator("td[data-public-total]").inner_text().strip() == "1"
    shot(page, "compliance-desktop")
    row.locator("a").first.click()
    page.wait_for_load_state()
    item = page.locator("tr[data-category=suspension]")
    assert item.count() == 1 and "无证经营" in item.inner_text()
    evidence = item.locator("a[data-evidence]").get_attribute("href")
    signed = served.client().http.get(evidence).json()  # the signed event the item cites
    assert signed["event"]["kind"] == "party.suspend" and signed["event"]["detail"]["party_id"] == stall
    assert f"账本第 {signed['index']} 条" in item.inner_text()

    # The coop's record in full, exported for the credit platform with every row citing its evidence.
    page.goto(f"{served.url}/console/compliance/{coop}")
    shot(page, "compliance-party-desktop")
    assert [page.locator("tr[data-category]").nth(i).get_attribute("data-category") for i in range(2)] == [
        "failed_test",
        "refused",
    ]
    name, body = _download(page, "a[href*='compliance.csv']")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert name == f"farmtrace-compliance-{coop}-{served.app.state.log.size}.csv"
    assert [r["记录类型"] for r in rows] == ["检测不合格", "违规操作被拒绝"]
    assert all(r["证据链接"].startswith(served.url) for r in rows)
    name, body = _download(page, "a[href*='compliance.json']")
    assert [r["category_code"] for r in json.loads(body)["rows"]] == ["failed_test", "refused"]
    assert page.errors == []

    phone = open_page(phone=True, locale="en-US")
    sign_in(phone, served, lang="en")
    phone.goto(f"{served.url}/console/compliance?lang=en")
    assert "Compliance records" in phone.inner_text("h1")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.viewport_size["width"] + 1  # the table scrolls inside its box, not the page
    shot(phone, "compliance-phone-en")
    assert phone.errors == []
