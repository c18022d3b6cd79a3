"""Record books read and drafted without a server: the cell forms each column accepts, what a row
becomes, the refusals, the ledger lookups (a memory `LotHistory`), and the templates in docs/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.model.encoding import encode_event, event_id
from farmtrace.trace.model.event import Event
from farmtrace.trace.sheet_columns import COLUMNS, header_key
from farmtrace.trace.sheet_drafts import column_for_field, draft_sheet
from farmtrace.trace.sheet_files import read_sheet, template_csv

from .story import COOP, MARKET, key_id

REPO = Path(__file__).resolve().parents[2]
PLACE = {"name": "绿源合作社", "address": "湖南省长沙市"}


class Lots:
    """A LotHistory in memory: events by lot, in order."""

    def __init__(self, events: list[Event] = ()) -> None:
        self.by_lot: dict[str, list[tuple[str, Event]]] = {}
        for e in events:
            eid = event_id(encode_event(e))
            for lot in [r.lot for r in e.inputs] + [o.lot for o in e.outputs]:
                self.by_lot.setdefault(lot, []).append((eid, e))

    def head(self, lot: str) -> str | None:
        return self.by_lot[lot][-1][0] if lot in self.by_lot else None

    def events(self, lot: str) -> list[tuple[str, Event]]:
        return self.by_lot.get(lot, [])


def book(header: list[str], *rows: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode()


def draft(data: bytes, party: str = COOP, lots: Lots | None = None):
    return draft_sheet(
        read_sheet(data), party=party, key_id=key_id(party), location=PLACE, history=lots or Lots()
    )


H = ["记录类型", "日期", "时间", "批次号", "产品名称", "数量", "单位", "承诺内容", "单价", "价格环节"]


def test_cell_forms_dates_times_numbers_words() -> None:
    result = draft(book(H,
        ["采收", "2026/11/20", "8:05", "NX-1", "包菜", "1,200.50", "斤", "", "3.20", "批发"],
        ["Harvest", "2026年11月21日", "", "NX-2", "包菜", "300.0", "KG", "", "", ""],
        ["合格证", "2026-11-21 09:30", "", "NX-2", "包菜", "300", "公斤", "自检合格、委托检测合格", "", ""],
    ))  # fmt: skip
    problems = {(p.row, p.column): p.code for p in result.problems}
    assert problems == {(4, "contact"): "required", (4, "certificate_no"): "required"}
    one, two = (d.wire for d in result.drafts)
    assert one["event_time"] == "2026-11-20T08:05:00+08:00" and one["outputs"][0]["quantity"] == "1200.5"
    assert one["outputs"][0]["unit"] == "jin" and one["price"] == {"amount": "3.2", "currency": "CNY", "unit": "jin",
                                                                      "stage": "wholesale"}  # fmt: skip
    assert one["location"] == PLACE and one["detail"] == {"origin": {"name": PLACE["name"]}}
    assert two["event_time"] == "2026-11-21T00:00:00+08:00" and two["outputs"][0]["unit"] == "kg"


def test_commitments_and_a_receipt_found_on_the_ledger() -> None:
    header = [
        "记录类型",
        "日期",
        "时间",
        "批次号",
        "产品名称",
        "数量",
        "单位",
        "合格证编号",
        "承诺内容",
        "联系方式",
    ]
    result = draft(book(header,
        ["采收", "2026-11-20", "06:00", "NX-3", "包菜", "100", "kg", "", "", ""],
        ["合格证", "2026-11-20", "07:00", "NX-3", "包菜", "100", "kg", "C-3", "自检合格，委托检测合格", "0731"],
        ["合格证", "2026-11-20", "07:00", "NX-3", "包菜", "100", "kg", "C-4", "不知道", "0731"],
    ))  # fmt: skip
    assert result.drafts[1].wire["detail"]["commitments"] == ["self_tested", "entrusted_tested"]
    assert [(p.row, p.column, p.rule) for p in result.problems] == [(4, "commitments", "sheet.word")]
    shipped = Event.from_wire({
        "kind": "ship", "event_time": "2026-11-20T08:00:00+08:00", "party": COOP, "key_id": key_id(COOP),
        "location": PLACE, "inputs": [{"lot": "NX-3", "quantity": "100", "unit": "kg",
                                       "follows": [result.drafts[1].event_id]}],
        "outputs": [], "detail": {"destination": MARKET},
    })  # fmt: skip
    history = Lots([Event.from_wire(d.wire) for d in result.drafts[:2]] + [shipped])
    receipt = ["记录类型", "日期", "时间", "批次号", "数量", "单位", "对方代码", "查验结果", "备注"]
    got = draft(book(receipt, ["收货", "2026-11-20", "10:00", "NX-3", "100", "kg", COOP, "拒收", "烂叶"],
                     ["收货", "2026-11-20", "07:30", "NX-3", "100", "kg", COOP, "", ""]), MARKET, history)  # fmt: skip
    ship_id = history.head("NX-3")
    assert got.drafts[0].wire["detail"] == {"source": COOP, "ship_event": ship_id,
                                            "entry_check": {"result": "rejected", "note": "烂叶"}}  # fmt: skip
    assert got.drafts[0].wire["inputs"][0]["follows"] == [ship_id]
    # Dated before the shipment: no shipment of the lot is on the ledger by then.
    assert [(p.row, p.column, p.code) for p in got.problems] == [(3, "ship_event", "no_shipment")]


def test_a_recorded_row_is_found_again_after_the_lot_moved_on() -> None:
    harvest = draft(book(H, ["采收", "2026-11-20", "06:00", "NX-5", "包菜", "100", "kg", "", "", ""]))
    header = ["记录类型", "日期", "时间", "批次号", "数量", "单位", "对方代码"]
    ship = book(header, ["发货", "2026-11-20", "08:00", "NX-5", "40", "kg", MARKET])
    events = [Event.from_wire(harvest.drafts[0].wire)]
    first = draft(ship, lots=Lots(events))
    later = Event.from_wire({**first.drafts[0].wire, "event_time": "2026-11-20T09:00:00+08:00",
                             "inputs": [{"lot": "NX-5", "quantity": "60", "unit": "kg",
                                         "follows": [first.drafts[0].event_id]}]})  # fmt: skip
    again = draft(ship, lots=Lots([*events, Event.from_wire(first.drafts[0].wire), later]))
    assert again.drafts[0].event_id == first.drafts[0].event_id
    # A new row on the same lot follows the lot's head instead.
    other = draft(book(header, ["发货", "2026-11-20", "10:00", "NX-5", "1", "kg", MARKET]),
                  lots=Lots([*events, Event.from_wire(first.drafts[0].wire), later]))  # fmt: skip
    assert other.drafts[0].wire["inputs"][0]["follows"] == [event_id(encode_event(later))]


def test_numbers_take_commas_only_between_thousands() -> None:
    rows = [["采收", "2026-11-20", "", f"NX-N{k}", "包菜", q, "kg", "", "", ""] for k, q in
            enumerate(["1,234,567.5", "３００．５", "1,5", "12,34", "1.", ".5", "-3", "1e3"])]  # fmt: skip
    result = draft(book(H, *rows))
    assert [d.wire["outputs"][0]["quantity"] for d in result.drafts] == ["1234567.5", "300.5"]
    assert [(p.row, p.code) for p in result.problems] == [(k, "number") for k in range(4, 10)]


def test_price_parts_need_a_price_and_fields_map_to_columns() -> None:
    result = draft(book(H, ["采收", "2026-11-20", "", "NX-6", "包菜", "1", "kg", "", "", "零售"]))
    assert [(p.column, p.code) for p in result.problems] == [("price", "required")]
    assert column_for_field("ship", "inputs[0].quantity") == "quantity"
    assert column_for_field("ship", "inputs[0].follows") == "lot"
    assert column_for_field("harvest", "outputs[0].product.name_zh") == "product"
    assert column_for_field("inspect", "detail.unit") == "test_unit"
    assert column_for_field("inspect", "detail.report_no") == "report_no"
    assert column_for_field("receive", "detail.entry_check.result") == "entry_check"
    assert column_for_field("sell", "price.amount") == "price"
    assert column_for_field("ship", "key_id") == "" and column_for_field("ship", None) == ""


def test_headers_in_either_language_and_the_committed_templates() -> None:
    for col in COLUMNS:
        assert header_key(col.zh) == header_key(col.en.upper()) == col.key
    assert (REPO / "docs/templates/farmtrace-taizhang.csv").read_bytes() == template_csv("zh")
    assert (REPO / "docs/templates/farmtrace-records.csv").read_bytes() == template_csv("en")
    assert read_sheet(template_csv("en")).rows == () and read_sheet(template_csv("zh")).problems == ()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_reading_any_bytes_raises_only_invalid_event(data: bytes) -> None:
    try:
        read_sheet(data)
    except InvalidEvent as exc:
        assert exc.field == "file"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12),
                         max_size=12), max_size=6))  # fmt: skip
def test_drafting_any_cells_names_a_row_for_each_refusal(rows: list[list[str]]) -> None:
    result = draft(book([c.zh for c in COLUMNS][:12], *rows))
    read = read_sheet(book([c.zh for c in COLUMNS][:12], *rows))
    numbers = {r.number for r in read.rows}
    assert all(p.row in numbers for p in result.problems)
    assert {d.row for d in result.drafts} | {p.row for p in result.problems} == numbers
