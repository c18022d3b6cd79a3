"""The GS1-conformant resolver: the consumer's GS1 Digital Link URI answers people and machines.

GS1-Conformant Resolver Standard 1.2 ("the standard"; section numbers below are its own; the
conformance statement is its section 5) over GS1 Digital Link URI Syntax, for primary key AI (01)
GTIN with key qualifier AI (10) batch/lot, the only Digital Links farmtrace prints (web/labels/uri.py):

    GET /01/{gtin}/10/{lot}                       the consumer page, served in place (web/consumer.py)
    GET /01/{gtin}/10/{lot}?linkType=linkset      the lot's links as an RFC 9264 linkset (JSON);
        (or Accept: application/linkset+json;     `all`, deprecated by the standard, is the same;
         linkType=all)                            never a redirect (§2.2, §2.9)
    GET /01/{gtin}/10/{lot}?linkType=gs1:epcis    307 to that link, the request's query passed on
                                                  (§2.6.2, §2.12); several links of the type and no
                                                  way to choose: 300 with them as a linkset (§2.6.3)
    GET /01/{gtin}/10/{lot}?linkType=gs1:nosuch   404: the requested type of link is not available
                                                  (§2.6.2, conformance §5.18)
    GET /01/{bad gtin}/...                        400 naming the GTIN and what is wrong (§2.4.1):
                                                  HTML for a person, RFC 9457 problem+json (through
                                                  api/errors.py) for a client that asks for JSON
    GET /lots/{lot}/recallstatus                  the recall status gs1:recallStatus points to (JSON)
    GET /.well-known/gs1resolver                  the resolver description file (section 3)
    OPTIONS on all of them                        CORS (§5: GET, HEAD and OPTIONS, CORS)

The links of a lot (`links`): gs1:defaultLink and gs1:pip, the consumer page (/l/{lot}, the same
page; its language is negotiated from Accept-Language); gs1:traceability, the verifiable journey;
gs1:epcis, the lot's EPCIS 2.0 events; gs1:certificationInfo, each 承诺达标合格证 (certify event) of
the lot's lineage as its EPCIS document; gs1:recallStatus. Every one is read from the lot's journey
(`TraceService.journey_bundle`), that is from the signed log entries the consumer's page proves,
never from a projection row alone. docs/resolver.md has examples and what is left out.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.model.ids import check_lot_code, gs1_check_digit, gtin14
from farmtrace.trace.reads.journeys import Journey
from farmtrace.trace.service import TraceService

from .consumer import SURFACE, lot_page, not_found_page
from .deps import ServiceDep
from .i18n import Translator
from .render import names, render, translator
from .state import app_state

__all__ = ["GS1_VOC", "LINKSET_TYPE", "links", "router"]

router = APIRouter(include_in_schema=False)

GS1_VOC = "https://ref.gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
# §2.10, §5.13: a linkset response SHOULD link the JSON-LD context that turns it into JSON-LD.
LINKSET_CONTEXT = "https://ref.gs1.org/standards/resolver/1.2.0/linkset-context"
_CONTEXT_LINK = f'<{LINKSET_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
# §2.14: the gs1: prefix and the GS1 Web Vocabulary's namespace URIs, old and new, name one link type.
_GS1_NAMESPACES = ("gs1:", GS1_VOC, "https://gs1.org/voc/", "https://www.gs1.org/voc/", "http://gs1.org/voc/")
# The link types this resolver can have for a lot, in the order the linkset lists them.
LINK_TYPES = ("defaultLink", "pip", "traceability", "epcis", "certificationInfo", "recallStatus")
# GS1 General Specifications: AI (10) is 1-20 characters of GS1 AI encodable character set 82.
_AI10 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_QUALIFIER = re.compile(r"[0-9]{2,4}")
_GTIN_LENGTHS = (8, 12, 13, 14)
_VARY = "Accept, Accept-Language, Accept-Encoding"
# §5: a resolver SHALL support CORS (and GET, HEAD and OPTIONS).
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language",
    "Access-Control-Expose-Headers": "Link, Location, Vary",
}
# Error pages vary with Accept too (HTML or problem+json); a recall must show at once: no-cache.
_SURFACE = replace(SURFACE, vary=_VARY)

LinkTypeParam = Annotated[str | None, Query(alias="linkType", max_length=200)]


# --- routes -----------------------------------------------------------------------------------------


@router.api_route("/01/{gtin}/10/{lot:path}", methods=["GET", "HEAD"])
def digital_link(
    gtin: str,
    lot: str,
    request: Request,
    service: ServiceDep,
    lang: str | None = None,
    link_type: LinkTypeParam = None,
) -> Response:
    t = translator(request, lang)
    if lot.endswith("/"):  # §2.13: a trailing slash SHOULD be tolerated
        lot = lot[:-1]
    bad = _gtin_problem(gtin) or _lot_problem(lot)
    if bad is not None:
        return _bad_request(request, t, *bad)
    wanted = _wanted(request, link_type)
    anchor = f"{_root(request)}/01/{gtin14(gtin)}/10/{_segment(lot)}"
    if wanted == "page":
        # No linkType: the page itself, as before (docs/resolver.md: served in place, not redirected).
        return _with_headers(lot_page(request, service, t, lot, gtin=gtin), anchor)
    journey = _journey(service, lot, gtin)
    if journey is None:
        if _wants_json(request):
            raise NotFound("lot", lot)
        return not_found_page(request, t, t("notfound.unknown", code=lot), code=lot)
    found = links(journey, root=_root(request), t=t)
    item = f"{names(journey.product, t)[0]} {journey.lot}"
    if wanted == "linkset":
        return _linkset_response(request, anchor, item, found)
    chosen = found.get(wanted, [])
    if not chosen:  # §2.6.2: the requested type of link is not available: 404
        return _no_link(request, t, lot, link_type or "")
    if len(chosen) > 1:  # §2.6.3: nothing in the request chooses between them: 300, listing them
        return _linkset_response(request, anchor, item, {wanted: chosen}, status=300)
    return _redirect(request, chosen[0]["href"], anchor)


@router.api_route("/01/{rest:path}", methods=["GET", "HEAD"])
def digital_link_other(rest: str, request: Request, lang: str | None = None) -> Response:
    """Any other path under /01/: 400 if it is not a Digital Link (§2.4.1), else 404 (nothing known,
    §5.8): a GTIN alone, or with qualifiers other than one batch/lot."""
    t = translator(request, lang)
    gtin, _, qualifiers = rest.partition("/")
    bad = _gtin_problem(gtin)
    if bad is not None:
        return _bad_request(request, t, *bad)
    pairs = qualifiers.rstrip("/").split("/") if qualifiers.rstrip("/") else []
    if len(pairs) % 2 or any(
        not _QUALIFIER.fullmatch(k) or not v for k, v in zip(pairs[::2], pairs[1::2], strict=True)
    ):
        return _bad_request(request, t, "path", "resolver.path", {})
    if _wants_json(request):
        raise NotFound("GS1 Digital Link", f"/01/{rest}")
    return not_found_page(request, t, t("notfound.malformed"), code="")


@router.options("/01/{rest:path}")
@router.options("/.well-known/gs1resolver")
def preflight() -> Response:
    return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS", **_CORS})


@router.api_route("/.well-known/gs1resolver", methods=["GET", "HEAD"])
def description(request: Request) -> JSONResponse:
    """The resolver description file (section 3; its JSON schema, description-file-schema 1.2.0)."""
    body = {
        "name": "farmtrace",
        "resolverRoot": _root(request),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,  # §2.11: the default is the page, never the linkset
        "jsonLdContextLocation": LINKSET_CONTEXT,
    }
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600", **_CORS})


@router.get("/lots/{lot:path}/recallstatus")
def recall_status(lot: str, service: ServiceDep) -> JSONResponse:
    """Whether the lot is recalled, and by which recall events (on it or on a lot it came from), as
    the lot's journey proves them: the signed entries, not the projection's flag."""
    check_lot_code(lot)
    journey = service.journey_bundle(lot)
    recalls = [
        {
            "event": r.id,
            "lot": r.lot,
            "time": r.time,
            "reason": r.reason,
            "instructions": r.instructions,
            "epcis": f"/events/{r.id}/epcis",
        }
        for r in journey.recalls
    ]
    body = {
        "lot": journey.lot,
        "recalled": bool(recalls),
        "recalls": recalls,
        "tree_size": journey.size,  # the signed checkpoint the journey's entries are proven in
        "journey": f"/lots/{_segment(lot)}/journey",
    }
    return JSONResponse(body, headers={"Cache-Control": "no-cache", **_CORS})


# --- the links of a lot -------------------------------------------------------------------------------


def links(journey: Journey, *, root: str, t: Translator) -> dict[str, list[dict[str, Any]]]:
    """The lot's links by GS1 link type (a term of `LINK_TYPES`), as RFC 9264 target objects.

    Every link has a title (§2.5.3); the default link has nothing else (§2.5.8), and its target is
    also the gs1:pip link (§2.5.8: a default link also carries a descriptive link type).
    """
    lot = _segment(journey.lot)
    page = f"{root}/l/{lot}"
    found: dict[str, list[dict[str, Any]]] = {
        "defaultLink": [{"href": page, "title": t("resolver.link_page")}],
        "pip": [
            {"href": page, "title": t("resolver.link_page"), "type": "text/html", "hreflang": ["zh", "en"]}
        ],
        "traceability": [
            {
                "href": f"{root}/lots/{lot}/journey",
                "title": t("resolver.link_journey"),
                "type": "application/json",
            }
        ],
        "epcis": [
            {
                "href": f"{root}/lots/{lot}/epcis",
                "title": t("resolver.link_epcis"),
                "type": "application/ld+json",
            }
        ],
    }
    certificates = [
        {
            "href": f"{root}/events/{e.id}/epcis",
            "title": t("resolver.link_certificate", number=e.event["detail"]["certificate_no"]),
            "type": "application/ld+json",
        }
        for e in journey.events
        if e.kind == "certify" and e.event is not None
    ]
    if certificates:
        found["certificationInfo"] = certificates
    found["recallStatus"] = [
        {
            "href": f"{root}/lots/{lot}/recallstatus",
            "title": t("resolver.link_recall"),
            "type": "application/json",
        }
    ]
    return found


# --- helpers -------------------------------------------------------------------------------------------


def _root(request: Request) -> str:
    """The resolver's root: the public base URL labels are printed with (web/labels/uri.py)."""
    return app_state(request).settings.public_url.rstrip("/")


