"""Witnesses on loopback (issue 16 part 2): latency to a quorum, and what they cost the log's appends.

    python bench/witness_bench.py              the report: 50 checkpoints, 5 A/B rounds of 4 s each
    python bench/witness_bench.py --quick      a smoke run (10 checkpoints, 3 rounds of 1 s)

Three `farmtrace witness serve` processes on 127.0.0.1, each with its own key and SQLite file; a log
on its own SQLite file in this process, with the submitter of ledger/witnessing.py (the one the
service's lifespan starts).

1. quorum latency: append one entry (one durable batch, one new checkpoint), then time until the
   stored checkpoint carries cosignatures of 2 of the 3 witnesses. Goal: p95 <= 1 s. The baseline
   beside it is the append itself (a durable SQLite commit), so the figure reads as "n commits".
2. appends with witnesses: 16 threads appending single entries (every batch is a checkpoint, the
   worst case for the submitter) for a fixed time, with the submitter running vs not, alternated
   (B A B A …, at least 3 each). Goal: rate with >= 0.95x the rate without. The witness processes
   run on this machine too, in both arms, so their CPU is charged to the log only when they work.
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

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The repository root's trace/ would shadow the standard library's `trace` (STYLE.md).
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

from farmtrace.ledger.log import Log  # noqa: E402
from farmtrace.ledger.note import CosignatureSigner, Signer  # noqa: E402
from farmtrace.ledger.sqlstore import SqlStore  # noqa: E402
from farmtrace.ledger.witness import format_log_list  # noqa: E402
from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing  # noqa: E402

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
        f.write(format_log_list([QUORUM_LOG.verifier, INGEST_LOG.verifier]))
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run")
    p.add_argument("--ab-rounds", type=int, default=5, help="A/B pairs of the append benchmark (default 5)")
    args = p.parse_args(argv)
    rounds, ab_rounds, seconds = (10, 3, 1.0) if args.quick else (50, max(3, args.ab_rounds), 4.0)
    tmp = tempfile.mkdtemp(prefix="witness-bench-")
    procs, endpoints = start_witnesses(tmp)
    try:
        q = bench_quorum(tmp, endpoints, rounds)
        print(
            f"quorum (2 of 3) after a new checkpoint: p50 {q['quorum_p50_s'] * 1000:.1f} ms, "
            f"p95 {q['quorum_p95_s'] * 1000:.1f} ms (goal <= 1000 ms; baseline: the append's own durable "
            f"commit, p50 {q['append_commit_p50_s'] * 1000:.1f} ms) over {rounds} checkpoints"
        )
        r = bench_ingest(tmp, endpoints, ab_rounds, seconds)
        fmt = ", ".join
        print(
            f"appends/s, 16 threads, {seconds:.0f} s each, alternated: without witnesses "
            f"[{fmt(f'{x:.0f}' for x in r['rate_without'])}], with three "
            f"[{fmt(f'{x:.0f}' for x in r['rate_with'])}]: ratio of medians {r['ratio_median']:.3f} "
            "(goal >= 0.95)"
        )
        ok = q["quorum_p95_s"] <= 1.0 and r["ratio_median"] >= 0.95
        print("goals met" if ok else "GOAL MISSED")
        return 0 if ok else 1
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
