"""The portal's record-book import in a real browser (Debian's Chromium through Playwright, a phone's
viewport) against a live server holding the demo: a cooperative's phone, with its key imported from
the demo's key file, downloads the template, uploads a CSV, watches the progress bar, sees its one
bad row named by row and column, and uploads the same file again to record nothing twice; a market's
phone in English uploads an XLSX and sees a refusal of the ledger's rules named with its column.
Screenshots go to test-artifacts/portal/.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import httpx
import pytest

from farmtrace.trace.clock import CST
from farmtrace.web.i18n import LANGS, MESSAGES

from .consumer_support import close_app, demo_app, free_port, live_server
from .portal_support import new_phone, shot, sign_in_with_key_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HEADERS = [
    "记录类型",
    "日期",
    "时间",
    "批次号",
    "产品名称",
    "数量",
    "单位",
    "对方代码",
    "单价",
    "合格证编号",
    "联系方式",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal-import")
    port = free_port()
    app, result = demo_app(tmp, port=port)
    with live_server(app, port) as base:
        yield base, tmp / "keys", result["parties"], tmp
    close_app(app)


def _text(key: str, lang: str, **params) -> str:
    text = MESSAGES[key][LANGS.index(lang)]
    return text.format(**params) if params else text


def _moments(n: int) -> list[tuple[str, str]]:
    start = datetime.now(CST).replace(second=0, microsecond=0) - timedelta(hours=1, minutes=n)
    return [((start + timedelta(minutes=k)).date().isoformat(), (start + timedelta(minutes=k)).strftime("%H:%M"))
            for k in range(n)]  # fmt: skip


def _open(page, base: str, lang: str) -> None:
    page.goto(f"{base}/portal/import?lang={lang}")
    page.wait_for_selector("html[data-import-ready]", state="attached")


def test_a_cooperative_imports_its_record_book_twice(demo, browser) -> None:
    base, keys, parties, tmp = demo
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key")
        page.click(f".pnav a:text('{_text('portal.nav.import', 'zh')}')")
        page.wait_for_selector("html[data-import-ready]", state="attached")
        template = page.locator("#sheet-templates a").first
        assert template.get_attribute("href") == "/portal/import/template.xlsx?lang=zh"
        (d1, t1), (d2, t2), (d3, t3), (d4, t4) = _moments(4)
        out = io.StringIO()
        csv.writer(out).writerows([HEADERS,
            ["采收", d1, t1, "NX-WEB-001", "红薯", "120", "公斤", "", "1.5", "", ""],
            ["合格证", d2, t2, "NX-WEB-001", "红薯", "120", "公斤", "", "", "HGZ-WEB-001", "0731-8888"],
            ["发货", d3, t3, "NX-WEB-001", "红薯", "120", "公斤", parties["market"], "2.2", "", ""],
            ["采收", d4, t4, "NX-WEB-002", "红薯", "一百", "公斤", "", "", "", ""],
        ])  # fmt: skip
        book = tmp / "coop-book.csv"
        book.write_bytes(out.getvalue().encode("utf-8-sig"))
        page.set_input_files("#f-sheet", str(book))
        page.wait_for_selector("#sheet-record:not([hidden])")
        assert page.inner_text("#sheet-status") == _text("sheet.ui.read", "zh", rows=4, ready=3, refused=1)
        bad = page.locator('#sheet-problems tr[data-row="5"]')
        assert (
            bad.get_attribute("data-column") == "quantity"
            and bad.get_attribute("data-rule") == "sheet.number"
        )
        assert "“一百”不是数字" in bad.inner_text() and "数量" in bad.inner_text()
        assert page.inner_text("#sheet-record") == _text("sheet.page.record", "zh", count=3)
        page.click("#sheet-record")
        page.wait_for_selector("#sheet-form[data-done]", state="attached")
        assert page.locator("#sheet-progress").evaluate("el => el.value") == 100
        assert page.inner_text("#sheet-status") == _text("sheet.ui.done", "zh", new=3, duplicate=0, refused=1)
        shot(page, "import-zh")
        size = int(httpx.get(f"{base}/ledger/checkpoint").text.splitlines()[1])
        # The same file again: every row is already on the ledger.
        _open(page, base, "zh")
        page.set_input_files("#f-sheet", str(book))
        page.click("#sheet-record")
        page.wait_for_selector("#sheet-form[data-done]", state="attached")
        assert page.inner_text("#sheet-status") == _text("sheet.ui.done", "zh", new=0, duplicate=3, refused=1)
        assert int(httpx.get(f"{base}/ledger/checkpoint").text.splitlines()[1]) == size
        assert page.errors == [], page.errors
    finally:
        ctx.close()


def test_a_market_imports_xlsx_in_english_and_sees_a_rule_refusal(demo, browser) -> None:
    from openpyxl import Workbook

    base, keys, _, tmp = demo
    ctx, page = new_phone(browser, locale="en-US")
    try:
        sign_in_with_key_file(page, base, keys / "market.key", lang="en")
        _open(page, base, "en")
        (d1, t1), (d2, t2) = _moments(2)
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["Record type", "Date", "Time", "Lot code", "Quantity", "Unit", "Price"])
        sheet.append(["sale", d1, t1, "MWD-BC-03", 2, "kg", 4.5])  # the demo's split lot the market holds
        sheet.append(["sale", d2, t2, "MWD-BC-04", 9999, "kg", 4.5])  # more than the lot: mass balance
        book = tmp / "market-book.xlsx"
        workbook.save(book)
        page.set_input_files("#f-sheet", str(book))
        page.wait_for_selector("#sheet-record:not([hidden])")
        page.click("#sheet-record")
        page.wait_for_selector("#sheet-form[data-done]", state="attached")
        row = page.locator('#sheet-problems tr[data-row="3"]')
        rule = row.get_attribute("data-rule")
        assert rule in ("quantity", "mass_balance"), row.inner_text()
        assert row.get_attribute("data-column") == "quantity"
        assert _text(f"portal.rule.{rule}", "en") in row.inner_text() and "Quantity" in row.inner_text()
        assert page.inner_text("#sheet-status") == _text("sheet.ui.done", "en", new=1, duplicate=0, refused=1)
        shot(page, "import-en")
        assert page.errors == [], page.errors
    finally:
        ctx.close()