def _segment(lot: str) -> str:
    """A lot code as one path segment: "/" as %2F (GS1 Digital Link percent-encodes AI values)."""
    return quote(lot, safe="")


def _gtin_problem(gtin: str) -> tuple[str, str, dict[str, object]] | None:
    """What is wrong with `gtin` as (field, message key, parameters), or None if it is a GTIN."""
    shown = gtin[:40]
    if not gtin.isascii() or not gtin.isdigit():
        return "gtin", "resolver.gtin_digits", {"gtin": shown}
    if len(gtin) not in _GTIN_LENGTHS:
        return "gtin", "resolver.gtin_length", {"gtin": shown, "n": len(gtin)}
    want = gs1_check_digit(gtin[:-1])
    if gtin[-1] != want:
        return "gtin", "resolver.gtin_check", {"gtin": gtin, "want": want, "found": gtin[-1]}
    return None


def _lot_problem(lot: str) -> tuple[str, str, dict[str, object]] | None:
    """What is wrong with `lot` as an AI (10) value, or None. A lot that is GS1 but not a farmtrace
    lot code (ours are narrower: trace/model/ids.py) is simply unknown here: 404, not 400."""
    if _AI10.fullmatch(lot):
        return None
    return "lot", "resolver.lot_syntax", {"lot": lot[:40]}


