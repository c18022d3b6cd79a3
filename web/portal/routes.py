"""The parties' portal: farms, inspection stations, markets and shops record their events here.

    GET /portal                        sign in with the key held in this browser, or enroll
    GET /portal/enroll                 apply as a new party: the key is generated in the browser
    GET /portal/key                    lost device: a new key, filed for a regulator's approval
    GET /portal/lots                   "My lots": what I hold, what I sent, what is on its way to me
    GET /portal/{kind}                 the form of one event kind (FORMS), if the party's roles allow it
    GET /portal/labels/{lot}           print a lot's labels: PNG or SVG for one, the PDF sheet for many
    GET /portal/certificate/{event}    a 承诺达标合格证 as printed, with the lot's QR code

Keys stay with their owner. The private key is generated (or imported once from a key file) in the
browser as a non-extractable WebCrypto key kept in IndexedDB (static/signing.js); every event is
signed there and POSTed to /events with a short-lived token in the Authorization header. The server
renders the forms with what it knows (holdings, incoming shipments, registered parties) and never
sees a private key. Pages are read with the `ft_token` cookie the browser signs at sign-in
(web/auth.py); without a valid one a form redirects to /portal?next=...

A refusal comes back as problem+json; static/portal.js puts the message for its `rule` (portal.rule.*
in both languages, with the server's own detail under it) next to the input its `field` names
(every input carries `data-field` with the dotted paths of the event it fills), and the form keeps
everything that was typed.

Live animals (issue 20 §5, static/portal-livestock.js): a harvest in head (头) lists the ear tags, one
per head, and the lot's live weight; the lots a form offers carry the ear tags of their animals now
and their recorded live weight (web/portal/livestock.py), so a split names each new lot's animals and
a slaughter (屠宰, offered to a processor) starts from the weight and shows the species' yield band.

Every page takes ?lang=zh|en (the visible switch keeps the other parameters). Pages are small and
self-contained: one stylesheet and two scripts from this origin, cached for a year under their
content hash; no fonts or images from elsewhere; a strict Content-Security-Policy.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from farmtrace.trace.clock import cst_day
from farmtrace.trace.errors import InvalidEvent, NotFound, TraceError
from farmtrace.trace.model.details import COMMITMENTS, QUARANTINE_FORMS, TRANSPORT_MODES
from farmtrace.trace.model.ids import check_event_id, check_lot_code
from farmtrace.trace.model.units import COUNT_UNITS, MASS_UNITS
from farmtrace.trace.model.values import ROLES
from farmtrace.trace.reads.recall_notices import notices_for
from farmtrace.trace.rules import RECEIVING_ROLES, ROLES_FOR, PartyState
from farmtrace.trace.service import TraceService

from ..assets import asset_url, content_security_policy
from ..auth import current_party
from ..i18n import Translator
from ..labels.uri import label_uri
from ..render import Surface, render, translator, url
from ..state import app_state
from .livestock import SLAUGHTER_CONFIG, holding_animals, meat_categories
from .records import certificate_view, group_holdings, qr_svg, shipments_view

__all__ = ["FORMS", "NAV", "NAV_ROLES", "router"]

router = APIRouter(prefix="/portal", include_in_schema=False)


# The forms, and the roles that may use each (the rules' own table, so a form is offered exactly
# when the ledger would accept its event from this party).
FORMS: dict[str, frozenset[str]] = {
    kind: ROLES_FOR[kind] or frozenset()
    for kind in ("harvest", "inspect", "quarantine", "certify", "receive", "transform", "ship", "sell")
}
NAV = (
    "lots", "notices", "harvest", "inspect", "quarantine", "certify", "receive", "transform", "ship", "sell",
    "label_activate", "import",
)  # fmt: skip
# Who sees each menu entry: a form's roles; label_activate's page is its own (label_activation.py);
# "My lots", the recall notices and the record-book import are every party's (sheets.py, notices.py).
NAV_ROLES: dict[str, frozenset[str] | None] = {
    **FORMS,
    "label_activate": ROLES_FOR["label_activate"] or frozenset(),
    "lots": None,
    "notices": None,
    "import": None,
}
# "head" (头) is live animals', each with its ear tag (issue 20 §5): a harvest in head asks for them.
UNITS = ("kg", "jin", "g", "t", "box", "bag", "piece", "head")
ENROLL_ROLES = tuple(r for r in ROLES if r != "regulator")  # a regulator is registered by the desk


# base.html inlines the consumer page's CSS (the shared bar and cards); the portal's own rules are a
# linked stylesheet, cached across the many pages a party opens in a day.
_ASSET_URLS = {name: asset_url(name) for name in ("portal.css", "portal.js", "signing.js")}
SURFACE = Surface(
    csp=content_security_policy(linked_styles=True, manifest=True),
    cache_control="no-store",  # a party's own holdings: never from a shared cache
    vary="Accept-Language, Cookie",
)


# --- page assembly ---------------------------------------------------------------------------------


def _service(request: Request) -> TraceService:
    return app_state(request).service


# The messages static/portal.js says (the rest are rendered on the server): kept small for weak networks.
_SCRIPT_MESSAGES = (
    "portal.rule.",
    "portal.check.",
    "portal.problem.",
    "portal.ok.",
    "portal.home.",
    "portal.transform.",
    "portal.enroll.waiting",
    "portal.key.waiting",
    "portal.sending",
    "portal.lot_info",
    "portal.nav.",
    "portal.lots.chain",
    "portal.offline.",  # the outbox and pages saved offline (static/portal-outbox.js)
    "portal.page.outbox",
    "unit.",
)


def _script_json(value: Any) -> Markup:
    """JSON for a <script type="application/json"> element: UTF-8 as is, nothing that could end it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return Markup(text)


