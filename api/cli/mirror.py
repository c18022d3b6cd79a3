"""`farmtrace mirror`: follow a log through its tiles, keep a verified copy, serve it and cosign it.

    farmtrace mirror --from URL --db DB --key MIRROR_KEY --log-key LOG_VKEY
                     [--listen HOST:PORT] [--interval S] [--witnesses "URL VKEY,…"]
                     [--witness-key VKEY …] [--once]

URL is the log's tiles prefix (`http://primary:8000/log`, or a static server over `farmtrace
publish`). DB is the mirror's own database (a SQLite file, or a database URL): the ledger's tables,
so `farmtrace restore` can build a service from it. MIRROR_KEY is a cosignature/v1 key file
(`farmtrace witness keygen NAME --out FILE` makes one; give the mirror a name of its own). LOG_VKEY
is the log's verifier key, or a file holding it. `--witnesses` makes the mirror submit each checkpoint
it holds to those witnesses (c2sp.org/tlog-witness), storing their cosignatures with it; `--witness-key`
keeps the cosignatures by that witness that the log serves with its checkpoint. `--once` follows
once and exits (0, or 1 with the reason). A fork stops the mirror: the evidence is written to
`<DB file>.fork-evidence` (or `./mirror.fork-evidence`), the exit status is 1, and what it held
stays served until then. docs/mirror.md says how to run one.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from farmtrace.ledger.errors import InconsistencyError, LedgerError
from farmtrace.ledger.mirror import Mirror, MirrorStep
from farmtrace.ledger.note import CosignatureSigner, Verifier
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.verify import format_evidence
from farmtrace.trace.clock import utc_now

from .common import CliError, end_on_sigterm
from .witness import parse_listen

__all__ = ["FETCH_THREADS", "add_fetch_options", "database_url", "fetcher", "read_log_key", "register"]

FETCH_THREADS = 4  # kept-alive connections fetching bundles ahead, handed out in order (docs/mirror.md)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mirror` to the `farmtrace` parser's subcommands."""
    p = sub.add_parser(
        "mirror", help="follow a log through its tiles, keep a verified copy, serve and cosign it"
    )
    p.add_argument(
        "--from", dest="source", required=True, help="the log's tiles prefix, e.g. http://host:8000/log"
    )
    p.add_argument("--db", required=True, help="the mirror's own database: a SQLite file or a database URL")
    p.add_argument("--key", required=True, help="the mirror's cosignature/v1 key file (PRIVATE+KEY+…)")
    p.add_argument("--log-key", required=True, help="the log's verifier key, or a file holding it")
    p.add_argument("--listen", default="127.0.0.1:8800", help="HOST:PORT to serve on (default %(default)s)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between follows (default 2)")
    p.add_argument("--witnesses", default="", help="'URL VKEY,…': witnesses to submit held checkpoints to")
    p.add_argument(
        "--witness-key", action="append", default=[], help="a witness key whose cosignatures to keep"
    )
    p.add_argument("--once", action="store_true", help="follow once, print the size, and exit")
    add_fetch_options(p)
    p.set_defaults(func=cmd_mirror)


def add_fetch_options(p: argparse.ArgumentParser) -> None:
    """--fetch-threads and --no-gzip: how bundles are fetched (mirror and restore)."""
    p.add_argument(
        "--fetch-threads",
        type=int,
        default=FETCH_THREADS,
        help="bundles fetched at once, each on a kept-alive connection (1-16, default %(default)s: "
        "hides the round trips of a distant source; 1 costs the least CPU next to it)",
    )
    p.add_argument(
        "--no-gzip",
        action="store_true",
        help="ask for bundles uncompressed (a source on the same network: inflating costs more CPU "
        "than the bandwidth saves)",
    )


def fetcher(args: argparse.Namespace):
    """The HttpTiles of --from, --no-gzip; CliError for --fetch-threads out of range."""
    from ..mirroring import HttpTiles

    if not 1 <= args.fetch_threads <= 16:
        raise CliError(f"--fetch-threads is 1 to 16, found {args.fetch_threads}", status=2)
    try:
        return HttpTiles(args.source, gzip=not args.no_gzip)
    except LedgerError as exc:
        raise CliError(f"--from: {exc}", status=2) from exc


def database_url(db: str) -> str:
    """A `--db` value as a database URL: a URL as it is, a path as a SQLite file."""
    return db if "://" in db else f"sqlite:///{Path(db).resolve()}"