def _accepts(request: Request, media_type: str) -> bool:
    """Whether the Accept header names `media_type` with a non-zero q."""
    for item in request.headers.get("accept", "").lower().split(","):
        name, *params = (p.strip() for p in item.split(";"))
        if name == media_type and not any(
            p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params
        ):
            return True
    return False


def _wants_json(request: Request) -> bool:
    """A client that asks for JSON and not for HTML gets JSON answers (errors as problem+json)."""
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def _wanted(request: Request, link_type: str | None) -> str:
    """ "page", "linkset", a term of LINK_TYPES, or "" for a link type this resolver never has."""
    if link_type is None:
        return "linkset" if _accepts(request, LINKSET_TYPE) else "page"
    if link_type in ("linkset", "all"):  # §2.2: `all` is the deprecated name of `linkset`
        return "linkset"
    for namespace in _GS1_NAMESPACES:
        if link_type.startswith(namespace) and link_type[len(namespace) :] in LINK_TYPES:
            return link_type[len(namespace) :]
    return ""


def _journey(service: TraceService, lot: str, gtin: str) -> Journey | None:
    """The lot's journey if the lot exists and its product has this GTIN, else None."""
    try:
        check_lot_code(lot)
        journey = service.journey_bundle(lot)
    except (InvalidEvent, NotFound):
        return None
    product_gtin = journey.product.get("gtin")
    if product_gtin is None or gtin14(product_gtin) != gtin14(gtin):
        return None
    return journey


