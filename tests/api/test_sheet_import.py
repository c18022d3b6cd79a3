"""Record books (台账) imported through the portal's drafts route and the CLI's drafting, against the real app.

A cooperative imports harvest, certificate and shipment rows; the market its receipt and sale; each
file twice, the second time recording nothing (every event is byte-identical, so a duplicate). Refused
rows are named by row and column with the rule and the reason, in Chinese and in English.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from farmtrace.client import Client
from farmtrace.client.lot_history import ServerLots
from farmtrace.trace.sheet_drafts import draft_sheet
from farmtrace.trace.sheet_files import read_sheet, template_csv, template_xlsx
from farmtrace.web.i18n import Translator
from farmtrace.web.sheet_problems import refusal_view

from ..trace.story import COOP, CST, MARKET, NAMES
from .test_stories import World

ZH = [
    "记录类型",
    "日期",
    "时间",
    "批次号",
    "产品名称",
    "数量",
    "单位",
    "产地",
    "对方代码",
    "单价",
    "合格证编号",
    "联系方式",
]
EN = ["Record type", "Date", "Time", "Lot code", "Product", "Quantity", "Unit", "Origin", "Counterparty", "Price",
      "Certificate no.", "Contact", "Analyte"]  # fmt: skip


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode("utf-8-sig")


@pytest.fixture
def world(client) -> World:
    w = World(client, start=datetime.now(CST).replace(microsecond=0) - timedelta(days=3))
    w.register_all()
    return w


def day() -> str:
    return (datetime.now(CST) - timedelta(days=1)).date().isoformat()


def drafts(world: World, party: str, data: bytes, lang: str = "zh") -> dict[str, Any]:
    r = world.http.post(f"/portal/import/drafts?lang={lang}", content=data, headers=world.token(party))
    assert r.status_code == 200, r.text
    return r.json()


def record(world: World, party: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Sign every draft with the party's key (checking its id) and post them in one batch."""
    key = world.keys[party]
    entries = [key.sign(d["wire"]) for d in answer["drafts"]]
    for d, entry in zip(answer["drafts"], entries, strict=True):
        assert Client(key=key, http=world.http) and d["event_id"] == _event_id(entry)
    r = world.http.post("/events/batch", json={"entries": [base64.b64encode(e).decode() for e in entries]})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def _event_id(entry: bytes) -> str:
    from farmtrace.trace.model.encoding import decode_entry

    return decode_entry(entry).id


def coop_book() -> bytes:
    return csv_bytes(ZH, [
        ["采收", day(), "06:00", "NX-S-001", "包菜", "300", "公斤", "东湖塘镇 3号地块", "", "1.6", "", ""],
        ["合格证", day(), "07:00", "NX-S-001", "包菜", "300.0", "公斤", "", "", "", "HGZ-S-001", "0731-8888"],
        ["发货", day(), "08:00", "NX-S-001", "包菜", "300", "kg", "", MARKET, "2.4", "", ""],
    ])  # fmt: skip


def test_a_record_book_imported_twice_is_recorded_once(world: World) -> None:
    first = drafts(world, COOP, coop_book())
    assert first["problems"] == [] and [d["row"] for d in first["drafts"]] == [2, 3, 4]
    harvest, certify, ship = (d["wire"] for d in first["drafts"])
    assert harvest["outputs"][0] == {
        "lot": "NX-S-001",
        "quantity": "300",
        "unit": "kg",
        "product": {"name_zh": "包菜"},
    }
    assert harvest["event_time"] == f"{day()}T06:00:00+08:00"
    assert (
        harvest["location"] == {"name": NAMES[COOP], "address": "湖南省长沙市"} or harvest["location"]["name"]
    )
    assert harvest["price"] == {"amount": "1.6", "currency": "CNY", "unit": "kg", "stage": "production"}
    assert certify["inputs"][0]["follows"] == [first["drafts"][0]["event_id"]]  # the row before, in the file
    assert certify["detail"]["commitments"] == ["no_banned_substances", "withdrawal_period_observed",
                                                 "residues_within_limits", "self_tested"]  # fmt: skip
    assert ship["detail"] == {"destination": MARKET} and ship["price"]["stage"] == "wholesale"
    results = record(world, COOP, first)
    assert [r["ok"] and not r["receipt"]["duplicate"] for r in results] == [True] * 3
    size = world.size()
    # Again: the same events, byte for byte; the ledger answers duplicates and grows by nothing.
    again = drafts(world, COOP, coop_book())
    assert [d["event_id"] for d in again["drafts"]] == [d["event_id"] for d in first["drafts"]]
    assert [r["receipt"]["duplicate"] for r in record(world, COOP, again)] == [True] * 3
    assert world.size() == size
    # The CLI drafts on the party's machine with the same function, through the public HTTP reads.
    local = draft_sheet(read_sheet(coop_book()), party=COOP, key_id=world.keys[COOP].key_id,
                        location=first["drafts"][0]["wire"]["location"],
                        history=ServerLots(Client(http=world.http)))  # fmt: skip
    assert [d.event_id for d in local.drafts] == [d["event_id"] for d in first["drafts"]]


