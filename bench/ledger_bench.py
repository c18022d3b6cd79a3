"""The ledger benchmarks, each measured beside a baseline in the same run on the same machine.

    bulk        append_many in chunks of 100k vs pymerkle 7 SqliteTree.append_entries (same chunks)
    concurrent  durable appends from 32 writer threads vs pymerkle's one commit per append_entry and a
                plain one-commit-per-row INSERT from 32 threads (SQLite, and PostgreSQL when reachable)
    proofs      inclusion-proof latency p50/p95 on the largest log vs pymerkle prove_inclusion
    audit       the full audit vs raw SHA-256 over the same entry bytes held in memory

Every figure is a rate (entries/s, higher is better) or a latency (ms, lower is better); a result's
`ratio` is always "times better than the baseline" (farmtrace/baseline for rates, baseline/farmtrace
for latencies), and its goal is checked on that ratio, or on the absolute figure where the goal is
absolute (proof p95 ≤ 2 ms).

`run(config)` runs the selected benchmarks in a temporary directory that it removes, and returns a
`Run` (results, per-phase wall time and peak RSS, machine facts); bench/run.py prints it.
"""

from __future__ import annotations

import contextlib
import cProfile
import hashlib
import io
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from farmtrace.ledger.audit import audit
from farmtrace.ledger.hashing import leaf_hash
from farmtrace.ledger.log import Log
from farmtrace.ledger.merkle import check_inclusion
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore

__all__ = ["BENCHMARKS", "Config", "Result", "Run", "make_entries", "run"]

BENCHMARKS = ("bulk", "concurrent", "proofs", "audit")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Config:
    bulk_sizes: tuple[int, ...] = (100_000, 1_000_000)
    chunk: int = 100_000  # pymerkle's default append_entries chunksize
    writers: int = 32
    appends_per_writer: int = 200
    proof_samples: int = 2_000
    pymerkle_min_proof_samples: int = 200
    pymerkle_proof_budget_s: float = 120.0  # stop pymerkle's proofs after this, once it has the minimum
    pymerkle_append_budget_s: float = 60.0  # cap on the one-commit-per-append baseline
    postgres_url: str | None = DEFAULT_POSTGRES_URL
    only: tuple[str, ...] = BENCHMARKS
    profile_dir: str | None = None  # write cProfile top entries of the farmtrace side here
    repeat: int = 3  # rates are the median of this many runs; proof latencies come from one pass
    seed: int = 20_240_601

    @classmethod
    def quick(cls, **overrides: Any) -> Config:
        """Smoke-test sizes: 10k/100k entries, 32×50 appends, 500 proofs (under a minute)."""
        base = {
            "bulk_sizes": (10_000, 100_000),
            "appends_per_writer": 50,
            "proof_samples": 500,
            "pymerkle_proof_budget_s": 15.0,
            "pymerkle_append_budget_s": 15.0,
            "repeat": 1,
        }
        return cls(**{**base, **overrides})

    @property
    def large(self) -> int:
        return max(self.bulk_sizes)


@dataclass
class Result:
    benchmark: str  # one of BENCHMARKS
    name: str  # what was measured, e.g. "bulk append 1M, SQLite"
    unit: str  # "entries/s" or "ms"
    farmtrace: float
    baseline: float | None
    baseline_name: str
    ratio: float | None  # times better than the baseline (see the module docstring)
    goal: str  # e.g. "≥ 1.0×", "≤ 2 ms", "" for information only
    passed: bool | None  # None: information only, or the goal could not be checked
    notes: str = ""
    valid: bool = True  # False: the measured operation gave a wrong answer, so the figure means nothing


@dataclass
class Run:
    started: str
    config: dict[str, Any]
    machine: dict[str, Any]
    results: list[Result] = field(default_factory=list)
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "elapsed_s": round(self.elapsed_s, 1),
            "machine": self.machine,
            "config": self.config,
            "results": [asdict(r) for r in self.results],
            "phases": self.phases,
            "notes": self.notes,
        }


# --- entries ----------------------------------------------------------------------------------------

