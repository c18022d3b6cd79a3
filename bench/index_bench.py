"""The head index's costs (issue 17 §2): ingest with and without it, and a lot's proof at 1M lots.

    cd /tmp && python /work/main/bench/index_bench.py [--events N] [--rounds R] [--lag S] [--lots N] [--json FILE]

(a) **Ingest A/B.** The same signed history (bench/trace_bench.py's supply chain: registrations,
    then chains of harvests, tests, shipments, splits, merges and sales) recorded through
    `TraceService.record_many` in batches of 2,000 on a fresh SQLite database per run, as the arms
    (`--arms`, default ABK): A without the index; B with it kept as the server keeps it by default
    (an `IndexKeeper` with `--lag`, by default FARMTRACE_INDEX_LAG's 10 s, its background thread in
    the ingesting process, nudged after each batch); K with it kept by a keeper process of its own
    (`KeeperProcess`, FARMTRACE_INDEX_KEEPER=process); P (`--plain`) as B with the plain hook, before
    the speed work. The first index entry is due at once, as on a server that has run for a while.
    R rounds, every other one in the reverse order; per round and arm, the wall rate and its ratio
    to A's, and the CPU of every process involved: the ingesting one (`process_time`), the signature
    workers (from /proc, before and after the run) and the keeper's process (its own report). A fast
    run commits few index entries and leaves most events unindexed, so at the end of each B/K/P run
    the index is brought up to date (the catch-up, timed: a server does it within the lag; counted
    as the keeper's CPU), and the last root is checked against the reference (`MemoryIndex`).
    Reported per arm, medians over the rounds: the rate ratio (the issue's metric; goal >= 0.90), the
    ingesting process's CPU with the catch-up over A's, all processes' CPU over A's, the keeping's
    CPU per event, the time the keeper held the log's write lock, and a CPU-bound rate ratio (a
    model: `cpu_bound`). On a loaded machine the wall rates are noise; the CPU figures are steadier.

(b) **Proof size at 1M lots.** A map of `--lots` lot heads (default 1,000,000) is built with
    `update_map` in batches of 100,000 on SQLite node rows (`MapNodes`), outside the service; 1,000 random
    lots are proven (`prove_key`) and checked (`check_key`). Reported: siblings per proof (all, and
    non-empty), and the bytes of the JSON proof (`MapProof.to_wire`, compact JSON), mean and p95;
    and the build and prove times.

Prints the figures and writes JSON to bench/results/index.json. Run it by path from outside the
repository (see bench/README.md).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]  # see trace_bench.py
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from functools import partial  # noqa: E402

from sqlalchemy import create_engine  # noqa: E402
from trace_bench import (  # noqa: E402
    CST,
    Cast,
    chains,
    close_service,
    log_signer,
    open_service,
    percentile,
    prepared,
    record_all,
    sqlite_url,
    warm_up_verifiers,
)

from farmtrace.ledger.verifiable_map import check_key, prove_key, update_map  # noqa: E402
from farmtrace.trace import index_keeper  # noqa: E402
from farmtrace.trace.head_index import LotHead, decode_index_entry, is_index_entry, lot_map_key, value_hash  # noqa: E402
from farmtrace.trace.index_keeper import DEFAULT_LAG, IndexKeeper  # noqa: E402
from farmtrace.trace.index_process import KeeperProcess, open_sql_log  # noqa: E402
from farmtrace.trace.index_state import IndexChanges, MemoryIndex, fold_entries  # noqa: E402
from farmtrace.trace.store.index_store import create_index_tables  # noqa: E402
from farmtrace.trace.store.map_rows import MapNodes, node_engine  # noqa: E402


@contextmanager
def plain_hook() -> Iterator[None]:
    """The keeper's hook as it was before the speed work: the plain fold and the plain map update
    (the `--plain` arm, a before/after in one run)."""
    saved = index_keeper.fold_entries_fast, index_keeper.change_values, index_keeper.update_map_batched
    index_keeper.fold_entries_fast, index_keeper.update_map_batched = fold_entries, update_map
    index_keeper.change_values = IndexChanges.values
    try:
        yield
    finally:
        index_keeper.fold_entries_fast, index_keeper.change_values, index_keeper.update_map_batched = saved


def descendants_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every live process descended from this one, by pid (/proc):
    the signature workers, and the keeper's process while it runs."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2 :].split()  # fields 3...: state, ppid, ..., utime (14), stime (15)
        parent[int(name)], cpu[int(name)] = int(rest[1]), (int(rest[11]) + int(rest[12])) / tick
    found, todo = {}, [os.getpid()]
    while todo:
        me = todo.pop()
        for pid, ppid in parent.items():
            if ppid == me and pid not in found:
                found[pid] = cpu[pid]
                todo.append(pid)
    return found


def ingest_once(
    tmp: str, cast: Cast, entries: list[bytes], start: datetime, *, arm: str, lag: float, n: int
) -> dict:
    """Record `entries` on a fresh SQLite database (named after the round and the arm) as `arm`:
    A without the index, B with it kept in the ingesting process (the keeper's background thread),
    K with it kept by a keeper process of its own (`KeeperProcess`), P as B with the plain hook.
    Asserts that nothing is refused; with the index, checks the last committed root."""
    if arm == "P":
        with plain_hook():
            return _ingest_once(tmp, cast, entries, start, arm="P", lag=lag, n=n)
    return _ingest_once(tmp, cast, entries, start, arm=arm, lag=lag, n=n)


def _ingest_once(
    tmp: str, cast: Cast, entries: list[bytes], start: datetime, *, arm: str, lag: float, n: int
) -> dict:
    url = sqlite_url(f"{tmp}/ingest-{n}-{arm}.db")
    prepared(url, cast, start - timedelta(days=1))
    service = open_service(url)
    keeper, process = None, None
    try:
        spent = [0.0, 0.0, 0.0]  # seconds of the keeper (B): the hook's wall and CPU; prepare's CPU
        if arm in "BP":
            keeper = IndexKeeper(service.log, clock=time.time, lag=lag)
            keeper.started -= lag  # as a server that has run for a while: the first one is due at once
            compute = keeper.compute

            def timed(txn, size, read, **kw):
                w, c = time.perf_counter(), time.thread_time()
                try:
                    return compute(txn, size, read, **kw)
                finally:
                    spent[0] += time.perf_counter() - w
                    spent[1] += time.thread_time() - c

            prepare = keeper.prepare

            def timed_prepare(*args):
                c = time.thread_time()
                try:
                    return prepare(*args)
                finally:
                    spent[2] += time.thread_time() - c

            store_prepared = keeper.store_prepared

            def timed_write(prepared):  # the prepared nodes' rows, outside the lock: with prepare
                c = time.thread_time()
                try:
                    return store_prepared(prepared)
                finally:
                    spent[2] += time.thread_time() - c

            keeper.compute, keeper.prepare = timed, timed_prepare  # type: ignore[method-assign]
            keeper.store_prepared = timed_write  # type: ignore[method-assign]
            service.recorder.after_batch = keeper.nudge
            keeper.start()
        elif arm == "K":
            create_index_tables(service.log.engine)
            opener = partial(open_sql_log, url, log_signer().key_string())
            process = KeeperProcess(opener, lag=lag, due_at_start=True)
            process.start()
            service.recorder.after_batch = process.nudge
        workers = descendants_cpu()
        cpu = time.process_time()
        seconds, refused = record_all(service, entries)
        assert not refused, f"{refused} events refused: not a fresh database?"
        cpu = time.process_time() - cpu
        after = descendants_cpu()
        keeper_pid = process._process.pid if process is not None else None
        workers_cpu = sum(c - workers.get(pid, 0.0) for pid, c in after.items() if pid != keeper_pid)
        out = {
            "arm": arm, "rate": len(entries) / seconds, "seconds": seconds, "refused": refused,
            "cpu_seconds": cpu, "workers_cpu_seconds": workers_cpu, "keeper_cpu_seconds": 0.0,
        }  # fmt: skip
        if arm == "A":
            out["total_cpu_seconds"] = cpu + workers_cpu
            return out
        if keeper is not None:
            keeper.stop()
            out["index_cpu_seconds"] = spent[1] + spent[2]
            out["locked_wall_seconds"], out["locked_cpu_seconds"] = spent[0], spent[1]
        if process is not None:
            report = process.stop()
            assert report is not None, "the keeper's process gave no report"
            out["keeper_cpu_seconds"] = report.cpu_seconds
            out["index_cpu_seconds"] = report.prepare_cpu_seconds + report.locked_cpu_seconds
            out["locked_wall_seconds"] = report.locked_wall_seconds
            out["locked_cpu_seconds"] = report.locked_cpu_seconds
        # Catch up: index the events the run left after its last index entry (a server does so
        # within the lag), so that the CPU covers indexing every event, as in a steady state. It is
        # the keeper's work: in the ingesting process for B, in the keeper's for K.
        before_catch_up = [e for _, e in service.log.read_entries(0, service.log.size)]
        out["indexed_in_run"] = max((i for i, e in enumerate(before_catch_up) if is_index_entry(e)), default=0)
        catch = IndexKeeper(service.log, clock=time.time, lag=0)
        catch_up, catch_up_wall = time.process_time(), time.perf_counter()
        catch.commit_due()
        out["catch_up_cpu_seconds"] = time.process_time() - catch_up
        out["catch_up_wall_seconds"] = time.perf_counter() - catch_up_wall
        # A conservative rate: as if the catch-up could not overlap the ingest at all.
        out["rate_with_catch_up"] = len(entries) / (seconds + out["catch_up_wall_seconds"])
        if arm == "K":
            out["keeper_cpu_seconds"] += out["catch_up_cpu_seconds"]
            out["cpu_with_catch_up"] = cpu
        else:
            out["cpu_with_catch_up"] = cpu + out["catch_up_cpu_seconds"]
        out["total_cpu_seconds"] = out["cpu_with_catch_up"] + workers_cpu + out["keeper_cpu_seconds"]
        log = service.log
        all_entries = [e for _, e in log.read_entries(0, log.size)]
        out["index_entries"] = sum(map(is_index_entry, all_entries))
        last = max(i for i, e in enumerate(all_entries) if is_index_entry(e))
        reference = MemoryIndex()
        reference.fold(0, all_entries[:last])
        assert decode_index_entry(all_entries[last]) == reference.entry(last), "the committed root is wrong"
        out["last_index_entry_checked"] = last
        # The keeper's CPU per event it folded (the run's and the catch-up's; K: its whole process).
        kept = (
            out["keeper_cpu_seconds"]
            if arm == "K"
            else out["index_cpu_seconds"] + out["catch_up_cpu_seconds"]
        )
        out["hook_us_per_event"] = kept / last * 1e6
        return out
    finally:
        close_service(service)


def _line(arm: dict, base: dict) -> str:
    x = f"  {arm['arm']}: {arm['rate']:,.0f}/s (x{arm['rate'] / base['rate']:.3f}); CPU s ingest {arm['cpu_seconds']:.1f}"
    x += f", workers {arm['workers_cpu_seconds']:.1f}"
    if arm["arm"] != "A":
        x += (
            f", keeper process {arm['keeper_cpu_seconds']:.1f}, catch-up {arm['catch_up_cpu_seconds']:.2f}; total"
            f" {arm['total_cpu_seconds']:.1f} (x{arm['total_cpu_seconds'] / base['total_cpu_seconds']:.3f});"
            f" ingest+catch-up x{arm['cpu_with_catch_up'] / base['cpu_seconds']:.3f}; {arm['index_entries']}"
            f" index entries, under the write lock {arm['locked_wall_seconds']:.2f} s wall /"
            f" {arm['locked_cpu_seconds']:.2f} s CPU,"
            f" keeping {arm['hook_us_per_event']:.0f} us/event"
        )
    else:
        x += f"; total {arm['total_cpu_seconds']:.1f}"
    return x


def cpu_bound(run: dict) -> float:
    """A model, not a measurement: the seconds `run` would take on this machine's cores with nothing
    else running, if CPU were all it waited for: the ingesting process's CPU (one process: serial;
    with the catch-up when the keeper is in it), or all its processes' CPU over the cores, whichever
    is longer. The rate ratio of two arms is then the inverse ratio of these."""
    serial = run.get("cpu_with_catch_up", run["cpu_seconds"])
    return max(serial, run["total_cpu_seconds"] / (os.cpu_count() or 1))


def bench_ingest(cfg: argparse.Namespace, tmp: str) -> dict:
    cast = Cast.make()
    start = datetime.now(CST).replace(microsecond=0) - timedelta(days=20)
    entries = chains(cast, prefix="I", events=cfg.events, start=start, seed=5)
    warm_up_verifiers()
    arms = cfg.arms + ("P" if cfg.plain and "P" not in cfg.arms else "")
    rounds = []
    for r in range(cfg.rounds):
        order = arms if r % 2 == 0 else arms[::-1]  # every other round in the reverse order
        runs = {arm: ingest_once(tmp, cast, entries, start, arm=arm, lag=cfg.lag, n=r) for arm in order}
        a = runs["A"]
        print(f"  round {r + 1} (load average {os.getloadavg()[0]:.1f}), order {order}:", flush=True)
        for arm in arms:
            print("  " + _line(runs[arm], a), flush=True)
        rounds.append(runs)
    summary: dict = {}
    for arm in arms[1:]:
        summary[arm] = {
            "rate_ratio": statistics.median(x[arm]["rate"] / x["A"]["rate"] for x in rounds),
            "rate_with_catch_up_ratio": statistics.median(x[arm]["rate_with_catch_up"] / x["A"]["rate"] for x in rounds),
            "indexed_in_run": statistics.median(x[arm]["indexed_in_run"] / x[arm]["last_index_entry_checked"] for x in rounds),
            "ingest_cpu_ratio": statistics.median(x[arm]["cpu_with_catch_up"] / x["A"]["cpu_seconds"] for x in rounds),
            "total_cpu_ratio": statistics.median(x[arm]["total_cpu_seconds"] / x["A"]["total_cpu_seconds"] for x in rounds),
            "keeping_us_per_event": statistics.median(x[arm]["hook_us_per_event"] for x in rounds),
            "cpu_bound_rate_ratio": statistics.median(cpu_bound(x["A"]) / cpu_bound(x[arm]) for x in rounds),
        }  # fmt: skip
        m = summary[arm]
        print(
            f"  {arm}/A medians over {len(rounds)} rounds: rate x{m['rate_ratio']:.3f} (goal >= 0.90; with the"
            f" catch-up's wall time added x{m['rate_with_catch_up_ratio']:.3f}; indexed during the run"
            f" {m['indexed_in_run']:.0%}), ingesting"
            f" process's CPU x{m['ingest_cpu_ratio']:.3f}, all processes' CPU x{m['total_cpu_ratio']:.3f},"
            f" keeping {m['keeping_us_per_event']:.0f} us/event; CPU-bound rate on {os.cpu_count()} idle"
            f" cores (model) x{m['cpu_bound_rate_ratio']:.3f}"
        )
    return {"events": len(entries), "lag": cfg.lag, "arms": arms, "rounds": rounds, "medians": summary}


def bench_proofs(cfg: argparse.Namespace, tmp: str) -> dict:
    engine = create_engine(f"sqlite:///{tmp}/map.db")
    create_index_tables(engine)
    codes = [f"LOT-{i:07d}" for i in range(cfg.lots)]
    head = "ab" * 32
    started = time.perf_counter()
    root = b""
    nodes = node_engine(engine)  # the map's rows, at one version (trace/store/map_rows.py)
    for i in range(0, len(codes), 100_000):
        with nodes.begin() as conn:
            batch = {lot_map_key(c): value_hash(LotHead(c, 1, head).value()) for c in codes[i : i + 100_000]}
            root = update_map(MapNodes(conn, bound=1, write=True), batch)
        print(
            f"  {min(i + 100_000, len(codes)):,} lots in the map, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    build = time.perf_counter() - started
    rng = random.Random(17)
    siblings, non_empty, sizes = [], [], []
    started = time.perf_counter()
    with nodes.connect() as conn:
        store = MapNodes(conn, bound=1)
        for code in rng.sample(codes, 1_000):
            key = lot_map_key(code)
            vh, proof = prove_key(store, key)
            check_key(root, key, vh, proof)
            siblings.append(len(proof.siblings))
            non_empty.append(sum(s is not None for s in proof.siblings))
            sizes.append(len(json.dumps(proof.to_wire(), separators=(",", ":"))))
    prove = (time.perf_counter() - started) / 1_000
    out = {
        "lots": cfg.lots,
        "build_seconds": build,
        "prove_ms_mean": prove * 1000,
        "siblings_mean": statistics.mean(siblings),
        "siblings_p95": percentile(siblings, 95),
        "non_empty_mean": statistics.mean(non_empty),
        "json_bytes_mean": statistics.mean(sizes),
        "json_bytes_p95": percentile(sizes, 95),
    }
    print(
        f"  at {cfg.lots:,} lots: siblings mean {out['siblings_mean']:.1f} / p95 {out['siblings_p95']:.0f} "
        f"(non-empty mean {out['non_empty_mean']:.1f}); JSON proof mean {out['json_bytes_mean']:.0f} B / "
        f"p95 {out['json_bytes_p95']:.0f} B; build {build:.0f} s, prove {prove * 1000:.2f} ms each"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="events ingested per run (default 20,000)")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds (default 3)")
    parser.add_argument(
        "--lag",
        type=float,
        default=DEFAULT_LAG,
        help=f"the B runs' index lag, seconds (default {DEFAULT_LAG:g})",
    )
    parser.add_argument("--lots", type=int, default=1_000_000, help="lots in the proof-size map (default 1M)")
    parser.add_argument(
        "--arms",
        default="ABK",
        help="A (no index) and any of B (keeper thread in the ingesting process), K (keeper process), "
        "P (B with the plain hook); default ABK",
    )
    parser.add_argument(
        "--plain", action="store_true", help="add the arm P (the plain hook, before the speed work)"
    )
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument("--json", default=os.path.join(_HERE, "results", "index.json"))
    cfg = parser.parse_args(argv)
    if not cfg.arms.startswith("A") or set(cfg.arms) - set("ABKP"):
        parser.error("--arms starts with A (the baseline), then any of B, K and P")
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="farmtrace-index-bench-") as tmp:
        if not cfg.skip_ingest:
            print(
                f"(a) ingest A/B, {cfg.events:,} events per run, {cfg.rounds} rounds, lag {cfg.lag} s",
                flush=True,
            )
            results["ingest"] = bench_ingest(cfg, tmp)
        if not cfg.skip_proofs:
            print(f"(b) proof size at {cfg.lots:,} lots", flush=True)
            results["proofs"] = bench_proofs(cfg, tmp)
    os.makedirs(os.path.dirname(cfg.json), exist_ok=True)
    with open(cfg.json, "w") as f:
        json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
