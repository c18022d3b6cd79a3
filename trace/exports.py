"""Regulators' exports: a sortable spreadsheet of key data elements, one row per event and lot.

The rows carry the key data elements (KDEs) food-traceability regulations ask for — what (lot,
product, quantity, unit), where (location), who (party), when (event time), why (the business step)
and the reference documents — plus price and the event's place in the ledger, so any row can be
checked against the signed log.

    rows(events, names)      the rows for (event, event id, ledger index) triples
    write_csv(rows, out)     UTF-8 with a BOM (so spreadsheet programs read Chinese correctly)
    write_xlsx(rows, out)    an Excel workbook with a filterable, frozen header (openpyxl, streaming)

Every text cell is neutralised against spreadsheet formula injection (OWASP, "CSV Injection"):
product names, locations, details and documents come from whoever signed the event, and a cell
that begins with = + - @, a tab or a carriage return is read as a formula by Excel, LibreOffice
and WPS. Such a cell gets a leading single quote (`'=HYPERLINK(...)`), shown as text by every
one of them; in the workbook it is also written as an explicit string cell, never a formula. The
full-width signs ＝＋－＠ are treated alike: WPS and Excel with a CJK input method convert them
to their ASCII forms when a cell is edited, and a Chinese-speaking regulator's copy of a cell
must not turn into a formula then. Numeric columns (quantity, price, ledger index) hold canonical
decimals the domain has validated; they stay numbers (a decimal is never a formula), and any
value there that is not a plain decimal is neutralised like text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from .model.event import Event
from .model.values import LotOut

__all__ = [
    "CERTIFICATES",
    "COLUMNS",
    "FORMULA_TRIGGERS",
    "Columns",
    "neutralise",
    "rows",
    "write_csv",
    "write_xlsx",
]

# (key, English header, Chinese header)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("event_time", "Event time", "事件时间"),
    ("kind", "Event", "事件类型"),
    ("bizStep", "CBV business step", "业务步骤"),
    ("lot", "Lot", "批次号"),
    ("role", "Lot role", "批次角色"),
    ("product", "Product", "产品"),
    ("quantity", "Quantity", "数量"),
    ("unit", "Unit", "单位"),
    ("party", "Party ID", "主体代码"),
    ("party_name", "Party", "主体名称"),
    ("location", "Location", "地点"),
    ("detail", "Detail", "详情"),
    ("documents", "Reference documents", "参考单据"),
    ("price", "Price (CNY per unit)", "价格（元/单位）"),
    ("price_stage", "Price stage", "价格环节"),
    ("event_id", "Event ID (SHA-256)", "事件编号"),
    ("ledger_index", "Ledger index", "账本序号"),
    # Certificates and live animals (issue 20 §5), after the columns earlier exports had, so that a
    # reader of those finds each where it was: the 合格证, 动物检疫合格证明 or 肉品品质检验合格证 an event
    # issues (certify, quarantine, slaughter), the official vet and the end of a quarantine's validity,
    # and a line's animals: its ear tags' count and live weight (a slaughter's: the animals').
    ("certificate_no", "Certificate no.", "证明编号"),
    ("certificate", "Certificate", "证明名称"),
    ("official_vet", "Official veterinarian", "官方兽医"),
    ("valid_until", "Valid until", "有效期至"),
    ("ear_tags", "Ear tags (count)", "耳标数"),
    ("live_weight", "Live weight (kg)", "活重（千克）"),
)

# OWASP's list (= + - @ TAB CR), plus LF, which some spreadsheet apps also skip before a formula,
# and the full-width forms (see the module docstring).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMERIC = frozenset({"quantity", "price", "ledger_index", "ear_tags", "live_weight"})
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise(value: str) -> str:
    """`value` with a leading single quote if a spreadsheet would read it as a formula, else as is."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _cell(key: str, value: Any) -> Any:
    """A row's value as it may be written: numbers of numeric columns as they are, text neutralised."""
    if key in _NUMERIC and (not isinstance(value, str) or value == "" or _DECIMAL.fullmatch(value)):
        return value
    return neutralise(value) if isinstance(value, str) else value


_STEP = {
    "harvest": "commissioning",
    "inspect": "inspecting",
    "certify": "inspecting",
    "transform": "repackaging",
    "ship": "shipping",
    "receive": "receiving",
    "sell": "retail_selling",
    "recall": "holding",
    "destroy": "destroying",
    "quarantine": "inspecting",
}
# The official names of the certificates (the forms of 《动物检疫管理办法》 and the slaughterhouse's).
CERTIFICATES = {
    "certify": "承诺达标合格证",
    "animal_a": "动物检疫合格证明（动物A）",
    "animal_b": "动物检疫合格证明（动物B）",
    "product_a": "动物检疫合格证明（产品A）",
    "product_b": "动物检疫合格证明（产品B）",
    "slaughter": "肉品品质检验合格证",
}


def _certificate(event: Event) -> dict[str, Any]:
    """The certificate columns of `event`: what it issues, the vet, until when it is valid."""
    d = event.detail.to_wire()
    if event.kind == "certify":
        return {"certificate_no": d["certificate_no"], "certificate": CERTIFICATES["certify"]}
    if event.kind == "quarantine":
        until = datetime.fromisoformat(event.event_time) + timedelta(days=int(d["valid_days"]))
        return {
            "certificate_no": d["certificate_no"],
            "certificate": CERTIFICATES.get(d["form"], d["form"]),
            "official_vet": d["official_vet"],
            "valid_until": until.isoformat(),
            "ear_tags": str(len(d["ear_tags"])) if "ear_tags" in d else "",
        }
    if event.kind == "transform" and d["type"] == "slaughter":
        return {
            "certificate_no": d["certificate_no"],
            "certificate": CERTIFICATES["slaughter"],
            "live_weight": d["live_weight"],
        }
    return {}


