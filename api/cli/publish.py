"""`farmtrace publish DIR`: write the log as static C2SP tlog-tiles files, and keep them current.

    farmtrace publish DIR [--key VKEY] [--follow] [--interval SECONDS]

One pass by default: DIR gets the checkpoint, every hash tile and every entry bundle of the log's
latest checkpoint (ledger/publication.py says how, and in which order), so any static server serving
DIR answers as the service's /log/ routes do (docs/tiles.md). With `--follow` it publishes again every
`--interval` seconds (default 5) until SIGTERM or Ctrl-C, which end it cleanly between passes (a
pass in progress finishes: DIR never holds a checkpoint without its tiles). A pass killed outright
leaves only temporary `.publish-*` files, which the next start removes. Each pass that
publishes something prints one line: the size, and how many files it wrote and removed.

Like `verify`, it reads the ledger where FARMTRACE_DATA_DIR or FARMTRACE_DATABASE_URL point, with
the log's verifier key only.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from farmtrace.ledger.publication import publish, remove_leftovers

from .common import load_settings, open_existing_log

__all__ = ["cmd_publish", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `publish` to the `farmtrace` parser's subcommands."""
    p = sub.add_parser("publish", help="write the log as static tlog-tiles files (and keep them current)")
    p.add_argument("directory", metavar="DIR", help="where to write checkpoint and tile/…")
    p.add_argument(
        "--key", help="the log's verifier key (default: the configured one, or <data dir>/log.pub)"
    )
    p.add_argument("--follow", action="store_true", help="keep publishing new checkpoints until stopped")
    p.add_argument(
        "--interval", type=_interval, default=5.0, help="seconds between passes with --follow (default 5)"
    )
    p.set_defaults(func=cmd_publish)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0.05 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected 0.05 to 86400 seconds, got {text}")
    return value


def cmd_publish(args: argparse.Namespace) -> int:
    log = open_existing_log(load_settings(), args.key)
    stop = threading.Event()
    leftovers = remove_leftovers(Path(args.directory)) if Path(args.directory).is_dir() else 0
    if leftovers:
        print(f"removed {leftovers} temporary files an interrupted pass left", flush=True)
    if args.follow:
        # Between passes the wait ends at once; a pass in progress finishes first.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    try:
        while True:
            done = publish(log, Path(args.directory))
            if done.written or done.removed:
                print(
                    f"published size {done.size} (was {done.previous_size}): "
                    f"{done.written} files written, {done.removed} removed",
                    flush=True,
                )
            if not args.follow or stop.wait(args.interval):
                return 0
    finally:
        log.close(close_store=True)
