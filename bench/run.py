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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes (10k/100k entries), under a minute")
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
        "profile_dir": os.path.join(os.path.dirname(os.path.abspath(args.json)), "profiles") if args.profile else None,
    }
    config = ledger_bench.Config.quick(**options) if args.quick else ledger_bench.Config(**options)
    result = ledger_bench.run(config, echo=lambda s: print(s, flush=True))
    print()
    print(ledger_bench.format_table(result))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result.to_json(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
