"""`farmtrace verify --replay` against the raw Ed25519 verification rate of the same events on 2 cores.

    cd /tmp && python /work/main/bench/replay_bench.py [--events N] [--full] [--profile] [--json FILE]
        [--ledger FILE] [--ab ROUNDS [--arms A,B]] [--cpu ROUNDS]

A ledger of `--events` signed events (default 20,000, a smoke run; `--full`: 1,000,000) is generated
and bulk-loaded with bench/trace_bench.py's generator and loader (imported, not copied: the same
supply chain, registrations first, and projection rows the loader writes and checks against the
service). Then, measured in the same run:

  - **replay**: `trace.replay.replay(log, clock=...)` on the ledger opened read-only with its verifier
    key, as `farmtrace verify --replay` runs it: the Merkle audit, every entry re-recorded through
    the write path (signatures on the verification workers) into a scratch projection, and the
    row-by-row comparison. Events per second = the log's size / the whole replay's wall time.
  - **baseline**: `Ed25519PublicKey.verify` of exactly the same entries' signatures, keys decoded
    beforehand, split over 2 worker processes started and warmed up beforehand: entries / the wall
    time from the first worker's start to the last one's end. Measured just before and just after
    the replay; the row's baseline is their mean (this machine's speed drifts within minutes).

Goal (issue 16): replay ≥ 0.6× the 2-core raw verify rate. `--profile` also cProfiles the replay's
process (the verification workers are other processes) and prints the top costs.

`--ab ROUNDS` (an A/B of the replay's step 3, issue 16 part 4): the replay is run ROUNDS times in
each of two ways (`--arms`, default "appended,projected"), alternating, each replay between two
baseline measurements. "projected" is the product: `Recorder.project_many` into a scratch SQLite
without fsync (`store.compare.skip_durability`). "appended" is the path before it: every entry
appended again to a scratch Log through `Recorder.record_many`, the scratch SQLite at
synchronous=FULL. "scratch-cache" is the product with the scratch given a 256 MB page cache and a
4 GiB memory map (tried in December 2026, not kept: docs/replay.md "Speed"). The other arms swap
functions of trace/replay.py for the bench's own (`_appending`, `_cached`); everything else, the
checks included, is the same code. `--ledger FILE` keeps the built ledger for the next run.

`--cpu ROUNDS`: where the time goes, as CPU time per event (`time.process_time`, which counts every
thread of the process and little of the other jobs on a shared machine), with verification inline
(no workers) so that one process does all of it: the raw Ed25519 verify, decoding alone, the
replay's step 3 both ways (alternating, as `--ab`), and the row comparison. On 2 cores nothing can
make the replay faster than 2 cores' worth of its CPU time, while the baseline is 2 cores' worth of
verify alone, so raw verify's CPU / the replay's CPU per event is the ratio's ceiling, however the
work is spread over processes.

Writes JSON to bench/results/replay.json. Run it by path from outside the repository (bench/README.md).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The repository root must not be on sys.path: its trace/ folder would shadow the standard library's.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import base64  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

import trace_bench as tb  # noqa: E402  (bench/trace_bench.py: the generator and loader)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402
from sqlalchemy import event  # noqa: E402

from farmtrace.ledger.log import Log  # noqa: E402
from farmtrace.ledger.note import Signer  # noqa: E402
from farmtrace.ledger.sqlstore import SqlStore  # noqa: E402
from farmtrace.trace import replay as rp  # noqa: E402
from farmtrace.trace.clock import utc_now  # noqa: E402
from farmtrace.trace.errors import TraceError  # noqa: E402
from farmtrace.trace.ingest import verifying  # noqa: E402
from farmtrace.trace.ingest.record import Recorder  # noqa: E402
from farmtrace.trace.model.encoding import SIGNING_PREFIX, decode_entry  # noqa: E402
from farmtrace.trace.replay import replay  # noqa: E402
from farmtrace.trace.store.compare import create_projection, first_divergence, skip_durability  # noqa: E402

GOAL = 0.6
CORES = 2


def _verify_part(work: list[tuple[bytes, bytes, bytes]]) -> tuple[float, float]:
    """In a worker: verify every (public key, signature, message); return (start, end), monotonic."""
    keys = {raw: Ed25519PublicKey.from_public_bytes(raw) for raw in {w[0] for w in work}}
    items = [(keys[raw], sig, message) for raw, sig, message in work]
    start = time.monotonic()
    for key, sig, message in items:
        key.verify(sig, message)
    return start, time.monotonic()


def verify_work(entries: list[bytes], cast: tb.Cast) -> list[tuple[bytes, bytes, bytes]]:
    public = {p.key_id: p.public_key for p in cast.everyone}
    work = []
    for e in entries:
        _, canonical, sig, _ = e.split(b"\n")
        work.append(
            (public[json.loads(canonical)["key_id"]], base64.b64decode(sig), SIGNING_PREFIX + canonical)
        )
    return work


def raw_rate_on_cores(pool: ProcessPoolExecutor, work: list[tuple[bytes, bytes, bytes]]) -> float:
    """Verifications per second of `work`, split evenly over the pool's CORES processes."""
    parts = [work[i::CORES] for i in range(CORES)]
    spans = list(pool.map(_verify_part, parts))
    return len(work) / (max(end for _, end in spans) - min(start for start, _ in spans))


