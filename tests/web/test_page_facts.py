"""Issue 17 §1 in a real browser: the consumer page shows as verified only the facts it proved itself.

A server whose projection tables (trace_*) were edited behind its back paints the edited values
first, marked "not yet verified"; once Chromium has checked the journey, the page shows the signed
values instead (web/static/facts.js, drawn by facts-view.js), and the recall and the failed test the
signed events carry, whatever the tables say. An event whose signature fails is not shown as a fact.
Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from farmtrace.api.cli import main as farmtrace

from .browser_support import screenshot, settle
from .consumer_support import edit_entry, served_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STRAWBERRIES = {"name_zh": "有机草莓", "name_en": "Organic strawberries", "category": "水果"}


@pytest.fixture
def served(tmp_path):
    """A fresh demo per test: each edits the tables or the ledger behind the server's back."""
    with served_demo(tmp_path) as served:
        yield served.url, served.app, served.db


@pytest.fixture
def page(phone):
    return phone("en-US")


def _sql(db, statement: str, *params) -> None:
    with sqlite3.connect(db, timeout=30) as conn:  # the app's writers may hold the lock a moment
        assert conn.execute(statement, params).rowcount >= 1, statement
    conn.close()


def _open(page, url: str) -> dict:
    """The page after its check, and the facts it computed (window.farmtraceFacts)."""
    page.goto(url)
    settle(page, 15_000)
    return page.evaluate("window.farmtraceFacts")


def _server_paint(url: str) -> str:
    """The page as the server sends it (what a browser shows before its check)."""
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200
    return r.text


def test_edited_tables_are_replaced_by_the_signed_facts(served, page):
    url, _, db = served
    lot = "XF-LJ-002"  # a 0.5 kg bag of chilli whose field lot the regulator recalled
    # The attacker edits the projection: product, quantity, the recalled flags, a price, a name.
    _sql(
        db,
        "UPDATE trace_lot SET product = ?, product_name = ?, quantity = '500', unit = 'kg' WHERE code = ?",
        json.dumps(STRAWBERRIES, ensure_ascii=False),
        STRAWBERRIES["name_zh"],
        lot,
    )
    _sql(db, "UPDATE trace_lot SET recalled = 0")
    _sql(db, "UPDATE trace_event SET price_amount = '0.10' WHERE price_amount IS NOT NULL")
    _sql(db, "UPDATE trace_party SET name_zh = '诚信农场', name_en = 'Honest Farm'")

    first = _server_paint(f"{url}/l/{lot}?lang=en")
    assert "Organic strawberries" in first and "500 kg" in first  # the server's account ...
    assert first.count("data-server") >= 4 and "Not yet verified" in first  # ... marked as such

    facts = _open(page, f"{url}/l/{lot}?lang=en")
    assert page.get_attribute("#verify", "data-state") == "verified"
    main = page.inner_text("main")
    assert page.inner_text("h1") == "Ningxiang bird's-eye chilli"
    assert "0.5 kg" in page.inner_text(".card.product") and "500 kg" not in main
    assert "Organic strawberries" not in main and "Honest Farm" not in main and "Not yet verified" not in main
    assert page.locator("[data-server]").count() == 0
    # The recall the signed events carry is the first thing on the page.
    assert page.evaluate(
        "document.querySelector('main').firstElementChild.matches('.alert.recall[data-facts=verified]')"
    )
    assert "ZJ-LJ-1119" in page.inner_text(".alert.recall")
    # Prices and names as signed: the shop's 9 yuan per kg, the market's registered name.
    assert "¥9.00 per kg" in page.inner_text(".card.prices") and "0.10" not in main
    assert "Changsha Mawangdui Vegetable Wholesale Market" in main
    assert facts["status"]["recalled"] and facts["quantity"] == {"quantity": "0.5", "unit": "kg"}
    assert page.errors == []
    screenshot(page, "facts-edited-tables-recall")


def test_a_cleared_failed_flag_still_shows_the_failed_test(served, page):
    url, _, db = served
    lot = "NX-XBC-1120"
    _sql(db, "UPDATE trace_lot SET failed = 0, cleared = 1 WHERE code = ?", lot)
    # The server, reading its tables, no longer warns of the failed test ...
    assert "failed a safety test" not in _server_paint(f"{url}/l/{lot}?lang=en")
    facts = _open(page, f"{url}/l/{lot}?lang=en")
    assert facts["status"]["failed"] and [t["result"] for t in facts["tests"]] == ["fail"]
    # ... the page, reading the signed test, does.
    warning = page.locator(".alert.warning[data-facts=verified]")
    assert warning.count() == 1 and "failed a safety test" in warning.inner_text()
    assert page.inner_text(".badge.fail") == "Fail"
    screenshot(page, "facts-cleared-failed-flag")


def test_an_event_whose_signature_fails_is_not_a_fact(served, page, capsys):
    url, app, db = served
    lot = "NX-XBC-1120"
    index = app.state.service.journey_bundle(lot).events[1].proven.index  # the failed test
    assert app.state.service.journey_bundle(lot).events[1].kind == "inspect"
    # The test's result rewritten in the ledger entry itself: its signature no longer matches.
    edit_entry(db, index, lambda e: e.replace(b'"result":"fail"', b'"result":"pass"', 1))
    facts = _open(page, f"{url}/l/{lot}?lang=en")
    assert page.get_attribute("#verify", "data-state") == "failed"
    assert index in facts["unproven"] and facts["tests"] == [] and not facts["verified"]
    # What could be proven is shown, under a notice; the forged step is kept only as a failed record.
    assert page.locator(".facts-note").count() == 1
    assert page.locator(".card.product[data-facts=proven]").count() == 1
    step = page.locator(f'.step[data-index="{index}"]')
    assert "bad" in step.get_attribute("class").split() and "✗" in step.inner_text()
    assert page.locator(".step-mark.ok").count() == len(facts["proven"]) >= 1
    assert page.locator(".badge.pass").count() == 1  # the forged "pass" is shown only struck through ...
    assert page.locator(f'.step.bad[data-index="{index}"] .badge.pass').count() == 1  # ... as a failed record
    screenshot(page, "facts-forged-test-result")

    # The Python twin prints the same facts after its checks: no test result is presented as proven.
    key = app.state.log.verifier.key_string()
    assert farmtrace(["verify-lot", lot, "--server", url, "--key", key, "--lang", "en"]) == 1
    out = capsys.readouterr().out
    proven = out.split("Proven facts")[1]
    assert "Bok choy" in proven and "Test:" not in proven and f"ledger entries {index}" in proven
