"""The consumer page names only the transfers on the product's own path (docs/visibility.md).

A story added to the demo: the cooperative harvests 100 kg of cabbage and ships 60 kg to the
wholesale market and 40 kg to the wet-market stall; the market splits its part, ships a 30 kg lot to
the supermarket, which repacks it into bags and sells one. The bag's page, in the server's first
paint and in the view Chromium draws from the facts it verified, in Chinese and English, names the
cooperative, the market and the supermarket along the path, and shows the cooperative's shipment to
the stall and the stall's receipt without naming the stall. Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from farmtrace.api.demo import CABBAGE, CABBAGE_BAG, PARTIES
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.trace import scenario as sc

from .browser_support import screenshot, settle
from .consumer_support import served_demo

HARVEST, MARKET_LOT, SHOP_LOT, BAG = "NX-BC-1130", "MWD-BC-71", "MWD-BC-72", "XF-BAG-0301"
STALL = PARTIES["stall"]  # (id, name_zh, name_en, roles, address)
ON_PATH = ("coop", "market", "shop")


def tell_story(app, keys) -> dict[str, str]:
    """Record the story (module docstring) into the demo's ledger; return the event ids by name."""
    service = app.state.service
    signer = {name: PartyKey.load(keys / f"{name}.key") for name in ("coop", "market", "stall", "shop")}
    moment = app.state.clock().astimezone(CHINA_STANDARD_TIME).replace(microsecond=0) - timedelta(hours=3)
    ids: dict[str, str] = {}

    def record(name: str, who: str, said: dict, *, place: str) -> None:
        nonlocal moment
        moment += timedelta(minutes=10)
        inputs = [{**r, "follows": [service.lot_summary(r["lot"]).head]} for r in said["inputs"]]
        wire = {**said, "inputs": inputs, "event_time": moment.isoformat(), "location": {"name": place}}
        ids[name] = service.record(signer[who].sign(wire)).event_id

    field = {"name": "金洲镇 9 号蔬菜基地", "address": PARTIES["coop"][4]}
    record("harvest", "coop", sc.harvest([sc.out(HARVEST, "100", CABBAGE)], origin=field), place="金洲镇")
    number = "HGZ-430124-20261120-091"  # the cooperative's 合格证, checked at each market's entry
    certified = sc.certify(
        [sc.ref(HARVEST, "100")],
        certificate_no=number,
        product_name=CABBAGE["name_zh"],
        origin="宁乡市",
        contact="刘建国",
    )
    record("certify", "coop", certified, place="金洲镇")
    record(
        "to_market",
        "coop",
        sc.ship([sc.ref(HARVEST, "60")], destination=PARTIES["market"][0]),
        place="金洲镇",
    )
    record("to_stall", "coop", sc.ship([sc.ref(HARVEST, "40")], destination=STALL[0]), place="金洲镇")
    got = sc.receive(
        [sc.ref(HARVEST, "60")], source=PARTIES["coop"][0], ship_event=ids["to_market"], certificate_no=number
    )
    record("at_market", "market", got, place=PARTIES["market"][1])
    got = sc.receive(
        [sc.ref(HARVEST, "40")], source=PARTIES["coop"][0], ship_event=ids["to_stall"], certificate_no=number
    )
    record("at_stall", "stall", got, place="四方坪农贸市场")
    parts = [sc.out(MARKET_LOT, "30", CABBAGE), sc.out(SHOP_LOT, "30", CABBAGE)]
    record("split", "market", sc.split([sc.ref(HARVEST, "60")], parts), place=PARTIES["market"][1])
    shipped = sc.ship(
        [sc.ref(SHOP_LOT, "30")], destination=PARTIES["shop"][0], price=sc.price("2.2", "wholesale")
    )
    record("to_shop", "market", shipped, place=PARTIES["market"][1])
    got = sc.receive(
        [sc.ref(SHOP_LOT, "30")],
        source=PARTIES["market"][0],
        ship_event=ids["to_shop"],
        certificate_no=number,
    )
    record("at_shop", "shop", got, place=PARTIES["shop"][1])
    bags = [sc.out(f"XF-BAG-{i:04d}", "1", CABBAGE_BAG) for i in range(301, 311)]
    record("repack", "shop", sc.repack([sc.ref(SHOP_LOT, "10")], bags), place=PARTIES["shop"][1])
    record(
        "sell", "shop", sc.sell([sc.ref(BAG, "1")], price=sc.price("4.8", "retail")), place=PARTIES["shop"][1]
    )
    return ids


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    with served_demo(tmp_path_factory.mktemp("path")) as served:
        ids = tell_story(served.app, served.data / "keys")
        yield served.url, served.app, ids