def _render(
    request: Request,
    t: Translator,
    template: str,
    *,
    page: str,
    party: dict[str, Any] | None = None,
    status: int = 200,
    config: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    cfg = {
        "page": page,
        "lang": t.lang,
        "party": party["id"] if party else None,
        "messages": t.catalogue(*_SCRIPT_MESSAGES),
        **(config or {}),
    }
    return render(
        request,
        t,
        template,
        surface=SURFACE,
        status=status,
        assets=_ASSET_URLS,
        u=lambda path, **params: url(path, t, **params),
        page=page,
        party=party,
        nav=_nav(party, t) if party else [],
        config=cfg,
        config_json=_script_json(cfg),
        **context,
    )


def _nav(party: dict[str, Any], t: Translator) -> list[dict[str, str]]:
    roles = set(party["roles"])
    return [
        {"page": name, "href": url(f"/portal/{name}", t), "text": t(f"portal.nav.{name}")}
        for name in NAV
        if (needed := NAV_ROLES[name]) is None or roles & needed
    ]


def _party_view(service: TraceService, state: PartyState) -> dict[str, Any]:
    record = service.party(state.id)
    return {**asdict(record), "roles": sorted(state.roles)}


def _signed_in(request: Request, t: Translator) -> tuple[PartyState, dict[str, Any]] | Response:
    """The signed-in party and its public record, or a redirect to the sign-in page."""
    state = current_party(request)
    if state is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(url("/portal", t, next=target), status_code=303)
    return state, _party_view(_service(request), state)


def _suggest(request: Request, prefix: str) -> str:
    """A fresh lot or certificate code: PREFIX-YYMMDD-XXXX, today's date in China and a random tail
    (so two phones never collide)."""
    day = cst_day(app_state(request).clock()).strftime("%y%m%d")
    return f"{prefix}-{day}-{secrets.token_hex(2).upper()}"


# --- sign-in, enrollment, lost keys ---------------------------------------------------------------


@router.get("")
def home(request: Request, lang: str | None = None, next: str | None = None) -> Response:
    t = translator(request, lang)
    state = current_party(request)
    party = _party_view(_service(request), state) if state else None
    # Only a path inside the portal may be the next page (no open redirect).
    target = next if next and next.startswith("/portal/") and "//" not in next else None
    service = _service(request)
    # Recalls reaching the party's goods that it has not acknowledged (web/portal/notices.py).
    unacked = (
        sum(not n.acknowledged for n in notices_for(service.engine, service.log, state.id)) if state else 0
    )
    return _render(
        request,
        t,
        "portal/home.html",
        page="home",
        party=party,
        unacked=unacked,
        config={"next": target or url("/portal/lots", t), "signedIn": party is not None},
    )


@router.get("/enroll")
def enroll(request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    return _render(request, t, "portal/enroll.html", page="enroll", roles=ENROLL_ROLES)


@router.get("/key")
def new_key(request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    return _render(request, t, "portal/key.html", page="key")


# --- my lots --------------------------------------------------------------------------------------


@router.get("/lots")
def my_lots(request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    who = _signed_in(request, t)
    if isinstance(who, Response):
        return who
    state, party = who
    service = _service(request)
    holdings = service.holdings(state.id)
    sent = service.shipments_from(state.id)
    incoming = service.incoming(state.id)
    return _render(
        request,
        t,
        "portal/lots.html",
        page="lots",
        party=party,
        groups=group_holdings(service, holdings),
        sent=sent[:50],
        incoming=incoming,
        can=_can(state),
    )


def _can(state: PartyState) -> dict[str, bool]:
    return {kind: bool(state.roles & roles) for kind, roles in FORMS.items()}


# --- the forms --------------------------------------------------------------------------------------


@router.get("/labels/{lot:path}")
def labels(lot: str, request: Request, lang: str | None = None) -> Response:
    t = translator(request, lang)
    who = _signed_in(request, t)
    if isinstance(who, Response):
        return who
    _, party = who
    service = _service(request)
    try:
        check_lot_code(lot)
        state = service.lot_summary(lot)
    except (InvalidEvent, NotFound):
        return _render(request, t, "portal/missing.html", page="labels", party=party, status=404, what=lot)
    code = quote(lot, safe="")
    children = state.children
    return _render(
        request,
        t,
        "portal/labels.html",
        page="labels",
        party=party,
        lot=state,
        children=children,
        uri=label_uri(lot, base=app_state(request).settings.public_url, gtin=state.product.get("gtin")),
        png=f"/lots/{code}/label.png",
        svg=f"/lots/{code}/label.svg",
        pdf=f"/lots/{code}/labels.pdf",
    )


@router.get("/certificate/{event_id}")
def certificate(event_id: str, request: Request, lang: str | None = None) -> Response:
    """The printable certificate. Public like the ledger it comes from: it travels with the goods."""
    t = translator(request, lang)
    service = _service(request)
    state = current_party(request)
    party = _party_view(service, state) if state else None
    try:
        check_event_id(event_id)
        view = certificate_view(service, event_id)
    except (InvalidEvent, NotFound, TraceError):
        return _render(
            request, t, "portal/missing.html", page="certificate", party=party, status=404, what=event_id
        )
    uri = label_uri(view["lot"], base=app_state(request).settings.public_url, gtin=view.get("gtin"))
    return _render(
        request,
        t,
        "portal/certificate.html",
        page="certificate",
        party=party,
        c=view,
        uri=uri,
        qr=Markup(qr_svg(uri)),  # our own SVG: only path data and numbers
        commitments=COMMITMENTS,
    )


@router.get("/{kind}")
def form(kind: str, request: Request, lang: str | None = None, lot: str | None = None) -> Response:
    t = translator(request, lang)
    if kind not in FORMS:
        return _render(request, t, "portal/missing.html", page=kind, status=404, what=kind)
    who = _signed_in(request, t)
    if isinstance(who, Response):
        return who
    state, party = who
    if not state.roles & FORMS[kind]:
        needed = [t(f"portal.role.{r}") for r in sorted(FORMS[kind])]
        return _render(
            request,
            t,
            "portal/denied.html",
            page=kind,
            party=party,
            status=403,
            needed=needed,
        )
    service = _service(request)
    context: dict[str, Any] = {
        "kind": kind,
        "units": UNITS,
        "mass_units": tuple(u for u in UNITS if u in MASS_UNITS),
        "count_units": tuple(u for u in UNITS if u in COUNT_UNITS),
        "selected": lot,
    }
    config: dict[str, Any] = {
        "kind": kind,
        "location": {"name": party["name_zh"], "address": party["address"]},
    }
    if kind in ("certify", "ship", "sell", "transform"):
        context["holdings"] = service.holdings(state.id)
        context["animals"] = holding_animals(service, context["holdings"])  # livestock.py
    if kind == "transform":
        context["meat_categories"] = meat_categories(t)
        config.update(SLAUGHTER_CONFIG)
    if kind == "harvest":
        context["suggested_lot"] = _suggest(request, "H")
    if kind == "certify":
        context["suggested_no"] = _suggest(request, "HGZ")
        context["commitments"] = COMMITMENTS
    if kind == "inspect":
        context["suggested_no"] = _suggest(request, "KJ")
    if kind == "quarantine":  # the four forms of the 动物检疫合格证明, and how the goods travel
        context["forms"] = [(f, t(f"detail.quarantine.form.{f}")) for f in QUARANTINE_FORMS]
        context["transports"] = [("", "—"), *((m, t(f"portal.transport.{m}")) for m in TRANSPORT_MODES)]
    if kind == "ship":
        context["destinations"] = [
            p
            for p in service.parties()
            if p.id != state.id and p.status == "active" and set(p.roles) & RECEIVING_ROLES
        ]
    if kind == "receive":
        context["shipments"] = shipments_view(service, service.incoming(state.id))
    return _render(
        request,
        t,
        f"portal/{kind}.html",
        page=kind,
        party=party,
        config=config,
        **context,
    )
