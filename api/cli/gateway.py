"""`farmtrace gateway`: a party's EPCIS 2.0 capture interface, run on the party's own premises.

    farmtrace gateway --key PARTY.key --platform URL [--db PATH] [--listen HOST:PORT] [--vocab-base URI]
        serve POST /capture (EPCIS 2.0 REST binding) to the party's own systems; each event is
        mapped (docs/epcis-mapping.md), signed with the key in PARTY.key and forwarded to the
        platform at URL; capture jobs are kept in the gateway's own SQLite file PATH

The gateway holds one party's key and never opens the platform's database. It listens on
127.0.0.1 by default: the party's systems reach it on its own network, and nothing else should.
`--vocab-base` is the platform's FARMTRACE_VOCAB_BASE when it is not the platform's URL (the
wholesale sale's bizStep is named in it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import CliError, end_on_sigterm, load_party_key
from .witness import parse_listen

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gateway` to the `farmtrace` parser's subcommands."""
    g = sub.add_parser("gateway", help="run a party's EPCIS 2.0 capture gateway (POST /capture)")
    g.add_argument("--key", required=True, help="the party's key file (farmtrace party-key makes one)")
    g.add_argument("--platform", required=True, help="the platform's URL, e.g. https://trace.example.cn")
    g.add_argument(
        "--db", default="farmtrace-gateway.db", help="the gateway's own SQLite file (default %(default)s)"
    )
    g.add_argument("--listen", default="127.0.0.1:8800", help="HOST:PORT to listen on (default %(default)s)")
    g.add_argument("--vocab-base", help="the platform's vocabulary base URI (default: --platform)")
    g.set_defaults(func=cmd_gateway)


def cmd_gateway(args: argparse.Namespace) -> int:
    import uvicorn

    from farmtrace.trace.store.capture_jobs import CaptureJobs

    from ..gateway_app import GatewaySettings, create_gateway_app

    host, port = parse_listen(args.listen)
    platform = args.platform.rstrip("/")
    if not platform.startswith(("http://", "https://")):
        raise CliError(f"--platform is an http(s) URL, got {args.platform!r}", status=2)
    key = load_party_key(args.key)
    if Path(args.db).suffix not in (".db", ".sqlite", ".sqlite3"):
        raise CliError(f"--db is the gateway's SQLite file (.db, .sqlite), got {args.db!r}", status=2)
    settings = GatewaySettings(key=key, platform=platform, base=(args.vocab_base or platform).rstrip("/"))
    app = create_gateway_app(settings, CaptureJobs.from_path(args.db))
    print(f"gateway for {key.party} serving http://{args.listen}/capture, forwarding to {platform} (jobs: {args.db})",
          flush=True)  # fmt: skip
    end_on_sigterm()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
