"""The `farmtrace` command.

    farmtrace serve [--host H] [--port P] [--workers N]   run the service (SQLite by default)
    farmtrace init                                        create the data directory and the log key
    farmtrace keygen NAME [--witness] [--out FILE]        make an Ed25519 note key pair
    farmtrace checkpoint [--key VKEY]                     print the latest signed checkpoint
    farmtrace verify [--bundle FILE] [--key VKEY]         full audit of the database, or of a bundle
    farmtrace export FILE [--key VKEY]                    write the whole log to one offline bundle
    farmtrace cosign --witness-key FILE [--state FILE]    act as a witness: check and cosign the latest checkpoint
    farmtrace demo                                        fill an empty database with the Changsha demo
    farmtrace party-key PARTY_ID --out FILE               make a party's Ed25519 signing key
    farmtrace register RECORD.json --key REGULATOR.key    register a party (signed by a regulator)
    farmtrace party show ID [--private --key REG.key]     a party's record (with contact details: regulators)
    farmtrace party key-add ID PUBLIC.json --key REG.key  give a party another key (rotation)
    farmtrace party key-revoke ID KEY_ID --reason R --key REG.key
    farmtrace party suspend ID --reason R --key REG.key   (also: party key, party register)
    farmtrace event FILE… --key PARTY.key                 sign and record events (one upload; an event or a list per file)
    farmtrace trace LOT [--direction back|forward|both]   trace a lot through the server
    farmtrace recall LOT --key REGULATOR.key --reason …   recall a lot and print who is affected
    farmtrace verify-lot LOT [--key VKEY]                 check a lot's journey as the consumer page does
Commands that talk to a server take --server URL (default http://127.0.0.1:8000, or FARMTRACE_SERVER).
`serve` gives its labels the address it binds unless FARMTRACE_PUBLIC_URL says otherwise.

Exit status: 0 on success; 1 when a verification fails or the command fails (the server refuses or
cannot be reached, a file cannot be read); 2 on a usage or configuration error, or when there is no
ledger where a command that reads one looks (so a monitor running `farmtrace verify` can tell "the
log was altered" from "pointed at the wrong place"). Every failure is one line on stderr,
`farmtrace: <what>`; FARMTRACE_DEBUG=1 shows the traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx

from farmtrace.client import ClientError
from farmtrace.ledger.bundle import check_bundle, check_bundle_trusting_its_own_key, write_bundle
from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import InconsistencyError, LedgerError, NotFoundError, VerificationError
from farmtrace.ledger.note import CosignatureSigner, Signer, Verifier, open_note, sign_note
from farmtrace.ledger.verify import (
    check_checkpoint_consistency,
    format_evidence,
    prove_checkpoint_consistency,
)
from farmtrace.trace.clock import CST, utc_now
from farmtrace.trace.errors import TraceError
from farmtrace.trace.model.details import STANDARD_RECALL_INSTRUCTIONS

from .settings import ConfigError, Settings, bound_public_url, public_url_warning

__all__ = ["CliError", "main"]


class CliError(Exception):
    """A failure the user can act on: `main` prints `farmtrace: <message>` and exits with `status`."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _settings() -> Settings:
    return Settings.from_env()


def _open_log(settings: Settings):
    """Open the log, creating its storage and key if new: for `serve` only (`init` and `demo` create
    through open_service). Commands that read a ledger use `_open_existing_log`."""
    from .app import open_log

    return open_log(settings)