_KINDS = ("harvest", "pack", "ship", "receive", "process", "sell")
_RANDOM_BYTES = 16 + 6 + 4 + 16 + 4 + 64  # event id, lot, party, input event, key id, signature


def make_entries(n: int, *, seed: int) -> list[bytes]:
    """`n` distinct entries shaped like a signed traceability event (about 330-350 bytes each).

    Random hex ids make them incompressible and unlike one another, as real events are; the same
    seed gives the same bytes, so farmtrace and the baselines see identical entries.
    """
    rng = random.Random(seed)
    raw = rng.randbytes(n * _RANDOM_BYTES).hex()
    w = 2 * _RANDOM_BYTES
    out = []
    for i in range(n):
        h = raw[i * w : (i + 1) * w]
        t = 1_735_689_600 + 37 * i
        day, sec = divmod(t % (365 * 86_400), 86_400)
        out.append(
            (
                f'{{"v":1,"kind":"{_KINDS[i % 6]}","event":"{h[0:32]}","lot":"LOT-{h[32:44]}",'
                f'"party":"P-{h[44:52]}","inputs":["{h[52:84]}"],"qty_kg":{(i * 7919) % 100_000 / 10},'
                f'"at":"2025-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T{sec // 3600:02d}:'
                f'{sec // 60 % 60:02d}:{sec % 60:02d}Z","key":"{h[84:92]}","sig":"{h[92:220]}"}}'
            ).encode()
        )
    return out


