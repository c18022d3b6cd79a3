"""The `farmtrace` command.

    farmtrace serve [--host H] [--port P] [--workers N]   run the service (SQLite by default)
    farmtrace init                                        create the data directory and the log key
    farmtrace keygen NAME [--witness] [--out FILE]        make an Ed25519 note key pair
    farmtrace checkpoint                                  print the latest signed checkpoint
    farmtrace verify [--bundle FILE] [--key VKEY]         full audit of the database, or of a bundle
    farmtrace export FILE                                 write the whole log to one offline bundle
    farmtrace cosign --witness-key FILE [--state FILE]    act as a witness: check and cosign the latest checkpoint

Exit status: 0 on success, 1 when a verification fails, 2 on a usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from farmtrace.ledger import merkle
from farmtrace.ledger.audit import audit
from farmtrace.ledger.bundle import check_bundle, write_bundle
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.note import CosignatureSigner, Signer, Verifier, open_note, sign_note

from .settings import ConfigError, Settings

__all__ = ["main"]


def _settings() -> Settings:
    return Settings.from_env()


def _open_log(settings: Settings):
    from .app import open_log

    return open_log(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    log = _open_log(settings)  # create storage and keys once, before any worker starts
    log.close()
    log.store.close()
    url = f"http://{args.host}:{args.port}/"
    print(f"farmtrace is serving {settings.resolved_database_url} at {url}", flush=True)
    uvicorn.run(
        "farmtrace.api.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    settings = _settings()
    log = _open_log(settings)
    print(f"log origin:   {log.origin}")
    print(f"log key:      {log.verifier.key_string()}")
    print(f"database:     {settings.resolved_database_url}")
    print(f"log size:     {log.size}")
    log.close()
    return 0


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
    log = _open_log(_settings())
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
    key = Verifier.from_key_string(args.key) if args.key else None
    if args.bundle:
        bundle, report = check_bundle(Path(args.bundle), log_key=key)
        if key is None:
            print(
                f"note: trusting the log key carried in the bundle ({bundle.log_key}); pass --key to pin it"
            )
        return _print_report(report, f"bundle {args.bundle}")
    settings = _settings()
    log = _open_log(settings)
    store = log.store

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  {done:,}/{total:,} entries", end="", file=sys.stderr, flush=True)

    report = audit(
        store.iter_entries(),
        store.checkpoints(),
        log_key=key or log.verifier,
        tiles=store.iter_tiles(),
        progress=progress,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return _print_report(report, f"log {log.origin}")


def cmd_export(args: argparse.Namespace) -> int:
    log = _open_log(_settings())
    n = write_bundle(
        Path(args.file),
        log_key=log.verifier,
        checkpoints=log.store.checkpoints(),
        entries=log.store.iter_entries(),
    )
    print(f"wrote {n} entries and {len(log.store.checkpoints())} checkpoints to {args.file}")
    return 0


def cmd_cosign(args: argparse.Namespace) -> int:
    """A witness (C2SP tlog-witness duties): verify the log's signature and consistency, then cosign."""
    witness = CosignatureSigner.from_key_string(Path(args.witness_key).read_text().strip())
    log = _open_log(_settings())
    latest = log.checkpoint()
    cp = open_checkpoint(latest.note, log.verifier).checkpoint
    state = Path(args.state) if args.state else Path(args.witness_key).with_suffix(".state")
    if state.exists():
        old = open_checkpoint(state.read_text(), log.verifier).checkpoint
        if old.size > cp.size:
            print(f"refused: the log shrank from {old.size} to {cp.size}", file=sys.stderr)
            return 1
        if 0 < old.size < cp.size:
            proof = log.prove_consistency(old.size, cp.size)
            merkle.check_consistency(
                proof, old_size=old.size, new_size=cp.size, old_root=old.root, new_root=cp.root
            )
        elif old.size == cp.size and old.root != cp.root:
            print(f"refused: two different roots for size {cp.size}", file=sys.stderr)
            return 1
    opened = open_note(latest.note, [log.verifier])
    cosigned = sign_note(opened.text, witness.at_time(int(time.time())), existing=opened.signatures)
    log.add_cosignature(cosigned, witness.verifier)
    state.write_text(latest.note)
    print(f"cosigned checkpoint of size {cp.size} as {witness.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="farmtrace", description="A verifiable farm-to-table traceability ledger."
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the service")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(func=cmd_serve)
    sub.add_parser("init", help="create the data directory, database and log key").set_defaults(func=cmd_init)
    k = sub.add_parser("keygen", help="make an Ed25519 key pair (note format)")
    k.add_argument("name")
    k.add_argument("--witness", action="store_true", help="a cosignature/v1 witness key")
    k.add_argument("--out", help="write the private key to this file (mode 0600)")
    k.set_defaults(func=cmd_keygen)
    sub.add_parser("checkpoint", help="print the latest signed checkpoint").set_defaults(func=cmd_checkpoint)
    v = sub.add_parser("verify", help="audit the whole log (or an offline bundle)")
    v.add_argument("--bundle", help="an offline bundle written by `farmtrace export`")
    v.add_argument("--key", help="the log's verifier key to trust (default: the configured log key)")
    v.set_defaults(func=cmd_verify)
    e = sub.add_parser("export", help="write the log to one offline bundle file")
    e.add_argument("file")
    e.set_defaults(func=cmd_export)
    c = sub.add_parser("cosign", help="as a witness, check and cosign the latest checkpoint")
    c.add_argument(
        "--witness-key", required=True, help="file holding the witness's PRIVATE+KEY+… cosigner key"
    )
    c.add_argument("--state", help="file remembering the last cosigned checkpoint (default: KEYFILE.state)")
    c.set_defaults(func=cmd_cosign)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