def _open_existing_log(settings: Settings, key: str | None = None, *, check: bool = True):
    """Open the ledger `settings` point at, read-only and creating nothing.

    The log is opened with its verifier key only (no private key is needed to read or audit it):
    `key` if given (a `--key VKEY`), else the one settings find (`Settings.log_verifier`). With
    `check`, the latest checkpoint must verify with it (`verify` leaves that to its audit, which
    reports every bad signature). Raises CliError (status 2) naming the file or URL looked at when
    there is no ledger there, and ConfigError when no verifier key is found.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from farmtrace.ledger.log import Log
    from farmtrace.ledger.sqlstore import SqlStore

    url = settings.resolved_database_url
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    where = parsed.database if sqlite else parsed.render_as_string()
    how = (
        "set FARMTRACE_DATA_DIR or FARMTRACE_DATABASE_URL to the ledger's place, "
        "or run `farmtrace init` to create one here"
    )
    # SQLite makes a missing file on connecting: look before connecting.
    if sqlite and parsed.database not in (None, "", ":memory:") and not Path(parsed.database).is_file():
        raise CliError(f"no ledger at {where}: {how}", status=2)
    store = SqlStore.from_url(url, create=False)
    try:
        has_log = inspect(store.engine).has_table("ledger_checkpoint")
    except Exception as exc:  # the driver's own errors: unreachable server, unknown database, …
        store.close()
        raise CliError(f"cannot open the ledger at {where}: {str(exc).strip().splitlines()[0]}") from exc
    if not has_log:
        store.close()
        raise CliError(f"no ledger at {where}: the database holds no farmtrace ledger; {how}", status=2)
    try:
        log = Log(store, _verifier(key) if key else settings.log_verifier())
        if check:
            open_checkpoint(log.checkpoint().note, log.verifier)
        return log
    except NotFoundError as exc:  # the tables, but not even the genesis checkpoint
        store.close()
        raise CliError(f"no ledger at {where}: the log has no checkpoint; {how}", status=2) from exc
    except BaseException:
        store.close()
        raise


def _verifier(key: str) -> Verifier:
    try:
        return Verifier.from_key_string(key)
    except LedgerError as exc:
        raise CliError(f"--key is not a log verifier key (name+keyid+base64key): {exc}", status=2) from exc


def _end_on_sigterm() -> None:
    """Make SIGTERM end this process as Ctrl-C does: by unwinding, so exit handlers run.

    uvicorn stops gracefully on SIGTERM and then raises the signal again with the handler it found;
    Python's default handler would end the process at once, and multiprocessing's exit handlers
    (which stop child processes) would never run.
    """

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # Labels and certificates carry the public URL: unless it is set, it is the address served here.
    # The environment carries it to each service worker (Settings.from_env in app_from_env).
    if not os.environ.get("FARMTRACE_PUBLIC_URL", "").strip():
        os.environ["FARMTRACE_PUBLIC_URL"] = bound_public_url(args.host, args.port)
    settings = _settings()
    warning = public_url_warning(settings.public_url, host=args.host, port=args.port)
    if warning:
        print(f"farmtrace: warning: {warning}", file=sys.stderr, flush=True)
    log = _open_log(settings)  # create storage and keys once, before any worker starts
    log.close(close_store=True)
    url = f"{bound_public_url(args.host, args.port)}/"
    print(
        f"farmtrace is serving {settings.resolved_database_url} at {url} (labels: {settings.public_url}/)",
        flush=True,
    )
    _end_on_sigterm()
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

    from .app import open_service

    settings = _settings()
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
            raise CliError("--regulator-id needs --regulator-address: the regulator's public record names it", status=2)
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
    from .app import open_service
    from .demo import run_demo

    settings = _settings()
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
    print(f"  refused attempts:   {', '.join(result['refused'])} (see the anomalies)")
    service.log.close()
    return 0


def _party_key(path: str):
    """The party key in `path`; CliError naming the file when it cannot be read or holds no key."""
    from farmtrace.client import PartyKey

    try:
        return PartyKey.load(path)
    except OSError as exc:
        raise CliError(f"{path}: cannot read the key file: {exc.strerror or exc}") from exc
    except (ValueError, TypeError, KeyError, AttributeError, TraceError) as exc:
        # json.JSONDecodeError and binascii.Error are ValueErrors; a JSON list has no .get.
        why = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise CliError(
            f"{path} is not a farmtrace party key file (as `farmtrace party-key` writes): {why}"
        ) from exc


def _client(args: argparse.Namespace, *, key: bool = True):
    from farmtrace.client import Client

    return Client(args.server, key=_party_key(args.key) if key else None)


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
    client = _client(args, key=args.private)
    party = client.party_private(args.party) if args.private else client.party(args.party)
    print(json.dumps(party, ensure_ascii=False, indent=2))
    return 0


def _administer(args: argparse.Namespace, kind: str, detail: dict[str, Any], done: str) -> int:
    """Record one party-administration event signed by the regulator's key; print `done` and where."""
    receipt = _client(args).record({"kind": kind, "location": {"name": args.location}, "detail": detail})
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
    client = _client(args)
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
    graph = _client(args, key=False).trace(args.lot, args.direction)
    for node in graph["nodes"]:
        flags = [k for k, v in node["status"].items() if v and k != "cleared"]
        held = ", ".join(f"{h['name'] or h['party']} {h['quantity']} {node['unit']}" for h in node["holders"])
        print(
            f"{node['direction']:>7}  {node['lot']:<20} {node['product']}  {node['quantity']} {node['unit']}"
            f"  by {node['created_by_name'] or node['created_by']}"
            + (f"  [{', '.join(flags)}]" if flags else "")
            + (f"  held: {held}" if held else "")
        )
    for edge in graph["edges"]:
        print(f"   edge  {edge['from']} -> {edge['to']}  {edge['quantity'] or ''}")
    return 0


def cmd_recall(args: argparse.Namespace) -> int:
    client = _client(args)
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


