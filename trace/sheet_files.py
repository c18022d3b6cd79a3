"""Record-book files: reading a CSV or XLSX record book into rows, and writing its blank templates.

    read_sheet(data)                 -> Sheet    the first sheet's rows, each cell as text by column key
    template_csv(lang)               -> bytes    the header row (UTF-8 with a BOM, so Excel and WPS read Chinese)
    template_xlsx(lang)              -> bytes    the header, drop-down lists, a guide sheet and an example sheet

A file is CSV unless it starts as a ZIP archive does (XLSX). CSV is read as UTF-8 (with or without
a BOM), else as GB18030, which is what Excel and WPS write when a Chinese user saves "CSV". Row 1
holds the headers (trace/sheet_columns.py: Chinese or English, in any order; unknown headers are
listed in `Sheet.ignored` and their cells are not read); a row is numbered as the spreadsheet
numbers it, so a message's "row 7" is the row a person sees as 7. Empty rows are skipped. Cells
become text: a date cell "2026-11-20", a time cell "08:30:00", a number its shortest decimal
("12.5", never "12.500000001" from a float's noise: the float's repr, as Excel shows it).

A header problem (a column named twice, a column every record needs missing) is a `RowProblem` on
row 1; a file that cannot be read at all raises InvalidEvent("file").
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from .errors import InvalidEvent
from .sheet_columns import COLUMN_BY_KEY, COLUMNS, KIND_WORDS, SHEET_KINDS, UNIT_WORDS, header_key

__all__ = ["MAX_ROWS", "RowProblem", "Sheet", "SheetRow", "read_sheet", "template_csv", "template_xlsx"]

MAX_ROWS = 20_000  # rows a record book may hold (a bigger one is split into several files)
MAX_UNPACKED = 200 * 1024 * 1024  # an XLSX may unpack to this much at most (a ZIP bomb is refused)
_ALWAYS = tuple(c.key for c in COLUMNS if c.required == frozenset(SHEET_KINDS))


@dataclass(frozen=True)
class RowProblem:
    """Why a row (or the header, row 1) is refused: `column` is a column key ("" for the whole row);
    `rule` names the rule (a sheet rule such as "sheet.required", or one of trace/rules' codes);
    `code` and `params` make the message in either language (web/i18n: "sheet.problem.<code>");
    `detail` is the English sentence; `field` the event's field it was about, if any."""

    row: int
    column: str
    rule: str
    code: str
    detail: str
    params: dict[str, str] = field(default_factory=dict)
    field: str | None = None


@dataclass(frozen=True)
class SheetRow:
    """One row: its number in the spreadsheet and its non-empty cells as text, by column key."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    """A record book read: its rows, the header text of each column read, headers not read, problems."""

    rows: tuple[SheetRow, ...]
    headers: dict[str, str]
    ignored: tuple[str, ...] = ()
    problems: tuple[RowProblem, ...] = ()


def read_sheet(data: bytes) -> Sheet:
    """Read a CSV or XLSX record book (see the module docstring). Raises InvalidEvent("file")."""
    table = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    try:
        header = next(table)
    except StopIteration:
        raise InvalidEvent("file", "the file is empty: row 1 should hold the column headers") from None
    keys: list[str | None] = []
    headers: dict[str, str] = {}
    ignored: list[str] = []
    problems: list[RowProblem] = []
    for text in header:
        key = header_key(text) if text else None
        if key is not None and key in headers:
            problems.append(
                RowProblem(
                    1, key, "sheet.header", "header_twice", f"column {text} is named twice", {"header": text}
                )
            )
            key = None
        elif key is not None:
            headers[key] = text
        elif text:
            ignored.append(text)
        keys.append(key)
    for key in _ALWAYS:
        if key not in headers:
            col = COLUMN_BY_KEY[key]
            problems.append(
                RowProblem(
                    1, key, "sheet.header", "header_missing", f"no column {col.en} ({col.zh})",
                    {"zh": col.zh, "en": col.en},
                )
            )  # fmt: skip
    rows = []
    for number, values in enumerate(table, start=2):
        cells = {k: v for k, v in zip(keys, values, strict=False) if k is not None and v}
        if not any(values):
            continue
        if len(rows) == MAX_ROWS:
            raise InvalidEvent(
                "file", f"a record book holds at most {MAX_ROWS} rows; split it into several files"
            )
        rows.append(SheetRow(number, cells))
    return Sheet(tuple(rows), headers, tuple(ignored), tuple(problems))


def _csv_rows(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise InvalidEvent(
                "file", "the file is neither an XLSX workbook nor CSV text (UTF-8 or GB18030)"
            ) from exc
    if "\x00" in text:
        raise InvalidEvent("file", "the file is neither an XLSX workbook nor CSV text (it holds NUL bytes)")
    for values in csv.reader(io.StringIO(text, newline="")):
        yield [v.strip() for v in values]


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
        if unpacked > MAX_UNPACKED:
            raise InvalidEvent("file", f"the workbook unpacks to {unpacked} bytes, more than {MAX_UNPACKED}")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidEvent:
        raise
    except Exception as exc:  # openpyxl raises many kinds of errors for a damaged file
        raise InvalidEvent("file", f"the XLSX workbook cannot be read: {exc}") from exc
    try:
        for values in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if value == value else "NaN"
    return str(value).strip()


# --- the templates ----------------------------------------------------------------------------------


def template_csv(lang: str) -> bytes:
    """The blank record book as CSV: the header row in `lang` ("zh" or "en"), UTF-8 with a BOM."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow([c.header(lang) for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


_GUIDE = {
    "zh": ("说明", ("列名", "英文列名", "用于", "必填", "说明", "示例")),
    "en": ("Guide", ("Column", "Chinese header", "Used by", "Required by", "How to fill it in", "Example")),
}
_KIND_NAMES = {"zh": ("采收", "检测", "合格证", "发货", "收货", "销售"), "en": ("harvest", "test", "certificate",
               "ship", "receive", "sale")}  # fmt: skip
# A small story of one farm's day, for the example sheet (never read by the importer: only sheet 1 is).
_EXAMPLE = (
    {"kind": 0, "date": "2026-11-20", "time": "06:00", "lot": "NX-BC-1121", "product": "包菜", "quantity": "300",
     "unit": "kg", "origin": "金洲镇 3 号基地", "price": "1.6"},
    {"kind": 2, "date": "2026-11-20", "time": "07:00", "lot": "NX-BC-1121", "product": "包菜", "quantity": "300",
     "unit": "kg", "certificate_no": "HGZ-20261120-001", "contact": "0731-8888 0000"},
    {"kind": 3, "date": "2026-11-20", "time": "08:00", "lot": "NX-BC-1121", "quantity": "300", "unit": "kg",
     "counterparty": "91430100MA4L0XXXXX", "price": "2.4"},
)  # fmt: skip


def template_xlsx(lang: str) -> bytes:
    """The blank record book as an XLSX workbook: sheet 1 (the one read) with the headers in `lang`,
    drop-down lists for the record type and the unit; a guide sheet; an example sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "台账" if lang == "zh" else "Records"
    sheet.append([c.header(lang) for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for i, col in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[cell_column(i)].width = max(10, 2 * len(col.header(lang)) + 2)
        if col.key in ("kind", "unit", "price_unit"):
            choices = _KIND_NAMES[lang] if col.key == "kind" else _unit_choices(lang)
            check = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
            check.add(f"{cell_column(i)}2:{cell_column(i)}{MAX_ROWS + 1}")
            sheet.add_data_validation(check)
    title, heads = _GUIDE[lang]
    guide = book.create_sheet(title)
    guide.append(list(heads))
    other = "en" if lang == "zh" else "zh"
    for col in COLUMNS:
        used = "、".join(_kinds(col.kinds, lang)) if lang == "zh" else ", ".join(_kinds(col.kinds, lang))
        required = ("、" if lang == "zh" else ", ").join(_kinds(col.required, lang))
        guide.append([col.header(lang), col.header(other), used, required,
                      col.help_zh if lang == "zh" else col.help_en, col.example])  # fmt: skip
    example = book.create_sheet("示例" if lang == "zh" else "Example")
    example.append([c.header(lang) for c in COLUMNS])
    for row in _EXAMPLE:
        cells = {**row, "kind": _KIND_NAMES[lang][row["kind"]]}
        example.append([cells.get(c.key, "") for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_column(n: int) -> str:
    """A spreadsheet column's letters: 1 -> A, 27 -> AA."""
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _kinds(kinds: frozenset[str], lang: str) -> list[str]:
    return [_KIND_NAMES[lang][i] for i, k in enumerate(SHEET_KINDS) if k in kinds]


def _unit_choices(lang: str) -> list[str]:
    return [w for w in UNIT_WORDS if (w.isascii() if lang == "en" else not w.isascii())]


assert set(KIND_WORDS.values()) == set(SHEET_KINDS)
