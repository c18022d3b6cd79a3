"""What every `farmtrace` subcommand shares: the error it raises, the settings, opening the ledger, and
the client of a running server.

`CliError` is the one failure a command raises on purpose; `parser.main` turns it (and the other
packages' errors) into one line on stderr and an exit status. `with_server` adds the `--server` (and
`--key`) options that every command talking to a server takes.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.ledger.errors import LedgerError, NotFoundError
from farmtrace.ledger.note import Verifier
from farmtrace.trace.errors import TraceError

from ..settings import Settings

__all__ = [
    "CliError",
    "client_for",
    "end_on_sigterm",
    "load_party_key",
    "load_settings",
    "open_existing_log",
    "open_log",
    "parse_verifier",
    "with_server",
]


class CliError(Exception):
    """A failure the user can act on: `main` prints `farmtrace: <message>` and exits with `status`."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def load_settings() -> Settings:
    return Settings.from_env()


def open_log(settings: Settings):
    """Open the log, creating its storage and key if new: for `serve` only (`init` and `demo` create
    through open_service). Commands that read a ledger use `open_existing_log`."""
    from ..app import open_log as open_or_create

    return open_or_create(settings)


def open_existing_log(settings: Settings, key: str | None = None, *, check: bool = True):
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
        log = Log(store, parse_verifier(key) if key else settings.log_verifier())
        if check:
            open_checkpoint(log.checkpoint().note, log.verifier)
        return log
    except NotFoundError as exc:  # the tables, but not even the genesis checkpoint
        store.close()
        raise CliError(f"no ledger at {where}: the log has no checkpoint; {how}", status=2) from exc
    except BaseException:
        store.close()
        raise


def parse_verifier(key: str) -> Verifier:
    try:
        return Verifier.from_key_string(key)
    except LedgerError as exc:
        raise CliError(f"--key is not a log verifier key (name+keyid+base64key): {exc}", status=2) from exc


def end_on_sigterm() -> None:
    """Make SIGTERM end this process as Ctrl-C does: by unwinding, so exit handlers run.

    uvicorn stops gracefully on SIGTERM and then raises the signal again with the handler it found;
    Python's default handler would end the process at once, and multiprocessing's exit handlers
    (which stop child processes) would never run.
    """

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def load_party_key(path: str):
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


def client_for(args: argparse.Namespace, *, key: bool = True):
    from farmtrace.client import Client

    return Client(args.server, key=load_party_key(args.key) if key else None)


def with_server(p: argparse.ArgumentParser, *, key: bool = True) -> argparse.ArgumentParser:
    """Add `--server URL` (default FARMTRACE_SERVER, else http://127.0.0.1:8000) and, with `key`, the
    required `--key` naming the acting party's key file."""
    p.add_argument("--server", default=os.environ.get("FARMTRACE_SERVER", "http://127.0.0.1:8000"))
    if key:
        p.add_argument("--key", required=True, help="the acting party's key file")
    return p
