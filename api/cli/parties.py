"""`farmtrace party …`, `party-key` and `register`: the parties' keys and records.

Each change to a party (register, key-add, key-revoke, suspend) is a ledger entry signed by a
regulator's key and sent to the server; `party-key` only makes a key, on this machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import CliError, client_for, with_server

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `party-key`, `register` and `party …` to the `farmtrace` parser's subcommands."""
    pk = sub.add_parser("party-key", help="make a party's Ed25519 signing key file")
    pk.add_argument("party")
    pk.add_argument("--out", required=True)
    pk.set_defaults(func=cmd_party_key)
    r = with_server(sub.add_parser("register", help="register a party (run by a regulator)"))
    r.add_argument("record", help="a JSON PartyRecord")
    r.add_argument("--location", default="登记窗口")
    r.set_defaults(func=cmd_register)
    _register_party(sub)


def _register_party(sub: argparse._SubParsersAction) -> None:
    """farmtrace party …: a party's record and its administration (each change a ledger entry signed
    by a regulator). `party key` and `party register` are `party-key` and `register` again."""
    party = sub.add_parser("party", help="show a party; make its key; register, re-key or suspend it")
    verbs = party.add_subparsers(dest="verb", required=True)
    ps = with_server(verbs.add_parser("show", help="a party's public record"), key=False)
    ps.add_argument("party")
    ps.add_argument("--private", action="store_true", help="with its contact details (needs --key)")
    ps.add_argument("--key", help="a regulator's key file (for --private)")
    ps.set_defaults(func=cmd_party_show)
    pkk = verbs.add_parser("key", help="make a party's Ed25519 signing key file (as party-key)")
    pkk.add_argument("party")
    pkk.add_argument("--out", required=True)
    pkk.set_defaults(func=cmd_party_key)
    pr = with_server(verbs.add_parser("register", help="register a party (as register)"))
    pr.add_argument("record", help="a JSON PartyRecord")
    pr.set_defaults(func=cmd_register)
    pa = with_server(verbs.add_parser("key-add", help="give a party another key (key rotation)"))
    pa.add_argument("party")
    pa.add_argument("public", help="a JSON file with key_id and public_key, as `party key` prints them")
    pa.set_defaults(func=cmd_party_key_add)
    pv = with_server(verbs.add_parser("key-revoke", help="revoke one of a party's keys from now on"))
    pv.add_argument("party")
    pv.add_argument("key_id")
    pv.add_argument("--reason", required=True)
    pv.set_defaults(func=cmd_party_key_revoke)
    pz = with_server(verbs.add_parser("suspend", help="suspend a party: it may record nothing more"))
    pz.add_argument("party")
    pz.add_argument("--reason", required=True)
    pz.set_defaults(func=cmd_party_suspend)
    for admin in (pr, pa, pv, pz):
        admin.add_argument("--location", default="登记窗口")


def cmd_party_key(args: argparse.Namespace) -> int:
    from farmtrace.client import PartyKey

    key = PartyKey.generate(args.party)
    key.save(args.out)
    print(f"private key written to {args.out} (mode 0600); the public half for the party record:")
    print(json.dumps(key.public_record_key()))
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    try:
        record = json.loads(Path(args.record).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CliError(f"{args.record}: cannot read the record: {exc.strerror or exc}") from exc
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise CliError(f"{args.record} is not JSON (a party record): {exc}") from exc
    if not isinstance(record, dict):
        raise CliError(
            f"{args.record}: expected a JSON object (a party record), found {type(record).__name__}"
        )
    return _administer(args, "party.register", {"party": record}, f"registered {record.get('id')}")


def cmd_party_show(args: argparse.Namespace) -> int:
    if args.private and not args.key:
        raise CliError("--private needs --key: a regulator's key file", status=2)
    client = client_for(args, key=args.private)
    party = client.party_private(args.party) if args.private else client.party(args.party)
    print(json.dumps(party, ensure_ascii=False, indent=2))
    return 0


def _administer(args: argparse.Namespace, kind: str, detail: dict[str, Any], done: str) -> int:
    """Record one party-administration event signed by the regulator's key; print `done` and where."""
    receipt = client_for(args).record({"kind": kind, "location": {"name": args.location}, "detail": detail})
    print(f"{done} at ledger index {receipt['index']}")
    return 0


def cmd_party_key_add(args: argparse.Namespace) -> int:
    try:
        public = json.loads(Path(args.public).read_text(encoding="utf-8"))
        key = {"key_id": public["key_id"], "public_key": public["public_key"]}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CliError(f"{args.public}: expected JSON with key_id and public_key ({exc!r})") from exc
    return _administer(
        args, "party.key_add", {"party_id": args.party, **key}, f"added key {key['key_id']} to {args.party}"
    )


def cmd_party_key_revoke(args: argparse.Namespace) -> int:
    detail = {"party_id": args.party, "key_id": args.key_id, "reason": args.reason}
    return _administer(args, "party.key_revoke", detail, f"revoked key {args.key_id} of {args.party}")


def cmd_party_suspend(args: argparse.Namespace) -> int:
    detail = {"party_id": args.party, "reason": args.reason}
    return _administer(args, "party.suspend", detail, f"suspended {args.party}")