# --- measuring --------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """Peak resident set since the last `_reset_peak_rss` (VmHWM), or the process's lifetime peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    # Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS, so each phase gets its own peak.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _percentile(samples: Sequence[float], q: float) -> float:
    """The q-quantile by the nearest-rank method (q in (0, 1])."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]


def _runs(rates: Sequence[float]) -> str:
    """The runs behind a median, in the order they ran."""
    return " / ".join(f"{r:,.0f}" for r in rates)


def _rate_result(
    benchmark: str,
    name: str,
    ft: float,
    base: float | None,
    base_name: str,
    goal: float | None,
    notes: str = "",
) -> Result:
    ratio = ft / base if base else None
    passed = None if goal is None or ratio is None else ratio >= goal
    return Result(
        benchmark,
        name,
        "entries/s",
        ft,
        base,
        base_name,
        ratio,
        f"≥ {goal:.1f}×" if goal else "",
        passed,
        notes,
    )


class _Profiler:
    """cProfile for the calling thread and every thread started inside the block (the log's writer).

    The log does its work on its own writer thread, so profiling only the caller would show it waiting.
    """

    def __init__(self, out_path: str | None) -> None:
        self.out_path = out_path
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start_in_thread(self, *_: Any) -> None:
        # Called as the first profile event of a new thread: swap in a cProfile hook for this thread.
        p = cProfile.Profile()
        with self._lock:
            self._profiles.append(p)
        p.enable()

    def __enter__(self) -> _Profiler:
        if self.out_path:
            threading.setprofile(self._start_in_thread)
            self._start_in_thread()
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.out_path:
            return
        threading.setprofile(None)  # type: ignore[arg-type]
        self._profiles[0].disable()

    def write(self, title: str) -> None:
        """Write the top entries by own time and by cumulative time (call after the threads ended)."""
        if not self.out_path or not self._profiles:
            return
        buf = io.StringIO()
        stats = pstats.Stats(self._profiles[0], stream=buf)
        for p in self._profiles[1:]:
            with contextlib.suppress(TypeError):  # a thread that never ran a profiled call
                stats.add(p)
        buf.write(f"# {title}\n# (cProfile over the caller and the threads it started; timings inflated)\n")
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
        with open(self.out_path, "w") as f:
            f.write(buf.getvalue())


@dataclass
class _Context:
    config: Config
    tmp: str
    signer: Signer
    entries: list[bytes]
    run: Run
    large_ft: str | None = None  # the largest farmtrace SQLite log (reused by proofs and audit)
    large_pm: str | None = None  # pymerkle's tree over the same entries

    def path(self, name: str) -> str:
        return os.path.join(self.tmp, name)

    def profiler(self, name: str) -> _Profiler:
        d = self.config.profile_dir
        return _Profiler(os.path.join(d, f"profile-{name}.txt") if d else None)


def _sqlite_url(path: str) -> str:
    return f"sqlite:///{os.path.abspath(path)}"


def _remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def _label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# --- 1. bulk append ---------------------------------------------------------------------------------


def _farmtrace_bulk(
    ctx: _Context, path: str, entries: list[bytes], profile: _Profiler | None = None
) -> float:
    """Append `entries` with append_many in chunks to a new log; return the seconds (setup excluded)."""
    _remove_db(path)
    store = SqlStore.from_url(_sqlite_url(path))
    log = Log(store, ctx.signer)
    chunk = ctx.config.chunk
    try:
        with profile or contextlib.nullcontext():
            t0 = time.perf_counter()
            for i in range(0, len(entries), chunk):
                log.append_many(entries[i : i + chunk])
            seconds = time.perf_counter() - t0
        if log.size != len(entries):
            raise AssertionError(f"farmtrace log has {log.size} entries, expected {len(entries)}")
    finally:
        log.close()
        store.close()
    if profile:
        profile.write(f"farmtrace bulk append of {len(entries)} entries")
    return seconds


def _pymerkle_bulk(path: str, entries: list[bytes], chunk: int) -> float:
    from pymerkle import SqliteTree

    _remove_db(path)
    tree = SqliteTree(path)
    try:
        t0 = time.perf_counter()
        size = tree.append_entries(entries, chunksize=chunk)
        seconds = time.perf_counter() - t0
        if size != len(entries):
            raise AssertionError(f"pymerkle tree has {size} entries, expected {len(entries)}")
    finally:
        tree.close()
    return seconds


def _same_root(ft_path: str, pm_path: str, signer: Signer) -> bool:
    """Whether both trees have the same RFC 9162 root (both use 0x00/0x01 prefixes): same work done."""
    from pymerkle import SqliteTree

    store = SqlStore.from_url(_sqlite_url(ft_path), create=False)
    tree = SqliteTree(pm_path)
    try:
        return Log(store, signer).checkpoint().root == tree.get_root()
    finally:
        tree.close()
        store.close()


def bench_bulk(ctx: _Context) -> None:
    cfg = ctx.config
    for n in sorted(cfg.bulk_sizes):
        entries = ctx.entries[:n]
        ft_path, pm_path = ctx.path(f"farmtrace-{n}.db"), ctx.path(f"pymerkle-{n}.db")
        ft_rates, pm_rates = [], []
        for k in range(cfg.repeat):  # baseline first, then farmtrace; each on a new database file
            pm_rates.append(n / _pymerkle_bulk(pm_path, entries, cfg.chunk))
            profile = ctx.profiler(f"bulk-{_label(n)}") if n == cfg.large and k == 0 else None
            ft_rates.append(n / _farmtrace_bulk(ctx, ft_path, entries, profile))
        commits = -(-n // cfg.chunk)
        notes = (
            f"farmtrace {commits} append_many call{'s' if commits > 1 else ''} (one commit each), runs "
            f"{_runs(ft_rates)}; pymerkle one append_entries call (one commit), runs {_runs(pm_rates)}"
        )
        if n == min(cfg.bulk_sizes):
            same = _same_root(ft_path, pm_path, ctx.signer)
            notes += "; roots equal" if same else "; ROOTS DIFFER"
            if not same:
                ctx.run.notes.append(f"bulk {n}: farmtrace and pymerkle roots differ: check the entries")
        ctx.run.results.append(
            _rate_result(
                "bulk",
                f"bulk append {_label(n)}, SQLite",
                statistics.median(ft_rates),
                statistics.median(pm_rates),
                "pymerkle SqliteTree.append_entries",
                1.0,
                notes,
            )
        )
        if n == cfg.large:
            ctx.large_ft, ctx.large_pm = ft_path, pm_path
        else:
            _remove_db(ft_path)
            _remove_db(pm_path)


def _ensure_large(ctx: _Context) -> None:
    """Build the largest log and tree untimed, for `--only proofs` / `--only audit`."""
    if ctx.large_ft:
        return
    n = ctx.config.large
    ctx.large_ft, ctx.large_pm = ctx.path(f"farmtrace-{n}.db"), ctx.path(f"pymerkle-{n}.db")
    _farmtrace_bulk(ctx, ctx.large_ft, ctx.entries[:n])
    _pymerkle_bulk(ctx.large_pm, ctx.entries[:n], ctx.config.chunk)


# --- 2. durable appends from concurrent writers -----------------------------------------------------


def _run_writers(
    threads: int,
    per_thread: int,
    setup: Callable[[], Any],
    do: Callable[[Any, int], Any],
    teardown: Callable[[Any], None] = lambda _: None,
) -> tuple[float, list[Any]]:
    """Start `threads` threads that each call `do(state, j)` for their `per_thread` values of j.

    Each thread's `setup()` (e.g. its own connection) runs before the clock starts; the clock runs
    from the moment all are released until the last one finishes its last call. Returns the seconds
    and every call's result.
    """
    barrier = threading.Barrier(threads + 1)
    finished = [0.0] * threads
    results: list[list[Any]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def work(t: int) -> None:
        state = None
        try:
            state = setup()
            barrier.wait()
            out = results[t]
            for j in range(t * per_thread, (t + 1) * per_thread):
                out.append(do(state, j))
            finished[t] = time.perf_counter()
        except BaseException as exc:  # reported after the join
            errors.append(exc)
            barrier.abort()
        finally:
            if state is not None:
                teardown(state)

    pool = [threading.Thread(target=work, args=(t,), name=f"bench-writer-{t}") for t in range(threads)]
    for th in pool:
        th.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    t0 = time.perf_counter()
    for th in pool:
        th.join()
    if errors:
        raise errors[0]
    return max(finished) - t0, [r for rs in results for r in rs]


def _farmtrace_concurrent(
    ctx: _Context, url: str, entries: list[bytes], profile: _Profiler | None = None
) -> tuple[float, int]:
    """`writers` threads calling log.append on a new log; returns (entries/s, commits)."""
    cfg = ctx.config
    store = SqlStore.from_url(url)
    log = Log(store, ctx.signer)
    try:
        with profile or contextlib.nullcontext():
            seconds, indexes = _run_writers(
                cfg.writers, cfg.appends_per_writer, lambda: None, lambda _, j: log.append(entries[j])
            )
            log.close()  # inside the profile: the writer thread's profile ends with it
        if sorted(indexes) != list(range(len(entries))):
            raise AssertionError("the appends did not get indexes 0..n-1, each once")
        commits = len(store.checkpoints()) - 1  # one signed checkpoint per committed batch, less genesis
    finally:
        log.close()
        store.close()
    if profile:
        profile.write(f"farmtrace durable appends, {url.split(':', 1)[0]}")
    return len(entries) / seconds, commits


def _pymerkle_one_by_one(path: str, entries: list[bytes], budget_s: float, threads: int = 1) -> float:
    """pymerkle append_entry (one `with con:` transaction, so one commit, per entry); entries/s.

    With `threads` > 1 the threads share one tree: pymerkle 7 guards its connection with the tree's
    lock (check_same_thread=False), so they take turns.
    """
    from pymerkle import SqliteTree

    _remove_db(path)
    tree = SqliteTree(path)
    try:
        if threads > 1:
            seconds, _ = _run_writers(
                threads, len(entries) // threads, lambda: None, lambda _, j: tree.append_entry(entries[j])
            )
            return len(entries) // threads * threads / seconds
        done = 0
        t0 = time.perf_counter()
        for e in entries:
            tree.append_entry(e)
            done += 1
            if done % 256 == 0 and time.perf_counter() - t0 > budget_s:
                break
        return done / (time.perf_counter() - t0)
    finally:
        tree.close()
        _remove_db(path)


def _plain_sqlite(path: str, entries: list[bytes], threads: int, per_thread: int) -> float:
    """A bare table, WAL + synchronous=FULL, one autocommit INSERT (= one durable commit) per row."""
    _remove_db(path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE plain (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL)")
    con.close()

    def setup() -> sqlite3.Connection:
        c = sqlite3.connect(path, isolation_level=None, timeout=120, check_same_thread=False)
        c.execute("PRAGMA synchronous=FULL")
        return c

    sql = "INSERT INTO plain (idx, entry) VALUES (?, ?)"
    try:
        if threads == 1:
            c = setup()
            t0 = time.perf_counter()
            for j, e in enumerate(entries):
                c.execute(sql, (j, e))
            seconds = time.perf_counter() - t0
            c.close()
        else:
            seconds, _ = _run_writers(
                threads, per_thread, setup, lambda c, j: c.execute(sql, (j, entries[j])), lambda c: c.close()
            )
    finally:
        _remove_db(path)
    return len(entries) / seconds


def _plain_postgres(dsn: str, schema: str, entries: list[bytes], threads: int, per_thread: int) -> float:
    """A bare table, one autocommit INSERT (= one durable commit) per row, one connection per thread."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {schema}.plain")
        con.execute(f"CREATE TABLE {schema}.plain (idx BIGINT PRIMARY KEY, entry BYTEA NOT NULL)")
    sql = f"INSERT INTO {schema}.plain (idx, entry) VALUES (%s, %s)"
    seconds, _ = _run_writers(
        threads,
        per_thread,
        lambda: psycopg.connect(dsn, autocommit=True),
        lambda c, j: c.execute(sql, (j, entries[j])),
        lambda c: c.close(),
    )
    return len(entries) / seconds


