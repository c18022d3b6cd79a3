"""The QR code of a label URI.

Error correction level M (15 % of codewords recoverable: scuffed bags) and a quiet zone of 4 modules
(ISO/IEC 18004:2015 §9.1). The URI is split into numeric, alphanumeric and byte segments by an
exact shortest-encoding search (§7.4), so a GS1 Digital Link URI of a realistic host stays at
version 4 (33 × 33 modules) and a short path at version 3.
"""

from __future__ import annotations

import math
from functools import lru_cache

import qrcode
import qrcode.util
from qrcode.constants import ERROR_CORRECT_M

from farmtrace.trace.errors import InvalidEvent

__all__ = ["QR_BORDER", "qr_code", "qr_matrix"]

# --- the QR code -----------------------------------------------------------------------------------

QR_BORDER = 4  # modules of quiet zone on every side: ISO/IEC 18004:2015 §9.1
_NUMBER, _ALNUM, _BYTE = qrcode.util.MODE_NUMBER, qrcode.util.MODE_ALPHA_NUM, qrcode.util.MODE_8BIT_BYTE
_ALNUM_SET = frozenset(qrcode.util.ALPHA_NUM)
_DIGIT_SET = frozenset(b"0123456789")


def _payload_bits(mode: int, n: int) -> int:
    # ISO/IEC 18004:2015 §7.4.3-7.4.5: 3 digits in 10 bits, 2 characters in 11 bits, 1 byte in 8.
    if mode == _NUMBER:
        return 10 * (n // 3) + (0, 4, 7)[n % 3]
    if mode == _ALNUM:
        return 11 * (n // 2) + 6 * (n % 2)
    return 8 * n


def _segments(data: bytes, version: int) -> tuple[int, list[qrcode.util.QRData]]:
    """The shortest split of `data` into mode segments for `version`: (bits, segments).

    Exact dynamic programme over where segments end: best[i] is the fewest bits for data[:i]; each
    segment data[j:i] takes the narrowest mode that holds it (a wider one is never shorter) and
    costs a 4-bit mode indicator, its character count, and its payload.
    """
    count_bits = qrcode.util.mode_sizes_for_version(version)
    n = len(data)
    best = [0] + [math.inf] * n
    choice: list[tuple[int, int]] = [(0, 0)] * (n + 1)
    for i in range(1, n + 1):
        digits = alnum = True
        for j in range(i - 1, -1, -1):
            digits = digits and data[j] in _DIGIT_SET
            alnum = alnum and data[j] in _ALNUM_SET
            mode = _NUMBER if digits else _ALNUM if alnum else _BYTE
            if i - j >= 1 << count_bits[mode]:
                break
            cost = best[j] + 4 + count_bits[mode] + _payload_bits(mode, i - j)
            if cost < best[i]:
                best[i], choice[i] = cost, (j, mode)
    segments = []
    i = n
    while i > 0:
        j, mode = choice[i]
        segments.append(qrcode.util.QRData(data[j:i], mode=mode))
        i = j
    return int(best[n]), segments[::-1]


def qr_code(uri: str) -> qrcode.QRCode:
    """The QR code for `uri`: error correction M, a 4-module quiet zone, the smallest version.

    Raises InvalidEvent(field="uri") if the URI does not fit even version 40.
    """
    data = uri.encode("utf-8")
    limits = qrcode.util.BIT_LIMIT_TABLE[ERROR_CORRECT_M]
    # Character-count field widths change at versions 10 and 27 (§7.4.1, Table 3).
    for first, last in ((1, 9), (10, 26), (27, 40)):
        bits, segments = _segments(data, first)
        for version in range(first, last + 1):
            if bits <= limits[version]:
                code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=QR_BORDER)
                code.data_list = segments
                code.make(fit=False)
                return code
    raise InvalidEvent("uri", f"{len(data)} bytes do not fit a QR code at error correction level M")


@lru_cache(maxsize=4096)
def qr_matrix(uri: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules, dark = True, row by row, including the 4-module quiet zone."""
    return tuple(tuple(row) for row in qr_code(uri).get_matrix())