def _reproject_appending(log: Log, recorder: Recorder, size: int, progress: object) -> None:
    """The replay's step 3 as it was before `project_many`: every entry appended again, through
    `record_many`, to a scratch Log over the scratch projection's database (its signer thrown away)."""
    scratch = Log(SqlStore(recorder.engine), Signer.generate("farmtrace.replay/scratch"))
    appending = Recorder(scratch, recorder.engine, clock=recorder.clock, bootstrap_keys=())
    try:
        for start in range(0, size, rp.CHUNK):
            chunk = log.read_entries(start, min(start + rp.CHUNK, size))
            results = appending.record_many([entry for _, entry in chunk], operator=True)
            for (index, _), result in zip(chunk, results, strict=True):
                if isinstance(result, TraceError) or result.duplicate or result.index != index:
                    raise rp.EntryRefused(index, str(result))
    finally:
        scratch.close()


def _appending(run: object) -> object:
    """`run()` with trace/replay.py's step 3 done the previous way (see the module docstring)."""

    def arm() -> object:
        saved = rp.reproject, rp.skip_durability
        rp.reproject, rp.skip_durability = _reproject_appending, lambda engine: None
        try:
            return run()  # type: ignore[operator]
        finally:
            rp.reproject, rp.skip_durability = saved

    return arm