@contextlib.contextmanager
def _postgres_schema(url: str) -> Iterator[tuple[str, str, str]]:
    """A new schema bench_<pid>; yields (SQLAlchemy URL with its search_path, psycopg DSN, schema)."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"bench_{os.getpid()}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}", dsn, schema
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL answers at `url`, else why not."""
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), connect_timeout=3):
            return None
    except Exception as exc:
        return str(exc).strip() or type(exc).__name__


def bench_concurrent(ctx: _Context) -> None:
    cfg = ctx.config
    n = cfg.writers * cfg.appends_per_writer
    entries = ctx.entries[:n]
    w, per = cfg.writers, cfg.appends_per_writer
    pg_down = _postgres_reachable(cfg.postgres_url) if cfg.postgres_url else "no --postgres-url"
    runs: dict[str, list[float]] = {}
    commits: dict[str, list[int]] = {"sqlite": [], "postgresql": []}

    def add(key: str, value: float) -> None:
        runs.setdefault(key, []).append(value)

    for k in range(cfg.repeat):
        first = k == 0
        # SQLite: the baselines first, then farmtrace; each on a new database file.
        add("pm1", _pymerkle_one_by_one(ctx.path("pymerkle-one.db"), entries, cfg.pymerkle_append_budget_s))
        add(
            "pm32",
            _pymerkle_one_by_one(ctx.path("pymerkle-one.db"), entries, cfg.pymerkle_append_budget_s, w),
        )
        add("sq1", _plain_sqlite(ctx.path("plain.db"), entries, 1, n))
        add("sq32", _plain_sqlite(ctx.path("plain.db"), entries, w, per))
        path = ctx.path("farmtrace-concurrent.db")
        _remove_db(path)
        profile = ctx.profiler("concurrent-sqlite") if first else None
        rate, c = _farmtrace_concurrent(ctx, _sqlite_url(path), entries, profile)
        add("ft_sqlite", rate)
        commits["sqlite"].append(c)
        _remove_db(path)
        if pg_down is None:
            with _postgres_schema(cfg.postgres_url) as (url, dsn, schema):  # type: ignore[arg-type]
                add("pg32", _plain_postgres(dsn, schema, entries, w, per))
                profile = ctx.profiler("concurrent-postgresql") if first else None
                rate, c = _farmtrace_concurrent(ctx, url, entries, profile)
                add("ft_pg", rate)
                commits["postgresql"].append(c)

    med = {key: statistics.median(v) for key, v in runs.items()}

    def ft_notes(db: str, key: str) -> str:
        cs = commits[db]
        return (
            f"farmtrace {n} appends, runs {_runs(runs[key])}; commits per run {', '.join(map(str, cs))} "
            f"(mean batch {n * len(cs) / max(sum(cs), 1):.1f})"
        )

    pm_name = "pymerkle append_entry, 1 commit each, 1 thread"
    pm_notes = (
        f"pymerkle runs {_runs(runs['pm1'])}; {w} threads sharing its tree (its lock serialises them): "
        f"{med['pm32']:,.0f}/s"
    )
    ctx.run.results += [
        _rate_result("concurrent", f"durable appends, {w} writers, SQLite", med["ft_sqlite"], med["pm1"], pm_name,
                     5.0, f"{ft_notes('sqlite', 'ft_sqlite')}; {pm_notes}"),
        _rate_result("concurrent", f"durable appends, {w} writers, SQLite", med["ft_sqlite"], med["sq32"],
                     f"plain INSERT, 1 commit/row, {w} threads (sqlite3, WAL, sync=FULL)", 0.5,
                     f"plain runs {_runs(runs['sq32'])}; the same inserts from 1 thread: {med['sq1']:,.0f}/s"),
    ]  # fmt: skip
    if pg_down is not None:
        ctx.run.notes.append(f"PostgreSQL rows skipped: {pg_down}")
        return
    ctx.run.results += [
        _rate_result("concurrent", f"durable appends, {w} writers, PostgreSQL", med["ft_pg"], med["pm1"],
                     pm_name + " (SQLite)", 5.0,
                     f"{ft_notes('postgresql', 'ft_pg')}; pymerkle has no PostgreSQL backend: its SQLite figure"),
        _rate_result("concurrent", f"durable appends, {w} writers, PostgreSQL", med["ft_pg"], med["pg32"],
                     f"plain INSERT, 1 commit/row, {w} threads (psycopg, autocommit)", 0.5,
                     f"plain runs {_runs(runs['pg32'])}"),
    ]  # fmt: skip