def test_a_receipt_finds_its_shipment_and_stays_a_duplicate_after_the_lot_moves_on(world: World) -> None:
    record(world, COOP, drafts(world, COOP, coop_book()))
    book = csv_bytes(["记录类型", "日期", "时间", "批次号", "数量", "单位", "对方代码", "合格证编号", "单价"], [
        ["收货", day(), "10:00", "NX-S-001", "300", "公斤", COOP, "HGZ-S-001", ""],
        ["销售", day(), "11:00", "NX-S-001", "10", "公斤", "", "", "6.8"],
    ])  # fmt: skip
    first = drafts(world, MARKET, book)
    assert first["problems"] == []
    receive = first["drafts"][0]["wire"]
    ship_id = world.lot("NX-S-001")["head"]
    assert receive["detail"]["ship_event"] == ship_id and receive["inputs"][0]["follows"] == [ship_id]
    assert receive["detail"]["entry_check"] == {"result": "accepted", "certificate_no": "HGZ-S-001"}
    assert first["drafts"][1]["wire"]["price"]["stage"] == "retail"
    assert all(r["ok"] for r in record(world, MARKET, first))
    # The market sells more by hand: the lot's head moves past the file's rows.
    world.record(MARKET, world.sell_wire("NX-S-001", "5"), at=f"{day()}T12:00:00+08:00")
    again = drafts(world, MARKET, book)
    assert [d["event_id"] for d in again["drafts"]] == [d["event_id"] for d in first["drafts"]]
    assert [r["receipt"]["duplicate"] for r in record(world, MARKET, again)] == [True, True]


def test_refused_rows_are_named_by_row_and_column_with_rule_and_reason(world: World) -> None:
    d = day()
    book = csv_bytes(EN, [
        ["harvest", d, "06:00", "NX-A-001", "cabbage", "100", "kg", "", "", "", "", "", ""],  # 2 ok
        ["harvest", d, "06:00", "NX-A-002", "cabbage", "lots", "kg", "", "", "", "", "", ""],  # 3 quantity
        ["certificate", d, "07:00", "NX-A-002", "cabbage", "100", "kg", "", "", "", "C-2", "x", ""],  # 4 after 3
        ["fly", d, "", "NX-A-001", "", "1", "kg", "", "", "", "", "", ""],  # 5 kind
        ["ship", d, "08:00", "NX-A-001", "", "1", "kg", "", "", "", "", "", "lead"],  # 6 analyte, counterparty
        ["harvest", "2026-13-45", "", "NX-A-003", "cabbage", "1", "kg", "", "", "", "", "", ""],  # 7 date
        ["sale", d, "09:00", "NX-NONE-9", "", "1", "kg", "", "", "3", "", "", ""],  # 8 unknown lot
        ["harvest", d, "06:00", "NX-B-001", "cabbage", "100", "bushel", "", "", "", "", "", ""],  # 9 unit
        ["harvest", d, "06:30", "NX-C-001", "cabbage", "100", "kg", "", "", "", "", "", ""],  # 10 ok
        ["ship", d, "08:00", "NX-C-001", "", "100", "kg", "", MARKET, "", "", "", ""],  # 11 origin_exit (ledger)
    ])  # fmt: skip
    for lang, text in (("en", "is not a number"), ("zh", "不是数字")):
        answer = drafts(world, COOP, book, lang)
        found = {(p["row"], p["column"]): p for p in answer["problems"]}
        assert set(found) == {(3, "quantity"), (4, "lot"), (5, "kind"), (6, "analyte"), (6, "counterparty"),
                              (7, "date"), (8, "lot"), (9, "unit")}  # fmt: skip
        assert text in found[3, "quantity"]["message"] and found[3, "quantity"]["header"] == "Quantity"
        assert found[3, "quantity"]["rule"] == "sheet.number"
        assert found[4, "lot"]["rule"] == "sheet.chain" and "3" in found[4, "lot"]["message"]
        assert (
            found[6, "analyte"]["rule"] == "sheet.unused"
            and found[6, "counterparty"]["rule"] == "sheet.required"
        )
        assert found[8, "lot"]["rule"] == "lot_unknown"
        assert ("采收、检测" if lang == "zh" else "harvest, test") in found[5, "kind"]["message"]
        assert [d["row"] for d in answer["drafts"]] == [2, 10, 11]
    results = record(world, COOP, answer)
    assert [r["ok"] for r in results] == [True, True, False]
    refused = refusal_view(Translator("zh"), 11, "ship", results[2]["problem"], answer["headers"])
    assert (refused["row"], refused["column"], refused["header"], refused["rule"]) == (
        11,
        "lot",
        "Lot code",
        "origin_exit",
    )
    assert refused["message"].startswith("产地准出") and "NX-C-001" in refused["detail"]
    assert refusal_view(Translator("en"), 11, "ship", results[2]["problem"], {})["header"] == "Lot code"
    assert answer["field_columns"]["ship"]["inputs[0].lot"] == "lot"


