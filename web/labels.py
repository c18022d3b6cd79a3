"""Lot labels: what each label says (from the ledger), a printable A4 sheet, and the label routes.

    GET /lots/{code}/label.png   ?size_mm=40 (30-120) &dpi=300 (150-600)   one label, PNG
    GET /lots/{code}/label.svg   ?size_mm=40 (30-120)                      one label, SVG
    GET /lots/{code}/labels.pdf  ?size_mm=40 (30-120) &copies=1 (1-500)    an A4 sheet (or several)

The sheet holds a label for each of the lot's children if it has any (the 10 bags a supermarket
repacked a crate into; the 50 crates a market split a harvest into), else the lot's own label;
`copies` of each, at most MAX_SHEET_LABELS in all. The routes are public and read-only: a label
shows nothing the consumer page does not. An unknown lot is NotFound (404); a parameter out of
bounds is InvalidEvent (400), as everywhere in farmtrace.

The sheet is A4 with 10 mm margins, labels on a grid with dashed cut lines between them and crop
marks outside, and WenQuanYi Zen Hei embedded (subset) so the Chinese prints on any printer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.ids import check_lot_code
from farmtrace.trace.service import TraceService

from .qr import (
    DEFAULT_DPI,
    DEFAULT_SIZE_MM,
    Label,
    LabelLayout,
    check_size_mm,
    cjk_font_file,
    label_uri,
    layout_label,
    render_png,
    render_svg,
)

__all__ = [
    "MAX_COPIES",
    "MAX_SHEET_LABELS",
    "PDF_FONT_NAME",
    "label_for",
    "render_sheet",
    "router",
    "sheet_labels",
]

MAX_COPIES = 500
MAX_SHEET_LABELS = 1000
PDF_FONT_NAME = "WenQuanYiZenHei"
_PAGE_MARGIN = 10.0  # mm
_CROP_MARK = 3.0  # mm, outside the grid


# --- what a label says -----------------------------------------------------------------------------


def label_for(service: TraceService, code: str, *, base: str) -> Label:
    """The label of lot `code`: its URI on `base`, product name (Chinese), and who made it.

    A lot made from other lots names its maker as the packer and the maker(s) of its origin lots
    (the harvests it came from) as the producer: "A 等3家" when several farms went into it.
    Raises NotFound for an unknown lot, InvalidEvent for a bad code or base.
    """
    lot = service.lot(code)
    product = lot["product"]
    uri = label_uri(code, base=base, gtin=product.get("gtin"))
    back = service.trace(code, direction="back")
    nodes = {n["lot"]: n for n in back["nodes"]}
    maker = nodes[code]["created_by_name"] or nodes[code]["created_by"]
    farms: list[str] = []
    for origin in back["origins"]:
        node = nodes[origin]
        name = node["created_by_name"] or node["created_by"]
        if origin != code and name not in farms:
            farms.append(name)
    if not farms or farms == [maker]:
        return Label(uri=uri, product=product["name_zh"], lot=code, producer=maker)
    producer = farms[0] if len(farms) == 1 else f"{farms[0]} 等{len(farms)}家"
    return Label(uri=uri, product=product["name_zh"], lot=code, producer=producer, packer=maker)


def sheet_labels(service: TraceService, code: str, *, base: str, copies: int = 1) -> list[Label]:
    """The labels a sheet for lot `code` holds: `copies` of each child's label, or of its own.

    Raises InvalidEvent(field="copies") out of 1..MAX_COPIES or past MAX_SHEET_LABELS labels,
    NotFound for an unknown lot.
    """
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        raise InvalidEvent("copies", f"expected 1 to {MAX_COPIES} copies, found {copies!r}")
    children = service.lot(code)["children"] or [code]
    if len(children) * copies > MAX_SHEET_LABELS:
        raise InvalidEvent(
            "copies",
            f"a sheet holds at most {MAX_SHEET_LABELS} labels; {len(children)} label(s) × {copies} "
            f"copies is {len(children) * copies}",
        )
    return [label for child in children for label in [label_for(service, child, base=base)] * copies]


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


# --- routes ----------------------------------------------------------------------------------------

router = APIRouter(tags=["labels"])

SizeMm = Annotated[float, Query(description="label width in mm (30 to 120)")]
_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


def _service(request: Request) -> TraceService:
    return request.app.state.service


def _base(request: Request) -> str:
    return request.app.state.settings.public_url


def _checked(code: str) -> str:
    # `{code:path}` lets a lot code hold "/" (sent as %2F); anything else it lets through stops here.
    check_lot_code(code, field="code")
    return code


@router.get(
    "/lots/{code:path}/label.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the lot's label"}},
)
def get_label_png(
    code: str,
    request: Request,
    size_mm: SizeMm = DEFAULT_SIZE_MM,
    dpi: Annotated[int, Query(description="dots per inch (150 to 600)")] = DEFAULT_DPI,
) -> Response:
    label = label_for(_service(request), _checked(code), base=_base(request))
    return Response(render_png(label, size_mm=size_mm, dpi=dpi), media_type="image/png", headers=_HEADERS)


@router.get(
    "/lots/{code:path}/label.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "the lot's label"}},
)
def get_label_svg(code: str, request: Request, size_mm: SizeMm = DEFAULT_SIZE_MM) -> Response:
    label = label_for(_service(request), _checked(code), base=_base(request))
    # Opened on its own, an SVG is a document: allow it no scripts or fetches whatever it says.
    headers = {**_HEADERS, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return Response(render_svg(label, size_mm=size_mm), media_type="image/svg+xml", headers=headers)


@router.get(
    "/lots/{code:path}/labels.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "an A4 sheet of labels"}},
)
def get_label_sheet(
    code: str,
    request: Request,
    size_mm: SizeMm = DEFAULT_SIZE_MM,
    copies: Annotated[int, Query(description=f"copies of each label (1 to {MAX_COPIES})")] = 1,
) -> Response:
    check_size_mm(size_mm)  # before the ledger is read for up to a thousand labels
    labels = sheet_labels(_service(request), _checked(code), base=_base(request), copies=copies)
    pdf = render_sheet(labels, size_mm=size_mm, title=f"farmtrace {code}")
    filename = "labels-" + code.replace("/", "_") + ".pdf"
    headers = {**_HEADERS, "Content-Disposition": f'inline; filename="{filename}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
