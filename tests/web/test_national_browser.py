"""The national platform's codes in the console, in a real browser (Chromium, Playwright) against a
live demo server: the lookup form finds the cooperative by its 主体码 and the cabbage by its 追溯码,
and the exports page downloads the market's 来源/去向 record. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest

from farmtrace.api.demo import PARTIES, SUBJECT_CODES, TRACING_CODES
from farmtrace.client.client import CHINA_STANDARD_TIME

from .test_console_browser import _download, open_page, served, shot, sign_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_lookup_finds_parties_and_lots_by_national_code(served, open_page):  # noqa: F811
    page = open_page(phone=True)
    sign_in(page, served)
    page.goto(f"{served.url}/console/lots?lang=zh")
    page.fill("#lot-code", SUBJECT_CODES["coop"])
    with page.expect_navigation():
        page.click("form.lookup button[type=submit]")
    matches = page.locator("section.matches")
    assert matches.is_visible() and PARTIES["coop"][1] in matches.inner_text()
    shot(page, "national-lookup-phone")
    with page.expect_navigation():
        matches.locator("a").first.click()
    assert page.url.endswith(f"#party-{PARTIES['coop'][0]}")
    assert SUBJECT_CODES["coop"] in page.locator(f"#party-{PARTIES['coop'][0]}").inner_text()
    page.goto(f"{served.url}/console/lots?lang=en")
    page.fill("#lot-code", TRACING_CODES["NX-BC-1120"])
    with page.expect_navigation(url="**/console/lots/NX-BC-1120**"):
        page.click("form.lookup button[type=submit]")
    assert page.errors == []


def test_the_exports_page_downloads_a_partys_flows(served, open_page):  # noqa: F811
    page = open_page(phone=False)
    sign_in(page, served)
    page.goto(f"{served.url}/console/exports?lang=zh")
    today = datetime.now(CHINA_STANDARD_TIME).date()
    page.fill("[data-export-flows] input[name=party]", PARTIES["market"][0])
    page.fill("[data-export-flows] input[name=since]", (today - timedelta(days=7)).isoformat())
    page.fill("[data-export-flows] input[name=until]", today.isoformat())
    shot(page, "national-flows-desktop")
    name, body = _download(page, "[data-export-flows] button[value=csv]")
    assert name.startswith(f"farmtrace-flows-{PARTIES['market'][0]}") and name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    received = next(r for r in rows if r["批次号"] == "NX-BC-1120" and r["出入库"] == "入库")
    assert received["追溯码"] == TRACING_CODES["NX-BC-1120"] and received["来源/去向主体码"] == SUBJECT_CODES["coop"]
    name, body = _download(page, "[data-export-flows] button[value=xlsx]")
    assert name.endswith(".xlsx") and body.startswith(b"PK")
    assert page.errors == []


def test_the_certificate_with_both_codes_still_prints_on_one_a4_page(served, open_page):  # noqa: F811
    service = served.app.state.service
    certify = next(
        e.id
        for e in service.lot_summary("NX-BC-1120").events
        if service.signed_event(e.id)[0].event.kind == "certify"
    )
    page = open_page(phone=False)
    page.goto(f"{served.url}/portal/certificate/{certify}?lang=zh")
    text = page.inner_text("#certificate")
    assert SUBJECT_CODES["coop"] in text and TRACING_CODES["NX-BC-1120"] in text
    shot(page, "national-certificate-desktop")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    assert page.errors == []
