"""Recall notices, acknowledgements (recall_ack) and stop-sale lists through HTTP (docs/recall-notices.md).

Story 3 of MISSION.md: a recall of the harvest reaches the market (49 split lots), the shop (bags,
and 4 kg still on the road) and the cooperative (which shipped all it had). Each holder is told in
the portal, acknowledges with a signed event, and the console shows who has and who has not.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from farmtrace.trace import replay as rp
from farmtrace.trace.store.sql_state import Repository

from ..trace.story import COOP, MARKET, PROCESSOR, REGULATOR, SHOP
from .test_stories import BAGS, HARVEST, SPLITS, WHOLESALE, World, expect_problem


def ack_wire(recall: str, lot: str, note: str | None = None) -> dict:
    detail = {"recall_event": recall, "lot": lot} | ({"note": note} if note else {})
    return {"kind": "recall_ack", "inputs": [], "outputs": [], "detail": detail}


@pytest.fixture
def world(client) -> World:
    w = World(client)
    w.story_one()
    w.ship(MARKET, [(SPLITS[1], "10")], SHOP, price=WHOLESALE, name="ship3")
    w.receive(SHOP, [(SPLITS[1], "6")], ship_event=w.ids["ship3"], source=MARKET, check={"result": "accepted", "inspection_event": w.ids["inspect"]})  # fmt: skip
    w.record(REGULATOR, w.recall_wire(HARVEST, "500"), name="recall")
    return w


def test_holders_are_told_acknowledge_and_the_console_shows_who(client, world: World) -> None:
    w, recall = world, world.ids["recall"]
    # 1. The shop's portal: its home says so, its notices list the recall with what it holds.
    home = client.get("/portal?lang=en", headers=w.token(SHOP))
    assert "1 recalls reach goods you hold" in home.text and "/portal/notices" in home.text
    page = client.get("/portal/notices?lang=en", headers=w.token(SHOP))
    assert page.status_code == 200, page.text
    assert f'data-recall="{recall}"' in page.text and "carbofuran" in page.text
    assert "4 kg on its way to you" in page.text and "Not acknowledged yet" in page.text
    assert f"/events/{recall}" in page.text
    zh = client.get("/portal/notices?lang=zh", headers=w.token(SHOP))
    assert "尚未确认" in zh.text and "在途 4" in zh.text
    # The processor holds nothing of it: no notice.
    none = client.get("/portal/notices?lang=en", headers=w.token(PROCESSOR))
    assert "No recall reaches your goods" in none.text
    # Without credentials: the sign-in page.
    assert client.get("/portal/notices", follow_redirects=False).status_code == 303
    # 2. One notice, with the acknowledgement form signing a recall_ack.
    form = client.get(f"/portal/notices/{recall}?lang=en", headers=w.token(SHOP))
    assert 'data-form="recall_ack"' in form.text and f'value="{recall}"' in form.text
    assert client.get(f"/portal/notices/{'0' * 64}", headers=w.token(SHOP)).status_code == 404
    # 3. The console before anyone acknowledges: 0 of 3 (market, shop, and nobody else holds).
    acks = client.get(f"/console/recalls/{recall}?lang=en", headers=w.token(REGULATOR))
    assert acks.status_code == 200, acks.text
    assert "0 of 2 acknowledged" in acks.text
    # 4. The shop and the cooperative (a past holder) acknowledge; a stranger is refused.
    w.record(SHOP, ack_wire(recall, BAGS[2], note="已下架 9 袋"), name="ack_shop")
    w.record(COOP, ack_wire(recall, HARVEST), name="ack_coop")
    expect_problem(
        w.post(w.entry(PROCESSOR, ack_wire(recall, BAGS[2]))), 422, rule="not_affected", field="detail.lot"
    )
    expect_problem(w.post(w.entry(SHOP, ack_wire(w.ids["ship3"], BAGS[2]))), 422, rule="recall_unknown")
    acks = client.get(f"/console/recalls/{recall}?lang=en", headers=w.token(REGULATOR)).text
    assert "2 of 3 acknowledged" in acks  # the cooperative joins the list by acknowledging
    assert f'data-party="{MARKET}" data-acknowledged="no"' in acks
    assert f'data-party="{SHOP}" data-acknowledged="yes"' in acks and "已下架 9 袋" in acks
    listing = client.get("/console/recalls?lang=zh", headers=w.token(REGULATOR)).text
    lot_page = client.get(f"/console/lots/{SPLITS[3]}?lang=en", headers=w.token(REGULATOR)).text
    assert f'href="/console/recalls/{recall}?lang=en" data-acks' in lot_page
    assert "2/3 已确认" in listing
    # The console is the regulator's only.
    assert client.get(f"/console/recalls/{recall}", headers=w.token(SHOP)).status_code == 403
    # 5. The shop's notice now says it acknowledged; the acknowledgement is a ledger event.
    page = client.get("/portal/notices?lang=en", headers=w.token(SHOP))
    assert "Acknowledged at" in page.text
    assert client.get(f"/events/{w.ids['ack_shop']}").status_code == 200
    # 6. The same, as JSON for the holder's own systems; the replay audit accepts the acknowledgements.
    notes = client.get("/recall-notices", headers=w.token(SHOP)).json()
    assert [(n["recall_event"], n["acknowledged"]) for n in notes] == [(recall, True)]
    assert {x["lot"] for x in notes[0]["lots"]} == {*BAGS[1:], SPLITS[1]}
    assert [a["note"] for a in notes[0]["acks"]] == ["已下架 9 袋"]
    assert client.get("/recall-notices", headers=w.token(PROCESSOR)).json() == []
    expect_problem(client.get("/recall-notices"), 403)
    rp.replay(client.app.state.log, clock=lambda: datetime.now(UTC))
    # The SQL reference reader answers the two questions the rules ask as the bulk overlay did above.
    with client.app.state.service.engine.connect() as conn:
        repo = Repository(conn)
        assert (repo.recalled_lot(recall), repo.recalled_lot(w.ids["ship3"])) == (HARVEST, None)
        assert repo.has_held(HARVEST, COOP) and repo.has_held(BAGS[2], SHOP)  # the cooperative: a past holder
        assert not repo.has_held(BAGS[2], PROCESSOR) and not repo.has_held(BAGS[2], MARKET)
    # 7. The query a holder's ERP subscribes to (docs/recall-notices.md) finds the recall, and only it.
    doc = client.get("/epcis/events", params={"EQ_persistentDisposition_set": "recalled"}).json()
    found = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["farmtrace:eventId"] for e in found] == [recall]


def test_stop_sale_lists_each_market_its_own(client, world: World) -> None:
    w, recall = world, world.ids["recall"]
    page = client.get("/portal/stop-sale?lang=en", headers=w.token(MARKET))
    assert page.status_code == 200
    assert page.text.count('<tr data-lot="') == 48  # 50 splits, two shipped to the shop
    assert SPLITS[2] in page.text and SPLITS[0] not in page.text and BAGS[1] not in page.text
    shop = client.get("/portal/stop-sale.csv?lang=en", headers=w.token(SHOP))
    assert shop.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(shop.content.decode("utf-8-sig"))))
    assert {r["Lot"] for r in rows} == {*BAGS[1:], SPLITS[1]}  # its own: bags left, and the split in part
    split = next(r for r in rows if r["Lot"] == SPLITS[1])
    assert (split["Quantity held"], split["Quantity on its way"], split["Recall event ID"]) == (
        "6",
        "4",
        recall,
    )
    xlsx = client.get("/portal/stop-sale.xlsx?lang=zh", headers=w.token(SHOP))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:3] == ["批次号", "产品", "在库数量"] and sheet.max_row == len(
        rows
    ) + 1
    # The regulator reads any party's list, printable, and as a file.
    console = client.get(f"/console/stop-sale/{SHOP}?lang=zh", headers=w.token(REGULATOR))
    assert console.status_code == 200 and console.text.count('<tr data-lot="') == len(rows)
    assert "停售清单" in console.text
    again = client.get(f"/console/stop-sale/{SHOP}?fmt=csv&lang=en", headers=w.token(REGULATOR))
    assert again.content == shop.content
    # A party never reads another's list: the portal's is the signed-in party's own.
    assert client.get(f"/console/stop-sale/{SHOP}", headers=w.token(MARKET)).status_code == 403
    # Sold or destroyed, a lot leaves the list.
    w.record(
        SHOP,
        {
            "kind": "destroy",
            "inputs": [{"lot": BAGS[1], "quantity": "1", "unit": "kg"}],
            "detail": {"reason": "召回销毁"},
        },
    )
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/portal/stop-sale.csv?lang=en", headers=w.token(SHOP)).content.decode("utf-8-sig")
            )
        )
    )
    assert BAGS[1] not in {r["Lot"] for r in rows}
