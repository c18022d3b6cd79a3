"""Drawing labels: PNG and SVG of one label, and the A4 PDF sheet of many.

Every renderer draws the same `layout_label` (web/labels/layout.py). The SVG is self-contained,
its text escaped, with a CJK font fallback list. The sheet is A4 with 10 mm margins, labels on a
grid with dashed cut lines between them and crop marks outside, and WenQuanYi Zen Hei embedded
(subset) so the Chinese prints on any printer. A size or resolution out of bounds raises
`farmtrace.trace.errors.InvalidEvent` naming the field ("size_mm", "dpi").
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from functools import cache

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from farmtrace.trace.errors import InvalidEvent

from .layout import (
    CJK_FONT_FAMILIES,
    DEFAULT_DPI,
    DEFAULT_SIZE_MM,
    MAX_DPI,
    MIN_DPI,
    Label,
    LabelLayout,
    check_size_mm,
    cjk_font_file,
    layout_label,
    pil_font,
)

__all__ = ["PDF_FONT_NAME", "render_png", "render_sheet", "render_svg"]

PDF_FONT_NAME = "WenQuanYiZenHei"
_PAGE_MARGIN = 10.0  # mm
_CROP_MARK = 3.0  # mm, outside the grid

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
        font = pil_font(font_file, max(1, round(line.size * px)))
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


# --- the PDF sheet ---------------------------------------------------------------------------------


@cache
def _pdf_font() -> str:
    """Register the CJK font with reportlab once (TrueType outlines: face 0 of the .ttc)."""
    pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(cjk_font_file()), subfontIndex=0))
    return PDF_FONT_NAME


def _draw_label(c: Canvas, lay: LabelLayout, *, left: float, top: float, font: str) -> None:
    """Draw `lay` with its top-left corner at (`left`, `top`) mm from the page's top-left."""
    page_h = A4[1]

    def x(v: float) -> float:
        return (left + v) * mm

    def y(v: float) -> float:
        return page_h - (top + v) * mm

    # One path for every dark module: filled as one shape, so no hairline seams between modules.
    path = c.beginPath()
    m = lay.module
    for row_i, row in enumerate(lay.matrix):
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                path.rect(
                    x(lay.qr_x + start * m), y(lay.qr_y + (row_i + 1) * m), (col - start) * m * mm, m * mm
                )
            else:
                col += 1
    c.setFillGray(0)
    c.drawPath(path, stroke=0, fill=1)
    for line in lay.lines:
        c.setFont(font, line.size / 25.4 * 72)  # mm → pt
        c.drawCentredString(x(line.x), y(line.y), line.text)


def _cut_guides(c: Canvas, *, left: float, top: float, cols: int, rows: int, w: float, h: float) -> None:
    page_h = A4[1] / mm
    right, bottom = left + cols * w, top + rows * h
    c.setLineWidth(0.25)
    c.setStrokeGray(0.6)
    c.setDash(2, 2)
    for i in range(cols + 1):
        c.line((left + i * w) * mm, (page_h - top) * mm, (left + i * w) * mm, (page_h - bottom) * mm)
    for j in range(rows + 1):
        c.line(left * mm, (page_h - top - j * h) * mm, right * mm, (page_h - top - j * h) * mm)
    c.setDash()
    c.setStrokeGray(0)
    for i in range(cols + 1):  # crop marks: still there once the dashed lines are cut away
        gx = (left + i * w) * mm
        c.line(gx, (page_h - top + 1) * mm, gx, (page_h - top + 1 + _CROP_MARK) * mm)
        c.line(gx, (page_h - bottom - 1) * mm, gx, (page_h - bottom - 1 - _CROP_MARK) * mm)
    for j in range(rows + 1):
        gy = (page_h - top - j * h) * mm
        c.line((left - 1 - _CROP_MARK) * mm, gy, (left - 1) * mm, gy)
        c.line((right + 1) * mm, gy, (right + 1 + _CROP_MARK) * mm, gy)


def render_sheet(labels: Sequence[Label], *, size_mm: float = DEFAULT_SIZE_MM, title: str = "") -> bytes:
    """Labels on A4 pages: a grid of cells `size_mm` wide and as tall as the tallest label, with cut
    guides, as many pages as needed, the CJK font embedded. The same bytes for the same input.

    Raises InvalidEvent(field="size_mm") out of bounds or for no labels, FontMissing without the font.
    """
    check_size_mm(size_mm)
    if not labels:
        raise InvalidEvent("labels", "a sheet needs at least one label")
    font = _pdf_font()
    layouts = [layout_label(label, size_mm=size_mm) for label in labels]
    page_w, page_h = A4[0] / mm, A4[1] / mm
    w = size_mm
    h = max(lay.height for lay in layouts)
    room = _PAGE_MARGIN + _CROP_MARK + 1
    cols = max(1, int((page_w - 2 * room) // w))
    rows = max(1, int((page_h - 2 * room) // h))
    per_page = cols * rows
    pages = -(-len(layouts) // per_page)
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, invariant=1, pageCompression=1, initialFontName=font, initialFontSize=7)
    c.setTitle(title or "farmtrace labels")
    c.setAuthor("farmtrace")
    c.setCreator("farmtrace")
    left = (page_w - cols * w) / 2
    top = room
    for page in range(pages):
        chunk = layouts[page * per_page : (page + 1) * per_page]
        used_rows = -(-len(chunk) // cols)
        _cut_guides(c, left=left, top=top, cols=min(cols, len(chunk)), rows=used_rows, w=w, h=h)
        for i, lay in enumerate(chunk):
            _draw_label(c, lay, left=left + (i % cols) * w, top=top + (i // cols) * h, font=font)
        c.setFont(font, 7)
        c.setFillGray(0.4)
        footer = f"{title}  {len(layouts)} labels, {w:g} mm  page {page + 1}/{pages}".strip()
        c.drawCentredString(page_w / 2 * mm, 5 * mm, footer)
        c.showPage()
    c.save()
    return out.getvalue()
