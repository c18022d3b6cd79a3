"""`farmtrace event`, `trace`, `recall` and `verify-lot`: record events and follow a lot, through a server."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.note import Verifier
from farmtrace.trace.model.details import STANDARD_RECALL_INSTRUCTIONS

from ..settings import Settings
from .common import CliError, client_for, with_server

# The page holds a journey's index entry to its service's FARMTRACE_INDEX_MAX_AGE; verify-lot, its twin,
# to the service's default unless told otherwise (a recall withheld behind an older index entry is
# then caught here as on the page).
DEFAULT_INDEX_MAX_AGE = Settings().index_age_limit()

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `event`, `trace`, `recall` and `verify-lot` to the `farmtrace` parser's subcommands."""
    ev = with_server(
        sub.add_parser(
            "event",
            help="sign and record events from JSON files (an event, or a list of events, per file)",
        )
    )
    ev.add_argument("event", nargs="+", help="a file holding one event, or a JSON list of events")
    ev.set_defaults(func=cmd_event)
    t = with_server(
        sub.add_parser("trace", help="trace a lot back to its farms and forward to every holder"), key=False
    )
    t.add_argument("lot")
    t.add_argument("--direction", choices=["back", "forward", "both"], default="both")
    t.add_argument(
        "--key",
        help="read as this party (its trading partners' holdings) or regulator (all); "
        "without it, as the public, who is shown no holders (docs/visibility.md)",
    )
    t.set_defaults(func=cmd_trace)
    rc = with_server(sub.add_parser("recall", help="recall a lot (regulator) and list every affected holder"))
    rc.add_argument("lot")
    rc.add_argument("--reason", required=True)
    # The standard text, in one language: consumer pages show it in the reader's (web/i18n/common.py).
    rc.add_argument("--instructions", default=STANDARD_RECALL_INSTRUCTIONS[0])
    rc.add_argument("--location", default="市场监督管理局")
    rc.set_defaults(func=cmd_recall)
    vl = with_server(
        sub.add_parser("verify-lot", help="check a lot's signatures, hash chain and proofs as its page does"),
        key=False,
    )
    vl.add_argument("lot")
    vl.add_argument("--key", help="the log's verifier key to pin (default: the server's /ledger/key)")
    vl.add_argument(
        "--policy",
        help="a witness policy file (C2SP tlog-policy) the checkpoint must satisfy, as the page's "
        "(default: none; the page embeds its server's)",
    )
    vl.add_argument(
        "--max-age", type=int, default=None, help="with --policy: the most seconds old the quorum may be"
    )
    vl.add_argument(
        "--index-max-age",
        type=int,
        default=DEFAULT_INDEX_MAX_AGE,
        help="the most seconds the head index entry may be older than the newest witness cosignature "
        "(or this machine's clock), as the page's FARMTRACE_INDEX_MAX_AGE "
        f"(default: {DEFAULT_INDEX_MAX_AGE}, the service's own default)",
    )
    vl.add_argument(
        "--lang",
        choices=["zh", "en"],
        default=None,
        help="the language of the proven facts printed after the checks (default: zh if $LANG says zh, else en)",
    )
    vl.set_defaults(func=cmd_verify_lot)


_RECEIPT_FIELDS = ("event_id", "index", "size", "duplicate")