def _cached_scratch(engine: object) -> None:
    """`skip_durability` plus a 256 MB page cache and a 4 GiB memory map on the scratch."""
    skip_durability(engine)  # type: ignore[arg-type]

    @event.listens_for(engine, "connect")
    def _cache(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.execute("PRAGMA cache_size=-262144")  # type: ignore[attr-defined]
        dbapi_conn.execute("PRAGMA mmap_size=4294967296")  # type: ignore[attr-defined]

    engine.dispose()  # type: ignore[attr-defined]


def _cached(run: object) -> object:
    """`run()` with the replay's scratch set up by `_cached_scratch`."""

    def arm() -> object:
        saved = rp.skip_durability
        rp.skip_durability = _cached_scratch
        try:
            return run()  # type: ignore[operator]
        finally:
            rp.skip_durability = saved

    return arm


ARMS = {"projected": lambda run: run, "appended": _appending, "scratch-cache": _cached}


def ab(
    log: Log, pool: ProcessPoolExecutor, work: list, rounds: int, tmp: str, arms: tuple[str, str]
) -> list[dict]:
    """Alternate the two arms `rounds` times; each row: arm, events/s, baseline around it, ratio, load."""
    rows = []
    for r in range(rounds):
        for name in arms if r % 2 == 0 else arms[::-1]:
            projected = lambda: replay(log, clock=utc_now, workdir=tmp)  # noqa: E731
            run = ARMS[name](projected)
            before = raw_rate_on_cores(pool, work)
            report = run()
            after = raw_rate_on_cores(pool, work)
            rate = log.size / report.seconds  # type: ignore[attr-defined]
            base = (before + after) / 2
            row = {
                "arm": name, "round": r, "replay_per_s": rate, "raw_before": before, "raw_after": after,
                "ratio": rate / base, "seconds": report.seconds, "load_average": os.getloadavg()[0],  # type: ignore[attr-defined]
            }  # fmt: skip
            print(
                f"round {r} {name:>9}: {rate:,.0f}/s in {row['seconds']:.1f} s, raw 2 cores {base:,.0f}/s "
                f"({before:,.0f} / {after:,.0f}): {row['ratio']:.3f}×, load {row['load_average']:.1f}",
                flush=True,
            )
            rows.append(row)
    return rows


def cpu_ledger(log: Log, work: list, rounds: int, tmp: str) -> list[dict]:
    """See the module docstring (`--cpu`): rows of CPU µs per event."""
    verifying.configure(0)
    size = log.size
    entries = [e for _, e in log.read_entries(0, size)]
    keys = {raw: Ed25519PublicKey.from_public_bytes(raw) for raw in {w[0] for w in work}}
    items = [(keys[raw], sig, message) for raw, sig, message in work]

    def per_event(f: object) -> float:
        t = time.process_time()
        f()  # type: ignore[operator]
        return (time.process_time() - t) / size * 1e6

    def verify() -> None:
        for key, sig, message in items:
            key.verify(sig, message)

    def decode() -> None:
        for e in entries:
            decode_entry(e)

    def step3(appended: bool, compare: list[float]) -> object:
        def run() -> None:
            with tempfile.TemporaryDirectory(dir=tmp) as scratch:
                store = SqlStore.from_url(f"sqlite:///{scratch}/projection.db", create=True)
                create_projection(store.engine)
                if not appended:
                    skip_durability(store.engine)
                recorder = Recorder.projecting(store.engine, clock=utc_now)
                (_reproject_appending if appended else rp.reproject)(log, recorder, size, None)
                t = time.process_time()
                assert first_divergence(store.engine, log.engine) is None
                compare.append((time.process_time() - t) / size * 1e6)
                store.close()

        return run

    rows = []
    for r in range(rounds):
        row: dict = {"round": r, "verify": per_event(verify), "decode": per_event(decode)}
        compare: list[float] = []
        for name in ("appended", "projected") if r % 2 == 0 else ("projected", "appended"):
            row[name] = per_event(step3(name == "appended", compare)) - compare[-1]
        row["compare"] = sum(compare) / len(compare)
        row["ceiling"] = row["verify"] / (row["projected"] + row["compare"])
        row["load_average"] = os.getloadavg()[0]
        print(
            f"round {r}, CPU µs/event: raw verify {row['verify']:.0f}, decode {row['decode']:.0f}; step 3 "
            f"appended {row['appended']:.0f}, projected {row['projected']:.0f} (verify and decode included); "
            f"compare {row['compare']:.0f}; ceiling {row['ceiling']:.3f}×; load {row['load_average']:.1f}",
            flush=True,
        )
        rows.append(row)
    return rows


def build_ledger(url: str, cast: tb.Cast, events: int) -> int:
    service = tb.open_service(url)
    try:
        start = datetime.now(tb.CST).replace(microsecond=0) - timedelta(days=40)
        history = tb.History(cast, prefix="P", start=start, project=True, seed=11)
        return tb.bulk_load(service, history, events=events, echo=lambda s: print(s, flush=True))
    finally:
        tb.close_service(service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, help="events in the ledger (default 20,000)")
    parser.add_argument("--full", action="store_true", help="1,000,000 events")
    parser.add_argument("--profile", action="store_true", help="cProfile the replay's process")
    parser.add_argument("--ab", type=int, metavar="ROUNDS", help="alternate the previous path and this one")
    parser.add_argument("--arms", default="appended,projected", help="the two arms of --ab (see above)")
    parser.add_argument("--cpu", type=int, metavar="ROUNDS", help="CPU time per event, step by step")
    parser.add_argument(
        "--ledger",
        help="a SQLite file to keep the ledger in: built if absent, reused (not rebuilt) if present",
    )
    parser.add_argument("--json", default=os.path.join(_HERE, "results", "replay.json"))
    cfg = parser.parse_args(argv)
    events = cfg.events or (1_000_000 if cfg.full else 20_000)
    cast = tb.Cast.make()
    tmp = tempfile.mkdtemp(prefix="farmtrace-replay-bench-")
    pool = ProcessPoolExecutor(CORES, mp_context=multiprocessing.get_context("spawn"))
    try:
        url = tb.sqlite_url(os.path.abspath(cfg.ledger) if cfg.ledger else os.path.join(tmp, "ledger.db"))
        if cfg.ledger and os.path.exists(cfg.ledger):
            print(f"ledger: reusing {cfg.ledger} (--events is ignored)", flush=True)
        else:
            began = time.perf_counter()
            built = build_ledger(url, cast, events)
            print(f"ledger: {built:,} events in {time.perf_counter() - began:.0f} s", flush=True)
        store = SqlStore.from_url(url, create=False)
        log = Log(store, tb.log_signer().verifier)  # read-only, as an auditor opens it
        size = log.size
        work = verify_work([e for _, e in log.read_entries(0, size)], cast)
        list(pool.map(_verify_part, [work[:64]] * CORES))  # start and warm the workers, untimed
        tb.warm_up_verifiers()
        if cfg.ab or cfg.cpu:
            arms = tuple(cfg.arms.split(","))
            if len(arms) != 2 or not set(arms) <= set(ARMS):
                parser.error(f"--arms: two of {', '.join(ARMS)}, separated by a comma")
            rows = ab(log, pool, work, cfg.ab, tmp, arms) if cfg.ab else cpu_ledger(log, work, cfg.cpu, tmp)  # type: ignore[arg-type]
            log.close(close_store=True)
            os.makedirs(os.path.dirname(os.path.abspath(cfg.json)), exist_ok=True)
            with open(cfg.json, "w") as f:
                json.dump({"events": size, "ab" if cfg.ab else "cpu": rows}, f, indent=2)
                f.write("\n")
            return 0
        before = raw_rate_on_cores(pool, work)
        print(f"raw Ed25519 verify on {CORES} cores, before: {before:,.0f}/s", flush=True)
        profiler = cProfile.Profile() if cfg.profile else None
        if profiler:
            profiler.enable()
        report = replay(log, clock=utc_now, workdir=tmp)
        if profiler:
            profiler.disable()
        after = raw_rate_on_cores(pool, work)
        print(f"raw Ed25519 verify on {CORES} cores, after: {after:,.0f}/s", flush=True)
        log.close(close_store=True)
    finally:
        pool.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    rate = size / report.seconds
    base = (before + after) / 2
    ratio = rate / base
    print(f"\n{report.summary()}")
    print(f"verify --replay of {size:,} events: {rate:,.0f} events/s in {report.seconds:.1f} s")
    print(
        f"raw Ed25519 verify, same events, {CORES} cores: {base:,.0f}/s (before {before:,.0f}, after {after:,.0f})"
    )
    print(f"ratio {ratio:.3f}× (goal ≥ {GOAL}×): {'PASS' if ratio >= GOAL else 'MISS'}")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    os.makedirs(os.path.dirname(os.path.abspath(cfg.json)), exist_ok=True)
    with open(cfg.json, "w") as f:
        json.dump(
            {
                "events": size, "replay_per_s": rate, "raw_verify_2_cores_per_s": base, "raw_before": before,
                "raw_after": after, "ratio": ratio, "goal": GOAL, "passed": ratio >= GOAL, "seconds": report.seconds,
                "rows_compared": report.rows_compared, "load_average": load,
            },
            f,
            indent=2,
        )  # fmt: skip
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
