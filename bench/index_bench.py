"""The head index's costs (issue 17 §2): ingest with and without it, and a lot's proof at 1M lots.

    cd /tmp && python /work/main/bench/index_bench.py [--events N] [--rounds R] [--lag S] [--lots N] [--json FILE]

(a) **Ingest A/B.** The same signed history (bench/trace_bench.py's supply chain: registrations,
    then chains of harvests, tests, shipments, splits, merges and sales) recorded through
    `TraceService.record_many` in batches of 2,000 on a fresh SQLite database, alternately without
    the index (A) and with it kept as the server keeps it (B: an `IndexKeeper` with `--lag`, by
    default the product's FARMTRACE_INDEX_LAG default of 10 s, its background thread running and the
    recorder nudging it after each batch; the first entry is due at once, as on a server that has
    run for a while). R rounds of A then B (then P with `--plain`: B with the plain hook, before the
    speed work); each round's ratios B/A are reported, and the medians. Goal: B costs at most 10%.
    Wall rates on a loaded machine are noise; the CPU of the ingesting process resolves. A fast run
    commits few index entries and leaves most events unindexed, so at the end of each B run the
    index is brought up to date (the catch-up, timed: a server does it within the lag) and "with the
    catch-up" is the CPU of ingesting and indexing every event over A's; the last root is checked
    against the reference recomputation (`MemoryIndex`).

(b) **Proof size at 1M lots.** A map of `--lots` lot heads (default 1,000,000) is built with
    `update_map` in batches of 100,000 on a SQLite `IndexStore`, outside the service; 1,000 random
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

from sqlalchemy import create_engine  # noqa: E402
from trace_bench import (  # noqa: E402
    CST,
    Cast,
    chains,
    close_service,
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
from farmtrace.trace.index_state import IndexChanges, MemoryIndex, fold_entries  # noqa: E402
from farmtrace.trace.store.index_store import IndexStore, create_index_tables  # noqa: E402


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


def ingest_once(
    tmp: str,
    cast: Cast,
    entries: list[bytes],
    start: datetime,
    *,
    lag: float | None,
    n: int,
    plain: bool = False,
    arm: str = "",
) -> dict:
    """Record `entries` on a fresh SQLite database (named after the round and the `arm`); with the
    index kept if `lag` is not None (by the plain hook if `plain`). Asserts that nothing is refused."""
    if plain:
        with plain_hook():
            return ingest_once(tmp, cast, entries, start, lag=lag, n=n, arm="P")
    url = sqlite_url(f"{tmp}/ingest-{n}-{arm or ('B' if lag is not None else 'A')}.db")
    prepared(url, cast, start - timedelta(days=1))
    service = open_service(url)
    keeper = None
    try:
        spent = [0.0, 0.0]  # seconds inside the keeper's hook: wall, CPU of its thread
        if lag is not None:
            keeper = IndexKeeper(service.log, clock=time.time, lag=lag)
            keeper.started -= lag  # as a server that has run for a while: the first one is due at once
            compute = keeper.compute

            def timed(txn, size, read):
                w, c = time.perf_counter(), time.thread_time()
                try:
                    return compute(txn, size, read)
                finally:
                    spent[0] += time.perf_counter() - w
                    spent[1] += time.thread_time() - c

            keeper.compute = timed  # type: ignore[method-assign]
            service.recorder.after_batch = keeper.nudge
            keeper.start()
        cpu = time.process_time()
        seconds, refused = record_all(service, entries)
        assert not refused, f"{refused} events refused: not a fresh database?"
        cpu = time.process_time() - cpu
        out = {"rate": len(entries) / seconds, "seconds": seconds, "refused": refused, "cpu_seconds": cpu}
        if keeper is not None:
            keeper.stop()
            out["index_wall_seconds"], out["index_cpu_seconds"] = spent
            # Catch up: index the events the run left after its last index entry (a server does so
            # within the lag), so that B's CPU covers indexing every event, as in a steady state.
            keeper.lag = 0
            catch_up = time.process_time()
            keeper.commit_due()
            out["catch_up_cpu_seconds"] = time.process_time() - catch_up
            out["cpu_with_catch_up"] = cpu + out["catch_up_cpu_seconds"]
            log = service.log
            all_entries = [e for _, e in log.read_entries(0, log.size)]
            out["index_entries"] = sum(map(is_index_entry, all_entries))
            last = max(i for i, e in enumerate(all_entries) if is_index_entry(e))
            reference = MemoryIndex()
            reference.fold(0, all_entries[:last])
            assert decode_index_entry(all_entries[last]) == reference.entry(last), (
                "the committed root is wrong"
            )
            out["last_index_entry_checked"] = last
            out["hook_us_per_event"] = spent[1] / last * 1e6  # the run's and the catch-up's
        return out
    finally:
        close_service(service)


def bench_ingest(cfg: argparse.Namespace, tmp: str) -> dict:
    cast = Cast.make()
    start = datetime.now(CST).replace(microsecond=0) - timedelta(days=20)
    entries = chains(cast, prefix="I", events=cfg.events, start=start, seed=5)
    warm_up_verifiers()
    rounds = []
    for r in range(cfg.rounds):
        a = ingest_once(tmp, cast, entries, start, lag=None, n=r)
        b = ingest_once(tmp, cast, entries, start, lag=cfg.lag, n=r)
        ratio, cpu_ratio = b["rate"] / a["rate"], b["cpu_seconds"] / a["cpu_seconds"]
        full = b["cpu_with_catch_up"] / a["cpu_seconds"]
        rounds.append(
            {"without": a, "with": b, "ratio": ratio, "cpu_ratio": cpu_ratio, "full_cpu_ratio": full}
        )
        print(
            f"  round {r + 1}: without {a['rate']:,.0f}/s ({a['cpu_seconds']:.1f} s CPU), with {b['rate']:,.0f}/s "
            f"({b['cpu_seconds']:.1f} s CPU; {b['index_entries']} index entries, {b['index_wall_seconds']:.2f} s "
            f"wall / {b['index_cpu_seconds']:.2f} s CPU in the hook, {b['hook_us_per_event']:.0f} us/event); "
            f"rate ratio {ratio:.3f}, CPU ratio {cpu_ratio:.3f}; with the catch-up "
            f"({b['catch_up_cpu_seconds']:.2f} s): {full:.3f}",
            flush=True,
        )
        if cfg.plain:
            c = ingest_once(tmp, cast, entries, start, lag=cfg.lag, n=r, plain=True)
            rounds[-1] |= {
                "plain": c,
                "plain_cpu_ratio": c["cpu_seconds"] / a["cpu_seconds"],
                "plain_full_cpu_ratio": c["cpu_with_catch_up"] / a["cpu_seconds"],
            }
            print(
                f"           plain hook: {c['rate']:,.0f}/s ({c['cpu_seconds']:.1f} s CPU; {c['index_entries']} "
                f"index entries, {c['index_cpu_seconds']:.2f} s CPU in the hook, {c['hook_us_per_event']:.0f} "
                f"us/event); CPU ratio {rounds[-1]['plain_cpu_ratio']:.3f}; with the catch-up "
                f"({c['catch_up_cpu_seconds']:.2f} s): {rounds[-1]['plain_full_cpu_ratio']:.3f}",
                flush=True,
            )
    median = statistics.median(x["ratio"] for x in rounds)
    cpu_median = statistics.median(x["cpu_ratio"] for x in rounds)
    full_median = statistics.median(x["full_cpu_ratio"] for x in rounds)
    hook = sum(x["with"]["index_cpu_seconds"] for x in rounds) / sum(x["with"]["cpu_seconds"] for x in rounds)
    # The hook's CPU per event it folded over the A run's CPU per event ingested: the steady cost,
    # which the CPU ratio shows only when the run lasts several lags (a fast run commits once).
    per_event = statistics.median(
        x["with"]["hook_us_per_event"] / (x["without"]["cpu_seconds"] / len(entries) * 1e6) for x in rounds
    )
    print(
        f"  median rate ratio with/without: {median:.3f} (goal ≥ 0.90); median CPU ratio {cpu_median:.3f}; "
        f"with the catch-up {full_median:.3f} (goal ≤ 1.10); the hook's share of the B runs' CPU: "
        f"{hook:.3f}; hook CPU per event folded / A's CPU per event: {per_event:.3f} (median)"
    )
    return {
        "events": len(entries), "lag": cfg.lag, "rounds": rounds, "median_ratio": median,
        "median_cpu_ratio": cpu_median, "hook_cpu_share": hook, "hook_per_event_over_ingest": per_event,
        "median_full_cpu_ratio": full_median,
        "ok": median >= 0.90,
    }  # fmt: skip


def bench_proofs(cfg: argparse.Namespace, tmp: str) -> dict:
    engine = create_engine(f"sqlite:///{tmp}/map.db")
    create_index_tables(engine)
    codes = [f"LOT-{i:07d}" for i in range(cfg.lots)]
    head = "ab" * 32
    started = time.perf_counter()
    root = b""
    for i in range(0, len(codes), 100_000):
        with engine.begin() as conn:
            batch = {lot_map_key(c): value_hash(LotHead(c, 1, head).value()) for c in codes[i : i + 100_000]}
            root = update_map(IndexStore(conn), batch)
        print(
            f"  {min(i + 100_000, len(codes)):,} lots in the map, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    build = time.perf_counter() - started
    rng = random.Random(17)
    siblings, non_empty, sizes = [], [], []
    started = time.perf_counter()
    with engine.connect() as conn:
        store = IndexStore(conn)
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
        "--plain", action="store_true", help="a third arm per round: the plain hook (before the speed work)"
    )
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument("--json", default=os.path.join(_HERE, "results", "index.json"))
    cfg = parser.parse_args(argv)
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
