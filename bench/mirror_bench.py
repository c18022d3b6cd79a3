"""Mirror benchmarks: a mirror catching up on a log, against the full audit of the same log; and the
time to restore a service from a mirror.

    cd /tmp && python /work/main/bench/mirror_bench.py [--size N] [--restore-events N] [--json FILE]

(a) **Catch-up.** A log of `--size` entries (default 20,000 for a smoke run; the issue asks for
    1,000,000) is appended to a SQLite file; each entry is shaped like a signed event (bench/ledger_bench.py
    `make_entries`, 351-357 bytes). The baseline is the full audit of that log in the same run
    (`Log.audit`, what `farmtrace verify` runs: every entry hashed, every tile and checkpoint
    checked), in entries/s, on the same engine (SQLite). The mirror (ledger/mirror.py
    `Mirror.follow_once`, from empty, into its own SQLite file, every entry verified against the
    checkpoint) is timed
      - in process: reading the log's tlog-tiles resources with the same `read_resource` the /log/
        routes answer with, in the mirror's own thread (so the "server" formatting each bundle is
        counted against the mirror);
      - over loopback HTTP (api/mirroring.py `HttpTiles`, what `farmtrace mirror` and `restore`
        use) from a `farmtrace publish` directory served by a separate process: nginx with the full
        bundles gzipped once beside them (`gzip_static`, as a static host or CDN keeps them: the
        mirror pays the gunzip, the server nothing), one bundle at a time and FETCH_THREADS at a
        time; nginx compressing every answer (docs/tiles.md's `gzip on`, whose level-1 compression
        of each ~90 kB bundle runs on the same two cores); and `python -m http.server` (HTTP/1.0,
        a new connection per request, no compression: the server of earlier runs).
    Goal: ≥ 0.5× the audit rate. The runs take turns: `--repeat` rounds (default 1) of an audit
    then each mirror once (each into a new mirror file), and a last audit; every rate is the median
    of its runs, the audit's of its `--repeat` + 1 (the machine's load swings from minute to minute). For an A/B against other code, run the script twice with PYTHONPATH naming a
    directory whose `farmtrace/` holds that code's floors (bench/tiles_bench.py `checkout`).

(b) **Restore.** A ledger of `--restore-events` real signed events (default 5,000; the issue asks for
    100,000) is bulk-loaded with its projection by bench/trace_bench.py's checked loader, mirrored, then
    restored from the mirror as `farmtrace restore` does (every entry and checkpoint, and the
    projection re-recorded through the write path); the time is reported, and the restored projection
    must equal the primary's row for row ("valid"). The figure beside it is the replay audit of the
    primary (trace/replay.py, `verify --replay`), which re-records the same entries the same way:
    a restore is that plus copying the ledger and the projection, so about 1× is the expectation.

Prints a table; writes JSON to bench/results/mirror.json (git-ignored) unless --json says otherwise.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The repository root must not be on sys.path: its trace/ folder would shadow the standard library's
# `trace` (STYLE.md); farmtrace itself is imported from the installed package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import ledger_bench  # noqa: E402
import tiles_bench  # noqa: E402
import trace_bench  # noqa: E402

from farmtrace.api.cli.mirror import FETCH_THREADS  # noqa: E402
from farmtrace.api.mirroring import HttpTiles  # noqa: E402
from farmtrace.ledger.checkpoint_list import (  # noqa: E402
    CHECKPOINT_PAGE,
    format_checkpoint_list,
    read_checkpoint_pages,
)
from farmtrace.ledger.log import Log  # noqa: E402
from farmtrace.ledger.mirror import Mirror  # noqa: E402
from farmtrace.ledger.note import Signer  # noqa: E402
from farmtrace.ledger.publication import publish  # noqa: E402
from farmtrace.ledger.sqlstore import SqlStore  # noqa: E402
from farmtrace.ledger.tile_paths import parse_tile_path  # noqa: E402
from farmtrace.ledger.tile_reads import read_resource  # noqa: E402
from farmtrace.trace.clock import CST, utc_now  # noqa: E402
from farmtrace.trace.replay import replay  # noqa: E402
from farmtrace.trace.restore import rebuild_projection  # noqa: E402
from farmtrace.trace.store.compare import first_divergence  # noqa: E402

SIGNER = Signer.from_seed("bench.farmtrace.example/log", bytes(range(32)))
CHUNK = 100_000


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def in_process(log: Log):
    """`fetch(path)` over a Log: the bytes its /log/ routes would answer, without HTTP."""
    size = log.checkpoint().size

    def fetch(path: str) -> bytes:
        if path == "checkpoint":
            return log.checkpoint().note_with_cosignatures().encode()
        if path.startswith("checkpoints?after="):
            after = int(path.partition("=")[2])
            return format_checkpoint_list(
                [cp for cp in log.checkpoints() if cp.size > after][:CHECKPOINT_PAGE]
            )
        return read_resource(log, parse_tile_path(path), size=size)

    return fetch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed_follow(tmp: Path, name: str, fetch, verifier, *, threads: int = 1) -> tuple[float, float, int]:
    """(seconds, CPU seconds of this process's threads, entries) of one follow from empty into a new
    SQLite file."""
    store = SqlStore.from_url(_url(tmp / f"{name}.db"))
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        step = Mirror(store, fetch, log_key=verifier, fetch_threads=threads).follow_once()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert step.size == step.entries, step
        return seconds, cpu, step.size
    finally:
        store.close()
        for suffix in ("", "-wal", "-shm", "-writer"):
            Path(f"{tmp / name}.db{suffix}").unlink(missing_ok=True)


def bench_catch_up(tmp: Path, size: int, repeat: int, echo) -> list[dict]:
    store = SqlStore.from_url(_url(tmp / "primary.db"))
    log = Log(store, SIGNER)
    entries = ledger_bench.make_entries(size, seed=42)
    for at in range(0, size, CHUNK):
        log.append_many(entries[at : at + CHUNK])
    del entries
    echo(f"  log of {size:,} entries appended")
    # Over HTTP: a published directory, served by nginx (docs/tiles.md's setup) from bundles gzipped
    # once, as a static host or CDN keeps them; by nginx compressing every answer; and by Python's
    # http.server (HTTP/1.0, a new connection per request, no compression: earlier runs' figure).
    publish(log, tmp / "published")
    os.chmod(tmp, 0o755)  # nginx's workers read the published files
    _gzip_full_bundles(tmp / "published")
    modes: list[tuple[str, object, int, bool]] = [("in process", in_process(log), 1, True)]
    servers = [
        ("nginx, bundles gzipped once", "static", (1, FETCH_THREADS)),
        ("nginx compressing each answer (gzip level 1)", "on", (FETCH_THREADS,)),
        ("python -m http.server, no compression", "python", (FETCH_THREADS,)),
    ]
    procs = []
    try:
        for server_is, how, thread_counts in servers:
            started = _start_server(tmp / "published", tmp / f"server-{how}", how)
            if started is None:
                echo(f"  {server_is}: nginx is not installed (Debian's nginx-light), left out")
                continue
            procs.append(started[0])
            for threads in thread_counts:
                what = f"over HTTP from {server_is}, {threads} bundle{'s' if threads > 1 else ''} at a time"
                modes.append((what, started[1], threads, True))
            if how == "static":  # `--no-gzip --fetch-threads 1`: a mirror beside its source
                for threads in (1, FETCH_THREADS):
                    what = f"over HTTP from nginx, uncompressed (--no-gzip), {threads} at a time"
                    modes.append((what, started[1], threads, False))
        # Rounds: the audit, then each mirror once; a last audit after the last round. The machine's
        # load swings from minute to minute: taking turns keeps the baseline beside the figures.
        # CPU time (all of this process's threads; not the server's) per entry beside each rate: the
        # load of the machine moves it far less than the wall-clock rate.
        audits: list[float] = []
        audit_cpus: list[float] = []
        runs: list[tuple[str, list[float], list[float]]] = [(what, [], []) for what, *_ in modes]
        for r in range(repeat + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            report = log.audit()
            audits.append(size / (time.perf_counter() - t0))
            audit_cpus.append((time.process_time() - c0) / size * 1e6)
            assert report.ok
            if r == repeat:
                break
            for (_, source, threads, gzip), (_, rates, cpus) in zip(modes, runs, strict=True):
                rate, cpu = _follow_rate(tmp, f"m{r}", source, threads, gzip=gzip)
                rates.append(rate)
                cpus.append(cpu)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        log.close(close_store=True)
    audit_rate = statistics.median(audits)
    rows = []
    audit_cpu = statistics.median(audit_cpus)
    for what, rates, cpus in runs:
        rate, cpu = statistics.median(rates), statistics.median(cpus)
        rows.append(
            {
                "name": f"mirror catch-up, {size:,} entries, {what}",
                "farmtrace": rate,
                "baseline": audit_rate,
                "baseline_is": "Log.audit (farmtrace verify) of the same log",
                "ratio": rate / audit_rate,
                "goal": "≥ 0.5×",
                "passed": rate / audit_rate >= 0.5,
                "runs": rates,
                "audit_runs": audits,
                "cpu_us_per_entry": cpu,
                "cpu_runs": cpus,
                "audit_cpu_us_per_entry": audit_cpu,
                "audit_cpu_runs": audit_cpus,
            }
        )
        echo(
            f"  {what}: {rate:,.0f}/s, {rate / audit_rate:.2f}× the audit's {audit_rate:,.0f}/s; "
            f"CPU {cpu:.1f} µs/entry, the audit's {audit_cpu:.1f}"
        )
    return rows


def _follow_rate(tmp: Path, name: str, source, threads: int, *, gzip: bool = True) -> tuple[float, float]:
    """The catch-up rate (entries/s) and CPU µs per entry of a new mirror reading `source` (a fetch,
    or a URL for HttpTiles, asking for gzip or not) with `threads` fetch threads."""
    fetch = HttpTiles(source, gzip=gzip) if isinstance(source, str) else source
    try:
        seconds, cpu, size = _timed_follow(tmp, name, fetch, SIGNER.verifier, threads=threads)
    finally:
        if isinstance(source, str):
            fetch.close()
    return size / seconds, cpu / size * 1e6


def _gzip_full_bundles(root: Path) -> None:
    """Beside each full entry bundle, its gzip (`<bundle>.gz`, for nginx's gzip_static)."""
    for path in (root / "tile" / "entries").rglob("*"):
        if path.is_file() and path.suffix != ".gz" and not path.parent.name.endswith(".p"):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))


