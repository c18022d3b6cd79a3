"""Lot labels: the QR code a consumer scans, with the words printed under it.

    uri.py      label_uri / parse_label_uri: where a label points (GS1 Digital Link or /l/{lot})
    qr.py       qr_code / qr_matrix: the QR code of a URI
    layout.py   Label, layout_label (one layout in millimetres), label_for / sheet_labels (from the ledger)
    render.py   render_png, render_svg, render_sheet (the A4 PDF)
    routes.py   GET /lots/{code}/label.png, label.svg, labels.pdf

Errors: bad input raises `farmtrace.trace.errors.InvalidEvent` naming the field ("lot", "gtin",
"base", "uri", "size_mm", "dpi", "copies"); a missing font raises `FontMissing`.
"""

from __future__ import annotations

from .routes import router

__all__ = ["router"]
