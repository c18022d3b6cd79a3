"""GET a lot's journey with the head index's proofs (issue 17 §2) on a large ledger and a large map.

    cd /tmp && python /work/main/bench/journey_bench.py [--events N] [--lots N] [--samples N] [--json FILE]

What is built, on SQLite in a temporary directory:

  1. a ledger of `--events` events (default 1,000,000) with bench/trace_bench.py's bulk loader
     (`bulk_load`: its generated supply chain, signed entries appended with `Log.append_many` and the
     projection's rows written directly, checked row for row against the write path by trace_bench);
  2. `--lots` synthetic lot leaves (default 1,000,000; 0 when the ledger's own lots are enough: 1M
     events make about 2.1M lots) written into the head index's map first, with `update_map` on the
     stored map (trace/store/index_store.py) in batches of 100,000;
  3. then the server's own keeper (`IndexKeeper.commit_due`, lag 0) folds every event of the ledger
     into that map and appends the index entry (its root covers the padding: the proofs are genuine
     proofs against a committed root, though `verify --replay` would refuse the padded root).

What is measured, in process, for `--samples` lots drawn from the whole ledger: the time of what
GET /lots/{code}/journey does — `TraceService.journey_bundle(code)`, the response model
(`journey_public`) and its JSON — alternately without the index section (A: `read_index`
answering None, the journey as it was before issue 17 §2) and with it (B), p50/p95 of each and the
ratio of the medians. Goal: B's p95 ≤ 50 ms. One journey is checked with `check_journey` (every
proof, map proofs included) so the figures are of valid journeys.

The repository root is taken off sys.path first (see bench/trace_bench.py).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

from sqlalchemy import text  # noqa: E402
from trace_bench import CST, Cast, History, bulk_load, close_service, open_service, percentile, sqlite_url  # noqa: E402

from farmtrace.api.schemas.journeys import journey_public  # noqa: E402
from farmtrace.ledger.verifiable_map import update_map  # noqa: E402
from farmtrace.trace.index_keeper import IndexKeeper  # noqa: E402
from farmtrace.trace.reads import journeys  # noqa: E402
from farmtrace.trace.store.index_store import IndexHead, IndexStore, create_index_tables  # noqa: E402
from farmtrace.trace.store.map_rows import MapNodes, node_engine  # noqa: E402
from farmtrace.trace.verify_journey import check_journey  # noqa: E402

BATCH = 100_000


def pad_map(service, lots: int, echo) -> float:
    """Write `lots` synthetic lot leaves into the stored map, as rows at version 0 under a head row
    of size 0 (so the keeper's first commit folds the log on top of them, not from an empty map);
    return the seconds it took."""
    create_index_tables(service.engine)
    nodes = node_engine(service.engine)
    root = b""
    t0 = time.perf_counter()
    for first in range(0, lots, BATCH):
        changes = {
            hashlib.sha256(b"farmtrace/index/v1/lot\n" + f"PAD-{i:08d}".encode()).digest(): hashlib.sha256(
                str(i).encode()
            ).digest()
            for i in range(first, min(first + BATCH, lots))
        }
        with nodes.begin() as conn:
            root = update_map(MapNodes(conn, bound=0, write=True), changes)
        echo(f"  map padded: {min(first + BATCH, lots):,} lot leaves ({time.perf_counter() - t0:.0f} s)")
    if lots:
        with service.engine.begin() as conn:
            IndexStore(conn).put_head(IndexHead(size=0, root=root, lots=lots, keys=0, committed_at=0.0))
    return time.perf_counter() - t0


def get_journey(service, code: str) -> bytes:
    """What the route does: the bundle, its response model, its JSON."""
    return journey_public(service.journey_bundle(code)).model_dump_json(exclude_unset=True).encode()


def measure(service, sample: list[str]) -> dict[str, list[float]]:
    """Alternate A (no index section) and B (with it) per lot; milliseconds."""
    real = journeys.read_index
    out: dict[str, list[float]] = {"A": [], "B": []}
    for i, code in enumerate(sample):
        order = ("A", "B") if i % 2 == 0 else ("B", "A")
        for mode in order:
            journeys.read_index = real if mode == "B" else (lambda *a, **k: None)
            try:
                t0 = time.perf_counter()
                get_journey(service, code)
                out[mode].append((time.perf_counter() - t0) * 1000)
            finally:
                journeys.read_index = real
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--json", default=None)
    cfg = parser.parse_args(argv)

    def echo(line: str) -> None:
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="journey-bench-") as tmp:
        service = open_service(sqlite_url(f"{tmp}/trace.db"))
        try:
            start = datetime.now(CST).replace(microsecond=0) - timedelta(days=40)
            t0 = time.perf_counter()
            n = bulk_load(
                service, History(Cast.make(), prefix="J", start=start), events=cfg.events, echo=echo
            )
            load_s = time.perf_counter() - t0
            pad_s = pad_map(service, cfg.lots, echo)
            t0 = time.perf_counter()
            at = IndexKeeper(service.log, clock=time.time, lag=0).commit_due()
            fold_s = time.perf_counter() - t0
            with service.engine.connect() as conn:
                codes = [r[0] for r in conn.execute(text("SELECT code FROM trace_lot ORDER BY code"))]
                head = IndexStore(conn).head()
            echo(
                f"  {n:,} events loaded in {load_s:.0f} s; map padded to {cfg.lots:,} lots in {pad_s:.0f} s; "
                f"index entry at {at:,} folded in {fold_s:.0f} s ({len(codes):,} real lots)"
            )
            sample = random.Random(17).sample(codes, min(cfg.samples, len(codes)))
            journey = json.loads(get_journey(service, sample[0]))
            report = check_journey(journey, log_key=service.log.verifier.key_string())
            assert report.ok and report.index is not None and report.index.state == "complete", (
                report.failures
            )
            siblings = max(len(i["proof"]["siblings"]) for i in journey["index"]["lots"].values())
            get_journey(service, sample[1])  # warm
            times = measure(service, sample)
            a50, a95 = percentile(times["A"], 50), percentile(times["A"], 95)
            b50, b95 = percentile(times["B"], 50), percentile(times["B"], 95)
            echo(f"  A (no index section): p50 {a50:.2f} ms, p95 {a95:.2f} ms")
            echo(f"  B (with index proofs): p50 {b50:.2f} ms, p95 {b95:.2f} ms  (goal p95 <= 50 ms)")
            echo(f"  B/A medians {b50 / a50:.2f}x; deepest lot proof {siblings} siblings")
            result = {
                "events": n,
                "lots_in_map": cfg.lots + len(codes),
                "real_lots": len(codes),
                "index_entry": at,
                "index_head_lots": head.lots if head else None,
                "samples": len(sample),
                "A_ms": {"p50": a50, "p95": a95, "raw": times["A"]},
                "B_ms": {"p50": b50, "p95": b95, "raw": times["B"]},
                "pass": b95 <= 50,
            }
            if cfg.json:
                with open(cfg.json, "w") as f:
                    json.dump(result, f, indent=1)
        finally:
            close_service(service)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