def _start_server(root: Path, state: Path, how: str) -> tuple[subprocess.Popen, str] | None:
    """A server of the published `root` on a free loopback port, answering: nginx with `how` "static"
    (gzip_static: the .gz files) or "on" (gzip on), or "python" (`python -m http.server`)."""
    if how == "python":
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
    else:
        if not os.path.exists(tiles_bench.NGINX):
            return None
        state.mkdir(parents=True)
        port = _free_port()
        config = tiles_bench.nginx_config(root, port, state)
        if how == "static":
            assert "    gzip on;\n" in config
            config = config.replace("    gzip on;\n", "    gzip_static on;\n")
        (state / "nginx.conf").write_text(config)
        proc = subprocess.Popen([tiles_bench.NGINX, "-c", str(state / "nginx.conf"), "-p", str(state)])
        url = f"http://127.0.0.1:{port}/log"
    tiles_bench._wait(url, proc, how)
    return proc, url


def bench_restore(tmp: Path, events: int, echo) -> dict:
    cast = trace_bench.Cast.make()
    start = datetime.now(CST).replace(microsecond=0) - timedelta(days=40)
    primary = trace_bench.open_service(_url(tmp / "service.db"))
    n = trace_bench.bulk_load(
        primary, trace_bench.History(cast, prefix="T", start=start), events=events, echo=echo
    )
    echo(f"  primary of {n:,} events loaded")
    # The mirror, as `farmtrace mirror` keeps it.
    mirror_store = SqlStore.from_url(_url(tmp / "mirror.db"))
    key = trace_bench.log_signer().verifier
    Mirror(mirror_store, in_process(primary.log), log_key=key).follow_once()
    mirror_log = Log(mirror_store, key)
    # The restore, timed: ledger, checkpoints, projection (api/cli/restore.py's steps, without HTTP).
    t0 = time.perf_counter()
    store = SqlStore.from_url(_url(tmp / "restored.db"))
    copy = Mirror(store, in_process(mirror_log), log_key=key)
    copy.follow_once()
    copy.keep_checkpoints(read_checkpoint_pages(in_process(mirror_log), log_key=key))
    rows = rebuild_projection(Log(store, key), store.engine, clock=utc_now, workdir=tmp)
    seconds = time.perf_counter() - t0
    valid = first_divergence(primary.engine, store.engine) is None
    echo(f"  restored {n:,} events ({rows:,} rows) in {seconds:.1f} s; projection equal: {valid}")
    # Beside it: the replay audit of the primary (`farmtrace verify --replay`), the same re-recording.
    trace_bench.warm_up_verifiers()
    t1 = time.perf_counter()
    replay(primary.log, clock=utc_now, workdir=tmp)
    replay_s = time.perf_counter() - t1
    store.close()
    trace_bench.close_service(primary)
    mirror_store.close()
    return {
        "name": f"restore from a mirror, {n:,} events",
        "farmtrace": n / seconds,
        "seconds": seconds,
        "baseline": n / replay_s,
        "baseline_is": "trace.replay.replay (verify --replay) of the primary",
        "ratio": replay_s / seconds,
        "goal": "report",
        "passed": None,
        "valid": valid,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=20_000, help="entries for the catch-up (issue: 1,000,000)")
    p.add_argument(
        "--restore-events", type=int, default=5_000, help="events for the restore (issue: 100,000)"
    )
    p.add_argument("--repeat", type=int, default=1, help="runs per catch-up rate (median)")
    p.add_argument("--json", default=os.path.join(_HERE, "results", "mirror.json"))
    p.add_argument("--no-restore", action="store_true", help="run the catch-up only")
    args = p.parse_args(argv)
    echo = lambda text: print(text, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="farmtrace-mirror-bench-") as tmp:
        echo("(a) catch-up")
        results = bench_catch_up(Path(tmp), args.size, args.repeat, echo)
        if not args.no_restore:
            echo("(b) restore")
            results.append(bench_restore(Path(tmp), args.restore_events, echo))
    echo("")
    for r in results:
        verdict = "info" if r["passed"] is None else ("PASS" if r["passed"] else "MISS")
        if r.get("valid") is False:
            verdict = "INVALID"
        extra = f" ({r['seconds']:.1f} s)" if "seconds" in r else ""
        echo(
            f"{r['name']}: {r['farmtrace']:,.0f}/s{extra}; baseline {r['baseline']:,.0f}/s ({r['baseline_is']}); "
            f"ratio {r['ratio']:.2f}×; goal {r['goal']}: {verdict}"
        )
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"at": utc_now().isoformat(), "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
