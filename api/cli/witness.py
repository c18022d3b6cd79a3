"""`farmtrace witness keygen` and `farmtrace witness serve`: run a witness (c2sp.org/tlog-witness).

    farmtrace witness keygen NAME --out FILE
        make a cosignature/v1 key pair: the private key goes to FILE (mode 0600), the verifier key
        (NAME+keyid+base64) is printed, for the log's operator (FARMTRACE_WITNESSES) and for
        anyone who checks cosignatures
    farmtrace witness serve --db PATH --key FILE --logs FILE [--listen HOST:PORT]
        serve add-checkpoint with the key in FILE, keeping state in the SQLite file PATH, for the
        logs listed in the policy file (`log <vkey> [<url>]` lines, ledger/witness.py)

A witness is a separate program with its own key, its own state and its own list of trusted logs;
it never opens the log's database (docs/witness.md, "Running a witness").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.note import CosignatureSigner
from farmtrace.ledger.witness import Witness, parse_log_list
from farmtrace.ledger.witness_store import SqliteWitnessStore
from farmtrace.trace.clock import utc_now

from .common import CliError, end_on_sigterm

__all__ = ["parse_listen", "register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `witness keygen` and `witness serve` to the `farmtrace` parser's subcommands."""
    w = sub.add_parser("witness", help="run a witness that cosigns logs' checkpoints (tlog-witness)")
    ws = w.add_subparsers(dest="witness_command", required=True)
    k = ws.add_parser("keygen", help="make a witness's cosignature/v1 key pair")
    k.add_argument("name", help="the witness's name, e.g. witness.market-association.example/w1")
    k.add_argument("--out", required=True, help="file for the private key (must not exist)")
    k.set_defaults(func=cmd_keygen)
    s = ws.add_parser("serve", help="serve add-checkpoint over HTTP")
    s.add_argument("--db", required=True, help="the witness's own SQLite state file (created if new)")
    s.add_argument("--key", required=True, help="file holding the witness's PRIVATE+KEY+… cosigner key")
    s.add_argument("--logs", required=True, help="the trusted logs: a file of 'log <vkey> [<url>]' lines")
    s.add_argument("--listen", default="127.0.0.1:8700", help="HOST:PORT to listen on (default %(default)s)")
    s.set_defaults(func=cmd_serve)


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        signer = CosignatureSigner.generate(args.name)
    except LedgerError as exc:
        raise CliError(f"invalid witness name {args.name!r}: {exc}", status=2) from exc
    try:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise CliError(f"{args.out} exists: a witness key is never overwritten", status=2) from exc
    with os.fdopen(fd, "w") as f:
        f.write(signer.key_string() + "\n")
    print(f"private key written to {args.out}", file=sys.stderr)
    print(signer.verifier.key_string())
    return 0


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets) as (host, port); raises CliError (status 2)."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"--listen is HOST:PORT, e.g. 127.0.0.1:8700, got {text!r}", status=2)
    return host, int(port)


def _load_witness(args: argparse.Namespace) -> Witness:
    try:
        signer = CosignatureSigner.from_key_string(Path(args.key).read_text().strip())
    except OSError as exc:
        raise CliError(f"{args.key}: cannot read the key file: {exc.strerror or exc}") from exc
    except LedgerError as exc:
        raise CliError(
            f"{args.key} is not a witness key (`farmtrace witness keygen NAME --out FILE` makes one): {exc}",
            status=2,
        ) from exc
    try:
        logs = parse_log_list(Path(args.logs).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"{args.logs}: cannot read the list of logs: {exc.strerror or exc}") from exc
    except LedgerError as exc:
        raise CliError(f"{args.logs}: {exc}", status=2) from exc
    return Witness(signer, logs, SqliteWitnessStore(args.db), clock=lambda: utc_now().timestamp())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..witness_app import create_witness_app

    host, port = parse_listen(args.listen)
    witness = _load_witness(args)
    print(
        f"witness {witness.signer.verifier.key_string()} serving http://{args.listen}/add-checkpoint "
        f"for {', '.join(sorted(witness.logs))} (state: {args.db})",
        flush=True,
    )
    end_on_sigterm()
    uvicorn.run(create_witness_app(witness), host=host, port=port, log_level="warning")
    return 0
