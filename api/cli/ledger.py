"""`farmtrace keygen`, `checkpoint`, `verify` and `export`: make a signed-note key; read, audit and copy
the ledger.

`keygen` makes an Ed25519 note key pair (a log's, or with --witness a cosignature/v1 key) on this
machine. The others open the ledger itself (a database or an offline bundle), never a server, and need only
the log's public key: `--key`, else the configured log key's, else the verifier key kept beside it
(log.pub), so an auditor with a copy of the database can run them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from farmtrace.ledger.bundle import check_bundle, check_bundle_trusting_its_own_key, write_bundle
from farmtrace.ledger.note import CosignatureSigner, Signer
from farmtrace.ledger.verify import format_evidence

from .common import CliError, load_settings, open_existing_log, parse_verifier

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `keygen`, `checkpoint`, `verify` and `export` to the `farmtrace` parser's subcommands."""
    k = sub.add_parser("keygen", help="make an Ed25519 key pair (note format)")
    k.add_argument("name")
    k.add_argument("--witness", action="store_true", help="a cosignature/v1 witness key")
    k.add_argument("--out", help="write the private key to this file (mode 0600)")
    k.set_defaults(func=cmd_keygen)
    vkey = "the log's verifier key (default: the configured log key's, or the one in <data dir>/log.pub)"
    cp = sub.add_parser("checkpoint", help="print the latest signed checkpoint")
    cp.add_argument("--key", help=vkey)
    cp.set_defaults(func=cmd_checkpoint)
    v = sub.add_parser("verify", help="audit the whole log (or an offline bundle)")
    v.add_argument("--bundle", help="an offline bundle written by `farmtrace export`")
    v.add_argument("--key", help=f"{vkey} to trust")
    v.add_argument(
        "--replay",
        action="store_true",
        help="also replay every entry: signatures, keys, rules, hash chains, the tables (docs/replay.md)",
    )
    v.add_argument(
        "--witnessed",
        action="append",
        default=[],
        metavar="FILE",
        help="with --replay: a checkpoint note a witness cosigned, to compare the log with (repeatable)",
    )
    v.set_defaults(func=cmd_verify)
    e = sub.add_parser("export", help="write the log to one offline bundle file")
    e.add_argument("file")
    e.add_argument("--key", help=vkey)
    e.set_defaults(func=cmd_export)


def cmd_keygen(args: argparse.Namespace) -> int:
    cls = CosignatureSigner if args.witness else Signer
    signer = cls.generate(args.name)
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(signer.key_string() + "\n")
        print(f"private key written to {args.out}")
    else:
        print(signer.key_string())
    print(signer.verifier.key_string())
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    log = open_existing_log(load_settings(), args.key)
    sys.stdout.write(log.checkpoint().note_with_cosignatures())
    return 0


def _print_report(report, what: str) -> int:
    print(f"{what}: {report.summary()}")
    if not report.ok:
        for f in report.failures[1:10]:
            print(f"  also: {f.message}")
        return 1
    print(f"  {report.entries_checked / max(report.seconds, 1e-9):,.0f} entries/s, {report.seconds:.2f} s")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    key = parse_verifier(args.key) if args.key else None
    if args.replay:
        return _replay(args, key)
    if args.witnessed:
        raise CliError("--witnessed goes with --replay", status=2)
    if args.bundle:
        if key is not None:
            bundle, report = check_bundle(Path(args.bundle), log_key=key)
        else:
            bundle, report = check_bundle_trusting_its_own_key(Path(args.bundle))
            print(
                f"farmtrace: warning: the bundle vouched for itself: it was checked against the log key "
                f"written inside it ({bundle.log_key}), which whoever wrote it chose; "
                "pass --key with the log's key to check it against the log",
                file=sys.stderr,
            )
        status = _print_report(report, f"bundle {args.bundle}")
        for f in report.failures:
            if f.evidence is not None:  # a fork: what a third party needs to see it (docs/evidence.md)
                print(f"  evidence (checkpoint at size {f.checkpoint_size}):")
                sys.stdout.write(format_evidence(f.evidence).decode())
        return status
    log = open_existing_log(load_settings(), args.key, check=False)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  {done:,}/{total:,} entries", end="", file=sys.stderr, flush=True)

    report = log.audit(log_key=key, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return _print_report(report, f"log {log.origin}")


def _replay(args: argparse.Namespace, key) -> int:
    """`verify --replay`: the replay audit (trace/replay.py); one line, exit 1, at the first failure."""
    from farmtrace.trace.clock import utc_now
    from farmtrace.trace.replay import ReplayFailure, replay

    if args.bundle:
        raise CliError("--replay audits the database and its tables, not a bundle", status=2)
    settings = load_settings()
    notes = []
    for name in args.witnessed:
        try:
            notes.append(Path(name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read the witnessed checkpoint {name}: {exc}", status=2) from exc
    log = open_existing_log(settings, args.key, check=False)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  replayed {done:,}/{total:,} entries", end="", file=sys.stderr, flush=True)

    try:
        report = replay(
            log,
            clock=utc_now,
            log_key=key,
            witnesses=settings.witnesses(),
            witnessed_notes=notes,
            progress=progress,
        )
    except ReplayFailure as exc:
        print(f"log {log.origin}: FAILED: {exc}")
        return 1
    finally:
        if sys.stderr.isatty():
            print(file=sys.stderr)
    print(f"log {log.origin}: {report.summary()}")
    print(f"  {report.entries_replayed / max(report.seconds, 1e-9):,.0f} entries/s, {report.seconds:.2f} s")
    return _check_compliance(log)


def _check_compliance(log) -> int:
    """After the replay: the parties' compliance records, recomputed from the entries alone, must be
    the ones the service serves (trace/reads/compliance.py `check_records`, docs/compliance-record.md)."""
    from farmtrace.trace.compliance import ComplianceDivergence
    from farmtrace.trace.reads.compliance import check_records

    try:
        check_records(log.engine, log)
    except ComplianceDivergence as exc:
        print(f"log {log.origin}: FAILED: compliance records: {exc}")
        return 1
    print("  compliance records: recomputed from the entries, equal to the served ones")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    log = open_existing_log(load_settings(), args.key)
    n = write_bundle(
        Path(args.file),
        log_key=log.verifier,
        checkpoints=log.checkpoints(),
        entries=log.iter_entries(),
    )
    print(f"wrote {n} entries and {len(log.checkpoints())} checkpoints to {args.file}")
    return 0
