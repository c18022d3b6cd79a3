"""The columns of a spreadsheet record book (台账): one column spec, read by the templates and the importer.

A record book is one table, one record a row: harvest (采收), test (检测), certificate (合格证, the
`certify` kind), shipment (发货), receipt (收货) and sale (销售). Each column has a key (the name the
code uses), a Chinese and an English header (a sheet may use either, or mix them), the kinds that
use it and those that require it, and a line of help in both languages. `COLUMNS` is the one list:
the templates (trace/sheet_files.py) are written from it, and the importer (trace/sheet_drafts.py)
reads each row through it.

The words a cell may hold for a record type, a unit, a result or a price stage are listed here too
(`KIND_WORDS`, `UNIT_WORDS`, ...), in both languages; `word(column, text)` reads one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model.details import COMMITMENTS

__all__ = [
    "COLUMNS",
    "COLUMN_BY_KEY",
    "COMMITMENT_WORDS",
    "ENTRY_CHECK_WORDS",
    "KIND_WORDS",
    "RESULT_WORDS",
    "SHEET_KINDS",
    "STAGE_WORDS",
    "UNIT_WORDS",
    "Column",
    "header_key",
    "word",
    "words_of",
]

SHEET_KINDS = ("harvest", "inspect", "certify", "ship", "receive", "sell")
_ALL = frozenset(SHEET_KINDS)


@dataclass(frozen=True)
class Column:
    """One column: `key`, its headers, the kinds that use it (`kinds`) and require it (`required`)."""

    key: str
    zh: str
    en: str
    kinds: frozenset[str]
    required: frozenset[str]
    help_zh: str
    help_en: str
    example: str = ""

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def _col(key, zh, en, kinds, required, help_zh, help_en, example="") -> Column:
    return Column(key, zh, en, frozenset(kinds), frozenset(required), help_zh, help_en, example)


_PRICED = ("harvest", "ship", "receive", "sell")

COLUMNS: tuple[Column, ...] = (
    _col("kind", "记录类型", "Record type", _ALL, _ALL,
         "采收、检测、合格证、发货、收货、销售之一", "one of harvest, test, certificate, ship, receive, sell", "采收"),
    _col("date", "日期", "Date", _ALL, _ALL,
         "年-月-日，如 2026-11-20（也可 2026/11/20 或表格的日期格）",
         "year-month-day, e.g. 2026-11-20 (or 2026/11/20, or a date cell)", "2026-11-20"),
    _col("time", "时间", "Time", _ALL, (),
         "时:分（北京时间），如 08:30；不填为 00:00", "hours:minutes, China Standard Time, e.g. 08:30; empty: 00:00",
         "08:30"),
    _col("lot", "批次号", "Lot code", _ALL, _ALL,
         "采收时为新批次号，其他记录为已有批次", "a new lot for a harvest, an existing lot otherwise", "NX-BC-1121"),
    _col("product", "产品名称", "Product", _ALL, ("harvest", "certify"),
         "采收和合格证必填；其他记录可填，仅供自己查看", "required for a harvest and a certificate; elsewhere for your reading only",
         "包菜"),
    _col("quantity", "数量", "Quantity", _ALL, _ALL, "数字，最多三位小数", "a number, at most 3 decimals", "300"),
    _col("unit", "单位", "Unit", _ALL, _ALL,
         "公斤、斤、克、吨、箱、袋、件", "kg, jin, g, t, box, bag, piece", "公斤"),
    _col("place", "地点", "Place", _ALL, (),
         "记录发生的地点；不填为本主体登记的名称和地址", "where it happened; empty: your registered name and address",
         "金洲镇 3 号基地"),
    _col("origin", "产地", "Origin", ("harvest", "certify"), (),
         "采收的地块或合格证上的产地；不填同“地点”", "the harvest's field or the certificate's origin; empty: the place",
         "宁乡市金洲镇"),
    _col("counterparty", "对方代码", "Counterparty", ("ship", "receive"), ("ship", "receive"),
         "发货填收货方、收货填发货方的统一社会信用代码", "ship: the receiver's, receive: the sender's USCC (party id)",
         "91430124MA4L0XXXXX"),
    _col("price", "单价", "Price", _PRICED, ("sell",),
         "元，最多两位小数；销售必填", "in CNY, at most 2 decimals; required for a sale", "3.2"),
    _col("price_unit", "计价单位", "Price unit", _PRICED, (),
         "每什么单位的价格；不填同“单位”", "the unit the price is per; empty: the row's unit", "公斤"),
    _col("stage", "价格环节", "Price stage", _PRICED, (),
         "产地、批发、零售；不填：采收为产地，发货收货为批发，销售为零售",
         "production, wholesale or retail; empty: harvest production, ship and receive wholesale, sale retail",
         "批发"),
    _col("analyte", "检测项目", "Analyte", ("inspect",), ("inspect",), "", "", "有机磷和氨基甲酸酯类农药残留"),
    _col("method", "检测方法", "Method", ("inspect",), ("inspect",), "", "", "GB/T 5009.199 速测卡法"),
    _col("value", "检测值", "Value", ("inspect",), ("inspect",), "数字", "a number", "12.5"),
    _col("limit", "限量", "Limit", ("inspect",), ("inspect",), "数字", "a number", "50"),
    _col("test_unit", "检测单位", "Test unit", ("inspect",), ("inspect",),
         "检测值和限量的单位", "the unit of the value and the limit", "%抑制率"),
    _col("result", "检测结论", "Result", ("inspect",), ("inspect",), "合格或不合格", "pass or fail", "合格"),
    _col("report_no", "报告编号", "Report no.", ("inspect",), ("inspect",), "", "", "KJ-20261120-001"),
    _col("certificate_no", "合格证编号", "Certificate no.", ("certify", "receive"), ("certify",),
         "开合格证必填；收货时可填查验的合格证", "required for a certificate; on a receipt, the certificate checked",
         "HGZ-20261120-001"),
    _col("commitments", "承诺内容", "Commitments", ("certify",), (),
         "用顿号分隔；不填为前四项（不使用禁用农药兽药…、遵守安全间隔期…、残留符合标准、自检合格）",
         "separated by commas; empty: the first four (no banned substances, intervals observed, "
         "residues within limits, self-tested)", "自检合格"),
    _col("contact", "联系方式", "Contact", ("certify",), ("certify",),
         "印在合格证上，公开", "printed on the certificate: public", "0731-8888 0000"),
    _col("entry_check", "查验结果", "Entry check", ("receive",), (),
         "接收或拒收；不填为接收", "accepted or rejected; empty: accepted", "接收"),
    _col("ship_event", "发货记录编号", "Shipment event", ("receive",), (),
         "不填时按批次、发货方自动查找", "empty: found from the lot and the sender", ""),
    _col("note", "备注", "Note", _ALL, (),
         "收货时记为查验备注；其他记录仅供自己查看", "on a receipt, the entry check's note; elsewhere for your reading only",
         ""),
)  # fmt: skip

COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

# The words each column with a fixed vocabulary accepts, both languages: text -> wire value.
KIND_WORDS = {
    "采收": "harvest", "harvest": "harvest",
    "检测": "inspect", "test": "inspect", "inspect": "inspect",
    "合格证": "certify", "开具合格证": "certify", "certificate": "certify", "certify": "certify",
    "发货": "ship", "ship": "ship",
    "收货": "receive", "receive": "receive",
    "销售": "sell", "sale": "sell", "sell": "sell",
}  # fmt: skip
UNIT_WORDS = {
    "kg": "kg", "公斤": "kg", "千克": "kg",
    "jin": "jin", "斤": "jin", "市斤": "jin",
    "g": "g", "克": "g",
    "t": "t", "吨": "t",
    "box": "box", "箱": "box",
    "bag": "bag", "袋": "bag",
    "piece": "piece", "件": "piece", "个": "piece",
}  # fmt: skip
RESULT_WORDS = {"合格": "pass", "pass": "pass", "不合格": "fail", "fail": "fail"}
STAGE_WORDS = {
    "产地": "production", "生产": "production", "production": "production",
    "批发": "wholesale", "wholesale": "wholesale",
    "零售": "retail", "retail": "retail",
}  # fmt: skip
ENTRY_CHECK_WORDS = {"接收": "accepted", "accepted": "accepted", "拒收": "rejected", "rejected": "rejected"}
COMMITMENT_WORDS = {
    "不使用禁用农药兽药": COMMITMENTS[0],
    "遵守安全间隔期": COMMITMENTS[1],
    "残留符合标准": COMMITMENTS[2],
    "自检合格": COMMITMENTS[3],
    "委托检测合格": COMMITMENTS[4],
    "内部质量控制合格": COMMITMENTS[5],
} | {c: c for c in COMMITMENTS}

_WORDS = {
    "kind": KIND_WORDS,
    "unit": UNIT_WORDS,
    "price_unit": UNIT_WORDS,
    "result": RESULT_WORDS,
    "stage": STAGE_WORDS,
    "entry_check": ENTRY_CHECK_WORDS,
    "commitments": COMMITMENT_WORDS,
}


def word(column: str, text: str) -> str | None:
    """The wire value of `text` in a column with a fixed vocabulary (case-insensitive for English),
    or None if the column has no such word."""
    words = _WORDS[column]
    return words.get(text) or words.get(text.lower())


def words_of(column: str, lang: str) -> list[str]:
    """The words a column accepts in one language (for help texts and messages)."""
    chinese = [w for w in _WORDS[column] if not w.isascii()]
    english = [w for w in _WORDS[column] if w.isascii() and "_" not in w]
    return chinese if lang == "zh" else english


_HEADERS = {h.casefold(): c.key for c in COLUMNS for h in (c.zh, c.en, c.key)}


def header_key(text: str) -> str | None:
    """The key of the column a header names (its Chinese or English header, or the key), or None."""
    return _HEADERS.get(text.strip().casefold())
