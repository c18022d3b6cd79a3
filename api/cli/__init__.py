"""The `farmtrace` command (the console script `farmtrace = "farmtrace.api.cli:main"`).

    parser.py    build_parser, main: run one subcommand; failures become one line on stderr
    common.py    CliError, settings, opening the ledger, the server's client, --server/--key
    server.py    serve, init, demo
    ledger.py    keygen (note keys), checkpoint, verify, export (the ledger itself: no server)
    parties.py   party-key, register, party …
    events.py    event, trace, recall, verify-lot (through a server)
    facts.py     the proven facts verify-lot prints after its checks (zh/en)
    witness.py   witness keygen, witness serve (a witness of its own: c2sp.org/tlog-witness)
    publish.py   publish (the log as static C2SP tlog-tiles files)
    mirror.py    mirror (follow a log through its tiles; keep, serve and cosign a verified copy)
    restore.py   backup, restore (a working service again, from a mirror and a backup)
    gateway.py   gateway (a party's EPCIS 2.0 capture interface, forwarding to the platform)
    sheets.py    import (a spreadsheet record book, 台账: one signed event a row, with progress)

Adding a subcommand is one module (or a function in the module of its noun) with `cmd_<name>` and a
`register(sub)` that adds its subparser, plus one line in parser.COMMANDS: see parser.py.
"""

from .common import CliError
from .parser import build_parser, main

__all__ = ["CliError", "build_parser", "main"]
