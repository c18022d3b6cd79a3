"""`farmtrace checkpoint`, `verify`, `export` and `cosign`: read, audit, copy and witness the ledger.

These commands open the ledger itself (a database or an offline bundle), never a server, and need only
the log's public key: `--key`, else the configured log key's, else the verifier key kept beside it
(log.pub), so an auditor with a copy of the database can run them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from farmtrace.ledger.bundle import check_bundle, check_bundle_trusting_its_own_key, write_bundle
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import InconsistencyError, LedgerError, VerificationError
from farmtrace.ledger.note import CosignatureSigner, open_note, sign_note
from farmtrace.ledger.verify import (
    check_checkpoint_consistency,
    format_evidence,
    prove_checkpoint_consistency,
)
from farmtrace.trace.clock import utc_now

from .common import CliError, load_settings, open_existing_log, parse_verifier

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `checkpoint`, `verify`, `export` and `cosign` to the `farmtrace` parser's subcommands."""
    vkey = "the log's verifier key (default: the configured log key's, or the one in <data dir>/log.pub)"
    cp = sub.add_parser("checkpoint", help="print the latest signed checkpoint")
    cp.add_argument("--key", help=vkey)
    cp.set_defaults(func=cmd_checkpoint)
    v = sub.add_parser("verify", help="audit the whole log (or an offline bundle)")
    v.add_argument("--bundle", help="an offline bundle written by `farmtrace export`")
    v.add_argument("--key", help=f"{vkey} to trust")
    v.set_defaults(func=cmd_verify)
    e = sub.add_parser("export", help="write the log to one offline bundle file")
    e.add_argument("file")
    e.add_argument("--key", help=vkey)
    e.set_defaults(func=cmd_export)
    c = sub.add_parser("cosign", help="as a witness, check and cosign the latest checkpoint")
    c.add_argument(
        "--witness-key", required=True, help="file holding the witness's PRIVATE+KEY+… cosigner key"
    )
    c.add_argument("--state", help="file remembering the last cosigned checkpoint (default: KEYFILE.state)")
    c.set_defaults(func=cmd_cosign)


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


def _check_witnessed(log, state: Path, note: str) -> None:
    """The witness's duty before it cosigns `note`: the log's tree must extend the one in `state`.

    Raises CliError ("refused: …") if it does not; for a fork (ledger.verify's InconsistencyError)
    the evidence is first written beside the state file, for anyone to re-check (docs/evidence.md).
    """
    old_note = state.read_bytes()
    old = open_checkpoint(old_note, log.verifier).checkpoint
    new = open_checkpoint(note, log.verifier).checkpoint
    try:
        proof = prove_checkpoint_consistency(old.size, new.size, log) if old.size < new.size else []
        check_checkpoint_consistency(old_note, note, proof, log_key=log.verifier)
    except InconsistencyError as exc:
        found = state.with_name(state.name + ".evidence")
        found.write_bytes(format_evidence(exc.evidence))
        raise CliError(f"refused: {exc}; the evidence is in {found}") from exc
    except VerificationError as exc:
        raise CliError(f"refused: {exc}") from exc


def cmd_cosign(args: argparse.Namespace) -> int:
    """A witness (C2SP tlog-witness duties): verify the log's signature and consistency, then cosign."""
    try:
        witness = CosignatureSigner.from_key_string(Path(args.witness_key).read_text().strip())
    except OSError as exc:
        raise CliError(f"{args.witness_key}: cannot read the key file: {exc.strerror or exc}") from exc
    except LedgerError as exc:
        raise CliError(
            f"{args.witness_key} is not a witness key (`farmtrace keygen NAME --witness` makes one): {exc}"
        ) from exc
    log = open_existing_log(load_settings())
    latest = log.checkpoint()
    cp = open_checkpoint(latest.note, log.verifier).checkpoint
    state = Path(args.state) if args.state else Path(args.witness_key).with_suffix(".state")
    if state.exists():
        _check_witnessed(log, state, latest.note)
    opened = open_note(latest.note, [log.verifier])
    cosigned = sign_note(opened.text, witness.at_time(int(utc_now().timestamp())), existing=opened.signatures)
    log.add_cosignature(cosigned, witness.verifier)
    state.write_text(latest.note)
    print(f"cosigned checkpoint of size {cp.size} as {witness.name}")
    return 0
