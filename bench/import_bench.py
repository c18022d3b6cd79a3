"""Record-book import: `farmtrace import` of a 10,000-row CSV against `farmtrace event` of the same events.

    cd /tmp && python /work/main/bench/import_bench.py [--rows 10000] [--rounds 2] [--browser] [--json FILE]

Two fresh services (`farmtrace init`, then `farmtrace serve`, each its own process tree on SQLite, as
deployed) hold the same cooperative and market, registered with fixed keys, so that the
cooperative's events are byte-identical on both. The record book is a cooperative's: lot after lot,
a harvest, its 合格证 (the certify kind) and its shipment to the market, every row within one minute
after the registrations (the rules refuse events before a key is valid, or more than 5 minutes ahead).

Timed, wall clock, each a separate process as a user runs it:

- **import**: `farmtrace import book.csv --key coop.key` (read the CSV, draft each row, sign, POST
  /events/batch in parts of 2,000, with its progress bar), on service A;
- **import again**: the same command on the same file (every event a duplicate: nothing recorded);
- **event**: `farmtrace event events.json --key coop.key` on service B, where events.json is the JSON
  list of the very events the import recorded (the drafts), which `Client.record_many` signs and
  posts in requests of 5,000: the path the issue timed at 3,000 events in 3 s.

With --browser, after the rounds, a service of its own and Chromium (headless) time the portal's
import page on a book of the same rows (shown in the last round's column): from choosing it to the drafts shown (the server reads and drafts), and from "Sign and record"
to done (the browser signs each event with WebCrypto and posts parts of 500).

Then, in this process, the import's own phases on the same file: reading the CSV, drafting (each row's
event parsed and encoded once), signing (the drafts' canonical bytes). The event ids of
the drafts are checked against what service A holds (a sample of 200) and against the receipts of
`farmtrace event` (all of them): the same events.

Prints a table and writes JSON to bench/results/import.json. Run it by path from outside the
repository (bench/README.md).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The repository root must not be on sys.path: its trace/ folder would shadow the standard library's
# `trace` (STYLE.md, "Architecture"); farmtrace itself is imported from the installed package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

from farmtrace.client import Client, PartyKey  # noqa: E402
from farmtrace.client.lot_history import ServerLots  # noqa: E402
from farmtrace.trace.clock import CST  # noqa: E402
from farmtrace.trace.model.ids import uscc_check_char  # noqa: E402
from farmtrace.trace.sheet_drafts import draft_sheet  # noqa: E402
from farmtrace.trace.sheet_files import read_sheet  # noqa: E402

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))
RESULTS = Path(_HERE) / "results"


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


COOP = uscc("93430124MA4L9001X")
MARKET = uscc("91430100MA4L9002X")
REGULATOR = uscc("11430100MB9000001")


def seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`farmtrace init` and `farmtrace serve` in a data directory of their own."""

    def __init__(self, root: Path, name: str) -> None:
        self.dir = root / name
        self.dir.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
        self.env["FARMTRACE_DATA_DIR"] = str(self.dir / "data")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env["FARMTRACE_SERVER"] = self.url
        self.run("init", "--regulator-id", REGULATOR, "--regulator-address", "湖南省长沙市",
                 "--regulator-name", "长沙市市场监督管理局", "--regulator-key", str(self.dir / "regulator.key"))  # fmt: skip
        self.proc = subprocess.Popen(
            [FARMTRACE, "serve", "--port", str(self.port)], cwd=self.dir, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/ledger/checkpoint", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{name}: the server did not start")
            time.sleep(0.2)
        time.sleep(3)  # its signature workers start (bench/trace_bench.py waits as long)

    def run(self, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        began = time.perf_counter()
        done = subprocess.run([FARMTRACE, *args], cwd=self.dir, env=self.env, capture_output=True, text=True)
        took = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(
                f"farmtrace {args[0]}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        return took, done

    def register(self, keys: dict[str, PartyKey]) -> None:
        regulator = Client(self.url, key=PartyKey.load(self.dir / "regulator.key"))
        for pid, name, roles in (
            (COOP, "宁乡市试验蔬菜合作社", ["producer"]),
            (MARKET, "长沙试验批发市场", ["wholesaler"]),
        ):
            record = {"id": pid, "id_type": "uscc", "name_zh": name, "roles": roles, "address": "湖南省长沙市",
                      "keys": [keys[pid].public_record_key()], "contact_commitment": "0" * 64}  # fmt: skip
            regulator.record(
                {"kind": "party.register", "location": {"name": "登记窗口"}, "detail": {"party": record}}
            )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def book_rows(rows: int, start: datetime) -> list[list[str]]:
    """A cooperative's record book: harvest, 合格证, shipment, lot after lot, within one minute."""
    out = []
    for i in range(rows):
        lot, step = f"NX-B-{i // 3:05d}", i % 3
        at = start + timedelta(seconds=i * 60 // rows)
        day, clock = at.date().isoformat(), at.strftime("%H:%M:%S")
        if step == 0:
            out.append(["采收", day, clock, lot, "包菜", "300", "公斤", "", "1.2", "", ""])
        elif step == 1:
            out.append(["合格证", day, clock, lot, "包菜", "300", "公斤", "", "", f"HGZ-{lot}", "0731-8888"])
        else:
            out.append(["发货", day, clock, lot, "", "300", "公斤", MARKET, "2.1", "", ""])
    return out


CHROMIUM = os.environ.get("FARMTRACE_CHROMIUM", "/usr/bin/chromium")


def portal_import(service: Service, key_file: Path, book: Path, rows: int) -> tuple[float, float]:
    """The portal's import page in Chromium (headless, as a phone): the key file imported once, then
    the book chosen (time until the drafts are shown) and "Sign and record" (time until done)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
            page.set_default_timeout(600_000)
            page.goto(f"{service.url}/portal?lang=zh")
            page.locator("#no-key summary").first.click()
            page.set_input_files("#f-keyfile", str(key_file))
            page.wait_for_url("**/portal/lots**")
            page.goto(f"{service.url}/portal/import?lang=zh")
            page.wait_for_selector("html[data-import-ready]", state="attached")
            began = time.perf_counter()
            page.set_input_files("#f-sheet", str(book))
            page.wait_for_selector("#sheet-record:not([hidden])")
            t_drafts = time.perf_counter() - began
            began = time.perf_counter()
            page.click("#sheet-record")
            page.wait_for_selector("#sheet-form[data-done]", state="attached")
            t_record = time.perf_counter() - began
            done = page.inner_text("#sheet-status")
            assert done == f"完成：新记录 {rows} 行，此前已记录 0 行，未被接受 0 行。", done
        finally:
            browser.close()
    return t_drafts, t_record


def one_round(cfg: argparse.Namespace, keys: dict[str, PartyKey], *, event_first: bool) -> dict[str, float]:
    """Two fresh services; the import (twice) on A and `farmtrace event` on B, in the order asked."""
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        root = Path(tmp)
        a, b = Service(root, "a"), Service(root, "b")
        try:
            for s in (a, b):
                s.register(keys)
            start = datetime.now(CST).replace(microsecond=0) + timedelta(seconds=2)
            book = root / "book.csv"
            write_book(book, cfg.rows, start)
            key_file = root / "coop.key"
            keys[COOP].save(key_file)
            time.sleep(max(0.0, (start - datetime.now(CST)).total_seconds()))
            # The same events as a JSON list, for `farmtrace event` (drafted here: no service is asked
            # anything, since every lot is created in the file).
            sheet = read_sheet(book.read_bytes())
            party = Client(b.url).party(COOP)
            drafts = draft_sheet(sheet, party=COOP, key_id=keys[COOP].key_id,
                                 location={"name": party["name_zh"], "address": party["address"]},
                                 history=ServerLots(Client(b.url)))  # fmt: skip
            assert not drafts.problems and len(drafts.drafts) == cfg.rows
            ids = [d.event_id for d in drafts.drafts]
            events = root / "events.json"
            events.write_text(json.dumps([d.wire for d in drafts.drafts], ensure_ascii=False))

            def by_event() -> float:
                took, listed = b.run("event", str(events), "--key", str(key_file))
                recorded = [json.loads(line)["event_id"] for line in listed.stdout.splitlines()]
                assert recorded == ids, "farmtrace event recorded other events than the import drafts"
                return took

            t_event = by_event() if event_first else 0.0
            t_import, done = a.run("import", str(book), "--key", str(key_file), "--lang", "en")
            assert (
                done.stdout.strip() == f"Done: {cfg.rows} rows recorded, 0 already on the ledger, 0 refused."
            )
            t_again, again = a.run("import", str(book), "--key", str(key_file), "--lang", "en")
            assert (
                again.stdout.strip() == f"Done: 0 rows recorded, {cfg.rows} already on the ledger, 0 refused."
            )
            if not event_first:
                t_event = by_event()
            for eid in random.Random(7).sample(ids, min(200, len(ids))):
                assert httpx.get(f"{a.url}/events/{eid}").status_code == 200, eid
            # The import's phases, in this process, on the same file.
            began = time.perf_counter()
            sheet = read_sheet(book.read_bytes())
            t_read = time.perf_counter() - began
            began = time.perf_counter()
            drafts = draft_sheet(sheet, party=COOP, key_id=keys[COOP].key_id,
                                 location={"name": party["name_zh"], "address": party["address"]},
                                 history=ServerLots(Client(a.url)))  # fmt: skip
            t_draft = time.perf_counter() - began
            began = time.perf_counter()
            for d in drafts.drafts:
                keys[COOP].sign_canonical(d.canonical)
            t_sign = time.perf_counter() - began
        finally:
            a.stop()
            b.stop()
    return {"import_s": t_import, "import_again_s": t_again, "event_s": t_event, "read_s": t_read,
            "draft_s": t_draft, "sign_s": t_sign}  # fmt: skip


def browser_round(cfg: argparse.Namespace, keys: dict[str, PartyKey]) -> dict[str, float]:
    """A service of its own (the others stopped) and the portal's import page on the same kind of book."""
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        root = Path(tmp)
        c = Service(root, "c")
        try:
            c.register(keys)
            start = datetime.now(CST).replace(microsecond=0) + timedelta(seconds=2)
            book = root / "book.csv"
            write_book(book, cfg.rows, start)
            key_file = root / "coop.key"
            keys[COOP].save(key_file)
            time.sleep(max(0.0, (start - datetime.now(CST)).total_seconds()))
            drafts, record = portal_import(c, key_file, book, cfg.rows)
        finally:
            c.stop()
    return {"portal_drafts_s": drafts, "portal_record_s": record}


def write_book(path: Path, rows: int, start: datetime) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([["记录类型", "日期", "时间", "批次号", "产品名称", "数量", "单位",
                                  "对方代码", "单价", "合格证编号", "联系方式"], *book_rows(rows, start)])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=2, help="rounds, alternating which command runs first")
    p.add_argument("--browser", action="store_true", help="also the portal's import page in Chromium")
    p.add_argument("--json", default=str(RESULTS / "import.json"))
    cfg = p.parse_args()
    keys = {pid: PartyKey.from_seed(pid, seed(f"bench/import/{pid}")) for pid in (COOP, MARKET)}
    rounds = [one_round(cfg, keys, event_first=bool(r % 2)) for r in range(cfg.rounds)]
    if cfg.browser:  # after the rounds, alone: its service would load the machine the rounds measure
        rounds[-1] |= browser_round(cfg, keys)
    rows = cfg.rows
    names = (
        ("import_s", "farmtrace import (new rows)"),
        ("import_again_s", "farmtrace import again (all duplicates)"),
        ("event_s", "farmtrace event, the same events (record_many)"),
        ("read_s", "  import phase: read the CSV (in process)"),
        ("draft_s", "  import phase: draft every row"),
        ("sign_s", "  import phase: sign every event"),
        *((("portal_drafts_s", "portal: file chosen -> drafts shown"),
           ("portal_record_s", "portal: sign and record (browser)")) if cfg.browser else ()),
    )  # fmt: skip
    print(
        f"\n{rows} rows ({rows // 3} lots: harvest, certificate, shipment), SQLite, farmtrace serve, loopback"
    )
    print(f"{'':<50} " + "  ".join(f"{'round ' + str(r + 1):>22}" for r in range(len(rounds))))
    for key, name in names:
        cells = "  ".join(
            f"{r[key]:7.2f} s {rows / r[key]:8.0f}/s" if key in r else f"{'':>22}" for r in rounds
        )
        print(f"{name:<50} {cells}")
    ratios = [r["event_s"] / r["import_s"] for r in rounds]
    print(f"{'import rate / event rate':<50} " + "  ".join(f"{x:21.2f}x" for x in ratios))
    RESULTS.mkdir(exist_ok=True)
    Path(cfg.json).write_text(
        json.dumps({"rows": rows, "rounds": rounds, "import_over_event": ratios}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
