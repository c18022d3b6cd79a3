"""trace/backup.py and trace/store/transfer.py: the off-ledger backup seals, opens only under its key,
refuses every altered byte naming the problem, and loads all or nothing; the documented test vector."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import create_engine, func, select

from farmtrace.trace.backup import (
    BackupRefused,
    format_backup_key,
    open_backup,
    parse_backup_key,
    seal_backup,
)
from farmtrace.trace.cold_chain import DEFAULT_THRESHOLDS
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.store.compare import create_projection
from farmtrace.trace.store.transfer import OFF_LEDGER, TableRows, dump_off_ledger, load_off_ledger

KEY = bytes(range(32))
NONCE = bytes(range(100, 112))
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TABLES = [
    TableRows("trace_party_private", ("party_id", "details", "salt"), (("P1", '{"phone":"138"}', "ab"),)),
]


def _engine(tmp_path, name):
    engine = create_engine(f"sqlite:///{tmp_path / name}")
    create_projection(engine)
    return engine


def _sealed() -> bytes:
    return seal_backup(TABLES, key=KEY, nonce=NONCE, origin="farmtrace.local/log", log_size=7, at=AT)


# docs/mirror.md's test vector: KEY, NONCE, TABLES sealed at AT for log farmtrace.local/log at size 7.
VECTOR = bytes.fromhex(
    "46544241434b555001013cbd6b87866e9aea6465666768696a6b6c6d6e6f308793e8a8e7d4ae3227a00d646f50cd13"
    "71a9fa4a5bd2d6e5108953d8c0cfdc640656bc7d7b01a2c0cec12ca75dd68a73ef8cbb2c1e32c22127de059e5998b9"
    "2c3c65a590b85aede86daa4e46a1ae4d98e8794d0d7706fcb65492f21084594ec2166801829b42e45fb482b72c790b"
    "d46074a7cb1f47e58b7e61bb75add112c62811fc4441e10a1d6b0586961a8004df4348e1c42919e213b3ee53cbcbdf"
    "ee2439f157abadcb31e5d9a50837c02f196fba16bf57351dcf8234fbae9fcfafaddc853c825a17bf01b147"
)
PAYLOAD = (
    b'{"format":"farmtrace-offledger/v1","log_size":7,"made_at":"2026-12-01T08:00:00+00:00",'
    b'"origin":"farmtrace.local/log","tables":[{"columns":["party_id","details","salt"],'
    b'"name":"trace_party_private","rows":[["P1","{\\"phone\\":\\"138\\"}","ab"]]}]}'
)


def test_the_test_vector_of_docs_mirror_md():
    key_id = hashlib.sha256(b"farmtrace-backup-key/v1" + KEY).digest()[:8]
    assert VECTOR[:30] == b"FTBACKUP" + bytes([1, 1]) + key_id + NONCE
    # The format as documented, read without trace/backup.py: AES-256-GCM, the header as associated data.
    assert zlib.decompress(AESGCM(KEY).decrypt(NONCE, VECTOR[30:], VECTOR[:30])) == PAYLOAD
    contents = open_backup(VECTOR, key=KEY)
    assert (contents.origin, contents.log_size, contents.made_at) == (
        "farmtrace.local/log",
        7,
        AT.isoformat(),
    )
    assert contents.tables == tuple(TABLES)
    assert open_backup(_sealed(), key=KEY) == contents  # a fresh seal opens to the same contents


def test_every_flipped_byte_is_refused_and_named():
    data = _sealed()
    for at in range(len(data)):
        bad = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
        with pytest.raises(BackupRefused) as caught:
            open_backup(bad, key=KEY)
        message = str(caught.value)
        if at < 8:
            assert "not a farmtrace backup" in message
        elif at == 8:
            assert "version" in message
        elif at == 9:
            assert "algorithm" in message
        elif at < 18:
            assert "another key" in message
        else:
            assert "altered or damaged" in message
    for cut in (0, 10, 29, 30, 45, len(data) - 1):
        with pytest.raises(BackupRefused):
            open_backup(data[:cut], key=KEY)
    with pytest.raises(BackupRefused, match="another key"):
        open_backup(data, key=bytes(32))


def test_the_key_file_is_strict():
    line = format_backup_key(KEY)
    assert line == f"farmtrace-backup-key/v1 {base64.b64encode(KEY).decode()}\n"
    assert parse_backup_key(line) == KEY
    for bad in ("", line.replace("v1", "v2"), line.replace(" ", "  "), "farmtrace-backup-key/v1 AAAA\n"):
        with pytest.raises(BackupRefused):
            parse_backup_key(bad)


def test_dump_and_load_round_trip_all_or_nothing(tmp_path):
    source = _engine(tmp_path, "a.db")
    load_off_ledger(source, TABLES)
    dumped = dump_off_ledger(source)
    assert {t.name for t in dumped} == {t.name for t in OFF_LEDGER}
    target = _engine(tmp_path, "b.db")
    bad = [*dumped, TableRows("trace_anomaly", ("id", "nonsense"), ((1, "x"),))]
    with pytest.raises(InvalidEvent, match="unknown columns"):
        load_off_ledger(target, bad)
    with target.connect() as conn:  # nothing of the good tables before it was written either
        assert conn.execute(select(func.count()).select_from(OFF_LEDGER[0])).scalar_one() == 0
    # The source's threshold versions are the defaults, as its service would have made them.
    assert load_off_ledger(target, dumped) == 1 + len(DEFAULT_THRESHOLDS)
    assert dump_off_ledger(target) == dumped
    with pytest.raises(InvalidEvent, match="already holds rows"):
        load_off_ledger(target, dumped)