def test_xlsx_template_filled_in_imports(world: World) -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template_xlsx("zh")))
    assert book.sheetnames == ["台账", "说明", "示例"]
    sheet = book["台账"]
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["记录类型", "日期", "时间", "批次号"]
    at = datetime.now(CST).replace(tzinfo=None) - timedelta(days=1)  # a book's dates are China's
    values = {"记录类型": "采收", "日期": at.replace(hour=0, minute=0, second=0, microsecond=0), "批次号": "NX-X-001",
              "产品名称": "辣椒", "数量": 12.5, "单位": "斤", "单价": 3.2}  # fmt: skip
    sheet.append([values.get(h) for h in headers])
    out = io.BytesIO()
    book.save(out)
    answer = drafts(world, COOP, out.getvalue())
    assert answer["problems"] == []
    (draft,) = answer["drafts"]
    assert draft["wire"]["outputs"][0]["quantity"] == "12.5" and draft["wire"]["outputs"][0]["unit"] == "jin"
    assert draft["wire"]["event_time"] == f"{at.date().isoformat()}T00:00:00+08:00"
    assert draft["wire"]["price"]["amount"] == "3.2"
    assert all(r["ok"] for r in record(world, COOP, answer))
    r = world.http.get("/portal/import/template.xlsx?lang=en")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert world.http.get("/portal/import/template.csv?lang=en").content == template_csv("en")
    assert template_csv("zh").startswith("\ufeff记录类型,日期".encode())


def test_header_problems_and_a_gb18030_csv(world: World) -> None:
    text = "记录类型,日期,批次号,数量,数量\r\n采收,2026-11-20,X,1,1\r\n"
    sheet = read_sheet(text.encode("gb18030"))
    assert [(p.row, p.column, p.code) for p in sheet.problems] == [
        (1, "quantity", "header_twice"),
        (1, "unit", "header_missing"),
    ]
    answer = drafts(world, COOP, text.encode("gb18030"), "en")
    assert {p["code"] if "code" in p else p["rule"] for p in answer["problems"]} == {"sheet.header"}
    assert answer["drafts"] == []
    r = world.http.post("/portal/import/drafts", content=b"\x00\x01binary", headers=world.token(COOP))
    assert r.status_code == 400 and r.json()["field"] == "file"
    assert world.http.post("/portal/import/drafts", content=coop_book()).status_code == 403


def test_every_message_the_import_script_names_exists() -> None:
    import re
    from pathlib import Path

    from farmtrace.web.i18n import MESSAGES

    script = (Path(__file__).parents[2] / "web" / "static" / "sheet-import.js").read_text()
    keys = re.findall(r'msg\("([a-z_.]+)"[,)]', script)
    assert len(keys) > 10 and all(k in MESSAGES for k in keys), [k for k in keys if k not in MESSAGES]
