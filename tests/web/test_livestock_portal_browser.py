"""The veterinarian's quarantine form in Chromium (issue 20 §5): a malformed ear tag is refused next
to its field before anything is signed; the certificate signed in the browser (static/portal-forms.js)
is recorded and the lot's page names it."""

from __future__ import annotations

import httpx
import pytest

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.ledger.note import Signer

from ..trace.story import ABATTOIR, EAR_TAGS, NAMES, PIG_FARM, VET, Ledger, actor, pork_story
from ..trace.test_replay import _entry, _genesis, record
from .consumer_support import free_port, live_server
from .portal_support import field_error, new_phone, open_form, shot, sign_in_with_key_file, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORIGIN = "test.local/livestock-browser"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("livestock-browser")
    lg = pork_story(Ledger(), until="harvest")  # three pigs, not yet certified
    port = free_port()
    settings = Settings.from_env(
        {}, data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=Signer.from_seed(ORIGIN, b"\x0d" * 32).key_string(), log_origin=ORIGIN,
        public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    app = create_app(settings)  # the machine's clock: the browser signs at its own time
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in lg.log)])
    vet = actor(VET)
    PartyKey.from_seed(vet.party, vet.seed).save(tmp / "vet.key")
    with live_server(app, port) as base:
        yield base, tmp / "vet.key"
    app.state.log.close(close_store=True)


def test_a_veterinarian_issues_a_quarantine_certificate_in_the_browser(served, browser):
    base, key_file = served
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, key_file)
        open_form(page, base, "quarantine", lot="PIG-001")
        page.fill("#f-certificate_no", "4301820077")
        page.fill("#f-owner", NAMES[PIG_FARM])
        page.fill("#f-origin", "湖南省长沙市宁乡市花明楼镇")
        page.fill("#f-destination", NAMES[ABATTOIR])
        page.fill("#f-official_vet", "王建国")
        page.fill("#f-ear_tags", "\n".join([*EAR_TAGS[:2], "14301820000003"]))  # one digit short
        assert submit(page) == "refused"
        assert "15 位数字" in field_error(page, "detail.ear_tags").inner_text()
        page.fill("#f-ear_tags", "\n".join(EAR_TAGS))
        page.select_option("#f-transport", "road")
        assert submit(page) == "ok", page.inner_text("#event-form")
        shot(page, "livestock-quarantine-issued")
        assert page.errors == []
    finally:
        ctx.close()
    lot_page = httpx.get(f"{base}/l/PIG-001", timeout=30).text
    assert "动物检疫合格证明（动物B），编号 4301820077" in lot_page and "猪 3 头" in lot_page
