"""The `farmtrace` command: its parser, and `main`, which runs one subcommand and turns its failure
into one line on stderr and an exit status.

    farmtrace serve [--host H] [--port P] [--workers N]   run the service (SQLite by default)
    farmtrace init                                        create the data directory and the log key
    farmtrace keygen NAME [--witness] [--out FILE]        make an Ed25519 note key pair
    farmtrace checkpoint [--key VKEY]                     print the latest signed checkpoint
    farmtrace verify [--bundle FILE] [--key VKEY]         full audit of the database, or of a bundle
    farmtrace export FILE [--key VKEY]                    write the whole log to one offline bundle
    farmtrace publish DIR [--key VKEY] [--follow]         write the log as static tlog-tiles files (docs/tiles.md)
    farmtrace witness keygen NAME --out FILE              make a witness's cosignature/v1 key pair
    farmtrace witness serve --db PATH --key FILE --logs FILE [--listen HOST:PORT]
                                                          run a witness (c2sp.org/tlog-witness, docs/witness.md)
    farmtrace mirror --from URL --db DB --key KEY --log-key VKEY [--listen HOST:PORT]
                                                          follow, keep, serve and cosign a log's copy (docs/mirror.md)
    farmtrace restore --from URL --db NEWDB --log-key KEYFILE [--backup FILE --backup-key KEYFILE]
                                                          build a working service from a mirror
    farmtrace gateway --key PARTY.key --platform URL [--db PATH] [--listen HOST:PORT]
                                                          a party's EPCIS 2.0 capture interface (docs/epcis-mapping.md)
    farmtrace backup --out FILE --backup-key KEYFILE      seal the off-ledger tables (also: backup keygen --out KEYFILE)
    farmtrace demo                                        fill an empty database with the Changsha demo
    farmtrace party-key PARTY_ID --out FILE               make a party's Ed25519 signing key
    farmtrace register RECORD.json --key REGULATOR.key    register a party (signed by a regulator)
    farmtrace party show ID [--private --key REG.key]     a party's record (with contact details: regulators)
    farmtrace party key-add ID PUBLIC.json --key REG.key  give a party another key (rotation)
    farmtrace party key-revoke ID KEY_ID --reason R --key REG.key
    farmtrace party suspend ID --reason R --key REG.key   (also: party key, party register)
    farmtrace event FILE… --key PARTY.key                 sign and record events (one upload; an event or a list per file)
    farmtrace import FILE --key PARTY.key [--lang L]      record a spreadsheet record book (台账, CSV/XLSX), one event a row
    farmtrace trace LOT [--direction D] [--key PARTY.key] trace a lot through the server (holders: by audience)
    farmtrace recall LOT --key REGULATOR.key --reason …   recall a lot and print who is affected
    farmtrace verify-lot LOT [--key VKEY]                 check a lot's journey as the consumer page does
Commands that talk to a server take --server URL (default http://127.0.0.1:8000, or FARMTRACE_SERVER).
`serve` gives its labels the address it binds unless FARMTRACE_PUBLIC_URL says otherwise.

Exit status: 0 on success; 1 when a verification fails or the command fails (the server refuses or
cannot be reached, a file cannot be read); 2 on a usage or configuration error, or when there is no
ledger where a command that reads one looks (so a monitor running `farmtrace verify` can tell "the
log was altered" from "pointed at the wrong place"). Every failure is one line on stderr,
`farmtrace: <what>`; FARMTRACE_DEBUG=1 shows the traceback of an unexpected one.

To add a subcommand: write `cmd_<name>(args) -> int` and a `register(sub)` that adds its subparser
(`with_server` from .common for `--server`/`--key`) in the module of its noun (server, ledger, parties,
events; or a new module), and, for a new module, add it to `COMMANDS` below: one line. Raise CliError
for a failure the user can act on.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import httpx

from farmtrace.client import ClientError
from farmtrace.ledger.errors import LedgerError
from farmtrace.trace.errors import TraceError

from ..settings import ConfigError
from . import events, gateway, ledger, mirror, parties, publish, restore, server, sheets, witness
from .common import CliError

__all__ = ["COMMANDS", "build_parser", "main"]

# Each module adds its subcommands to the parser, in this order (the order of `farmtrace --help`).
COMMANDS = (server, parties, events, sheets, ledger, witness, publish, mirror, restore, gateway)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="farmtrace", description="A verifiable farm-to-table traceability ledger."
    )
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return p


def _explain(exc: Exception, args: argparse.Namespace) -> tuple[str, int]:
    """The one line (without the `farmtrace: ` prefix) and the exit status for a failure."""
    if isinstance(exc, CliError):
        return str(exc), exc.status
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}", 2
    if isinstance(exc, ClientError):
        return f"refused: {exc}", 1
    if isinstance(exc, httpx.TransportError):
        server = getattr(args, "server", None) or "the server"
        return (
            f"cannot reach the server at {server.rstrip('/')}: {exc or type(exc).__name__}; "
            "is `farmtrace serve` running there? (--server URL or FARMTRACE_SERVER names another)",
            1,
        )
    if isinstance(exc, (LedgerError, TraceError)):
        return f"error: {exc}", 1
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}", 1
    return f"unexpected error: {type(exc).__name__}: {exc} (FARMTRACE_DEBUG=1 shows where)", 1


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status. Failures become one line on stderr (see the module
    docstring); with FARMTRACE_DEBUG=1 an unexpected one raises, traceback and all."""
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows up here, not at exit
        return status
    except BrokenPipeError:
        # The reader went away (`farmtrace … | head`): Python's documented recipe ("Note on
        # SIGPIPE", the signal module) points stdout at devnull so the flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Exception as exc:
        message, status = _explain(exc, args)
        if message.startswith("unexpected error") and os.environ.get("FARMTRACE_DEBUG") == "1":
            raise
        print(f"farmtrace: {message}", file=sys.stderr)
        return status
