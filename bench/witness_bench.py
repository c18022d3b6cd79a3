"""Witnesses on loopback (issue 16 part 2): latency to a quorum, and what they cost the log's appends.

    cd /tmp && python /work/main/bench/witness_bench.py   the report (5 minutes at load 6-8)
    ... --quick                                             a smoke run
    ... --postgres                                          the ingest A/B on PostgreSQL too
    ... --only-ingest                                       the ingest A/B (3) alone

Figures and what they mean: docs/witness.md, "Tests and benchmark".

Three `farmtrace witness serve` processes on 127.0.0.1, each with its own key and SQLite file; a log
on its own SQLite file in this process, with the submitter of ledger/witnessing.py (the one the
service's lifespan starts).

1. quorum latency: append one entry (one durable batch, one new checkpoint), then time until the
   stored checkpoint carries cosignatures of 2 of the 3 witnesses. Goal: p95 <= 1 s. The baseline
   beside it is the append itself (a durable SQLite commit), so the figure reads as "n commits".
2. appends with witnesses: 16 threads appending single entries (every batch is a checkpoint, the
   worst case for the submitter) for a fixed time, with the submitter running vs not, alternated
   (B A B A …, at least 3 each). The witness processes run on this machine too, in both arms, so
   their CPU is charged to the log only when they work. For information: the issue's goal is about
   the product's ingest (3).
3. the issue's goal, "ingest with three witnesses configured: >= 0.95x the rate without them":
   signed events (trace_bench.py's History generator and set-up, imported) recorded through
   `TraceService.record_many` in batches of 2,000 on SQLite (and PostgreSQL with --postgres), with
   the submitter running against the same three witness processes vs none, alternated closely
   (without, with, with, without, …; at least 3 each, every run its own fresh chains of events).
   Ratio of the medians; the load average (1 min) is printed beside each run, since the machine is
   shared and its speed drifts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The repository root's trace/ would shadow the standard library's `trace` (STYLE.md).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

from farmtrace.ledger.log import Log  # noqa: E402
from farmtrace.ledger.note import CosignatureSigner, Signer  # noqa: E402
from farmtrace.ledger.sqlstore import SqlStore  # noqa: E402
from farmtrace.ledger.witness import format_log_list  # noqa: E402
from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing  # noqa: E402

if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import trace_bench  # noqa: E402  (its generator and set-up; run by path, as that script is)

# Two logs (one per benchmark): one origin with two histories would be a fork to the witnesses.
QUORUM_LOG = Signer.from_seed("quorum.bench.farmtrace.example/log", bytes(range(32)))
INGEST_LOG = Signer.from_seed("ingest.bench.farmtrace.example/log", bytes(range(1, 33)))
FARMTRACE = os.path.join(os.path.dirname(sys.executable), "farmtrace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_witnesses(tmp: str, n: int = 3) -> tuple[list[subprocess.Popen], list[WitnessEndpoint]]:
    """`n` witness processes trusting both logs; returns them and their endpoints once they listen."""
    logs = os.path.join(tmp, "logs.txt")
    with open(logs, "w") as f:
        f.write(
            format_log_list([QUORUM_LOG.verifier, INGEST_LOG.verifier, trace_bench.log_signer().verifier])
        )
    procs, endpoints = [], []
    for i in range(n):
        signer = CosignatureSigner.generate(f"bench-witness{i}.example/w")
        key = os.path.join(tmp, f"w{i}.key")
        with open(key, "w") as f:
            f.write(signer.key_string() + "\n")
        port = _free_port()
        argv = [FARMTRACE, "witness", "serve", "--db", os.path.join(tmp, f"w{i}.db"), "--key", key]
        procs.append(subprocess.Popen([*argv, "--logs", logs, "--listen", f"127.0.0.1:{port}"]))
        endpoints.append(WitnessEndpoint(f"http://127.0.0.1:{port}", signer.verifier))
    for e in endpoints:
        port = int(e.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"witness on {port} did not start") from None
                time.sleep(0.05)
    return procs, endpoints


def _open_log(tmp: str, name: str, signer: Signer) -> Log:
    return Log(SqlStore.from_url(f"sqlite:///{os.path.join(tmp, name)}"), signer)


def bench_quorum(tmp: str, endpoints: list[WitnessEndpoint], rounds: int) -> dict[str, float]:
    log = _open_log(tmp, "quorum.db", QUORUM_LOG)
    witnessing = Witnessing(log, endpoints)
    witnessing.start()
    names = {e.key.name for e in endpoints}
    latencies, commits = [], []
    try:
        for i in range(rounds + 2):
            t0 = time.perf_counter()
            log.append(f"quorum entry {i}".encode())
            t1 = time.perf_counter()
            size = log.size
            while True:
                cp = log.checkpoint_at(size)
                got = {line.split(" ")[1] for line in cp.cosignatures} & names
                if len(got) >= 2:
                    break
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError(f"no quorum on size {size} after 30 s")
                time.sleep(0.002)
            if i >= 2:  # the first two warm connections and caches
                latencies.append(time.perf_counter() - t1)
                commits.append(t1 - t0)
    finally:
        witnessing.stop()
        log.close(close_store=True)
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    return {
        "quorum_p50_s": statistics.median(latencies),
        "quorum_p95_s": p95,
        "append_commit_p50_s": statistics.median(commits),
    }


def _append_rate(log: Log, seconds: float, threads: int = 16) -> float:
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def writer(t: int) -> None:
        n = 0
        while time.monotonic() < stop:
            log.append(f"thread {t} entry {n} {time.perf_counter_ns()}".encode())
            n += 1
        counts[t] = n

    ts = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def bench_ingest(
    tmp: str, endpoints: list[WitnessEndpoint], rounds: int, seconds: float
) -> dict[str, object]:
    log = _open_log(tmp, "ingest.db", INGEST_LOG)
    without, with_ = [], []
    try:
        for r in range(rounds):
            for arm in ("without", "with") if r % 2 == 0 else ("with", "without"):
                witnessing = Witnessing(log, endpoints) if arm == "with" else None
                if witnessing:
                    witnessing.start()
                rate = _append_rate(log, seconds)
                if witnessing:
                    witnessing.stop()
                (with_ if arm == "with" else without).append(rate)
    finally:
        log.close(close_store=True)
    ratio = statistics.median(with_) / statistics.median(without)
    return {"rate_without": without, "rate_with": with_, "ratio_median": ratio}


def _stop_witnesses(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(10)


def bench_service_ingest(
    url: str, endpoints: list[WitnessEndpoint], *, rounds: int, events: int, echo=print
) -> dict[str, object]:
    """Signed events through `TraceService.record_many` (batches of 2,000) into `url`, with the
    submitter running vs not, alternated; each run records its own fresh chains of `events` events."""
    cast = trace_bench.Cast.make()
    start = datetime.now(trace_bench.CST).replace(microsecond=0) - timedelta(days=20)
    trace_bench.prepared(url, cast, start - timedelta(days=1))
    runs = [("without", "with") if r % 2 == 0 else ("with", "without") for r in range(rounds)]
    echo(f"  generating {2 * rounds} x {events:,} signed events ...")
    chains = [
        trace_bench.chains(cast, prefix=f"W{k}", events=events, start=start, seed=200 + k)
        for k in range(2 * rounds)
    ]
    trace_bench.warm_up_verifiers()
    service = trace_bench.open_service(url)
    rates: dict[str, list[float]] = {"without": [], "with": []}
    loads: dict[str, list[float]] = {"without": [], "with": []}
    try:
        for k, arm in enumerate(a for pair in runs for a in pair):
            witnessing = Witnessing(service.log, endpoints) if arm == "with" else None
            if witnessing:
                witnessing.start()
            try:
                seconds, refused = trace_bench.record_all(service, chains[k])
                # The witnesses worked during the run: the sizes they cosigned, against the log's.
                sizes = [w.cosigned_size or 0 for w in witnessing.status()] if witnessing else []
            finally:
                if witnessing:
                    witnessing.stop()
            if refused:
                raise RuntimeError(f"{refused} events refused in run {k} ({arm})")
            load = os.getloadavg()[0]
            rates[arm].append(len(chains[k]) / seconds)
            loads[arm].append(load)
            cosigned = f", cosigned up to {sizes} of {service.log.size:,}" if witnessing else ""
            echo(
                f"  run {k + 1}: {arm:7} witnesses {rates[arm][-1]:8,.0f} events/s  (load {load:.1f}){cosigned}"
            )
    finally:
        trace_bench.close_service(service)
    ratio = statistics.median(rates["with"]) / statistics.median(rates["without"])
    return {"rates": rates, "loads": loads, "ratio_median": ratio}


def _report_service_ingest(name: str, r: dict[str, object], events: int) -> bool:
    fmt = ", ".join
    rates, loads = r["rates"], r["loads"]
    print(
        f"{name}: events/s through record_many, {events:,} events a run, alternated: "
        f"without witnesses [{fmt(f'{x:,.0f}' for x in rates['without'])}] "
        f"(load {fmt(f'{x:.1f}' for x in loads['without'])}), with three "
        f"[{fmt(f'{x:,.0f}' for x in rates['with'])}] (load {fmt(f'{x:.1f}' for x in loads['with'])}): "
        f"ratio of medians {r['ratio_median']:.3f} (goal >= 0.95)"
    )
    return r["ratio_median"] >= 0.95


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run")
    p.add_argument("--ab-rounds", type=int, default=5, help="A/B pairs of each ingest benchmark (default 5)")
    p.add_argument(
        "--events", type=int, default=10_000, help="events a run of the service ingest (default 10,000)"
    )
    p.add_argument("--postgres", action="store_true", help="the service ingest A/B on PostgreSQL too")
    p.add_argument("--only-ingest", action="store_true", help="only the service ingest A/B (3)")
    args = p.parse_args(argv)
    rounds, ab_rounds, seconds = (10, 3, 1.0) if args.quick else (50, max(3, args.ab_rounds), 4.0)
    events = 2_000 if args.quick else args.events
    tmp = tempfile.mkdtemp(prefix="witness-bench-")
    procs, endpoints = start_witnesses(tmp)
    ok = True
    try:
        if not args.only_ingest:
            q = bench_quorum(tmp, endpoints, rounds)
            print(
                f"quorum (2 of 3) after a new checkpoint: p50 {q['quorum_p50_s'] * 1000:.1f} ms, "
                f"p95 {q['quorum_p95_s'] * 1000:.1f} ms (goal <= 1000 ms; baseline: the append's own "
                f"durable commit, p50 {q['append_commit_p50_s'] * 1000:.1f} ms) over {rounds} checkpoints"
            )
            r = bench_ingest(tmp, endpoints, ab_rounds, seconds)
            fmt = ", ".join
            print(
                f"raw appends/s (information), 16 threads, {seconds:.0f} s each, alternated: without witnesses "
                f"[{fmt(f'{x:.0f}' for x in r['rate_without'])}], with three "
                f"[{fmt(f'{x:.0f}' for x in r['rate_with'])}]: ratio of medians {r['ratio_median']:.3f}"
            )
            ok = q["quorum_p95_s"] <= 1.0
        url = trace_bench.sqlite_url(os.path.join(tmp, "events.db"))
        s = bench_service_ingest(url, endpoints, rounds=ab_rounds, events=events)
        ok = _report_service_ingest("ingest, SQLite", s, events) and ok
    finally:
        _stop_witnesses(procs)
    if args.postgres:
        # The same log key over another history would be a fork to these witnesses: new ones.
        os.makedirs(os.path.join(tmp, "pg"))
        procs, endpoints = start_witnesses(os.path.join(tmp, "pg"))
        try:
            with trace_bench.postgres_schema(trace_bench.DEFAULT_POSTGRES_URL) as url:
                s = bench_service_ingest(url, endpoints, rounds=ab_rounds, events=events)
            ok = _report_service_ingest("ingest, PostgreSQL", s, events) and ok
        finally:
            _stop_witnesses(procs)
    shutil.rmtree(tmp, ignore_errors=True)
    print("goals met" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
