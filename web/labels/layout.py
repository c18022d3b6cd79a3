"""What a label says and where: one layout in millimetres that every renderer draws.

The label: the QR code on top; under it the product's Chinese name, the lot code, the national
platform's 追溯码 where the event that created the lot gives one, and who made the lot (for a lot
repacked or split from another, the packer and the farm it came from). Text is
measured with the WenQuanYi Zen Hei font (Debian fonts-wqy-zenhei), which the PNG and PDF embed;
without it `FontMissing` says which package to install. A size out of bounds raises
`farmtrace.trace.errors.InvalidEvent` naming the field ("size_mm").

`label_for` / `sheet_labels` read what a lot's labels say from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.reads.national import tracing_codes
from farmtrace.trace.service import TraceService

from .qr import qr_matrix
from .uri import label_uri

__all__ = [
    "CJK_FONT_FAMILIES",
    "CJK_FONT_FILES",
    "DEFAULT_DPI",
    "DEFAULT_SIZE_MM",
    "MAX_COPIES",
    "MAX_DPI",
    "MAX_SHEET_LABELS",
    "MAX_SIZE_MM",
    "MIN_DPI",
    "MIN_SIZE_MM",
    "FontMissing",
    "Label",
    "LabelLayout",
    "TextLine",
    "check_size_mm",
    "cjk_font_file",
    "label_for",
    "layout_label",
    "pil_font",
    "sheet_labels",
]

MAX_COPIES = 500
MAX_SHEET_LABELS = 1000

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
def pil_font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px, index=0)


def _em_width(text: str) -> float:
    """Width of `text` in ems of the label font (kerning ignored: layout keeps 5 % spare)."""
    return sum(_char_em(c) for c in text)


@lru_cache(maxsize=8192)
def _char_em(char: str) -> float:
    return pil_font(cjk_font_file(), 1000).getlength(char) / 1000


@dataclass(frozen=True)
class Label:
    """What a label shows. `packer` is set when the lot was made from other lots (split, repack)
    by someone other than `producer`, the party that grew or harvested what is in it;
    `tracing_code` is the lot's 追溯码 (national platform), where its creating event gives one."""

    uri: str
    product: str
    lot: str
    producer: str
    packer: str | None = None
    tracing_code: str | None = None


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
    if label.tracing_code:
        items.append(("追溯码 " + label.tracing_code, 2.5 * s, 2.0 * s, 2))
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


# --- what a label says -----------------------------------------------------------------------------


def label_for(service: TraceService, code: str, *, base: str) -> Label:
    """The label of lot `code`: its URI on `base`, product name (Chinese), 追溯码 if any, and who made it.

    A lot made from other lots names its maker as the packer and the maker(s) of its origin lots
    (the harvests it came from) as the producer: "A 等3家" when several farms went into it.
    Raises NotFound for an unknown lot, InvalidEvent for a bad code or base.
    """
    product = service.lot_summary(code).product
    uri = label_uri(code, base=base, gtin=product.get("gtin"))
    back = service.trace_graph(code, direction="back")
    nodes = {n.lot: n for n in back.nodes}
    maker = nodes[code].created_by_name or nodes[code].created_by
    farms: list[str] = []
    for origin in back.origins:
        node = nodes[origin]
        name = node.created_by_name or node.created_by
        if origin != code and name not in farms:
            farms.append(name)
    tracing = tracing_codes(service.engine, [code]).get(code)
    if not farms or farms == [maker]:
        return Label(uri=uri, product=product["name_zh"], lot=code, producer=maker, tracing_code=tracing)
    producer = farms[0] if len(farms) == 1 else f"{farms[0]} 等{len(farms)}家"
    return Label(
        uri=uri, product=product["name_zh"], lot=code, producer=producer, packer=maker, tracing_code=tracing
    )


def sheet_labels(service: TraceService, code: str, *, base: str, copies: int = 1) -> list[Label]:
    """The labels a sheet for lot `code` holds: `copies` of each child's label, or of its own.

    Raises InvalidEvent(field="copies") out of 1..MAX_COPIES or past MAX_SHEET_LABELS labels,
    NotFound for an unknown lot.
    """
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        raise InvalidEvent("copies", f"expected 1 to {MAX_COPIES} copies, found {copies!r}")
    children = service.lot_summary(code).children or (code,)
    if len(children) * copies > MAX_SHEET_LABELS:
        raise InvalidEvent(
            "copies",
            f"a sheet holds at most {MAX_SHEET_LABELS} labels; {len(children)} label(s) × {copies} "
            f"copies is {len(children) * copies}",
        )
    return [label for child in children for label in [label_for(service, child, base=base)] * copies]