def _detail(event: Event) -> str:
    d = event.detail.to_wire()
    if event.kind == "inspect":
        return f"{d['analyte']} {d['value']}/{d['limit']} {d['unit']} {d['result']} ({d['report_no']})"
    if event.kind == "certify":
        return f"合格证 {d['certificate_no']} {d['origin']}"
    if event.kind == "transform" and d["type"] == "slaughter":
        return f"slaughter; 肉品品质检验合格证 {d['certificate_no']}; live weight {d['live_weight']} kg"
    if event.kind == "transform":
        return d["type"]
    if event.kind == "quarantine":
        what = d.get("purpose") or d.get("product_name") or ""
        return f"{CERTIFICATES.get(d['form'], d['form'])} {d['certificate_no']} {d['species']} {what} → {d['destination']}"
    if event.kind == "ship":
        return f"to {d['destination']}"
    if event.kind == "receive":
        return f"from {d['source']}; entry check {d['entry_check']['result']}"
    if event.kind in ("recall", "destroy"):
        return d["reason"]
    return ""


def _animals(o: LotOut) -> dict[str, str]:
    """An output line's animals (unit head): how many ear tags it lists, their total live weight."""
    if o.ear_tags is None:
        return {}
    return {
        "ear_tags": str(len(o.ear_tags)),
        "live_weight": "" if o.live_weight is None else str(o.live_weight),
    }


def rows(
    events: Iterable[tuple[Event, str, int]],
    names: Mapping[str, str],
    products: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per lot line of each lot event (party administration events are left out).

    `names` maps party ids to names; `products` maps lot codes to product names (for input lines).
    """
    products = products or {}
    out = []
    for event, event_id, index in events:
        if event.kind.startswith("party."):
            continue
        common = {
            "event_time": event.event_time,
            "kind": event.kind,
            "bizStep": "killing"
            if event.kind == "transform" and event.detail.to_wire()["type"] == "slaughter"
            else _STEP.get(event.kind, ""),
            "party": event.party,
            "party_name": names.get(event.party, ""),
            "location": event.location.name,
            "detail": _detail(event),
            "documents": "; ".join(f"{d.type}:{d.id}" for d in event.documents),
            "price": str(event.price.amount) if event.price else "",
            "price_stage": event.price.stage if event.price else "",
            "event_id": event_id,
            "ledger_index": index,
            **_certificate(event),
        }
        lines = [(r.lot, "input", r.quantity, r.unit, products.get(r.lot, ""), {}) for r in event.inputs]
        lines += [
            (o.lot, "output", o.quantity, o.unit, o.product.name_zh, _animals(o)) for o in event.outputs
        ]
        for lot, role, quantity, unit, product, animals in lines:
            out.append(
                {
                    **common,
                    "lot": lot,
                    "role": role,
                    "quantity": str(quantity),
                    "unit": unit,
                    "product": product,
                    **animals,
                }
            )
    return out


Columns = tuple[tuple[str, str, str], ...]


def _headers(lang: str, columns: Columns = COLUMNS) -> list[str]:
    return [zh if lang == "zh" else en for _, en, zh in columns]


def write_csv(
    data: list[dict[str, Any]], out: BinaryIO, *, lang: str = "zh", columns: Columns = COLUMNS
) -> None:
    """CSV of `data` (rows by column key) under `columns`' headers in `lang` (zh or en)."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    w = csv.writer(text)
    w.writerow(_headers(lang, columns))
    for row in data:
        w.writerow([_cell(key, row.get(key, "")) for key, _, _ in columns])
    text.flush()
    text.detach()


def write_xlsx(
    data: list[dict[str, Any]],
    out: BinaryIO,
    *,
    lang: str = "zh",
    columns: Columns = COLUMNS,
    sheet: str = "事件 Events",
    table_name: str = "Events",
) -> None:
    """An Excel workbook, written as a stream (openpyxl's write-only mode: 90 days of a city's events
    in seconds, not minutes): a bold, frozen header and an Excel table, whose header has a sort and
    filter button on every column. `columns`, `sheet` and `table_name` default to the events export's."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    headers = _headers(lang, columns)
    for i, (key, _, _) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 24 if key in ("event_id", "detail") else 14
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    keys = [key for key, _, _ in columns]
    numeric = [i for i, key in enumerate(keys) if key in _NUMERIC]
    for row in data:
        values: list[Any] = [_cell(key, row.get(key, "")) for key in keys]
        for i in numeric:  # numbers as numbers, so the columns sort and sum (values are canonical decimals)
            if values[i] != "" and not (isinstance(values[i], str) and values[i].startswith("'")):
                values[i] = Decimal(str(values[i]))
        for i, v in enumerate(values):
            if isinstance(v, str) and v.startswith("'"):
                # An explicit string cell: openpyxl would otherwise guess a type from the text.
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"
                values[i] = cell
        ws.append(values)
    # A write-only sheet cannot infer a table's columns: name them (they must equal the header cells).
    ref = f"A1:{get_column_letter(len(columns))}{max(len(data) + 1, 2)}"
    table = Table(displayName=table_name, ref=ref)
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, start=1)]
    table.autoFilter = AutoFilter(ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    wb.save(out)
