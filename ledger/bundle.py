"""Offline bundles: the whole log in one file, checkable with no database and no server.

A bundle is one JSON document (UTF-8), written as a stream:

    {"format": "farmtrace-log-bundle/v1",
     "origin": "<log origin>",
     "log_key": "<verifier key string>",
     "size": <entries>,
     "checkpoints": [{"size": N, "note": "<signed note, with any cosignature lines>", "signed_at": T}, …],
     "entries": ["<base64 entry 0>", "<base64 entry 1>", …]}

`write_bundle` / `read_bundle` are the pair; `check_bundle` audits a bundle with `audit.audit`
against a log key the caller trusts (the key inside the bundle is only a hint). Where a bundle's
latest checkpoint matches its entries but an earlier one does not, the log forked: the failure then
carries the `Evidence` (`ledger.verify`) that a third party can re-check.

`check_bundle_trusting_its_own_key` is the unsafe twin, named so that no one calls it by accident
(as sigstore's `UnsafeNoOp` policy): anyone can write a bundle and sign it with a key of their own.
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
from .errors import InconsistencyError, LedgerError, MalformedError
from .hashing import leaf_hash
from .note import Verifier
from .store import StoredCheckpoint
from .tiles import Integrator, TileHashReader
from .verify import check_checkpoint_consistency, prove_checkpoint_consistency

__all__ = [
    "BUNDLE_FORMAT",
    "Bundle",
    "check_bundle",
    "check_bundle_trusting_its_own_key",
    "read_bundle",
    "write_bundle",
]

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


def check_bundle(path: Path, *, log_key: Verifier) -> tuple[Bundle, AuditReport]:
    """Audit the bundle at `path` against `log_key`, the log key the caller trusts.

    Returns the bundle and the audit's report (failures are in the report, not raised). The key
    the bundle carries is not used. Raises MalformedError if the file is not a bundle, or if
    `log_key` is not a Verifier (to trust the bundle's own key, say so:
    `check_bundle_trusting_its_own_key`).
    """
    if not isinstance(log_key, Verifier):
        raise MalformedError(
            "check_bundle needs the log key you trust; check_bundle_trusting_its_own_key trusts the bundle's"
        )
    bundle = read_bundle(path)
    return bundle, _check(bundle, log_key)


def check_bundle_trusting_its_own_key(path: Path) -> tuple[Bundle, AuditReport]:
    """UNSAFE: audit the bundle at `path` against the log key written inside it.

    This proves only that the bundle agrees with itself: whoever wrote it may have signed it with a
    key of their own. Use it to look at a bundle whose log key you cannot get otherwise, and tell
    the reader that the bundle vouched for itself. Raises MalformedError as `check_bundle` does,
    and if the bundle's key does not parse.
    """
    bundle = read_bundle(path)
    return bundle, _check(bundle, Verifier.from_key_string(bundle.log_key))


def _check(bundle: Bundle, log_key: Verifier) -> AuditReport:
    report = audit(enumerate(bundle.entries), bundle.checkpoints, log_key=log_key, tiles=None)
    if bundle.size != (bundle.checkpoints[-1].size if bundle.checkpoints else 0):
        report.failures.insert(
            0, AuditFailure(f"the bundle says size {bundle.size} but its checkpoints disagree")
        )
    report.failures = _with_evidence(bundle, report.failures, log_key)
    return report


def _with_evidence(bundle: Bundle, failures: list[AuditFailure], log_key: Verifier) -> list[AuditFailure]:
    """`failures`, where an earlier checkpoint is contradicted by the latest one: with the evidence.

    Only when the latest checkpoint matches the entries: the proofs computed from the entries then
    lead to its root, so they are true statements about the tree the log signed last.
    """
    if not bundle.checkpoints:
        return failures
    latest = max(bundle.checkpoints, key=lambda c: c.size)
    mismatched = {f.checkpoint_size for f in failures if f.checkpoint_size is not None}
    if not mismatched or latest.size in mismatched or len(bundle.entries) < latest.size:
        return failures
    edge = Integrator(0, [], {})
    edge.append(map(leaf_hash, bundle.entries[: latest.size]))
    tiles = edge.dirty_tiles()
    reader = TileHashReader(lambda keys: {k: tiles[k] for k in keys if k in tiles})
    notes = {c.size: c for c in bundle.checkpoints}
    out = []
    for f in failures:
        cp = notes.get(f.checkpoint_size) if f.checkpoint_size is not None else None
        if cp is not None and cp.size < latest.size:
            try:
                proof = prove_checkpoint_consistency(cp.size, latest.size, reader)
                check_checkpoint_consistency(
                    cp.note_with_cosignatures(), latest.note_with_cosignatures(), proof, log_key=log_key
                )
            except InconsistencyError as exc:
                f = AuditFailure(
                    f"{exc} (checkpoint at size {cp.size})", checkpoint_size=cp.size, evidence=exc.evidence
                )
            except LedgerError:
                pass  # not signed by the log, say: the audit's own failure says so
        out.append(f)
    return out
