"""The encrypted off-site backup of what is kept off the ledger (异地容灾): format, key, seal and open.

A mirror holds the ledger; it cannot hold what never entered it (trace/store/transfer.py
`OFF_LEDGER`: private contact details, applications, anomalies, audit runs, EPCIS queries and
subscriptions, label scans, the cold-chain thresholds' versions). `seal_backup` packs those rows
into one file only the holder of the backup key can read, and nobody can alter unseen:

    offset  size  field
    0       8     magic  b"FTBACKUP"
    8       1     format version, 1
    9       1     algorithm, 1 = AES-256-GCM (NIST SP 800-38D; `cryptography`'s AESGCM)
    10      8     key id: the first 8 bytes of SHA-256(b"farmtrace-backup-key/v1" ‖ key)
    18      12    nonce (random for each backup; never reused with one key)
    30      …     ciphertext ‖ 16-byte tag of: zlib(canonical JSON payload)

The 30 header bytes are the associated data: a changed version, algorithm, key id or nonce fails
the tag as a changed ciphertext does. The payload (RFC 8785-style canonical JSON: sorted keys, no
spaces) is `{"format": "farmtrace-offledger/v1", "origin": …, "log_size": …, "made_at": …,
"tables": [{"name", "columns", "rows"}, …]}`. The payload names its tables and columns, so keeping
a new table changes neither the version nor the format string: a backup made before a table was kept
lacks it, and a restore leaves that table empty (transfer.py `load_off_ledger`); one naming a table
or column this farmtrace does not know is refused.

The key file is one line, `farmtrace-backup-key/v1 <base64 of 32 random bytes>` (`format_backup_key` /
`parse_backup_key`). `open_backup` refuses (BackupRefused, naming the problem) a file that is not a
backup, of another version or algorithm, made with another key, or altered or truncated anywhere;
it returns the payload only when everything verified, so a restore loads all or nothing.
docs/mirror.md has a test vector.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .clock import to_utc_text
from .errors import TraceError
from .store.transfer import TableRows

__all__ = [
    "BackupContents",
    "BackupRefused",
    "format_backup_key",
    "new_backup_key",
    "open_backup",
    "parse_backup_key",
    "seal_backup",
]

MAGIC = b"FTBACKUP"
VERSION = 1
AES_256_GCM = 1
KEY_LINE = "farmtrace-backup-key/v1"
PAYLOAD_FORMAT = "farmtrace-offledger/v1"
HEADER_SIZE = len(MAGIC) + 1 + 1 + 8 + 12
MAX_BACKUP = 1 << 31  # 2 GiB: a bigger file is refused before it is read into memory


class BackupRefused(TraceError):
    """A backup (or backup key) that cannot be used: the message names what is wrong."""


@dataclass(frozen=True)
class BackupContents:
    """What a backup holds: the log it was made beside (origin, size then), when, and the rows."""

    origin: str
    log_size: int
    made_at: str
    tables: tuple[TableRows, ...]


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(KEY_LINE.encode() + key).digest()[:8]


def new_backup_key(random: bytes) -> bytes:
    """A backup key: the 32 random bytes the caller drew (os.urandom(32)), checked."""
    if len(random) != 32:
        raise BackupRefused("a backup key is 32 random bytes")
    return bytes(random)


def format_backup_key(key: bytes) -> str:
    """The key file's line for `key` (see the module docstring)."""
    return f"{KEY_LINE} {base64.b64encode(new_backup_key(key)).decode()}\n"


def parse_backup_key(text: str) -> bytes:
    """The key of a key file's text; BackupRefused unless it is exactly `format_backup_key`'s line."""
    word, _, b64 = text.strip().partition(" ")
    try:
        key = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if word != KEY_LINE or len(key) != 32 or format_backup_key(key) != text.strip() + "\n":
        raise BackupRefused(f"not a backup key: expected one line '{KEY_LINE} <base64 of 32 bytes>'")
    return key


def _payload(contents: BackupContents) -> bytes:
    body = {
        "format": PAYLOAD_FORMAT,
        "origin": contents.origin,
        "log_size": contents.log_size,
        "made_at": contents.made_at,
        "tables": [
            {"name": t.name, "columns": list(t.columns), "rows": [list(r) for r in t.rows]}
            for t in contents.tables
        ],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal_backup(
    tables: list[TableRows], *, key: bytes, nonce: bytes, origin: str, log_size: int, at: datetime
) -> bytes:
    """The backup file's bytes for `tables` (see the module docstring). `nonce` is 12 fresh random
    bytes (os.urandom(12)); `at` the time it was made."""
    if len(nonce) != 12:
        raise BackupRefused("a backup's nonce is 12 random bytes")
    contents = BackupContents(origin, log_size, to_utc_text(at), tuple(tables))
    header = MAGIC + bytes([VERSION, AES_256_GCM]) + _key_id(new_backup_key(key)) + nonce
    return header + AESGCM(key).encrypt(nonce, zlib.compress(_payload(contents), 6), header)


def open_backup(data: bytes, *, key: bytes) -> BackupContents:
    """The contents of backup `data`, once its tag verifies under `key`; BackupRefused naming the problem."""
    # 1. The header, in the clear: what it is, which version and algorithm, which key.
    if len(data) > MAX_BACKUP:
        raise BackupRefused(f"the file is larger than a backup can be ({MAX_BACKUP} bytes)")
    if len(data) < HEADER_SIZE + 16 or not data.startswith(MAGIC):
        raise BackupRefused("the file is not a farmtrace backup (no FTBACKUP header), or is cut short")
    version, algorithm = data[8], data[9]
    if version != VERSION:
        raise BackupRefused(f"the backup is format version {version}; this farmtrace reads version {VERSION}")
    if algorithm != AES_256_GCM:
        raise BackupRefused(f"the backup names algorithm {algorithm}; version 1 has only 1 (AES-256-GCM)")
    if data[10:18] != _key_id(new_backup_key(key)):
        raise BackupRefused(
            f"the backup was made with another key (key id {data[10:18].hex()}, this key's is "
            f"{_key_id(key).hex()}), or its header was altered"
        )
    # 2. The tag: any changed byte of header, ciphertext or tag fails here, and nothing is returned.
    header, nonce = data[:HEADER_SIZE], data[18:HEADER_SIZE]
    try:
        packed = AESGCM(key).decrypt(nonce, data[HEADER_SIZE:], header)
    except InvalidTag:
        raise BackupRefused(
            "the backup does not authenticate under this key: the file was altered or damaged "
            "(or cut short) after it was made"
        ) from None
    # 3. The payload (authenticated, so a failure here is a bug of the writer, still refused).
    try:
        body = json.loads(zlib.decompress(packed))
        if body["format"] != PAYLOAD_FORMAT:
            raise BackupRefused(f"the backup's payload is {body['format']!r}, not {PAYLOAD_FORMAT}")
        tables = tuple(
            TableRows(t["name"], tuple(t["columns"]), tuple(tuple(r) for r in t["rows"]))
            for t in body["tables"]
        )
        return BackupContents(body["origin"], int(body["log_size"]), body["made_at"], tables)
    except (zlib.error, ValueError, KeyError, TypeError) as exc:
        raise BackupRefused(f"the backup's payload does not parse: {exc}") from exc
