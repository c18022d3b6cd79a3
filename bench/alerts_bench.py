"""Alerts over 90 days of a city (issue 20 §1-§2): what finding them costs, and that capture does not
pay for it.

    cd /tmp && python /work/main/bench/alerts_bench.py --quick      # under a minute (a thin city)
    cd /tmp && python /work/main/bench/alerts_bench.py              # 90 days at a quarter of the volume
    ... --days N --scale F --workers W --json FILE

The city is tests/web/console_support.py's `build_city` (58 parties; harvests, tests, certificates,
shipments, market entry, splits, wholesale and retail sales, every event signed and recorded through
`TraceService.record_many`), with one thing added for this bench: every shipment carries its lorry's
logger readings (four temperatures over three hours, 2-7 °C; about one shipment in 60 runs hot, up
to 41 °C), added to the signed event itself, so alerts have readings to judge; and about one sale
in 400 is keyed in at 30 times its price, so price alerts have something to find (the report gives
how many of those were found, and how many other prices were flagged).

What is measured, on SQLite, one run each:

(a) **ingest, alerting off**: build the city into an empty database; events per second. (a), (b),
    (b') and (e)-(e'') are run in turns, twice each by default (--rounds; once with --quick), each
    round starting one mode further on, after a short build that is not counted, and each one's
    best run is reported: the machine is shared, and a single run is at the mercy of whoever else
    runs.
(b) **ingest, alerting on**: the same city into another empty database while a thread keeps the
    alerts current the whole time (`Alerts.refresh()` back to back: far harder than any console);
    events per second. (b') the same with a refresh every second (a busy console). Alerts are found after capture by a scan of
    the log (trace/alerts.py): the write path does not change, so (b) shows what the concurrent
    scan costs capture through the shared CPU and database, nothing more.
(e) **ingest, the scan in a process of its own** (FARMTRACE_ALERT_KEEPER=process,
    trace/alert_process.py): the same city while an `AlertProcess` scans back to back; (e') the same
    with a scan every second; (e'') as the app runs it, nudged after each ingest batch. Run in turns
    with (a)-(b') and reported against (a), with the child's CPU and scans.
(c) **a full scan**: drop the alert tables' rows and scan the whole log again; seconds, and entries
    per second, with the alerts found by signal; they must be those (b') found incrementally.
(d) **an idle refresh**: a refresh with nothing new (what every alerts page pays); milliseconds.

(c) is run on the last mode's log, (e'')'s: the alerts the process found incrementally while
ingesting must equal those the full scan finds again.

Prints one table and writes JSON to bench/results/alerts.json (or --json FILE).
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import delete  # noqa: E402

from farmtrace.api.app import create_app  # noqa: E402
from farmtrace.api.settings import Settings  # noqa: E402
from farmtrace.ledger.note import Signer as LogSigner  # noqa: E402
from farmtrace.trace.alert_process import DEFAULT_POLL, AlertProcess, open_log_reader  # noqa: E402
from farmtrace.trace.alerts import Alerts  # noqa: E402
from farmtrace.trace.model.units import format_decimal  # noqa: E402
from farmtrace.trace.store import alerts as alert_store  # noqa: E402

LOG_SIGNER = LogSigner.from_seed("farmtrace.local/log", bytes(range(32)))


def _load_support():
    """tests/web/console_support.py, by path (it imports only the standard library and farmtrace)."""
    path = Path(_ROOT) / "tests" / "web" / "console_support.py"
    spec = importlib.util.spec_from_file_location("farmtrace_console_support", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _with_readings(support, injected: list[str]) -> None:
    """Make every shipment of the city carry its logger's readings, and about one sale in 400 carry
    30 times its price (its lot is added to `injected`); see the module docstring."""
    add = support._City.add

    def add_with_readings(self, p, said, at, *, refused=None):
        if said["kind"] == "ship" and "sensors" not in said:
            rng = random.Random(at + said["inputs"][0]["lot"])
            start = datetime.fromisoformat(at)
            hot = rng.random() < 1 / 60
            values = [rng.uniform(2, 7) for _ in range(4)]
            if hot:
                values[1:3] = [rng.uniform(31, 41), rng.uniform(31, 41)]
            said = {**said, "sensors": [
                {"type": "temperature", "value": f"{v:.1f}".rstrip("0").rstrip(".") or "0", "unit": "Cel",
                 "time": (start + timedelta(minutes=60 * i)).isoformat()}
                for i, v in enumerate(values)
            ]}  # fmt: skip
        if said["kind"] == "sell" and "price" in said and refused is None:
            rng = random.Random(at + said["inputs"][0]["lot"] + "price")
            if rng.random() < 1 / 400:  # a sale keyed in at 30 times its price
                amount = Decimal(said["price"]["amount"]) * 30
                said = {**said, "price": {**said["price"], "amount": format_decimal(amount)}}
                injected.append(said["inputs"][0]["lot"])
        return add(self, p, said, at, refused=refused)

    support._City.add = add_with_readings


def _app(data: Path):
    settings = Settings.from_env(
        {}, data_dir=data, database_url=f"sqlite:///{data / 'db.sqlite'}", log_key=LOG_SIGNER.key_string()
    )
    return create_app(settings)


def _alerts(app) -> Alerts:
    return Alerts.of(app.state.log, app.state.service.engine, watch=app.state.settings.price_watch())


NUDGED = -1.0  # `every` of the process mode nudged after each ingest batch, as the app runs it


def _keeper(app, data: Path, every: float) -> AlertProcess:
    """An alert keeper's process over the app's log: polling every `every` seconds (0: back to back),
    or with `NUDGED` nudged by each ingest batch (and polling at the default)."""
    _alerts(app)  # its tables, with their default thresholds, made here before the child starts
    opener = partial(open_log_reader, f"sqlite:///{data / 'db.sqlite'}", LOG_SIGNER.verifier.key_string())
    keeper = AlertProcess(
        opener, watch=app.state.settings.price_watch(), poll=DEFAULT_POLL if every < 0 else every
    )
    if every < 0:
        index_nudge = app.state.service.recorder.after_batch

        def after_batch() -> None:
            if index_nudge is not None:
                index_nudge()
            keeper.nudge()

        app.state.service.recorder.after_batch = after_batch
    return keeper


def ingest(
    support, data: Path, *, days: int, scale: float, workers: int, every: float | None, process: bool = False
) -> dict:
    """Build the city into `data`; with `every` (seconds between refreshes, 0: back to back), a
    thread refreshes the alerts all along, or with `process` an alert keeper's process scans (see
    `_keeper`)."""
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    app = _app(data)
    if process:
        assert every is not None
        return _ingest_kept(support, app, data, days=days, scale=scale, workers=workers, every=every)
    stop = threading.Event()
    refreshes = [0]

    def keep_current() -> None:
        alerts = _alerts(app)
        while not stop.is_set():
            alerts.refresh()
            refreshes[0] += 1
            if every:
                stop.wait(every)

    scanner = threading.Thread(target=keep_current, daemon=True) if every is not None else None
    started, cpu = time.perf_counter(), time.process_time()
    if scanner:
        scanner.start()
    stats = support.build_city(app.state.service, days=days, scale=scale, workers=workers)
    took = time.perf_counter() - started
    cpu = time.process_time() - cpu  # this process's threads: ingest (and a scanning thread)
    stop.set()
    if scanner:
        scanner.join()
    return {
        "refresh_every_s": every,
        "events": stats.events,
        "seconds": round(took, 2),
        "ingest_cpu_s": round(cpu, 2),
        "events_per_s": round(stats.events / took),
        "refreshes": refreshes[0],
        "app": app,
    }


def _ingest_kept(support, app, data: Path, *, days: int, scale: float, workers: int, every: float) -> dict:
    keeper = _keeper(app, data, every)
    keeper.start()
    started, cpu = time.perf_counter(), time.process_time()
    stats = support.build_city(app.state.service, days=days, scale=scale, workers=workers)
    took = time.perf_counter() - started
    cpu = time.process_time() - cpu  # this process's threads: ingest (and a scanning thread)
    caught_up = keeper.wait_scanned(app.state.log.size, timeout=600)  # (c) checks its rows
    report = keeper.stop()
    return {
        "keeper": "process",
        "refresh_every_s": None if every < 0 else every,
        "nudged": every < 0,
        "events": stats.events,
        "seconds": round(took, 2),
        "ingest_cpu_s": round(cpu, 2),
        "events_per_s": round(stats.events / took),
        "refreshes": report.scans if report else None,
        "keeper_cpu_s": round(report.cpu_seconds, 2) if report else None,
        "caught_up": caught_up,
        "app": app,
    }


def full_scan(app) -> dict:
    """Forget every alert and scan the whole log again; then an idle refresh."""
    alerts = _alerts(app)
    with alert_store.alert_engine(app.state.service.engine).begin() as conn:
        conn.execute(delete(alert_store.TraceAlert.__table__))
        conn.execute(delete(alert_store.TraceAlertMark.__table__))
    size = app.state.log.size
    started = time.perf_counter()
    added = alerts.refresh()
    took = time.perf_counter() - started
    idle = []
    for _ in range(5):
        t0 = time.perf_counter()
        alerts.refresh()
        idle.append(time.perf_counter() - t0)
    by_signal: dict[str, int] = {}
    for a in alerts.list(limit=100_000):
        by_signal[a.signal] = by_signal.get(a.signal, 0) + 1
    return {
        "entries": size,
        "seconds": round(took, 3),
        "entries_per_s": round(size / took),
        "alerts": added,
        "by_signal": by_signal,
        "idle_refresh_ms": round(sorted(idle)[len(idle) // 2] * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a thin city (scale 0.03): under a minute")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument(
        "--scale", type=float, default=None, help="the city's volume (default 0.25; --quick 0.03)"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=None, help="the modes in turns (default 2; --quick 1)")
    ap.add_argument("--json", default=str(Path(_ROOT) / "bench" / "results" / "alerts.json"))
    cfg = ap.parse_args(argv)
    scale = cfg.scale if cfg.scale is not None else (0.03 if cfg.quick else 0.25)
    cfg.rounds = cfg.rounds or (1 if cfg.quick else 2)
    support = _load_support()
    injected: list[str] = []
    _with_readings(support, injected)
    tmp = Path(tempfile.mkdtemp(prefix="farmtrace-alerts-bench-"))
    # (where, every): off; a thread back to back, every second; a process back to back, every
    # second, nudged by each batch (the app's way).
    modes: tuple[tuple[str, float | None], ...] = (
        ("off", None), ("thread", 0.0), ("thread", 1.0), ("process", 0.0), ("process", 1.0), ("process", NUDGED),
    )  # fmt: skip
    runs: dict[tuple[str, float | None], list[dict]] = {m: [] for m in modes}
    try:
        print(f"city: {cfg.days} days at scale {scale}, {cfg.workers} workers, SQLite in {tmp}", flush=True)
        # A short build first, not counted: imports, the verification workers, the file cache.
        ingest(support, tmp / "warm-up", days=3, scale=scale, workers=cfg.workers, every=None)[
            "app"
        ].state.log.close(close_store=True)
        # The modes in turns, `rounds` times, each round starting one mode further on (so that a
        # machine getting busier or quieter favours no mode); each mode's best run counts (the
        # machine is shared). The nudged process's last log is kept for (c).
        app, checked = None, ("process", NUDGED)
        for n in range(cfg.rounds):
            for where, every in modes[n % len(modes) :] + modes[: n % len(modes)]:
                injected.clear()
                run = ingest(support, tmp / f"{n}-{where}-{every}", days=cfg.days, scale=scale,
                             workers=cfg.workers, every=every, process=where == "process")  # fmt: skip
                if (where, every) == checked:
                    if app is not None:
                        app.state.log.close(close_store=True)
                    app, checked_injected = run.pop("app"), list(injected)
                else:
                    run.pop("app").state.log.close(close_store=True)
                runs[(where, every)].append(run)
                side = (
                    "off" if every is None
                    else f"on, {where}, " + ("nudged" if every == NUDGED else f"a scan every {every} s")
                )  # fmt: skip
                print(
                    f"  round {n + 1}, alerting {side}: {run['events']:,} events in {run['seconds']} s",
                    flush=True,
                )
        off, on, calm, kept, kept_calm, kept_nudged = (
            max(runs[m], key=lambda r: r["events_per_s"]) for m in modes
        )
        # The nudged process's app: its alerts were found incrementally while it ingested.
        incremental = {(a.event_id, a.signal) for a in _alerts(app).list(limit=100_000)}
        scan = full_scan(app)
        again = {(a.event_id, a.signal) for a in _alerts(app).list(limit=100_000)}
        scan["incremental_equals_full"] = incremental == again
        found = {a.lot for a in _alerts(app).list(signal="price", limit=100_000)}
        scan["price_injected"] = len(set(checked_injected))
        scan["price_injected_found"] = len(found & set(checked_injected))
        scan["price_other_flagged"] = len(found - set(checked_injected))
        app.state.log.close(close_store=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = on["events_per_s"] / off["events_per_s"]
    calm_ratio = calm["events_per_s"] / off["events_per_s"]
    kept_ratio, kept_calm_ratio, kept_nudged_ratio = (
        r["events_per_s"] / off["events_per_s"] for r in (kept, kept_calm, kept_nudged)
    )
    rows = [
        ("(a) ingest, alerting off", f"{off['events_per_s']:,} events/s", f"{off['events']:,} events, {off['seconds']} s, {off['ingest_cpu_s']} s of CPU"),
        ("(b) ingest, refresh back to back", f"{on['events_per_s']:,} events/s",
         f"{ratio:.2f}x of (a); {on['refreshes']:,} refreshes during it"),
        ("(b') ingest, refresh every 1 s", f"{calm['events_per_s']:,} events/s",
         f"{calm_ratio:.2f}x of (a); {calm['refreshes']:,} refreshes during it"),
        ("(e) ingest, process scans back to back", f"{kept['events_per_s']:,} events/s",
         f"{kept_ratio:.2f}x of (a); {kept['refreshes']:,} scans, {kept['keeper_cpu_s']} s of its CPU"),
        ("(e') ingest, process scans every 1 s", f"{kept_calm['events_per_s']:,} events/s",
         f"{kept_calm_ratio:.2f}x of (a); {kept_calm['refreshes']:,} scans, {kept_calm['keeper_cpu_s']} s of its CPU"),
        ("(e'') ingest, process nudged per batch", f"{kept_nudged['events_per_s']:,} events/s",
         f"{kept_nudged_ratio:.2f}x of (a); {kept_nudged['refreshes']:,} scans, "
         f"{kept_nudged['keeper_cpu_s']} s of its CPU"),
        ("(c) full scan", f"{scan['entries_per_s']:,} entries/s",
         f"{scan['entries']:,} entries in {scan['seconds']} s; alerts {scan['by_signal']}"),
        ("(d) idle refresh", f"{scan['idle_refresh_ms']} ms", "median of 5"),
        ("price alerts", f"{scan['price_injected_found']} / {scan['price_injected']}",
         f"30-fold prices found; {scan['price_other_flagged']} other prices flagged"),
        ("incremental = full scan", str(scan["incremental_equals_full"]), "(e'')'s alerts, found again by (c)"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print()
    for name, figure, note in rows:
        print(f"{name:<{width}}  {figure:>20}  {note}")
    out = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "city": {"days": cfg.days, "scale": scale, "workers": cfg.workers, "rounds": cfg.rounds},
        "ingest_off": off,
        "ingest_back_to_back": on,
        "back_to_back_over_off": round(ratio, 3),
        "ingest_every_1s": calm,
        "every_1s_over_off": round(calm_ratio, 3),
        "process_back_to_back": kept,
        "process_back_to_back_over_off": round(kept_ratio, 3),
        "process_every_1s": kept_calm,
        "process_every_1s_over_off": round(kept_calm_ratio, 3),
        "process_nudged": kept_nudged,
        "process_nudged_over_off": round(kept_nudged_ratio, 3),
        "runs": {f"{w} {e}": [r["seconds"] for r in runs[(w, e)]] for w, e in modes},
        "full_scan": scan,
    }
    Path(cfg.json).parent.mkdir(parents=True, exist_ok=True)
    Path(cfg.json).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {cfg.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
