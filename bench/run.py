"""Run the ledger benchmarks with their baselines: `python bench/run.py [--quick] [--only NAME] [--json FILE]`.

Prints one table (benchmark, farmtrace figure, baseline figure, ratio, goal, PASS/MISS) and writes the
results as JSON (default bench/results/latest.json, a git-ignored folder). See bench/README.md.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The repository root must not be on sys.path: its trace/ folder would shadow the standard library's
# `trace` (STYLE.md, "Architecture"); farmtrace itself is imported from the installed package.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import json  # noqa: E402

import ledger_bench  # noqa: E402


def _fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "ms":
        return f"{v:.3f} ms" if v < 10 else f"{v:.1f} ms"
    return f"{v:,.0f}/s"


def format_table(r: ledger_bench.Run) -> str:
    """The results as a plain-text table, then each row's notes, the phases and the total time."""
    head = ("benchmark", "farmtrace", "baseline", "baseline is", "ratio", "goal", "result")
    rows = [head]
    for x in r.results:
        verdict = "info" if x.passed is None else ("PASS" if x.passed else "MISS")
        if not x.valid:
            verdict = "INVALID"
        ratio = "—" if x.ratio is None else f"{x.ratio:.2f}×"
        rows.append(
            (x.name, _fmt_value(x.farmtrace, x.unit), _fmt_value(x.baseline, x.unit), x.baseline_name, ratio,
             x.goal or "—", verdict)
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    right = {1, 2, 4}
    lines = []
    for k, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [
        "",
        "ratio: times better than the baseline (rates: farmtrace/baseline; latencies: baseline/farmtrace).",
        f"rates are the median of {r.config['repeat']} run(s); INVALID: the operation gave a wrong answer.",
        "",
    ]
    for x in r.results:
        if x.notes:
            lines.append(f"- {x.name} vs {x.baseline_name}: {x.notes}")
    phases = ", ".join(f"{k} {v['seconds']:.1f} s / {v['peak_rss_mb']:.0f} MB" for k, v in r.phases.items())
    lines.append(f"- phases (wall time / peak RSS of the whole process during the phase): {phases}")
    lines.extend(f"- note: {n}" for n in r.notes)
    lines.append(f"total {r.elapsed_s:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke-test sizes (10k/100k entries), under a minute"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=ledger_bench.BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(ledger_bench.BENCHMARKS)}",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        default=os.path.join(_HERE, "results", "latest.json"),
        help="write the results here (default: bench/results/latest.json)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FARMTRACE_TEST_POSTGRES_URL", ledger_bench.DEFAULT_POSTGRES_URL),
        help="SQLAlchemy URL of a PostgreSQL database to use (a schema bench_<pid> is made and dropped)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the farmtrace side of each benchmark into bench/results/profile-*.txt (inflates figures)",
    )
    args = parser.parse_args(argv)

    options = {
        "only": tuple(args.only) if args.only else ledger_bench.BENCHMARKS,
        "postgres_url": None if args.no_postgres else args.postgres_url,
        "profile_dir": os.path.join(os.path.dirname(os.path.abspath(args.json)), "profiles")
        if args.profile
        else None,
    }
    config = ledger_bench.Config.quick(**options) if args.quick else ledger_bench.Config(**options)
    result = ledger_bench.run(config, echo=lambda s: print(s, flush=True))
    print()
    print(format_table(result))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result.to_json(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
