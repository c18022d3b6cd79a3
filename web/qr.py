"""Label URIs and label images: the QR code a consumer scans, with the words printed under it.

A label URI is written on the service's public base URL (`Settings.public_url`, the `base` here):

    {base}/01/{gtin14}/10/{lot}     the product has a GTIN: a GS1 Digital Link URI (GS1 Digital
                                    Link Standard 1.x, uncompressed, primary key AI (01) GTIN as 14
                                    digits, key qualifier AI (10) batch/lot)
    {base}/l/{lot}                  the product has none (most small farms): our own short path

    base   http or https, a host, an optional port and an optional path prefix; no trailing slash,
           user info, query or fragment: "https://trace.changsha.example"
    lot    a lot code (trace.ids.check_lot_code: 1-20 of A-Z a-z 0-9 - . _ /), with "/" written
           as "%2F": GS1 Digital Link percent-encodes AI values, and every other character a lot
           code may hold is unreserved (RFC 3986 §2.3), so each lot has exactly one spelling.

`label_uri` writes one and `parse_label_uri` reads one back strictly (it re-formats what it parsed
and compares, so there is exactly one accepted spelling of each label).

The QR code uses error correction level M (15 % of codewords recoverable: scuffed bags) and a quiet
zone of 4 modules (ISO/IEC 18004:2015 §9.1). The URI is split into numeric, alphanumeric and byte
segments by an exact shortest-encoding search (§7.4), so a GS1 Digital Link URI of a realistic
host stays at version 4 (33 × 33 modules) and a short path at version 3.

The label: the QR code on top; under it the product's Chinese name, the lot code, and who made the
lot (for a lot repacked or split from another, the packer and the farm it came from). One layout in
millimetres (`layout_label`) is drawn by every renderer: PNG here (`render_png`), SVG here
(`render_svg`, self-contained, text escaped, CJK font fallback list) and the PDF sheet in
`farmtrace.web.labels`. Text is measured with the WenQuanYi Zen Hei font (Debian fonts-wqy-zenhei),
which the PNG and PDF embed; without it `FontMissing` says which package to install.

Errors: bad input raises `farmtrace.trace.errors.InvalidEvent` naming the field ("lot", "gtin",
"base", "uri", "size_mm", "dpi"); a missing font raises `FontMissing`.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
import qrcode.util
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.ids import check_lot_code, gtin14

__all__ = [
    "CJK_FONT_FAMILIES",
    "CJK_FONT_FILES",
    "DEFAULT_DPI",
    "DEFAULT_SIZE_MM",
    "MAX_DPI",
    "MAX_SIZE_MM",
    "MIN_DPI",
    "MIN_SIZE_MM",
    "QR_BORDER",
    "FontMissing",
    "Label",
    "LabelLayout",
    "TextLine",
    "check_size_mm",
    "cjk_font_file",
    "label_uri",
    "layout_label",
    "parse_label_uri",
    "qr_code",
    "qr_matrix",
    "render_png",
    "render_svg",
]

# --- label URIs ------------------------------------------------------------------------------------

_BASE_PATH = re.compile(r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@]+)*")
_SHORT = re.compile(r"/l/((?:[A-Za-z0-9\-._]|%2F){1,60})")
_DIGITAL_LINK = re.compile(r"/01/([0-9]{14})/10/((?:[A-Za-z0-9\-._]|%2F){1,60})")


def _check_base(base: object) -> str:
    if not isinstance(base, str):
        raise InvalidEvent("base", f"expected the public base URL as a string, found {type(base).__name__}")
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or "?" in base
        or "#" in base
        or not _BASE_PATH.fullmatch(parts.path)
        or base != base.strip()
    ):
        raise InvalidEvent(
            "base",
            "expected a public base URL like https://trace.changsha.example (http or https, a host, "
            f"an optional path; no trailing slash, query or fragment), found {base[:80]!r}",
        )
    return base


def label_uri(lot: str, *, base: str, gtin: str | None = None) -> str:
    """Return the URI a lot's label encodes: `{base}/01/{gtin14}/10/{lot}` or `{base}/l/{lot}`.

    Raises InvalidEvent naming "lot" (not a lot code), "gtin" (wrong length or check digit) or
    "base" (not a public base URL; see the module docstring).
    """
    _check_base(base)
    check_lot_code(lot, field="lot")
    lot_segment = lot.replace("/", "%2F")
    if gtin is None:
        return f"{base}/l/{lot_segment}"
    return f"{base}/01/{gtin14(gtin)}/10/{lot_segment}"


def parse_label_uri(uri: str, *, base: str) -> tuple[str, str | None]:
    """Return (lot, gtin14 or None) from a label URI written by `label_uri` on `base`.

    Strict: the URI must be on `base` and spelled exactly as `label_uri` spells it (no query,
    fragment, trailing slash, lower-case "%2f", needless escapes or a GTIN shorter than 14 digits).
    Raises InvalidEvent(field="uri") saying what was expected and found.
    """
    _check_base(base)
    if not isinstance(uri, str):
        raise InvalidEvent("uri", f"expected a label URI as a string, found {type(uri).__name__}")
    shown = uri[:120]
    if not uri.startswith(base + "/"):
        raise InvalidEvent("uri", f"expected a label URI on {base}/, found {shown!r}")
    rest = uri[len(base) :]
    gtin: str | None = None
    if m := _SHORT.fullmatch(rest):
        lot = m.group(1).replace("%2F", "/")
    elif m := _DIGITAL_LINK.fullmatch(rest):
        gtin, lot = m.group(1), m.group(2).replace("%2F", "/")
    else:
        raise InvalidEvent(
            "uri", f"expected {base}/l/{{lot}} or {base}/01/{{GTIN-14}}/10/{{lot}}, found {shown!r}"
        )
    try:
        again = label_uri(lot, base=base, gtin=gtin)
    except InvalidEvent as exc:
        raise InvalidEvent("uri", f"{exc.message} (in {shown!r})") from exc
    if again != uri:
        raise InvalidEvent("uri", f"expected the canonical spelling {again!r}, found {shown!r}")
    return lot, gtin


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


# --- the label's layout ----------------------------------------------------------------------------

DEFAULT_SIZE_MM = 40.0
MIN_SIZE_MM = 30.0  # below this the smallest Chinese text would fall under 5 pt
MAX_SIZE_MM = 120.0
DEFAULT_DPI = 300
MIN_DPI, MAX_DPI = 150, 600

CJK_FONT_FILES: tuple[Path, ...] = (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),)
CJK_FONT_FAMILIES = (
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "sans-serif",
)


class FontMissing(RuntimeError):
    """No CJK TrueType font to draw and embed label text with; the message names the package."""


def cjk_font_file() -> Path:
    """The CJK TrueType font file (a .ttc; face 0 is WenQuanYi Zen Hei). Raises FontMissing."""
    for path in CJK_FONT_FILES:
        if path.is_file():
            return path
    raise FontMissing(
        f"no CJK TrueType font at {', '.join(map(str, CJK_FONT_FILES))}: labels need WenQuanYi Zen "
        "Hei; install the Debian package fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei)"
    )


@lru_cache(maxsize=64)
def _pil_font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px, index=0)


def _em_width(text: str) -> float:
    """Width of `text` in ems of the label font (kerning ignored: layout keeps 5 % spare)."""
    return sum(_char_em(c) for c in text)


@lru_cache(maxsize=8192)
def _char_em(char: str) -> float:
    return _pil_font(cjk_font_file(), 1000).getlength(char) / 1000


@dataclass(frozen=True)
class Label:
    """What a label shows. `packer` is set when the lot was made from other lots (split, repack)
    by someone other than `producer`, the party that grew or harvested what is in it."""

    uri: str
    product: str
    lot: str
    producer: str
    packer: str | None = None


@dataclass(frozen=True)
class TextLine:
    """One line of text: centred on `x`, its baseline at `y`, font size `size`; all in mm."""

    text: str
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class LabelLayout:
    """A label laid out in millimetres from its top-left corner.

    `matrix` is the QR code with its quiet zone, drawn from (`qr_x`, `qr_y`) in squares of
    `module` mm; `lines` is the text under it.
    """

    width: float
    height: float
    qr_x: float
    qr_y: float
    module: float
    matrix: tuple[tuple[bool, ...], ...]
    lines: tuple[TextLine, ...]


def check_size_mm(size_mm: float, *, field: str = "size_mm") -> None:
    """Check a label width in mm: MIN_SIZE_MM to MAX_SIZE_MM. Raises InvalidEvent(field)."""
    if not isinstance(size_mm, int | float) or not MIN_SIZE_MM <= size_mm <= MAX_SIZE_MM:
        raise InvalidEvent(field, f"a label is {MIN_SIZE_MM:g} to {MAX_SIZE_MM:g} mm wide, found {size_mm!r}")


def _wrap(text: str, *, size: float, width: float, max_lines: int, shorten: bool) -> list[str] | None:
    """Break `text` into at most `max_lines` lines no wider than `width` mm at `size` mm.

    Breaks between any two characters (Chinese has no spaces), preferring a space in the second half
    of a line. Too long: None, or with `shorten` the last line cut and ended with "…".
    """
    room = width / size  # in ems
    lines: list[str] = []
    rest = text
    while rest:
        cut, used = 0, 0.0
        while cut < len(rest) and (cut == 0 or used + _char_em(rest[cut]) <= room):
            used += _char_em(rest[cut])
            cut += 1
        if cut < len(rest):
            space = rest.rfind(" ", 0, cut)
            if space > cut // 2:
                cut = space + 1
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if len(lines) <= max_lines:
        return lines
    if not shorten:
        return None
    last = lines[max_lines - 1]
    while last and _em_width(last + "…") > room:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + "…"]


def _fit(text: str, *, size: float, smallest: float, width: float, max_lines: int) -> tuple[float, list[str]]:
    """The largest size from `size` down to `smallest` at which `text` fits one line; else wrapped
    at `smallest` into lines of even length (no lone last character), or shortened with "…"."""
    step = size
    while step >= smallest - 1e-9:
        if _em_width(text) * step <= width:
            return step, [text]
        step -= 0.05 * size
    lines = _wrap(text, size=smallest, width=width, max_lines=max_lines, shorten=False)
    if lines is None:
        return smallest, _wrap(text, size=smallest, width=width, max_lines=max_lines, shorten=True) or [""]
    # Balance: the narrowest width that still needs no more lines (bisection, to 0.1 mm).
    lo, hi = width / len(lines), width
    while hi - lo > 0.1:
        mid = (lo + hi) / 2
        if _wrap(text, size=smallest, width=mid, max_lines=len(lines), shorten=False) is None:
            lo = mid
        else:
            hi = mid
    return smallest, _wrap(text, size=smallest, width=hi, max_lines=len(lines), shorten=False) or lines


def layout_label(label: Label, *, size_mm: float = DEFAULT_SIZE_MM) -> LabelLayout:
    """Lay out `label` `size_mm` wide; the height follows from the text (about 1.1 × the width).

    Sizes scale with the width; at 40 mm the QR code (with quiet zone) is 24.8 mm, the product name
    3.4 mm (about 9.6 pt) and the smallest text no less than 2.1 mm (about 6 pt).
    Raises InvalidEvent(field="size_mm") for a width out of bounds, FontMissing without the font.
    """
    check_size_mm(size_mm)
    s = size_mm / 40.0
    margin = 1.5 * s
    text_width = 0.95 * (size_mm - 2 * margin)  # 5 % spare for an SVG viewer's fallback font
    matrix = qr_matrix(label.uri)
    box = 0.62 * size_mm
    module = box / len(matrix)
    qr_x, qr_y = (size_mm - box) / 2, margin
    # (text, size, smallest size, most lines): the product name first and largest.
    items = [(label.product, 3.4 * s, 2.6 * s, 2), ("批次 " + label.lot, 2.8 * s, 2.0 * s, 2)]
    if label.packer:
        items.append(("分装：" + label.packer, 2.5 * s, 2.1 * s, 2))
    items.append(("生产者：" + label.producer, 2.5 * s, 2.1 * s, 2))
    lines = []
    y = qr_y + box
    for text, size, smallest, max_lines in items:
        size, wrapped = _fit(text, size=size, smallest=smallest, width=text_width, max_lines=max_lines)
        y += 0.3 * size
        for line in wrapped:
            y += size  # the baseline sits about one em below the top of the line
            lines.append(TextLine(line, size_mm / 2, y, size))
            y += 0.2 * size  # the descent
    return LabelLayout(
        width=size_mm,
        height=round(y + margin, 2),
        qr_x=qr_x,
        qr_y=qr_y,
        module=module,
        matrix=matrix,
        lines=tuple(lines),
    )


# --- PNG -------------------------------------------------------------------------------------------


def render_png(label: Label, *, size_mm: float = DEFAULT_SIZE_MM, dpi: int = DEFAULT_DPI) -> bytes:
    """The label as a greyscale PNG `size_mm` wide at `dpi` (recorded in the file's pHYs chunk).

    QR modules are whole pixels (the code shrinks by under one module to stay sharp).
    Raises InvalidEvent(field="size_mm" or "dpi") out of bounds, FontMissing without the font.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not MIN_DPI <= dpi <= MAX_DPI:
        raise InvalidEvent("dpi", f"expected {MIN_DPI} to {MAX_DPI} dots per inch, found {dpi!r}")
    lay = layout_label(label, size_mm=size_mm)
    px = dpi / 25.4
    image = Image.new("L", (round(lay.width * px), round(lay.height * px)), 255)
    n = len(lay.matrix)
    module_px = max(1, math.floor(lay.module * px))
    code = Image.new("L", (n, n), 255)
    code.putdata([0 if dark else 255 for row in lay.matrix for dark in row])
    code = code.resize((n * module_px, n * module_px), Image.Resampling.NEAREST)
    spare = lay.module * n * px - n * module_px
    image.paste(code, (round(lay.qr_x * px + spare / 2), round(lay.qr_y * px + spare / 2)))
    draw = ImageDraw.Draw(image)
    font_file = cjk_font_file()
    for line in lay.lines:
        font = _pil_font(font_file, max(1, round(line.size * px)))
        draw.text((line.x * px, line.y * px), line.text, font=font, fill=0, anchor="ms")
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


# --- SVG -------------------------------------------------------------------------------------------

# XML 1.0 §2.2: characters a document may not contain at all (the domain refuses them anyway).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    text = _NOT_XML.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _svg_path(matrix: tuple[tuple[bool, ...], ...]) -> str:
    """Dark modules as one path of horizontal runs, in module units."""
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return "".join(parts)


def render_svg(label: Label, *, size_mm: float = DEFAULT_SIZE_MM) -> str:
    """The label as a self-contained SVG document `size_mm` wide (user units are millimetres).

    The QR code is one path; text is SVG text (selectable, searchable) in the first of
    CJK_FONT_FAMILIES the viewer has, every string escaped. No scripts, styles or external references.
    Raises InvalidEvent(field="size_mm") out of bounds, FontMissing without the font to measure with.
    """
    lay = layout_label(label, size_mm=size_mm)
    w, h = _num(lay.width), _num(lay.height)
    title = _xml_text(f"{label.product} {label.lot}")
    families = ",".join(f"'{f}'" if " " in f else f for f in CJK_FONT_FAMILIES)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}"'
        f' role="img" aria-label="{title}">',
        f"<title>{title}</title>",
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        f'<path transform="translate({_num(lay.qr_x)} {_num(lay.qr_y)}) scale({lay.module:.5f})"'
        f' fill="#000" shape-rendering="crispEdges" d="{_svg_path(lay.matrix)}"/>',
        f'<g font-family="{families}" text-anchor="middle" fill="#000">',
    ]
    for line in lay.lines:
        out.append(
            f'<text x="{_num(line.x)}" y="{_num(line.y)}" font-size="{_num(line.size)}">'
            f"{_xml_text(line.text)}</text>"
        )
    out += ["</g>", "</svg>", ""]
    return "\n".join(out)
