"""`farmtrace serve`, `init` and `demo`: run the service, and create (or fill) its ledger."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

from farmtrace.trace.clock import CST

from ..settings import bound_public_url, public_url_warning
from .common import CliError, end_on_sigterm, load_settings, open_log

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve`, `init` and `demo` to the `farmtrace` parser's subcommands."""
    s = sub.add_parser("serve", help="run the service")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.set_defaults(func=cmd_serve)
    i = sub.add_parser(
        "init", help="create the data directory, database and log key (and the first regulator)"
    )
    i.add_argument("--regulator-id", help="the first regulator's unified social credit code")
    i.add_argument("--regulator-name", default="市场监督管理局")
    i.add_argument("--regulator-address", default="")
    i.add_argument(
        "--regulator-key", default="regulator.key", help="where to write the regulator's private key"
    )
    i.set_defaults(func=cmd_init)
    d = sub.add_parser("demo", help="fill an empty database with the Changsha demo scenario")
    d.add_argument("--if-empty", action="store_true", help="succeed quietly when the database has data")
    d.set_defaults(func=cmd_demo)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # Labels and certificates carry the public URL: unless it is set, it is the address served here.
    # The environment carries it to each service worker (Settings.from_env in app_from_env).
    if not os.environ.get("FARMTRACE_PUBLIC_URL", "").strip():
        os.environ["FARMTRACE_PUBLIC_URL"] = bound_public_url(args.host, args.port)
    # A server keeps the head index in a process of its own unless told otherwise: in a thread it
    # shares the ingesting process's CPU (bench/README.md, "Issue 17 §2": 0.73x the ingest rate
    # without the index in a thread, 0.94x in a process, 200,000 events at the default lag).
    if not os.environ.get("FARMTRACE_INDEX_KEEPER", "").strip():
        os.environ["FARMTRACE_INDEX_KEEPER"] = "process"
    # And the alerts' scan: in the serving process it shares ingest's CPU (bench/alerts_bench.py: a
    # scan back to back took ingest to 0.25x in a thread, 0.84x in a process; nudged after each
    # batch, as the app does, 0.96x; docs/alerts.md, "Where the scan runs").
    if not os.environ.get("FARMTRACE_ALERT_KEEPER", "").strip():
        os.environ["FARMTRACE_ALERT_KEEPER"] = "process"
    settings = load_settings()
    warning = public_url_warning(settings.public_url, host=args.host, port=args.port)
    if warning:
        print(f"farmtrace: warning: {warning}", file=sys.stderr, flush=True)
    log = open_log(settings)  # create storage and keys once, before any worker starts
    log.close(close_store=True)
    url = f"{bound_public_url(args.host, args.port)}/"
    print(
        f"farmtrace is serving {settings.resolved_database_url} at {url} (labels: {settings.public_url}/)",
        flush=True,
    )
    end_on_sigterm()
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
    from farmtrace.client import PartyKey

    from ..app import open_service

    settings = load_settings()
    service = open_service(settings)
    log = service.log
    print(f"log origin:   {log.origin}")
    print(f"log key:      {log.verifier.key_string()}")
    print(f"database:     {settings.resolved_database_url}")
    print(f"log size:     {log.size}")
    if args.regulator_id:
        if service.parties():
            raise CliError("the ledger already has parties: the first regulator exists", status=2)
        if not args.regulator_address:
            raise CliError(
                "--regulator-id needs --regulator-address: the regulator's public record names it", status=2
            )
        key = PartyKey.generate(args.regulator_id)
        record = {
            "id": args.regulator_id,
            "id_type": "farmer_reg" if args.regulator_id.startswith("F") else "uscc",
            "name_zh": args.regulator_name,
            "roles": ["regulator"],
            "address": args.regulator_address,
            "keys": [key.public_record_key()],
            "contact_commitment": hashlib.sha256(os.urandom(32)).hexdigest(),
        }
        wire = {
            "kind": "party.register",
            "event_time": service.clock().astimezone(CST).isoformat(timespec="seconds"),
            "location": {"name": args.regulator_name},
            "inputs": [],
            "outputs": [],
            "detail": {"party": record},
        }
        entry = key.sign(wire)  # checks the record before the key is kept
        key.save(args.regulator_key)
        receipt = service.record_genesis(entry)  # the operator, on the machine: never over HTTP
        print(f"first regulator {args.regulator_id} registered at ledger index {receipt.index}")
        print(f"its private key is in {args.regulator_key}: keep it offline, with its owner")
    log.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..app import open_service
    from ..demo import run_demo

    settings = load_settings()
    service = open_service(settings)
    if service.parties():
        if not args.if_empty:
            raise CliError("the database already has data; the demo fills only an empty one", status=2)
        print("the database already has data; the demo fills only an empty one")
        return 0
    result = run_demo(service, settings.data_dir / "demo-keys")
    print(f"demo recorded: {service.log.size} ledger entries; party keys in {result['key_dir']}")
    print(f"  a consumer's bag:   {result['consumer_lot']}")
    print(f"  a recalled lot:     {result['recalled_lot']}")
    print(f"  pork from a stall:  {result['pork_lot']} (its consumer page: /l/{result['pork_lot']})")
    print(f"  refused attempts:   {', '.join(result['refused'])} (see the anomalies)")
    service.log.close()
    return 0
