"""The record-book import's messages (keys "sheet.*"), merged into the one catalogue by web/i18n/__init__.py.

Simplified Chinese first, English second, the same {placeholders} in both. "sheet.problem.<code>" is
one message per `RowProblem.code` of trace/sheet_files.py and trace/sheet_drafts.py (the
ledger's own refusals reuse "portal.rule.<rule>"); "sheet.page.*" and "sheet.ui.*" are the portal's
import page (web/templates/portal/import.html, static/sheet-import.js) and the CLI's words.
"""

from __future__ import annotations

__all__ = ["SHEET_MESSAGES"]

SHEET_MESSAGES: dict[str, tuple[str, str]] = {
    # --- a refused row: what is wrong with the cell ---
    "sheet.problem.required": ("这一格必须填写。", "This cell must be filled in for this record type."),
    "sheet.problem.unused": (
        "这类记录不用这一列，请清空这一格（或换成正确的记录类型）。",
        "This record type does not use this column: empty the cell (or correct the record type).",
    ),
    "sheet.problem.word": (
        "“{value}”不是可选的值；可填：{words}。",
        "“{value}” is not one of the values allowed: {words}.",
    ),
    "sheet.problem.date": (
        "“{value}”不是日期；请写成 年-月-日，如 2026-11-20。",
        "“{value}” is not a date: write year-month-day, e.g. 2026-11-20.",
    ),
    "sheet.problem.time": (
        "“{value}”不是时间；请写成 时:分，如 08:30。",
        "“{value}” is not a time of day: write hours:minutes, e.g. 08:30.",
    ),
    "sheet.problem.number": (
        "“{value}”不是数字（不要带单位或文字）。",
        "“{value}” is not a number (no units or words in the cell).",
    ),
    "sheet.problem.invalid": ("这一格的值不被接受：{detail}", "This value is not accepted: {detail}"),
    "sheet.problem.lot_unknown": (
        "账本中没有批次 {lot}，表中前面的行也没有采收它。",
        "The ledger has no lot {lot}, and no earlier row harvests it.",
    ),
    "sheet.problem.after_refused": (
        "批次 {lot} 在第 {other} 行的记录未被接受，这一行接在它后面，也不能记录。请先改正第 {other} 行。",
        "Lot {lot} was named by row {other}, which was refused; this row follows it and cannot be recorded. Correct row {other} first.",
    ),
    "sheet.problem.no_shipment": (
        "账本中没有 {source} 在这一时间之前发给您的批次 {lot}；请检查批次号、对方代码和日期，或填写发货记录编号。",
        "The ledger holds no shipment of lot {lot} from {source} to you dated by then: check the lot, the counterparty and the date, or fill in the shipment event.",
    ),
    "sheet.problem.header_twice": (
        "列名“{header}”出现了两次。",
        "The column “{header}” appears twice.",
    ),
    "sheet.problem.header_missing": (
        "第一行缺少“{zh}”列（英文表头为 {en}）。",
        "Row 1 has no “{en}” column (in Chinese: {zh}).",
    ),
    "sheet.problem.rule": ("{reason}", "{reason}"),
    "sheet.row_whole": ("整行", "whole row"),
    # --- the portal's import page ---
    "portal.nav.import": ("导入台账", "Import records"),
    "sheet.page.title": ("导入台账", "Import a record book"),
    "sheet.page.lead": (
        "把电子台账（CSV 或 Excel）中的采收、检测、合格证、发货、收货、销售记录一次导入。每一行成为一条记录，在本机用您的密钥签名后提交。同一个文件重复导入不会重复记录。",
        "Import the harvests, tests, certificates, shipments, receipts and sales of a spreadsheet record book (CSV or Excel) at once. Each row becomes one record, signed on this device with your key. Importing the same file again records nothing twice.",
    ),
    "sheet.page.templates": ("下载模板", "Download a template"),
    "sheet.page.template_zh_xlsx": ("中文模板（Excel）", "Chinese template (Excel)"),
    "sheet.page.template_zh_csv": ("中文模板（CSV）", "Chinese template (CSV)"),
    "sheet.page.template_en_xlsx": ("英文表头模板（Excel）", "English headers (Excel)"),
    "sheet.page.template_en_csv": ("英文表头模板（CSV）", "English headers (CSV)"),
    "sheet.page.file": ("选择台账文件（.xlsx 或 .csv）", "Choose the record book (.xlsx or .csv)"),
    "sheet.page.read": ("读取文件", "Read the file"),
    "sheet.page.record": ("签名并记录 {count} 行", "Sign and record {count} rows"),
    "sheet.page.help": (
        "各列的填写方法见模板中的“说明”工作表。",
        "How to fill in each column: the template's Guide sheet.",
    ),
    "sheet.ui.bar_draft": ("读取各行", "drafting"),
    "sheet.ui.bar_sign": ("签名", "signing"),
    "sheet.ui.bar_record": ("提交记录", "recording"),
    "sheet.ui.progress": ("导入进度", "Import progress"),
    "sheet.ui.reading": ("正在读取文件…", "Reading the file…"),
    "sheet.ui.read": (
        "共 {rows} 行：{ready} 行可以记录，{refused} 行有问题。",
        "{rows} rows: {ready} ready to record, {refused} with problems.",
    ),
    "sheet.ui.signing": ("正在签名 {done}/{total}", "Signing {done}/{total}"),
    "sheet.ui.sending": ("正在提交 {done}/{total}", "Recording {done}/{total}"),
    "sheet.ui.done": (
        "完成：新记录 {new} 行，此前已记录 {duplicate} 行，未被接受 {refused} 行。",
        "Done: {new} rows recorded, {duplicate} already on the ledger, {refused} refused.",
    ),
    "sheet.ui.nothing": ("没有可以记录的行。", "No row can be recorded."),
    "sheet.ui.problems": ("未被接受的行", "Rows refused"),
    "sheet.ui.row": ("行", "Row"),
    "sheet.ui.column": ("列", "Column"),
    "sheet.ui.rule": ("规则", "Rule"),
    "sheet.ui.reason": ("原因", "Reason"),
    "sheet.ui.ignored": ("以下列不会被读取：{headers}", "These columns are not read: {headers}"),
    "sheet.ui.network": (
        "网络中断，请重试：已记录的行不会重复记录。",
        "The network failed: try again; rows already recorded are not recorded twice.",
    ),
    "sheet.ui.failed": ("文件无法读取：{detail}", "The file cannot be read: {detail}"),
}
