"""The portal's form to activate a roll of pre-printed labels: a `label_activate` event, signed in
the browser with the party's key like every portal event.

    GET /portal/label_activate[?lot=LOT]   the form: one of the party's lots, the GTIN the labels are
                                           printed under (the lot's own when it has one), and the
                                           serials, one per line or as ranges "R7-0001..0500"
                                           (static/portal-labels.js expands them as
                                           trace/label_rolls.py's `expand_range` does)

Offered to the roles the rules allow (`rules.ROLES_FOR["label_activate"]`); the lots listed are
those the party holds now (the rules also let a lot's maker bind labels after it has sold all of it:
the event can then be sent by the client). docs/labels-anti-copy.md.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from farmtrace.trace.label_rolls import MAX_LABELS
from farmtrace.trace.rules import ROLES_FOR

from ..auth import current_party
from ..render import translator, url
from ..state import app_state
from .routes import _party_view, _render

__all__ = ["router"]

router = APIRouter(prefix="/portal", include_in_schema=False)

KIND = "label_activate"


@router.get("/label_activate")
def label_activate_form(request: Request, lang: str | None = None, lot: str | None = None) -> Response:
    t = translator(request, lang)
    state = current_party(request)
    if state is None:  # sign in first, then back here
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(url("/portal", t, next=target), status_code=303)
    service = app_state(request).service
    party = _party_view(service, state)
    roles = ROLES_FOR[KIND] or frozenset()
    if not state.roles & roles:
        needed = [t(f"portal.role.{r}") for r in sorted(roles)]
        return _render(request, t, "portal/denied.html", page=KIND, party=party, status=403, needed=needed)
    return _render(
        request,
        t,
        "portal/label_activate.html",
        page=KIND,
        kind=KIND,
        party=party,
        holdings=service.holdings(state.id),
        selected=lot,
        max_labels=MAX_LABELS,
        config={"kind": KIND, "location": {"name": party["name_zh"], "address": party["address"]}},
    )