# --- 3. inclusion proofs ----------------------------------------------------------------------------


def bench_proofs(ctx: _Context) -> None:
    from pymerkle import SqliteTree

    cfg = ctx.config
    _ensure_large(ctx)
    assert ctx.large_ft and ctx.large_pm
    store = SqlStore.from_url(_sqlite_url(ctx.large_ft), create=False)
    log = Log(store, ctx.signer)
    size, root = log.size, log.checkpoint().root
    rng = random.Random(cfg.seed + 1)
    indexes = [rng.randrange(size) for _ in range(cfg.proof_samples)]

    # farmtrace: a fresh Log on the stored log, no warm-up (same protocol as pymerkle below).
    ft_lat, kept = [], []
    profile = ctx.profiler("proofs")
    try:
        with profile:
            for k, i in enumerate(indexes):
                t0 = time.perf_counter()
                proof = log.prove_inclusion(i, size)
                ft_lat.append(time.perf_counter() - t0)
                if k < 100:
                    kept.append((i, proof))
    finally:
        log.close()
        store.close()
    profile.write(f"farmtrace prove_inclusion at size {size}")
    for i, proof in kept:  # the proofs must verify, or the timing means nothing
        check_inclusion(proof, index=i, leaf=leaf_hash(ctx.entries[i]), size=size, root=root)

    # pymerkle: 1-based indexes; its subroot cache starts cold, as a freshly opened tree's does.
    tree = SqliteTree(ctx.large_pm)
    pm_lat: list[float] = []
    started = time.perf_counter()
    try:
        for i in indexes:
            t0 = time.perf_counter()
            tree.prove_inclusion(i + 1, size)
            pm_lat.append(time.perf_counter() - t0)
            if (
                len(pm_lat) >= cfg.pymerkle_min_proof_samples
                and time.perf_counter() - started > cfg.pymerkle_proof_budget_s
            ):
                break
    finally:
        tree.close()
    cut = (
        ""
        if len(pm_lat) == len(indexes)
        else f", stopped after {len(pm_lat)} samples at its {cfg.pymerkle_proof_budget_s:g} s budget"
    )

    ms = 1000.0
    label = f"inclusion proof at {_label(size)}, SQLite"
    common = (
        f"farmtrace {len(ft_lat)} samples (first {ft_lat[0] * ms:.2f} ms, max {max(ft_lat) * ms:.2f} ms); "
        f"pymerkle {len(pm_lat)} samples{cut} (first {pm_lat[0] * ms:.0f} ms, max {max(pm_lat) * ms:.0f} ms, "
        f"total {sum(pm_lat):.1f} s)"
    )
    for q, goal in ((0.50, None), (0.95, 2.0)):
        ft_q, pm_q = _percentile(ft_lat, q) * ms, _percentile(pm_lat, q) * ms
        ctx.run.results.append(
            Result(
                "proofs",
                f"{label}, p{int(q * 100)}",
                "ms",
                ft_q,
                pm_q,
                "pymerkle SqliteTree.prove_inclusion",
                pm_q / ft_q,
                f"≤ {goal:g} ms" if goal else "",
                None if goal is None else ft_q <= goal,
                common if goal else f"farmtrace mean {statistics.fmean(ft_lat) * ms:.2f} ms",
            )
        )


