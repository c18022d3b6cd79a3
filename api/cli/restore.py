"""`farmtrace restore` and `farmtrace backup`: a working service again, from a mirror and a backup.

    farmtrace restore --from URL --db NEWDB --log-key KEYFILE [--backup FILE --backup-key KEYFILE]
        build a new service database from a mirror's (or the primary's published) tiles: every
        entry, every checkpoint the source lists with its cosignatures (`/log/checkpoints`, else the
        latest alone), and the projection replayed through the write path (trace/restore.py); then
        the off-ledger rows of the backup (the cold-chain thresholds into the alerts' database; the
        alerts are left empty for the service's scan to rebuild). KEYFILE is the log's private key
        (PRIVATE+KEY+…), which no mirror holds: the restored service signs with it and goes on
        appending.
    farmtrace backup keygen --out KEYFILE      make a backup key (kept by the operator, off-site)
    farmtrace backup --out FILE --backup-key KEYFILE
        seal the off-ledger tables of the database FARMTRACE_DATABASE_URL / FARMTRACE_DATA_DIR name
        (trace/backup.py: AES-256-GCM, versioned header)

NEWDB is a SQLite file (built beside it as `NEWDB.partial`, its alerts' file as
`NEWDB.partial-alerts`, both renamed into place only when everything is in, so a failed restore
leaves nothing) or a database URL (PostgreSQL; it must hold no ledger, and a failed restore drops
the tables it created there, so it too leaves nothing). A backup is opened and checked before
anything is built.
docs/mirror.md, "Running a mirror and restoring", has the steps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from farmtrace.ledger.checkpoint_list import read_checkpoint_pages
from farmtrace.ledger.errors import LedgerError, NotFoundError
from farmtrace.ledger.log import Log
from farmtrace.ledger.mirror import Mirror
from farmtrace.ledger.note import Signer
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.trace.backup import (
    BackupContents,
    format_backup_key,
    new_backup_key,
    open_backup,
    parse_backup_key,
    seal_backup,
)
from farmtrace.trace.clock import utc_now
from farmtrace.trace.restore import rebuild_projection
from farmtrace.trace.store.transfer import (
    OFF_LEDGER,
    drop_tables_made_since,
    dump_off_ledger,
    load_off_ledger,
    table_names,
)

from .common import CliError, load_settings, open_existing_log
from .mirror import add_fetch_options, database_url, fetcher

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `restore` and `backup` to the `farmtrace` parser's subcommands."""
    r = sub.add_parser("restore", help="build a working service from a mirror (and an off-ledger backup)")
    r.add_argument(
        "--from", dest="source", required=True, help="the mirror's tiles prefix, e.g. http://m:8800/log"
    )
    r.add_argument("--db", required=True, help="the new database: a SQLite file (must not exist) or a URL")
    r.add_argument("--log-key", required=True, help="the log's private key file (PRIVATE+KEY+…)")
    r.add_argument("--backup", help="an off-ledger backup file (farmtrace backup) to load too")
    r.add_argument("--backup-key", help="the backup key file (with --backup)")
    add_fetch_options(r)
    r.set_defaults(func=cmd_restore)
    b = sub.add_parser("backup", help="seal the off-ledger tables into an encrypted backup file")
    b.add_argument("action", nargs="?", choices=["keygen"], help="keygen: make a backup key instead")
    b.add_argument(
        "--out", required=True, help="the backup file, or with keygen the key file (must not exist)"
    )
    b.add_argument("--backup-key", help="the backup key file")
    b.set_defaults(func=cmd_backup)


def _backup_key(path: str | None) -> bytes:
    if not path:
        raise CliError(
            "--backup-key KEYFILE is needed (`farmtrace backup keygen --out KEYFILE` makes one)", status=2
        )
    try:
        return parse_backup_key(Path(path).read_text())
    except OSError as exc:
        raise CliError(f"{path}: cannot read the backup key: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not a backup key file", status=2) from exc


