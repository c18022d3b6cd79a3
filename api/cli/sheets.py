"""`farmtrace import`: a spreadsheet record book (台账, CSV or XLSX) recorded as signed events.

    farmtrace import FILE --key PARTY.key [--server URL] [--lang zh|en]

Each row becomes one event of the key's party (trace/sheet_drafts.py, the same drafting the portal's
import page asks the server for), drafted and signed on this machine: the key never leaves it, and
the drafts depend on the server only for the heads of lots the file does not create (client/
lot_history.py). Events go to POST /events/batch in parts of PART, so a progress bar (Rich, on
stderr) moves through reading, drafting, signing and recording.

Output (stdout): one line per refused row, `row N<TAB>column<TAB>rule<TAB>reason` in the chosen
language (the English detail after " | " where it says more), then a summary line. Exit status 0
when every row is on the ledger (newly, or already from an earlier import of the same file), 1 when
any row was refused (the others stay recorded: correct those rows and import the file again).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from farmtrace.trace.errors import InvalidEvent

from .common import CliError, load_party_key, with_server

__all__ = ["PART", "register"]

PART = 2000  # events per POST /events/batch: a progress bar that moves, at little cost in throughput


def register(sub: argparse._SubParsersAction) -> None:
    """Add `import` to the `farmtrace` parser's subcommands."""
    p = with_server(
        sub.add_parser(
            "import",
            help="record a spreadsheet record book (台账, CSV or XLSX): one signed event per row",
        )
    )
    p.add_argument(
        "file", help="the record book, .csv or .xlsx (templates: /portal/import, docs/spreadsheet-import.md)"
    )
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        default=None,
        help="the language of the refusals (default: zh if $LANG says zh, else en)",
    )
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from farmtrace.client import Client
    from farmtrace.client.lot_history import ServerLots
    from farmtrace.trace.sheet_drafts import draft_sheet
    from farmtrace.trace.sheet_files import read_sheet
    from farmtrace.web.i18n import Translator
    from farmtrace.web.sheet_problems import problem_view, refusal_view

    t = Translator(args.lang or ("zh" if os.environ.get("LANG", "").startswith("zh") else "en"))
    key = load_party_key(args.key)
    client = Client(args.server, key=key)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"{args.file}: cannot read the file: {exc.strerror or exc}") from exc
    try:
        sheet = read_sheet(data)
    except InvalidEvent as exc:
        raise CliError(f"{args.file}: {exc.message}") from exc
    record = client.party(key.party)
    location = {"name": record["name_zh"], "address": record["address"]}
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with bar if console.is_terminal else nullcontext(bar):
        rows = len(sheet.rows)
        drafting = bar.add_task(t("sheet.ui.bar_draft"), total=rows)
        drafts = draft_sheet(
            sheet,
            party=key.party,
            key_id=key.key_id,
            location=location,
            history=ServerLots(client),
            on_row=lambda done: bar.update(drafting, completed=done),
        )
        signing = bar.add_task(t("sheet.ui.bar_sign"), total=len(drafts.drafts))
        entries = []
        for k, draft in enumerate(drafts.drafts, start=1):
            entries.append(key.sign_canonical(draft.canonical))
            if k % 100 == 0 or k == len(drafts.drafts):
                bar.update(signing, completed=k)
        recording = bar.add_task(t("sheet.ui.bar_record"), total=len(entries))
        results: list[dict[str, Any]] = []
        for start in range(0, len(entries), PART):
            results += client.submit_many(entries[start : start + PART])["results"]
            bar.update(recording, completed=len(results))
    problems = [problem_view(t, p, sheet.headers) for p in drafts.problems]
    fresh = duplicate = 0
    for draft, result in zip(drafts.drafts, results, strict=True):
        if result["ok"]:
            duplicate += bool(result["receipt"]["duplicate"])
            fresh += not result["receipt"]["duplicate"]
        else:
            problems.append(refusal_view(t, draft.row, draft.wire["kind"], result["problem"], sheet.headers))
    problems.sort(key=lambda p: p["row"])
    for p in problems:
        extra = f" | {p['detail']}" if p["detail"] and p["detail"] not in p["message"] else ""
        print(f"row {p['row']}\t{p['header']}\t{p['rule']}\t{p['message']}{extra}")
    if sheet.ignored:
        print(t("sheet.ui.ignored", headers=", ".join(sheet.ignored)), file=sys.stderr)
    refused = len({p["row"] for p in problems})
    print(t("sheet.ui.done", new=fresh, duplicate=duplicate, refused=refused))
    return 1 if refused else 0