# --- 4. audit ---------------------------------------------------------------------------------------


def _timed_audit(ctx: _Context, *, tiles: str, profile: _Profiler | None = None) -> tuple[float, Any]:
    """Audit the large log; `tiles` is "stream" (`store.iter_tiles()`, as `farmtrace verify` passes
    them), "store" (the store itself: tiles read by key) or "none"."""
    assert ctx.large_ft
    store = SqlStore.from_url(_sqlite_url(ctx.large_ft), create=False)
    try:
        with profile or contextlib.nullcontext():
            t0 = time.perf_counter()
            report = audit(
                store.iter_entries(),
                store.checkpoints(),
                log_key=ctx.signer.verifier,
                tiles={"stream": store.iter_tiles, "store": lambda: store, "none": lambda: None}[tiles](),
            )
            seconds = time.perf_counter() - t0
    finally:
        store.close()
    return seconds, report


def _audit_verdict(report: Any, n: int) -> tuple[bool, str]:
    """Whether the audit of this clean log said what it must (OK, n entries), and what it said if not."""
    if report.ok and report.entries_checked == n:
        return True, ""
    first = report.first_failure.message if report.failures else "no failure"
    return False, (
        f"INVALID: the audit of a clean log reported {len(report.failures)} failure(s) after "
        f"{report.entries_checked} entries, first: {first!r}; "
    )