def _write_new(path: str, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise CliError(f"{path} exists: it is never overwritten", status=2) from exc
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def cmd_backup(args: argparse.Namespace) -> int:
    if args.action == "keygen":
        _write_new(args.out, format_backup_key(new_backup_key(os.urandom(32))).encode(), 0o600)
        print(
            f"backup key written to {args.out}: keep a copy off-site, apart from the backups", file=sys.stderr
        )
        return 0
    key = _backup_key(args.backup_key)
    log = open_existing_log(load_settings())
    try:
        tables = dump_off_ledger(log.engine)
        data = seal_backup(
            tables, key=key, nonce=os.urandom(12), origin=log.origin, log_size=log.size, at=utc_now()
        )
    finally:
        log.close(close_store=True)
    _write_new(args.out, data, 0o600)
    rows = sum(len(t.rows) for t in tables)
    print(f"backup of {rows} off-ledger rows ({', '.join(t.name for t in tables)}) written to {args.out}")
    return 0


def _log_signer(path: str) -> Signer:
    try:
        return Signer.from_key_string(Path(path).read_text().strip())
    except OSError as exc:
        raise CliError(f"{path}: cannot read the log key: {exc.strerror or exc}") from exc
    except LedgerError as exc:
        raise CliError(f"{path} is not the log's private key (PRIVATE+KEY+…): {exc}", status=2) from exc


def _open_backup(args: argparse.Namespace, origin: str) -> BackupContents | None:
    if not args.backup:
        return None
    key = _backup_key(args.backup_key)
    try:
        contents = open_backup(Path(args.backup).read_bytes(), key=key)
    except OSError as exc:
        raise CliError(f"{args.backup}: cannot read the backup: {exc.strerror or exc}") from exc
    if contents.origin != origin:
        raise CliError(
            f"{args.backup} is a backup of the log {contents.origin!r}, not of {origin!r}", status=2
        )
    return contents


def cmd_restore(args: argparse.Namespace) -> int:
    started = time.monotonic()
    signer = _log_signer(args.log_key)
    fetch = fetcher(args)  # a bad --from or --fetch-threads, before anything is built
    backup = _open_backup(args, signer.name)  # 1. refuse a bad backup before building anything
    url = database_url(args.db)
    sqlite = "://" not in args.db
    # On SQLite the alert tables and the threshold versions are a second file, `<db>-alerts`
    # (trace/store/alerts.py): one left from another database would hold its thresholds and alerts.
    files = (args.db, f"{args.db}.partial", f"{args.db}-alerts", f"{args.db}.partial-alerts")
    if sqlite and any(Path(f).exists() for f in files):
        raise CliError(
            f"{args.db} exists (or {args.db}.partial, or its -alerts file): restore builds a new database",
            status=2,
        )
    build_url = database_url(f"{args.db}.partial") if sqlite else url
    existing = None if sqlite else table_names(url)
    store = SqlStore.from_url(build_url)
    try:
        if not sqlite and store.latest_checkpoint() is not None:
            raise CliError(f"{args.db} already holds a ledger: restore builds a new database", status=2)
        # 2. The ledger: entries and tiles, proven against the source's checkpoint; past checkpoints.
        clock = lambda: utc_now().timestamp()  # noqa: E731 - the one clock, as POSIX seconds
        mirror = Mirror(store, fetch, log_key=signer.verifier, clock=clock, fetch_threads=args.fetch_threads)
        step = mirror.follow_once()
        try:
            past = mirror.keep_checkpoints(read_checkpoint_pages(fetch, log_key=signer.verifier))
        except NotFoundError:
            past = 0  # a static publication serves the latest checkpoint only
        log = Log(store, signer.verifier)
        print(f"ledger: {step.size} entries, {past + 1} checkpoints", flush=True)
        # 3. The projection, through the write path; 4. the off-ledger rows.
        rows = rebuild_projection(log, store.engine, clock=utc_now)
        print(f"projection: {rows} rows replayed from the entries", flush=True)
        if backup is not None:
            loaded = load_off_ledger(store.engine, backup.tables)
            print(
                f"off-ledger: {loaded} rows from the backup made {backup.made_at} at log size {backup.log_size}"
            )
            absent = [t.name for t in OFF_LEDGER if t.name not in {r.name for r in backup.tables}]
            if absent:  # a backup made before these tables were kept: said, not silent
                defaults = " (trace_threshold: the defaults)" if "trace_threshold" in absent else ""
                print(
                    f"off-ledger: the backup has no {', '.join(absent)} (made by an earlier farmtrace): "
                    f"they start empty{defaults}",
                    flush=True,
                )
        # 5. The alerts are not restored: the service's first scan rebuilds them from index 0.
    except BaseException:
        store.close()
        fetch.close()
        if sqlite:
            for suffix in ("", "-wal", "-shm", "-writer", "-alerts", "-alerts-wal", "-alerts-shm"):
                Path(f"{args.db}.partial{suffix}").unlink(missing_ok=True)
        elif existing is not None:
            drop_tables_made_since(url, existing)
        raise
    store.close()
    fetch.close()
    if sqlite:  # the database file and its WAL move together; the writers' lock file is not data
        Path(f"{args.db}.partial-writer").unlink(missing_ok=True)
        for suffix in ("-alerts-wal", "-alerts-shm", "-alerts", "-wal", "-shm", ""):
            if Path(f"{args.db}.partial{suffix}").exists():
                os.replace(f"{args.db}.partial{suffix}", f"{args.db}{suffix}")
    print(f"restored into {args.db} in {time.monotonic() - started:.1f} s; serve it with the same log key")
    return 0