def cmd_verify_lot(args: argparse.Namespace) -> int:
    """The consumer page's checks (web/static/verify.js), in Python: trace/journey.py."""
    from farmtrace.client import Client
    from farmtrace.trace.journey import check_journey

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
    report = check_journey(client.journey(args.lot), log_key=key)
    print(report.summary())
    for f in report.failures:
        where = f"index {f.index}" if f.index is not None else (f"key {f.key}" if f.key else f.lot or "-")
        print(f"  {f.reason:<24} {where:<12} {f.message}")
    return 0 if report.ok else 1


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
    log = _open_existing_log(_settings(), args.key)
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
    key = _verifier(args.key) if args.key else None
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
    log = _open_existing_log(_settings(), args.key, check=False)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r  {done:,}/{total:,} entries", end="", file=sys.stderr, flush=True)

    report = log.audit(log_key=key, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return _print_report(report, f"log {log.origin}")


def cmd_export(args: argparse.Namespace) -> int:
    log = _open_existing_log(_settings(), args.key)
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
    log = _open_existing_log(_settings())
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
    pk = sub.add_parser("party-key", help="make a party's Ed25519 signing key file")
    pk.add_argument("party")
    pk.add_argument("--out", required=True)
    pk.set_defaults(func=cmd_party_key)

    def server(p: argparse.ArgumentParser, *, key: bool = True) -> argparse.ArgumentParser:
        p.add_argument("--server", default=os.environ.get("FARMTRACE_SERVER", "http://127.0.0.1:8000"))
        if key:
            p.add_argument("--key", required=True, help="the acting party's key file")
        return p

    r = server(sub.add_parser("register", help="register a party (run by a regulator)"))
    r.add_argument("record", help="a JSON PartyRecord")
    r.add_argument("--location", default="登记窗口")
    r.set_defaults(func=cmd_register)

    # farmtrace party …: a party's record and its administration (each change a ledger entry signed
    # by a regulator). `party key` and `party register` are `party-key` and `register` again.
    party = sub.add_parser("party", help="show a party; make its key; register, re-key or suspend it")
    verbs = party.add_subparsers(dest="verb", required=True)
    ps = server(verbs.add_parser("show", help="a party's public record"), key=False)
    ps.add_argument("party")
    ps.add_argument("--private", action="store_true", help="with its contact details (needs --key)")
    ps.add_argument("--key", help="a regulator's key file (for --private)")
    ps.set_defaults(func=cmd_party_show)
    pkk = verbs.add_parser("key", help="make a party's Ed25519 signing key file (as party-key)")
    pkk.add_argument("party")
    pkk.add_argument("--out", required=True)
    pkk.set_defaults(func=cmd_party_key)
    pr = server(verbs.add_parser("register", help="register a party (as register)"))
    pr.add_argument("record", help="a JSON PartyRecord")
    pr.set_defaults(func=cmd_register)
    pa = server(verbs.add_parser("key-add", help="give a party another key (key rotation)"))
    pa.add_argument("party")
    pa.add_argument("public", help="a JSON file with key_id and public_key, as `party key` prints them")
    pa.set_defaults(func=cmd_party_key_add)
    pv = server(verbs.add_parser("key-revoke", help="revoke one of a party's keys from now on"))
    pv.add_argument("party")
    pv.add_argument("key_id")
    pv.add_argument("--reason", required=True)
    pv.set_defaults(func=cmd_party_key_revoke)
    pz = server(verbs.add_parser("suspend", help="suspend a party: it may record nothing more"))
    pz.add_argument("party")
    pz.add_argument("--reason", required=True)
    pz.set_defaults(func=cmd_party_suspend)
    for admin in (pr, pa, pv, pz):
        admin.add_argument("--location", default="登记窗口")
    ev = server(
        sub.add_parser(
            "event",
            help="sign and record events from JSON files (an event, or a list of events, per file)",
        )
    )
    ev.add_argument("event", nargs="+", help="a file holding one event, or a JSON list of events")
    ev.set_defaults(func=cmd_event)
    t = server(
        sub.add_parser("trace", help="trace a lot back to its farms and forward to every holder"), key=False
    )
    t.add_argument("lot")
    t.add_argument("--direction", choices=["back", "forward", "both"], default="both")
    t.set_defaults(func=cmd_trace)
    rc = server(sub.add_parser("recall", help="recall a lot (regulator) and list every affected holder"))
    rc.add_argument("lot")
    rc.add_argument("--reason", required=True)
    # The standard text, in one language: consumer pages show it in the reader's (web/i18n/common.py).
    rc.add_argument("--instructions", default=STANDARD_RECALL_INSTRUCTIONS[0])
    rc.add_argument("--location", default="市场监督管理局")
    rc.set_defaults(func=cmd_recall)
    vl = server(
        sub.add_parser("verify-lot", help="check a lot's signatures, hash chain and proofs as its page does"),
        key=False,
    )
    vl.add_argument("lot")
    vl.add_argument("--key", help="the log's verifier key to pin (default: the server's /ledger/key)")
    vl.set_defaults(func=cmd_verify_lot)
    k = sub.add_parser("keygen", help="make an Ed25519 key pair (note format)")
    k.add_argument("name")
    k.add_argument("--witness", action="store_true", help="a cosignature/v1 witness key")
    k.add_argument("--out", help="write the private key to this file (mode 0600)")
    k.set_defaults(func=cmd_keygen)
    # The reading commands need only the log's public key: --key, else the configured log key's, else
    # the verifier key kept beside it (log.pub), so an auditor with a copy of the database can run them.
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


if __name__ == "__main__":
    sys.exit(main())
