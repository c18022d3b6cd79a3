"""Offline bundles: the whole log in one file, checkable with no database and no server.

A bundle is one JSON document (UTF-8), written as a stream:

    {"format": "farmtrace-log-bundle/v1",
     "origin": "<log origin>",
     "log_key": "<verifier key string>",
     "size": <entries>,
     "checkpoints": [{"size": N, "note": "<signed note, with any cosignature lines>", "signed_at": T}, …],
     "entries": ["<base64 entry 0>", "<base64 entry 1>", …]}

`write_bundle` / `read_bundle` are the pair; `check_bundle` audits a bundle with `audit.audit`
against a log key the caller trusts (the key inside the bundle is only a hint).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .audit import AuditFailure, AuditReport, audit
from .checkpoint import parse_checkpoint
from .errors import MalformedError
from .note import Verifier
from .store import StoredCheckpoint

__all__ = ["BUNDLE_FORMAT", "Bundle", "check_bundle", "read_bundle", "write_bundle"]

BUNDLE_FORMAT = "farmtrace-log-bundle/v1"


@dataclass(frozen=True)
class Bundle:
    origin: str
    log_key: str
    size: int
    checkpoints: list[StoredCheckpoint]
    entries: list[bytes]


def write_bundle(
    path: Path,
    *,
    log_key: Verifier,
    checkpoints: list[StoredCheckpoint],
    entries: Iterable[tuple[int, bytes]],
) -> int:
    """Write a bundle to `path`; return the number of entries written (those of the latest checkpoint)."""
    size = checkpoints[-1].size if checkpoints else 0
    count = 0
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8") as f:
        head = {
            "format": BUNDLE_FORMAT,
            "origin": log_key.name,
            "log_key": log_key.key_string(),
            "size": size,
            "checkpoints": [
                {"size": c.size, "note": c.note_with_cosignatures(), "signed_at": c.signed_at}
                for c in checkpoints
            ],
        }
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "entries": [')
        for index, entry in entries:
            if index >= size:
                break
            f.write(("," if count else "") + '"' + base64.b64encode(entry).decode() + '"')
            count += 1
        f.write("]}\n")
    tmp.replace(path)  # a crash mid-export never leaves a truncated bundle under the real name
    return count


def read_bundle(path: Path) -> Bundle:
    """Parse a bundle strictly; raise MalformedError on anything unexpected."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError(f"cannot read the bundle {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise MalformedError(f"{path} is not a {BUNDLE_FORMAT} file")
    try:
        checkpoints = []
        for c in doc["checkpoints"]:
            note = c["note"]
            # The stored row is rebuilt from the note itself; the audit re-checks the signature.
            text = note[: note.rfind("\n\n") + 1]
            cp = parse_checkpoint(text)
            sig_start = note.rfind("\n\n") + 2
            lines = note[sig_start:].splitlines(keepends=True)
            checkpoints.append(
                StoredCheckpoint(
                    cp.size, cp.root, note[:sig_start] + lines[0], float(c["signed_at"]), tuple(lines[1:])
                )
            )
        entries = [base64.b64decode(e, validate=True) for e in doc["entries"]]
        return Bundle(doc["origin"], doc["log_key"], int(doc["size"]), checkpoints, entries)
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error) as exc:
        raise MalformedError(f"the bundle {path} is malformed: {exc}") from exc


def check_bundle(path: Path, *, log_key: Verifier | None = None) -> tuple[Bundle, AuditReport]:
    """Audit a bundle. Without `log_key`, the bundle's own key is used (and callers should say so)."""
    bundle = read_bundle(path)
    key = log_key or Verifier.from_key_string(bundle.log_key)
    report = audit(enumerate(bundle.entries), bundle.checkpoints, log_key=key, tiles=None)
    if bundle.size != (bundle.checkpoints[-1].size if bundle.checkpoints else 0):
        report.failures.insert(
            0, AuditFailure(f"the bundle says size {bundle.size} but its checkpoints disagree")
        )
    return bundle, report
