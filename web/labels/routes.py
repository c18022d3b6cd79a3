"""The label routes: public and read-only (a label shows nothing the consumer page does not).

    GET /lots/{code}/label.png   ?size_mm=40 (30-120) &dpi=300 (150-600)   one label, PNG
    GET /lots/{code}/label.svg   ?size_mm=40 (30-120)                      one label, SVG
    GET /lots/{code}/labels.pdf  ?size_mm=40 (30-120) &copies=1 (1-500)    an A4 sheet (or several)

The sheet holds a label for each of the lot's children if it has any (the 10 bags a supermarket
repacked a crate into; the 50 crates a market split a harvest into), else the lot's own label;
`copies` of each, at most MAX_SHEET_LABELS in all. An unknown lot is NotFound (404); a parameter
out of bounds is InvalidEvent (400), as everywhere in farmtrace.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from farmtrace.trace.model.ids import check_lot_code
from farmtrace.trace.service import TraceService

from ..state import app_state
from .layout import DEFAULT_DPI, DEFAULT_SIZE_MM, MAX_COPIES, check_size_mm, label_for, sheet_labels
from .render import render_png, render_sheet, render_svg

__all__ = ["router"]

# --- routes ----------------------------------------------------------------------------------------

router = APIRouter(tags=["labels"])

SizeMm = Annotated[float, Query(description="label width in mm (30 to 120)")]
_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


def _service(request: Request) -> TraceService:
    return app_state(request).service


def _base(request: Request) -> str:
    return app_state(request).settings.public_url


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
