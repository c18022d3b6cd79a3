"""`farmtrace import` against a live `farmtrace serve` over loopback, on the demo's ledger.

The cooperative imports a CSV record book (harvest, certificate, shipment) twice: the second time
everything is already on the ledger and nothing grows. The market imports its receipt and sale as
XLSX. A book with mistakes is refused row by row, by column, with the rule and the reason in the
language asked for, and exits 1 while its good rows stay recorded.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from farmtrace.api.demo import PARTIES
from farmtrace.trace.clock import CST

from .test_cli_domain import Cli, cli  # noqa: F401  (the fixture: init, demo, serve)

pytestmark = pytest.mark.slow  # a server, the demo and a few processes: ~15 s

COOP_HEADERS = [
    "记录类型",
    "日期",
    "时间",
    "批次号",
    "产品名称",
    "数量",
    "单位",
    "对方代码",
    "单价",
    "合格证编号",
    "联系方式",
]


def moments(n: int) -> list[tuple[str, str]]:
    """n (date, time) cells a minute apart, ending an hour ago: never in the server's future."""
    start = datetime.now(CST).replace(second=0, microsecond=0) - timedelta(hours=1, minutes=n)
    return [((start + timedelta(minutes=k)).date().isoformat(), (start + timedelta(minutes=k)).strftime("%H:%M"))
            for k in range(n)]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    path.write_bytes(out.getvalue().encode("utf-8-sig"))
    return path


def size(c: Cli) -> int:
    return int(httpx.get(f"{c.server}/ledger/checkpoint").text.splitlines()[1])


def test_import_csv_twice_then_xlsx_then_a_book_with_mistakes(cli: Cli) -> None:  # noqa: F811
    cli.env["FARMTRACE_SERVER"] = cli.server
    market = PARTIES["market"][0]
    (d1, t1), (d2, t2), (d3, t3), (d4, t4), (d5, t5) = moments(5)
    book = write_csv(cli.cwd / "coop.csv", COOP_HEADERS, [
        ["采收", d1, t1, "NX-IMP-001", "白萝卜", "200", "公斤", "", "1.1", "", ""],
        ["合格证", d2, t2, "NX-IMP-001", "白萝卜", "200", "公斤", "", "", "HGZ-IMP-001", "0731-8888"],
        ["发货", d3, t3, "NX-IMP-001", "白萝卜", "200", "公斤", market, "1.9", "", ""],
    ])  # fmt: skip
    done = cli.run("import", str(book), "--key", cli.key("coop"), "--lang", "en")
    assert done.stdout.splitlines() == ["Done: 3 rows recorded, 0 already on the ledger, 0 refused."]
    grown = size(cli)
    again = cli.run("import", str(book), "--key", cli.key("coop"), "--lang", "zh")
    assert again.stdout.splitlines() == ["完成：新记录 0 行，此前已记录 3 行，未被接受 0 行。"]
    assert size(cli) == grown
    lot = httpx.get(f"{cli.server}/lots/NX-IMP-001").json()
    assert lot["quantity"] == "200" and lot["product"]["name_zh"] == "白萝卜"

    # The market's receipt and sale, as an Excel workbook with English headers.
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Record type", "Date", "Time", "Lot code", "Quantity", "Unit", "Counterparty",
                  "Certificate no.", "Price"])  # fmt: skip
    sheet.append(["receive", d4, t4, "NX-IMP-001", 200, "kg", PARTIES["coop"][0], "HGZ-IMP-001", None])
    sheet.append(["sale", d5, t5, "NX-IMP-001", 20.5, "kg", None, None, 3.5])
    xlsx = cli.cwd / "market.xlsx"
    workbook.save(xlsx)
    done = cli.run("import", str(xlsx), "--key", cli.key("market"), "--lang", "en")
    assert done.stdout.splitlines() == ["Done: 2 rows recorded, 0 already on the ledger, 0 refused."]
    assert httpx.get(f"{cli.server}/lots/NX-IMP-001").json()["status"]["cleared"] is True

    # Mistakes: a word for a number, a row after it, a ledger refusal (shipped without a certificate).
    (d6, t6), (d7, t7), (d8, t8) = moments(3)
    bad = write_csv(cli.cwd / "bad.csv", COOP_HEADERS, [
        ["采收", d6, t6, "NX-IMP-002", "白萝卜", "两百", "公斤", "", "", "", ""],
        ["合格证", d7, t7, "NX-IMP-002", "白萝卜", "200", "公斤", "", "", "HGZ-IMP-002", "0731-8888"],
        ["采收", d6, t6, "NX-IMP-003", "白萝卜", "50", "公斤", "", "", "", ""],
        ["发货", d8, t8, "NX-IMP-003", "", "50", "公斤", market, "", "", ""],
    ])  # fmt: skip
    refused = cli.run("import", str(bad), "--key", cli.key("coop"), "--lang", "zh", ok=False)
    assert refused.returncode == 1, refused.stderr
    lines = refused.stdout.splitlines()
    assert (
        lines[0] == "row 2\t数量\tsheet.number\t“两百”不是数字（不要带单位或文字）。 | '两百' is not a number"
    )
    assert lines[1].startswith("row 3\t批次号\tsheet.chain\t批次 NX-IMP-002 在第 2 行的记录未被接受")
    assert lines[2].startswith("row 5\t批次号\torigin_exit\t产地准出：")
    assert lines[3] == "完成：新记录 1 行，此前已记录 0 行，未被接受 3 行。"
    assert httpx.get(f"{cli.server}/lots/NX-IMP-003").status_code == 200  # the good row stays recorded
    assert httpx.get(f"{cli.server}/lots/NX-IMP-002").status_code == 404
