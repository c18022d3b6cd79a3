"""A portal receipt links its offline proof (docs/tlog-proof.md): the market records a sale in the
portal, in Chromium, and the .tlog-proof the receipt links checks with the log's key alone and
carries exactly the entry that was recorded."""

from __future__ import annotations

import pytest

from farmtrace.ledger.tlog_proof import check_tlog_proof, parse_tlog_proof
from farmtrace.trace.model.encoding import decode_entry

from .consumer_support import LOG_SIGNER
from .portal_support import open_form, sign_in_with_key_file, submit
from .test_portal_browser import demo, phones  # noqa: F401 - the fixtures (browser: conftest)


@pytest.mark.browser
def test_a_receipt_links_its_tlog_proof(demo, phones):  # noqa: F811
    base, _app, keys, _ = demo
    page = phones("en-US")
    sign_in_with_key_file(page, base, keys / "market.key", lang="en")
    open_form(page, base, "sell", lang="en", lot="MWD-BC-03")
    page.fill("#f-quantity-0", "1")
    page.fill("#f-price", "2.80")
    page.check("input[name=price_stage][value=wholesale]")
    assert submit(page) == "ok", page.inner_text("#event-form")
    link = page.locator(".form-ok:not([hidden]) a", has_text="Download the offline proof (.tlog-proof)")
    href = link.get_attribute("href")
    event_id = page.get_attribute(".form-ok:not([hidden])", "data-event")
    assert href == f"/events/{event_id}/proof.tlog-proof"
    answer = page.request.get(base + href)
    assert answer.headers["content-type"] == "text/x.tlog.proof; charset=utf-8"
    checked = check_tlog_proof(parse_tlog_proof(answer.body()), log_key=LOG_SIGNER.verifier)
    assert decode_entry(checked.entry).id == event_id