def bench_audit(ctx: _Context) -> None:
    n = ctx.config.large
    _ensure_large(ctx)
    entries = ctx.entries[:n]
    sha256 = hashlib.sha256
    modes = ("stream", "store", "none")
    rates: dict[str, list[float]] = {mode: [] for mode in modes}
    raw_rates: list[float] = []
    verdicts: dict[str, tuple[bool, str]] = {}
    reports: dict[str, Any] = {}
    for k in range(ctx.config.repeat):
        for mode in modes:
            profile = ctx.profiler("audit") if k == 0 and mode == "stream" else None
            seconds, reports[mode] = _timed_audit(ctx, tiles=mode, profile=profile)
            if profile:
                profile.write(f"farmtrace audit of {n} entries")
            rates[mode].append(n / seconds)
            verdicts[mode] = _audit_verdict(reports[mode], n)
        t0 = time.perf_counter()
        for e in entries:
            sha256(e).digest()
        raw_rates.append(n / (time.perf_counter() - t0))
    raw = statistics.median(raw_rates)
    base_name = "raw SHA-256 of the entries in memory"
    report = reports["stream"]
    full = _rate_result(
        "audit",
        f"full audit at {_label(n)}, SQLite",
        statistics.median(rates["stream"]),
        raw,
        base_name,
        0.3,
        f"{verdicts['stream'][1]}{report.tiles_checked} tiles and {report.checkpoints_checked} checkpoints "
        f"checked; tiles=store.iter_tiles() as `farmtrace verify` passes them; runs {_runs(rates['stream'])}; "
        f"SHA-256 runs {_runs(raw_rates)}",
    )
    keyed = _rate_result(
        "audit",
        f"full audit at {_label(n)}, tiles=store, SQLite",
        statistics.median(rates["store"]),
        raw,
        base_name,
        None,
        f"{verdicts['store'][1]}tiles read by key as each chunk needs them (bounded memory); "
        f"runs {_runs(rates['store'])}",
    )
    bare = _rate_result(
        "audit",
        f"audit at {_label(n)}, tiles=None, SQLite",
        statistics.median(rates["none"]),
        raw,
        base_name,
        None,
        f"{verdicts['none'][1]}entries and checkpoints only, no stored-tile comparison; runs {_runs(rates['none'])}",
    )
    for result, mode in ((full, "stream"), (keyed, "store"), (bare, "none")):
        result.valid = verdicts[mode][0]
    ctx.run.results += [full, keyed, bare]
    if not full.valid and report.first_failure:
        ctx.run.notes.append(f"the audit with tiles failed on a clean log: {report.first_failure.message}")


