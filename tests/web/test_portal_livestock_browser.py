"""Livestock in the portal's forms, in Chromium (issue 20 §5): a pig farm's harvest in head (头) asks
for the ear tags once 头 is chosen, refuses 3 head with 2 ear tags next to the field before anything is
signed, and records the pigs signed in the browser, then splits them with each new lot's ear tags; a
slaughterhouse's slaughter shows the input lot's animals and the yield as it is typed, a yield outside
the pigs' band is marked on the page and refused by the ledger at the outputs, and the slaughter with
its 肉品品质检验合格证 is recorded."""

from __future__ import annotations

import httpx
import pytest

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.ledger.note import Signer

from ..trace.story import ABATTOIR, EAR_TAGS, PIG_FARM, Ledger, actor, pork_story
from ..trace.test_replay import _entry, _genesis, record
from .consumer_support import free_port, live_server
from .portal_support import field_error, new_phone, open_form, shot, sign_in_with_key_file, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORIGIN = "test.local/portal-livestock-browser"
NEW_PIGS = [f"1430182{n:08d}" for n in (21, 22, 23)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal-livestock-browser")
    lg = pork_story(Ledger(), until="receive")  # three certified pigs at the slaughterhouse
    port = free_port()
    settings = Settings.from_env(
        {}, data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=Signer.from_seed(ORIGIN, b"\x1d" * 32).key_string(), log_origin=ORIGIN,
        public_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    app = create_app(settings)  # the machine's clock: the browser signs at its own time
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in lg.log)])
    keys = {}
    for name, pid in (("farm", PIG_FARM), ("abattoir", ABATTOIR)):
        a = actor(pid)
        keys[name] = tmp / f"{name}.key"
        PartyKey.from_seed(a.party, a.seed).save(keys[name])
    with live_server(app, port) as base:
        yield base, keys
    app.state.log.close(close_store=True)


def test_a_pig_farm_harvests_tagged_pigs_in_the_browser(served, browser):
    base, keys = served
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys["farm"])
        open_form(page, base, "harvest")
        assert not page.locator("#f-ear_tags").is_visible()  # a vegetable's harvest asks for none
        page.fill("#f-product_name_zh", "宁乡花猪")
        page.fill("#f-category", "生猪")
        page.select_option("#f-unit", "head")
        assert page.locator("#f-ear_tags").is_visible() and page.locator("#f-live_weight").is_visible()
        page.fill("#f-quantity", "3")
        page.fill("#f-lot", "PIG-B-01")
        page.fill("#f-origin_name", "花猪养殖场 3 号栏")
        page.fill("#f-ear_tags", "\n".join(NEW_PIGS[:2]))
        page.fill("#f-live_weight", "351.5")
        page.fill("#f-price", "16")  # per kg of live weight (the price unit stays kg)
        assert submit(page) == "refused"
        assert "3 头需要 3 个耳标号，这里有 2 个" in field_error(page, "outputs[0].ear_tags").inner_text()
        page.fill("#f-ear_tags", ", ".join(NEW_PIGS))
        assert submit(page) == "ok", page.inner_text("#event-form")
        shot(page, "livestock-harvest-recorded")
        lot_page = httpx.get(f"{base}/l/PIG-B-01", timeout=30).text
        assert "出栏 3 头" in lot_page and "活重 351.5 kg" in lot_page

        # A split of the pigs: the quick split deals the lot's animals out, each new lot names its own,
        # and every animal taken must go on by its tag (checked here before signing).
        open_form(page, base, "transform", lot="PIG-B-01")
        page.fill("input[name=helper_n]", "1")
        page.fill("input[name=helper_q]", "2")
        page.select_option("select[name=helper_unit]", "head")
        page.click("button[data-action=fill-outputs]")
        assert page.input_value("#f-out_tags-0") == "\n".join(NEW_PIGS[:2])
        assert submit(page) == "refused"
        assert "投入 3 头，新批次只写明了其中 2 头" in field_error(page, "inputs[0].quantity").inner_text()
        page.fill("input[name=helper_n]", "3")
        page.fill("input[name=helper_q]", "1")
        page.click("button[data-action=fill-outputs]")
        assert page.input_value("#f-out_tags-2") == NEW_PIGS[2]
        assert submit(page) == "ok", page.inner_text("#event-form")
        assert page.errors == []
    finally:
        ctx.close()
    one = httpx.get(f"{base}/lots/PIG-B-01-03", headers={"Accept": "application/json"}, timeout=30).json()
    assert one["unit"] == "head" and one["quantity"] == "1" and one["parents"] == ["PIG-B-01"]


def test_a_slaughterhouse_slaughters_in_the_browser_and_sees_the_yield(served, browser):
    base, keys = served
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys["abattoir"])
        open_form(page, base, "transform", lot="PIG-001")
        assert " ".join(EAR_TAGS) in page.inner_text(".animals-list")  # the lot's pigs, from the server
        page.check("input[name=type][value=slaughter]")
        assert page.locator("#f-live_weight").is_visible() and page.input_value("#f-out_unit-0") == "kg"
        assert page.input_value("#f-meat_category") == "肉类"
        page.fill("#f-out_lot-0", "PORK-B-L")
        page.fill("#f-out_quantity-0", "130")
        page.click("button[data-action=add-row][data-rows=outputs]")
        page.fill("#f-out_lot-1", "PORK-B-R")
        page.fill("#f-out_quantity-1", "50")  # a half missing: 52.2 %, below a pig's 60 %
        page.fill("#f-product_name_zh", "宁乡花猪 白条肉")
        page.fill("#f-meat_certificate_no", "RP-B-001")
        # The live weight starts from the pigs' recorded weight, with the range the ledger accepts.
        assert page.input_value("#f-live_weight") == "345"
        assert "345 kg，宰前活重应在 293.25 到 362.25 kg 之间" in page.inner_text(".recorded-weight")
        balance = page.locator(".balance")
        assert (
            "出肉率 52.2%" in balance.inner_text()
            and "猪的出肉率应在 60% 到 82% 之间" in balance.inner_text()
        )
        assert "over" in balance.get_attribute("class")
        assert submit(page) == "refused"  # the ledger's rule (mass_balance), at the outputs
        assert "数量不平衡" in field_error(page, "outputs").inner_text()
        page.fill("#f-out_quantity-1", "128.5")
        assert balance.inner_text() == "出肉率 74.9%（产出 258.5 kg ÷ 宰前活重 345 kg）"
        assert submit(page) == "ok", page.inner_text("#event-form")
        shot(page, "livestock-slaughter-recorded")
        assert page.errors == []
    finally:
        ctx.close()
    pork = httpx.get(f"{base}/l/PORK-B-L", timeout=30).text
    assert "出肉率 74.9%" in pork and "RP-B-001" in pork
