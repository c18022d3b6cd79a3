"""The parties' portal: farms, inspection stations, markets and shops record their events here.

    routes.py    the pages (GET /portal, /portal/enroll, /portal/key, /portal/lots, /portal/{kind},
                 /portal/labels/{lot}, /portal/certificate/{event}); see its docstring
    records.py   what the pages show, read from the ledger: grouped holdings, entry-check
                 evidence, certificates, a QR code as inline SVG
    livestock.py what the forms need for live animals: the animals of the lots held, a slaughter's
                 meat categories and the bands it is shown against (issue 20 §5)
    sheets.py    the record-book import (GET /portal/import, its templates, POST /portal/import/drafts:
                 a spreadsheet's rows as unsigned events the browser signs; docs/spreadsheet-import.md)
"""

from __future__ import annotations

from .routes import FORMS, NAV, router

__all__ = ["FORMS", "NAV", "router"]