# --- running ----------------------------------------------------------------------------------------

_PHASES: dict[str, Callable[[_Context], None]] = {
    "bulk": bench_bulk,
    "concurrent": bench_concurrent,
    "proofs": bench_proofs,
    "audit": bench_audit,
}


def _machine(postgres_url: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
    }
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        facts["cpu"] = models[0] if models else None
    with contextlib.suppress(OSError, ValueError):
        facts["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        facts["pymerkle"] = version("pymerkle")
    if postgres_url:
        with contextlib.suppress(Exception):
            import psycopg

            dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(dsn, connect_timeout=3) as con:
                facts["postgresql"] = con.execute("SHOW server_version").fetchone()[0]
    return facts


def run(config: Config, *, echo: Callable[[str], None] = print) -> Run:
    """Run the benchmarks in `config.only`, in the canonical order; see the module docstring."""
    started = time.perf_counter()
    result = Run(
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        config=asdict(config),
        machine=_machine(config.postgres_url),
    )
    if config.profile_dir:
        os.makedirs(config.profile_dir, exist_ok=True)
        result.notes.append(
            f"cProfile was on for the farmtrace side: figures are inflated ({config.profile_dir})"
        )
    tmp = tempfile.mkdtemp(prefix="farmtrace-bench-")
    try:
        n = max(config.large, config.writers * config.appends_per_writer)
        _reset_peak_rss()
        t0 = time.perf_counter()
        entries = make_entries(n, seed=config.seed)
        result.phases["entries"] = {
            "seconds": round(time.perf_counter() - t0, 2),
            "peak_rss_mb": round(_peak_rss_mb()),
        }
        mean = sum(map(len, entries)) / len(entries)
        echo(
            f"made {n:,} entries of {min(map(len, entries))}-{max(map(len, entries))} bytes (mean {mean:.0f})"
        )
        result.config["entry_bytes_mean"] = round(mean, 1)
        ctx = _Context(config, tmp, Signer.generate("bench.example/log"), entries, result)
        for name in BENCHMARKS:
            if name not in config.only:
                continue
            echo(f"running {name} ...")
            resettable = _reset_peak_rss()
            t0 = time.perf_counter()
            _PHASES[name](ctx)
            result.phases[name] = {
                "seconds": round(time.perf_counter() - t0, 2),
                "peak_rss_mb": round(_peak_rss_mb()),
                **({} if resettable else {"peak_rss_is_lifetime": True}),
            }
            echo(f"  {name} took {result.phases[name]['seconds']:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result.elapsed_s = time.perf_counter() - started
    return result
