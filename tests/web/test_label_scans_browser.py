"""Pre-printed labels in Chromium: the shop activates a roll in the portal (signed in the browser),
a second activation of one of its labels is refused next to the field, and the label's page, once
loaded, counts its scan by the beacon (static/label-scan.js) without a script error or CSP violation."""

from __future__ import annotations

import time

import pytest

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client.keys import PartyKey
from farmtrace.web.label_scans import book_of

from ..trace.story import BAG, SHOP, private_key
from ..trace.test_replay import _entry, _genesis, record
from .consumer_support import free_port, live_server
from .portal_support import field_error, new_phone, open_form, shot, sign_in_with_key_file, submit
from .test_label_scans import LOG_SIGNER, _story

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GTIN = "0" + BAG["gtin"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("labels-browser")
    port = free_port()
    settings = Settings.from_env(
        {},
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        log_origin="test.local/labels",
        public_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings)
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in _story().log)])
    PartyKey(SHOP, private_key(SHOP)).save(tmp / "shop.key")
    with live_server(app, port) as base:
        yield base, app, tmp / "shop.key"
    app.state.log.close(close_store=True)


def test_activate_a_roll_in_the_portal_then_its_page_counts_a_scan(served, browser):
    base, app, key_file = served
    ctx, page = new_phone(browser, locale="en-US")
    try:
        sign_in_with_key_file(page, base, key_file, lang="en")
        open_form(page, base, "label_activate", lang="en", lot="S-CAB-01-03")
        assert page.input_value("#f-gtin") == BAG["gtin"]  # the lot's own GTIN, filled in
        page.fill("#f-serials", "R9-0001..0003")
        assert submit(page) == "ok"
        book = book_of(app.state)
        assert book.binding(GTIN, "R9-0002").lot == "S-CAB-01-03"
        shot(page, "label-activate-ok-en")
        # The same label again: refused by the rules, the message next to the serials.
        open_form(page, base, "label_activate", lang="en", lot="S-CAB-01-04")
        page.fill("#f-serials", "R9-0004\nR9-0002")
        assert submit(page) == "refused"
        err = field_error(page, "detail.serials")
        err.wait_for()
        assert "already activated" in err.inner_text()
        assert book.binding(GTIN, "R9-0004") is None  # nothing half-stored
        # The label's page: the lot, and one scan counted by the beacon after load.
        page.goto(f"{base}/01/{GTIN}/21/R9-0002?lang=en")
        assert "S-CAB-01-03" in page.content() and page.locator("[data-label]").count() == 1
        deadline = time.monotonic() + 10
        while (found := book.record(GTIN, "R9-0002")) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert found is not None and found.count == 1 and found.first_area is None
        shot(page, "label-page-en")
        assert page.errors == [], page.errors
    finally:
        ctx.close()
