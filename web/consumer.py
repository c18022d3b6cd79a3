"""The consumer's page: what a QR label opens, in Simplified Chinese (default) or English.

    GET /l/{lot}                   the lot's page (the short form, for lots without a GTIN)
    GET /01/{gtin}/10/{lot}        the same page by GS1 Digital Link, through the GS1-conformant
                                   resolver (web/resolver.py: linkType, linksets, 400 for a bad GTIN)
    GET /l?code=LOT                the lookup form's target: 303 to /l/LOT
    GET /static/{name}             verify.js and page.css; a year's cache when ?v= is the content hash

Every page takes ?lang=zh|en (the visible switch links to it), which overrides Accept-Language.
An unknown or malformed code gets a helpful HTML 404 from these routes themselves, so the app's JSON
problem handlers never answer a person. A lot whose ledger data cannot be read is shown as not
verified. The page is rendered from `TraceService.journey_bundle(lot)` (typed; web/timeline.py);
the browser then fetches the same journey's JSON (`Journey.to_wire()`) from GET /lots/{lot}/journey
and checks it (static/verify.js) against the log key embedded here, which comes from the server's
configuration, never from the database. What the server renders is only its first paint, marked
未验证 / Not yet verified: after the check the browser replaces it with the facts it proved from the
signed entries (static/facts.js, drawn by facts-view.js; docs/journey-facts.md).

Pages are small and self-contained for weak networks: one HTML document with the CSS inlined (a QR
scan is nearly always a first visit, so a separate stylesheet would cost a round trip), one deferred
script, no fonts or images from anywhere; gzip when the client accepts it; a strict
Content-Security-Policy (scripts only from this origin, the inline style pinned by its hash).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from farmtrace.ledger.policy import Policy, format_policy
from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.model.ids import check_lot_code, gtin14
from farmtrace.trace.reads.journeys import Journey
from farmtrace.trace.service import TraceService

from .assets import ASSETS, content_security_policy
from .console.alerts import alerts_of
from .deps import ServiceDep
from .i18n import Translator
from .i18n.livestock import LIVESTOCK_FACT_WORDS
from .render import STARTED, Surface, names, render, translator, unit_name
from .state import app_state
from .timeline import journey_view
from .watch import page_config

__all__ = ["SURFACE", "lot_page", "not_found_page", "router"]

router = APIRouter(include_in_schema=False)

_log = logging.getLogger(__name__)
_YEAR = "public, max-age=31536000, immutable"

SURFACE = Surface(
    csp=content_security_policy(linked_styles=False),
    cache_control="no-cache",  # a recall must show at once
    vary="Accept-Language, Accept-Encoding",
    keep_query=False,
    compress=True,
)


# --- routes -----------------------------------------------------------------------------------------


@router.get("/l")
def lookup(request: Request, code: str = "", lang: str | None = None) -> Response:
    """The not-found page's form posts here: go to the code's page (or show the form again)."""
    t = translator(request, lang)
    code = code.strip()
    if not code:
        return not_found_page(request, t, t("notfound.malformed"), code="")
    return RedirectResponse(f"/l/{quote(code, safe='')}?lang={t.lang}", status_code=303)


@router.get("/l/{lot:path}")
def short_link_page(lot: str, request: Request, service: ServiceDep, lang: str | None = None) -> Response:
    return lot_page(request, service, translator(request, lang), lot, gtin=None)


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        return Response("not found\n", status_code=404, media_type="text/plain; charset=utf-8")
    etag = f'"{asset.digest}"'
    headers = {
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        # Cached for a year only under the URL the page links (?v=hash), which changes with the file.
        "Cache-Control": _YEAR if request.query_params.get("v") == asset.digest else "no-cache",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


# --- page assembly ---------------------------------------------------------------------------------


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def not_found_page(request: Request, t: Translator, message: str, *, code: str) -> Response:
    """The friendly HTML 404 (also web/resolver.py's, for a Digital Link it cannot resolve)."""
    return render(request, t, "notfound.html", surface=SURFACE, status=404, message=message, code=code)


def lot_page(
    request: Request,
    service: TraceService,
    t: Translator,
    lot: str,
    *,
    gtin: str | None,
    label: Callable[[Journey], dict[str, Any]] | None = None,
) -> Response:
    """The lot's page (`gtin`: the Digital Link's, which must be the lot's product's, else 404).

    `label`: for a pre-printed label's page (web/label_scans.py), what to show of the label's scans,
    given the lot's journey; the page then sends the scan beacon (static/label-scan.js).
    """
    request.scope[STARTED] = time.perf_counter()
    scans = None
    try:
        check_lot_code(lot)
        wanted_gtin = gtin14(gtin) if gtin is not None else None
    except InvalidEvent:
        return not_found_page(request, t, t("notfound.malformed"), code=lot if len(lot) <= 20 else "")
    try:
        journey = service.journey_bundle(lot)
    except NotFound:
        return not_found_page(request, t, t("notfound.unknown", code=lot), code=lot)
    except Exception:
        # The ledger's data for this lot cannot be read (an entry edited into garbage, a row deleted:
        # whatever the journey raises). A consumer is told the product cannot be verified, never
        # shown an error; the browser's check of the journey endpoint reports the server's answer.
        _log.exception("the journey of lot %r cannot be read", lot)
        view = _damaged_view(service, lot, t)
    else:
        product_gtin = journey.product.get("gtin")
        if wanted_gtin is not None and (product_gtin is None or gtin14(product_gtin) != wanted_gtin):
            return not_found_page(request, t, t("notfound.gtin", gtin=gtin, code=lot), code=lot)
        if any(item.event is None for item in journey.events):
            # An entry no longer decodes (or is gone): the journey carries it as stored, and the
            # browser's check names it; the page shows the product as unverifiable.
            view = _damaged_view(service, lot, t)
        else:
            view = journey_view(journey, t, lookup_party=_party_lookup(service))
            scans = label(journey) if label is not None else None
    journey_url = f"/lots/{quote(lot, safe='')}/journey"
    log_key = service.log.verifier.key_string()
    policy = app_state(request).settings.witness_policy()
    config = {
        "lot": lot,
        "journey": journey_url,
        "logKey": log_key,
        "lang": t.lang,
        "messages": _messages(t, policy, livestock=view["livestock"]),
        # The witness policy the checkpoint is held to (ledger/policy.py, static/witnessed.js), from
        # the server's configuration like the log key: never from the database.
        "witnessPolicy": format_policy(policy),
        "witnessMaxAge": policy.max_age,
        # The index entry's age policy (docs/index.md §4 step 1b, static/completeness.js), likewise.
        "indexMaxAge": app_state(request).settings.index_age_limit(),
        # The cold-chain thresholds, every version (configuration, not signed): the page judges the
        # lineage's signed readings by the one in force at each event's time (docs/alerts.md).
        "coldChain": [v.to_wire() for v in alerts_of(app_state(request)).history()],
    }
    watch = None if view["damaged"] else page_config(app_state(request), t)
    if watch is not None:  # "watch this product": Web Push is configured (web/watch.py)
        config["watch"] = watch
    if scans is not None:  # the beacon's target and label (web/label_scans.py)
        config["label"] = {"gtin": scans["gtin"], "serial": scans["serial"], "scan": "/labels/scan"}
    return render(
        request,
        t,
        "lot.html",
        surface=SURFACE,
        v=view,
        config=config,
        log_key=log_key,
        journey_url=journey_url,
        label=scans,
    )


# The messages only a page held to witnesses can show (a page without any says so, in one line).
_WITNESS_MESSAGES = (
    "verify.reason.checkpoint.cosignature",
    "verify.reason.checkpoint.unwitnessed",
    "verify.reason.checkpoint.quorum",
    "verify.reason.checkpoint.stale",
    "verify.unwitnessed",
    "verify.stale",
    "verify.unwitnessed_detail",
    "verify.stale_detail",
    "verify.witnessed_at",
)


def _messages(t: Translator, policy: Policy, *, livestock: bool) -> dict[str, str]:
    """The page script's messages; the witness ones only when the policy asks for witnesses, and
    livestock's words (kept out of words-*.js, web/assets.py) only for a journey with livestock, as
    every byte counts on a weak network."""
    messages = dict(t.catalogue("verify."))
    if livestock:
        messages |= {key: t(key) for key in LIVESTOCK_FACT_WORDS}
    if not policy.required:
        for key in _WITNESS_MESSAGES:
            messages.pop(key, None)
    return messages


def _party_lookup(service: TraceService) -> Callable[[str], Mapping[str, Any] | None]:
    """The public record of a party the journey names but whose registration it does not carry (a
    buyer that has not yet signed anything on the lot), or None for a party the ledger lacks."""

    def lookup(pid: str) -> Mapping[str, Any] | None:
        try:
            return asdict(service.party(pid))
        except NotFound:
            return None

    return lookup


def _damaged_view(service: TraceService, lot: str, t: Translator) -> dict[str, Any]:
    try:
        state = service.lot_summary(lot)
        product, quantity = state.product, f"{state.quantity} {unit_name(state.unit, t)}"
    except Exception:  # the tables may be as damaged as the ledger: show the code alone
        product, quantity = {"name_zh": lot}, ""
    product_names = names(product, t)
    return {
        "lot": lot,
        "product_name": product_names[0],
        "product_other": product_names[1],
        "gtin": product.get("gtin"),
        "quantity": quantity,
        "variety": product.get("variety"),
        "recalls": [],
        "warnings": [],
        "origins": [],
        "prices": [],
        "steps": [],
        "damaged": True,
        "livestock": False,
    }
