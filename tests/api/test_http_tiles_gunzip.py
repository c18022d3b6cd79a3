"""api/mirroring.py's gzip reader for HttpTiles: what gzip.decompress decodes, it decodes to the same
bytes; what gzip.decompress refuses, it refuses (HttpTiles names it "does not decode")."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from farmtrace.api.mirroring import _gunzip


@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=3), st.integers(min_value=0, max_value=9))
def test_one_or_more_members_read_as_gzip_decompress_reads_them(parts, level):
    body = b"".join(gzip.compress(p, compresslevel=level, mtime=0) for p in parts)
    assert _gunzip(body) == gzip.decompress(body) == b"".join(parts)


def _corrupt(body: bytes, how: str) -> bytes:
    if how == "crc":  # the CRC-32 of the trailer
        return body[:-8] + bytes([body[-8] ^ 1]) + body[-7:]
    if how == "length":  # ISIZE, the trailer's last 4 bytes
        return body[:-4] + bytes([body[-4] ^ 1]) + body[-3:]
    if how == "truncated":
        return body[:-3]
    if how == "trailing":
        return body + b"junk"
    if how == "magic":
        return b"\x1f\x8c" + body[2:]
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["crc", "length", "truncated", "trailing", "magic"])
def test_what_gzip_decompress_refuses_is_refused(how):
    body = _corrupt(gzip.compress(b"entry bundle " * 500, mtime=0), how)
    with pytest.raises((OSError, EOFError, zlib.error)):
        gzip.decompress(body)
    with pytest.raises((OSError, EOFError, zlib.error)):
        _gunzip(body)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_what_httptiles_catches(body):
    try:
        expected = gzip.decompress(body)
    except (OSError, EOFError, zlib.error):
        with pytest.raises((OSError, EOFError, zlib.error)):
            _gunzip(body)
        return
    assert _gunzip(body) == expected