def cmd_event(args: argparse.Namespace) -> int:
    wires: list[Any] = []
    for name in args.event:
        try:
            data = json.loads(Path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CliError(f"{name}: {exc}") from exc
        events = data if isinstance(data, list) else [data]
        if not all(isinstance(e, dict) for e in events):
            raise CliError(f"{name}: expected a JSON object (an event) or a list of them")
        wires += events
    if not wires:
        raise CliError("the files hold no events")
    client = client_for(args)
    if len(wires) == 1:
        receipt = client.record(wires[0])
        print(json.dumps({k: receipt[k] for k in _RECEIPT_FIELDS}))  # one line, as for several
        return 0
    # Several: one upload, each input following the upload's own earlier events (Client.entries);
    # one JSON line per event, in order.
    results = client.record_many(wires)["results"]
    for r in results:
        line = {k: r["receipt"][k] for k in _RECEIPT_FIELDS} if r["ok"] else {"problem": r["problem"]}
        print(json.dumps(line, ensure_ascii=False))
    refused = [(k, r["problem"]) for k, r in enumerate(results) if not r["ok"]]
    if refused:
        k, first = refused[0]
        raise CliError(
            f"refused: {len(refused)} of {len(results)} events; the first, event {k}: "
            f"{first['status']}: {first.get('detail', '')}"
        )
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    graph = client_for(args, key=args.key is not None).trace(args.lot, args.direction)
    for node in graph["nodes"]:
        flags = [k for k, v in node["status"].items() if v and k != "cleared"]
        held = ", ".join(f"{h['name'] or h['party']} {h['quantity']} {node['unit']}" for h in node["holders"])
        print(
            f"{node['direction']:>7}  {node['lot']:<20} {node['product']}  {node['quantity']} {node['unit']}"
            f"  by {node['created_by_name'] or node['created_by']}"
            + (f"  [{', '.join(flags)}]" if flags else "")
            + (f"  held: {held}" if held else "")
            + ("" if node["holders_complete"] else "  (other holders not shown)")
        )
    for edge in graph["edges"]:
        print(f"   edge  {edge['from']} -> {edge['to']}  {edge['quantity'] or ''}")
    return 0


def cmd_recall(args: argparse.Namespace) -> int:
    client = client_for(args)
    lot = client.lot(args.lot)
    client.record(
        {
            "kind": "recall",
            "location": {"name": args.location},
            "inputs": [{"lot": args.lot, "quantity": lot["quantity"], "unit": lot["unit"]}],
            "detail": {"reason": args.reason, "instructions": args.instructions},
        }
    )
    report = client.recall_report(args.lot)
    print(f"recalled {args.lot}: {len(report['affected_lots'])} lots affected")
    for p in report["parties"]:
        lots = ", ".join(f"{x['lot']} {x['quantity']} {x['unit']}" for x in p["lots"])
        transit = ", ".join(f"{x['lot']} {x['quantity']} {x['unit']}" for x in p.get("in_transit", []))
        print(
            f"  {p['name'] or p['party']}: holds {lots or 'nothing'}"
            + (f"; in transit to it: {transit}" if transit else "")
        )
    return 0


def _policy(path: str | None, max_age: int | None) -> Any:
    """The witness policy of `--policy` (and `--max-age`), or None; CliError naming the problem."""
    from farmtrace.ledger.policy import parse_policy

    if path is None:
        if max_age is not None:
            raise CliError("--max-age needs --policy (the witnesses whose cosignatures it bounds)", status=2)
        return None
    try:
        return parse_policy(Path(path).read_text(encoding="utf-8"), max_age=max_age)
    except OSError as exc:
        raise CliError(f"{path}: cannot read the policy: {exc.strerror or exc}") from exc
    except LedgerError as exc:
        raise CliError(f"{path} is not a witness policy (C2SP tlog-policy): {exc}", status=2) from exc


def cmd_verify_lot(args: argparse.Namespace) -> int:
    """The consumer page's checks (web/static/verify.js), in Python: trace/verify_journey.py."""
    from farmtrace.client import Client
    from farmtrace.trace.journey_facts import journey_facts
    from farmtrace.trace.verify_journey import check_journey

    from .facts import fact_lines

    client = Client(args.server)
    key = args.key
    if key is None:
        answer = client.http.get("/ledger/key")
        if answer.status_code != 200:
            raise CliError(f"refused: the server gives no log key ({answer.status_code})")
        key = answer.text.strip()
        print(f"note: trusting the log key the server gives ({key}); pass --key to pin it")
    try:
        Verifier.from_key_string(key)
    except LedgerError as exc:
        raise CliError(f"--key is not a log verifier key: {exc}", status=2) from exc
    policy = _policy(args.policy, args.max_age)
    journey = client.journey(args.lot)
    if args.index_max_age < 1:
        raise CliError("--index-max-age is a whole number of seconds, at least 1", status=2)
    now = int(time.time())
    report = check_journey(journey, log_key=key, policy=policy, now=now, index_max_age=args.index_max_age)
    print(report.summary())
    for f in report.failures:
        where = f"index {f.index}" if f.index is not None else (f"key {f.key}" if f.key else f.lot or "-")
        print(f"  {f.reason:<24} {where:<12} {f.message}")
    # Then what it proved (issue 17 §1), as the consumer page shows it: after a blank line.
    lang = args.lang or ("zh" if os.environ.get("LANG", "").startswith("zh") else "en")
    print()
    print("\n".join(fact_lines(journey_facts(journey, report), lang)))
    return 0 if report.ok else 1
