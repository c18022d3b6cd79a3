"""The regulator's exports on 90 days of a city's data: how long the 90-day CSV, XLSX and EPCIS 2.0
exports take, through the app, against the goal of 60 s each.

    cd /tmp && python /work/main/bench/export_bench.py                 # 90 days (builds them once)
    cd /tmp && python /work/main/bench/export_bench.py --days 7        # a quick run
    ... --data DIR        where the ledger is built and kept (default /tmp/farmtrace-export-bench-<days>d);
                          a later run reuses it, so the build (several minutes for 90 days) is paid once
    ... --rebuild         build again even if DIR holds a ledger
    ... --validate        also check the EPCIS document against the GS1 JSON Schema (slow on 90 days)
    ... --json FILE       also write the figures as JSON

What is built (tests/web/console_support.py, `build_city`): 58 parties — a market regulator, 24
cooperatives and family farms, 2 test rooms, 3 wholesale markets, 28 supermarkets and wet-market
stalls — and, every day, their harvests, tests, certificates, shipments, market-entry checks,
splits into market lots, wholesale sales and shipments to shops, repacks into bags and retail sales,
with a few refused attempts a week. Every event is signed by its party and recorded through
`TraceService.record_many` (every signature checked, every rule run). The report gives the number
of events.

What is measured: GET /exports/events.{csv,xlsx,jsonld}?since=<first day>&until=<the day after the
last> with a regulator's token, through FastAPI's TestClient (the whole app: the regulator check,
the service, the export writers, the gzip middleware a browser's Accept-Encoding triggers), one
request per format, wall time from request to the last byte.

The repository root is taken off sys.path first: its trace/ folder would shadow the standard
library's `trace` (STYLE.md); farmtrace is imported from the installed package.
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from farmtrace.api.app import create_app  # noqa: E402
from farmtrace.api.settings import Settings  # noqa: E402
from farmtrace.client import PartyKey  # noqa: E402
from farmtrace.ledger.note import Signer as LogSigner  # noqa: E402

GOAL_SECONDS = 60.0
LOG_SIGNER = LogSigner.from_seed("farmtrace.local/log", bytes(range(32)))


def _load_support():
    """tests/web/console_support.py, by path (it imports only the standard library and farmtrace)."""
    path = Path(_ROOT) / "tests" / "web" / "console_support.py"
    spec = importlib.util.spec_from_file_location("farmtrace_console_support", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _app(data: Path):
    settings = Settings.from_env(
        {},
        data_dir=data,
        database_url=f"sqlite:///{data / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        public_url="http://127.0.0.1:8000",
    )
    return create_app(settings)


def build(data: Path, days: int, workers: int) -> dict:
    support = _load_support()
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    app = _app(data)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, events: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10 or done == total:
            rate = events / (now - started)
            print(f"  built day {done}/{total}: {events:,} events ({rate:,.0f}/s)", flush=True)
            last[0] = now

    stats = support.build_city(app.state.service, days=days, workers=workers, progress=progress)
    took = time.perf_counter() - started
    regulator = stats.regulator
    PartyKey.from_seed(regulator.party, regulator.seed).save(data / "regulator.key")
    meta = {
        "days": days,
        "first_day": stats.first_day.isoformat(),
        "last_day": stats.last_day.isoformat(),
        "events": stats.events,
        "ledger_size": app.state.log.size,
        "refused": stats.refused,
        "lots": stats.lots,
        "parties": stats.parties,
        "build_seconds": round(took, 1),
    }
    (data / "city.json").write_text(json.dumps(meta, indent=2))
    app.state.log.close(close_store=True)
    return meta


def measure(data: Path, meta: dict, *, validate: bool) -> list[dict]:
    from fastapi.testclient import TestClient

    app = _app(data)
    key = PartyKey.load(data / "regulator.key")
    first = date.fromisoformat(meta["first_day"])
    end = date.fromisoformat(meta["last_day"]) + timedelta(days=1)
    params = {
        "since": datetime(first.year, first.month, first.day).isoformat() + "+08:00",
        "until": datetime(end.year, end.month, end.day).isoformat() + "+08:00",
        "lang": "zh",
    }
    results = []
    with TestClient(app) as client:
        for fmt in ("csv", "xlsx", "jsonld"):
            headers = {"Authorization": f"FarmTrace {key.token(lifetime=3600)}", "Accept-Encoding": "gzip"}
            started = time.perf_counter()
            r = client.get(f"/exports/events.{fmt}", params=params, headers=headers)
            body = r.content  # decoded (gunzipped) by httpx; the clock stops after the last byte
            took = time.perf_counter() - started
            if r.status_code != 200:
                raise SystemExit(f"{fmt}: HTTP {r.status_code}: {r.text[:500]}")
            result = {
                "format": fmt,
                "seconds": round(took, 2),
                "bytes": len(body),
                "wire_bytes": int(r.headers.get("content-length") or 0) or None,
                "gzip": r.headers.get("content-encoding") == "gzip",
            }
            if fmt == "csv":
                result["rows"] = body.count(b"\n") - 1
            elif fmt == "xlsx":
                with zipfile.ZipFile(io.BytesIO(body)) as z:
                    result["sheet_bytes"] = z.getinfo("xl/worksheets/sheet1.xml").file_size
            else:
                document = json.loads(body)
                events = document["epcisBody"]["eventList"]
                result["epcis_events"] = len(events)
                if validate:
                    result["schema_errors"] = _validate(document)
            results.append(result)
    app.state.log.close(close_store=True)
    return results


def _validate(document: dict) -> int:
    """How many schema errors the GS1 EPCIS 2.0 JSON Schema finds (offline; see tests/trace/test_epcis.py)."""
    import re

    from jsonschema import Draft7Validator, FormatChecker

    schema_path = Path(_ROOT).parent / "shared" / "standards" / "epcis" / "EPCIS-JSON-Schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    uri = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")
    checker = FormatChecker(["date-time"])
    checker.checks("uri")(lambda v: not isinstance(v, str) or bool(uri.fullmatch(v)))
    return sum(1 for _ in Draft7Validator(schema, format_checker=checker).iter_errors(document))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = args.data or Path(f"/tmp/farmtrace-export-bench-{args.days}d")
    meta_path = data / "city.json"
    if args.rebuild or not meta_path.exists() or json.loads(meta_path.read_text())["days"] != args.days:
        print(
            f"Building {args.days} days of a city's data in {data} (once; later runs reuse it)…", flush=True
        )
        meta = build(data, args.days, args.workers)
    else:
        meta = json.loads(meta_path.read_text())
        print(f"Reusing the ledger in {data} (built in {meta['build_seconds']} s; --rebuild to build again)")
    print(
        f"\n{meta['days']} days ({meta['first_day']} – {meta['last_day']}): {meta['events']:,} events recorded "
        f"(ledger size {meta['ledger_size']:,}), {meta['lots']:,} lots, {meta['parties']} parties, "
        f"refused attempts {meta['refused']}\n"
    )
    results = measure(data, meta, validate=args.validate)
    print(f"{'export':8} {'seconds':>8} {'goal':>6}  {'size':>12}  notes")
    ok = True
    for r in results:
        within = r["seconds"] < GOAL_SECONDS
        ok &= within
        notes = {k: v for k, v in r.items() if k not in ("format", "seconds", "bytes")}
        print(
            f"{r['format']:8} {r['seconds']:8.2f} {'ok' if within else 'SLOW':>6}  {r['bytes'] / 1e6:9.1f} MB  {notes}"
        )
    print(
        f"\nGoal: each export of {meta['days']} days in under {GOAL_SECONDS:.0f} s — {'met' if ok else 'NOT met'}."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "city": meta,
                    "exports": results,
                    "goal_seconds": GOAL_SECONDS,
                    "machine": platform.platform(),
                },
                indent=2,
            )
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