def read_log_key(text: str) -> Verifier:
    """A log verifier key given as itself or as a file holding it; CliError (status 2) otherwise."""
    path = Path(text)
    try:
        value = path.read_text().strip() if "+" not in text and path.is_file() else text
        return Verifier.from_key_string(value)
    except (OSError, LedgerError) as exc:
        raise CliError(
            f"--log-key is not a log verifier key (name+keyid+base64) nor a file with one: {exc}", status=2
        ) from exc


def _cosigner(path: str) -> CosignatureSigner:
    try:
        return CosignatureSigner.from_key_string(Path(path).read_text().strip())
    except OSError as exc:
        raise CliError(f"{path}: cannot read the mirror's key: {exc.strerror or exc}") from exc
    except LedgerError as exc:
        raise CliError(
            f"{path} is not a cosignature/v1 key (`farmtrace witness keygen` makes one): {exc}", status=2
        ) from exc


def _evidence_path(db: str) -> Path:
    return Path(f"{db}.fork-evidence") if "://" not in db else Path("mirror.fork-evidence")


def _print(step: MirrorStep) -> None:
    if step.entries or step.previous_size == 0:
        print(f"mirrored size {step.size} (+{step.entries} entries)", flush=True)


def cmd_mirror(args: argparse.Namespace) -> int:
    from ..mirroring import Follower

    log_key = read_log_key(args.log_key)
    cosigner = _cosigner(args.key)
    witnesses = [read_log_key(k) for k in args.witness_key]
    if not 0.05 <= args.interval <= 86_400:
        raise CliError("--interval is 0.05 to 86400 seconds", status=2)
    fetch = fetcher(args)
    store = SqlStore.from_url(database_url(args.db))
    clock = lambda: utc_now().timestamp()  # noqa: E731 - the one clock, read as POSIX seconds
    mirror = Mirror(
        store,
        fetch,
        log_key=log_key,
        cosigner=cosigner,
        witnesses=witnesses,
        clock=clock,
        fetch_threads=args.fetch_threads,
    )
    evidence_file = _evidence_path(args.db)

    def keep_evidence(evidence: bytes) -> None:
        evidence_file.write_bytes(evidence)
        print(f"farmtrace: the log forked; evidence written to {evidence_file}", file=sys.stderr, flush=True)

    if args.once:
        try:
            _print(Follower(mirror, interval=args.interval, clock=clock).once())
        except InconsistencyError as exc:
            keep_evidence(format_evidence(exc.evidence))
            raise CliError(str(exc)) from exc
        finally:
            store.close()
        return 0
    return _serve(args, mirror, Follower, clock, keep_evidence)


def _serve(args, mirror: Mirror, follower_class, clock, keep_evidence) -> int:
    import uvicorn

    from farmtrace.ledger.log import Log
    from farmtrace.ledger.witnessing import WitnessEndpoint, Witnessing

    from ..mirror_app import create_mirror_app

    host, port = parse_listen(args.listen)
    try:
        endpoints = WitnessEndpoint.parse_list(args.witnesses) if args.witnesses else ()
    except LedgerError as exc:
        raise CliError(f"--witnesses: {exc}", status=2) from exc
    submitter: list[Witnessing] = []
    lock = threading.Lock()
    forked = threading.Event()

    def on_step(step: MirrorStep) -> None:
        _print(step)
        with lock:  # the witnesses are fed from the mirror's copy once it holds a checkpoint
            if endpoints and not submitter:
                submitter.append(Witnessing(Log(mirror.store, mirror.log_key), endpoints, clock=clock))
                submitter[0].start()

    def on_evidence(evidence: bytes) -> None:
        keep_evidence(evidence)
        forked.set()

    follower = follower_class(
        mirror, interval=args.interval, clock=clock, on_evidence=on_evidence, on_step=on_step
    )
    print(
        f"mirror {mirror.cosigner.verifier.key_string()} following {args.source} into {args.db}, "
        f"serving http://{args.listen}/log/",
        flush=True,
    )
    end_on_sigterm()
    try:
        uvicorn.run(create_mirror_app(mirror, follower), host=host, port=port, log_level="warning")
    finally:
        for s in submitter:
            s.stop()
        mirror.store.close()
    return 1 if forked.is_set() else 0