def _lang(lang: str) -> int:
    return 1 if lang == "zh" else 2  # the column of PARTIES holding the name in that language


def _server_paint(url: str, lot: str, lang: str) -> str:
    """The page as the server sends it, up to its config (which names no party)."""
    r = httpx.get(f"{url}/l/{lot}?lang={lang}", timeout=30)
    assert r.status_code == 200
    return r.text.split('id="ft-config"')[0].replace("&#39;", "'")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_bags_first_paint_names_the_path_and_not_the_stall(story, lang):
    url, _, _ = story
    html = _server_paint(url, BAG, lang)
    for name in ON_PATH:
        assert PARTIES[name][_lang(lang)] in html, name
    assert STALL[1] not in html and STALL[2] not in html and STALL[0] not in html
    assert "四方坪" not in html  # nor the place of its receipt
    zh = lang == "zh"
    assert (f"发往{PARTIES['market'][1]}，60 kg" if zh else f"60 kg to {PARTIES['market'][2]}") in html
    assert ("发往其他买方，40 kg" if zh else "40 kg to another buyer") in html
    assert ("其他买方收货 40 kg" if zh else "40 kg received by another buyer") in html
    assert ("记录方：其他买方" if zh else "Recorded by another buyer") in html
    # Every event is still shown: the stall's receipt is a step of the journey.
    index = app_index(story, "at_stall")
    assert f'data-index="{index}"' in html


def app_index(story, name: str) -> int:
    """The ledger index of the story's event `name`."""
    _, app, ids = story
    journey = app.state.service.journey_bundle(BAG)
    return next(item.proven.index for item in journey.events if item.id == ids[name])


def test_the_harvest_lots_own_page_names_none_of_its_buyers(story):
    """No one sold the field lot as such: its shipments, to the market and to the stall, name neither."""
    url, _, _ = story
    html = _server_paint(url, HARVEST, "en")
    assert "60 kg to another buyer" in html and "40 kg to another buyer" in html
    assert STALL[2] not in html and f"to {PARTIES['market'][2]}" not in html
    # The market is still named as the maker of the lots it split the cabbage into (a lot fact).
    assert PARTIES["market"][2] in html


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_verified_view_names_the_path_and_not_the_stall(story, phone, locale):
    url, _, _ = story
    zh = locale.startswith("zh")
    page = phone(locale)
    page.goto(f"{url}/l/{BAG}?lang={'zh' if zh else 'en'}")
    assert settle(page, 20_000) == "verified"
    assert page.locator("[data-server]").count() == 0  # the view drawn from the verified facts
    main = page.inner_text("main")
    for name in ON_PATH:
        assert PARTIES[name][_lang("zh" if zh else "en")] in main, name
    assert STALL[1] not in main and STALL[2] not in main and STALL[0] not in main and "四方坪" not in main
    stall_step = page.locator(f'.step[data-index="{app_index(story, "at_stall")}"]')
    assert stall_step.count() == 1
    text = stall_step.inner_text()
    assert ("其他买方收货 40 kg" if zh else "40 kg received by another buyer") in text
    assert ("记录方：其他买方" if zh else "Recorded by another buyer") in text
    shipped = page.locator(f'.step[data-index="{app_index(story, "to_stall")}"]').inner_text()
    assert ("发往其他买方，40 kg" if zh else "40 kg to another buyer") in shipped
    assert page.errors == []
    screenshot(page, f"consumer-path-{'zh' if zh else 'en'}")
