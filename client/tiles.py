"""Reading a log's tiles (C2SP tlog-tiles) over HTTP or from a published directory, and checking the
whole log from them alone.

    from farmtrace.client.tiles import check_log
    report = check_log("https://trace.example/log", log_key="farmtrace.example/log+1a2b3c4d+AbC…")
    report.size, report.entries        # every entry checked against the signed checkpoint

The source is the log's tiles prefix (the service's /log, or any static server or CDN serving what
`farmtrace publish` wrote), or a directory `farmtrace publish` wrote. The checks are
`ledger.tile_audit.check_tiled_log`'s: nothing but the log's verifier key is trusted.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from farmtrace.ledger.errors import NotFoundError
from farmtrace.ledger.note import Verifier
from farmtrace.ledger.tile_audit import Fetch, TiledLogReport, check_tiled_log

__all__ = ["check_log", "directory_fetch", "http_fetch"]


def http_fetch(prefix: str, *, http: httpx.Client) -> Fetch:
    """A fetch over HTTP below `prefix` (e.g. `https://trace.example/log`): 404 is NotFoundError; any
    other status but 200 raises httpx.HTTPStatusError."""
    base = prefix.rstrip("/")

    def fetch(path: str) -> bytes:
        r = http.get(f"{base}/{path}")
        if r.status_code == 404:
            raise NotFoundError(f"{base}/{path}: 404 Not Found")
        r.raise_for_status()
        return r.content

    return fetch


def directory_fetch(root: Path) -> Fetch:
    """A fetch from a directory `farmtrace publish` wrote: a missing file is NotFoundError."""
    root = Path(root)

    def fetch(path: str) -> bytes:
        try:
            return (root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError(f"{root / path}: no such file") from None

    return fetch


def check_log(source: str | Path, *, log_key: str | Verifier, timeout: float = 30.0) -> TiledLogReport:
    """Check the whole log at `source` (an http(s) prefix or a directory) against `log_key` (a verifier
    key string or Verifier). Returns what was checked; raises VerificationError naming the first
    resource that does not verify, NotFoundError naming one that is missing."""
    key = log_key if isinstance(log_key, Verifier) else Verifier.from_key_string(log_key)
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        with httpx.Client(timeout=timeout, headers={"Accept-Encoding": "gzip, identity"}) as http:
            return check_tiled_log(http_fetch(source, http=http), log_key=key)
    return check_tiled_log(directory_fetch(Path(source)), log_key=key)