def _linkset_link(anchor: str) -> str:
    return f'<{anchor}?linkType=linkset>; rel="linkset"; type="{LINKSET_TYPE}"'


def _with_headers(response: Response, anchor: str) -> Response:
    """The page, with the link to its linkset (§2.9) and the headers every resolver answer has."""
    response.headers["Link"] = _linkset_link(anchor)
    response.headers["Vary"] = _VARY
    for name, value in _CORS.items():
        response.headers[name] = value
    return response


def _linkset_response(
    request: Request, anchor: str, item: str, found: dict[str, list[dict[str, Any]]], *, status: int = 200
) -> JSONResponse:
    """An RFC 9264 linkset (§4.2: {"linkset": [context objects]}) with one context, the item; GS1's
    linkset schema also requires its `itemDescription` (the product's name and the lot)."""
    targets = {GS1_VOC + term: found[term] for term in LINK_TYPES if term in found}
    body = {"linkset": [{"anchor": anchor, "itemDescription": item, **targets}]}
    # §2.10: application/linkset+json when asked; the same answer is RECOMMENDED for application/json.
    plain = _accepts(request, "application/json") and not _accepts(request, LINKSET_TYPE)
    headers = {"Link": _CONTEXT_LINK, "Vary": _VARY, "Cache-Control": "no-cache", **_CORS}
    return JSONResponse(
        body, status_code=status, media_type="application/json" if plain else LINKSET_TYPE, headers=headers
    )


def _redirect(request: Request, href: str, anchor: str) -> Response:
    """307 to `href` (§2.6.2) with the request's whole query string passed on (§2.12)."""
    query = request.url.query
    location = f"{href}{'&' if '?' in href else '?'}{query}" if query else href
    headers = {
        "Location": location,
        "Link": _linkset_link(anchor),
        "Vary": _VARY,
        "Cache-Control": "no-cache",
        **_CORS,
    }
    return Response(status_code=307, headers=headers)


def _bad_request(
    request: Request, t: Translator, field: str, key: str, params: dict[str, object]
) -> Response:
    """400 (§2.4.1, §5.7): a page for a person, problem+json (api/errors.py) for a client."""
    if _wants_json(request):
        raise InvalidEvent(field, Translator("en")(key, **params))
    return render(
        request,
        t,
        "resolver_error.html",
        surface=_SURFACE,
        status=400,
        title=t("resolver.bad_title"),
        message=t(key, **params),
        digits=True,
    )


def _no_link(request: Request, t: Translator, lot: str, link_type: str) -> Response:
    if _wants_json(request):
        raise NotFound(f"link of type {link_type!r} for lot", lot)
    return render(
        request,
        t,
        "resolver_error.html",
        surface=_SURFACE,
        status=404,
        title=t("resolver.no_link_title"),
        message=t("resolver.no_link", lot=lot, link_type=link_type[:80]),
        digits=False,
    )
