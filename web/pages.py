"""The consumer's page: what a QR label opens, in Simplified Chinese (default) or English.

    GET /l/{lot}                   the lot's page (the short form, for lots without a GTIN)
    GET /01/{gtin}/10/{lot}        the same page by GS1 Digital Link; the GTIN (8, 12, 13 or 14 digits)
                                   must be the lot's product's, padded to 14 digits, else 404
    GET /l?code=LOT                the lookup form's target: 303 to /l/LOT
    GET /static/{name}             verify.js and page.css; a year's cache when ?v= is the content hash

Every page takes ?lang=zh|en (the visible switch links to it), which overrides Accept-Language.
An unknown or malformed code gets a helpful HTML 404 from these routes themselves, so the app's JSON
problem handlers never answer a person. A lot whose ledger data cannot be read is shown as not
verified. The page is rendered from `TraceService.journey(lot)`; the browser then fetches the same
journey from GET /lots/{lot}/journey and checks it (static/verify.js) against the log key embedded
here, which comes from the server's configuration, never from the database.

Pages are small and self-contained for weak networks: one HTML document with the CSS inlined (a QR
scan is nearly always a first visit, so a separate stylesheet would cost a round trip), one deferred
script, no fonts or images from anywhere; gzip when the client accepts it; a strict
Content-Security-Policy (scripts only from this origin, the inline style pinned by its hash).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.ids import check_lot_code, gtin14
from farmtrace.trace.service import TraceService
from farmtrace.trace.units import MASS_UNITS

from .assets import ASSETS, PAGE_CSS, content_security_policy
from .i18n import HTML_LANG, LANGS, MESSAGES, Translator, negotiate
from .templating import TEMPLATES

__all__ = ["journey_view", "router"]

router = APIRouter(include_in_schema=False)

_log = logging.getLogger(__name__)
_GZIP_MIN = 1024
_YEAR = "public, max-age=31536000, immutable"


_ASSETS = ASSETS
_CSS = PAGE_CSS
_CSP = content_security_policy(linked_styles=False)


# --- routes -----------------------------------------------------------------------------------------


@router.get("/l")
def lookup(request: Request, code: str = "", lang: str | None = None) -> Response:
    """The not-found page's form posts here: go to the code's page (or show the form again)."""
    t = _translator(request, lang)
    code = code.strip()
    if not code:
        return _not_found(request, t, t("notfound.malformed"), code="")
    return RedirectResponse(f"/l/{quote(code, safe='')}?lang={t.lang}", status_code=303)


@router.get("/l/{lot:path}")
def lot_page(lot: str, request: Request, lang: str | None = None) -> Response:
    return _lot_page(request, _translator(request, lang), lot, gtin=None)


@router.get("/01/{gtin}/10/{lot:path}")
def digital_link_page(gtin: str, lot: str, request: Request, lang: str | None = None) -> Response:
    return _lot_page(request, _translator(request, lang), lot, gtin=gtin)


@router.get("/01/{rest:path}")
def digital_link_malformed(rest: str, request: Request, lang: str | None = None) -> Response:
    """A GS1 Digital Link we cannot read (no /10/ lot, other qualifiers): the friendly 404."""
    t = _translator(request, lang)
    return _not_found(request, t, t("notfound.malformed"), code="")


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    asset = _ASSETS.get(name)
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


def _translator(request: Request, lang: str | None) -> Translator:
    return Translator(negotiate(lang, request.headers.get("accept-language")))


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def _html(request: Request, t: Translator, body: str, *, status: int = 200) -> Response:
    data = body.encode()
    started = request.scope.get("farmtrace.started")
    headers = {
        "Content-Language": t.html_lang,
        "Vary": "Accept-Language, Accept-Encoding",
        "Cache-Control": "no-cache",  # a recall must show at once
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if len(data) >= _GZIP_MIN and _accepts_gzip(request):
        data = gzip.compress(data, 6)
        headers["Content-Encoding"] = "gzip"
    if started is not None:  # the route's own time, for browsers' dev tools and bench/page_bench.py
        headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return Response(data, status_code=status, media_type="text/html; charset=utf-8", headers=headers)


def _render(request: Request, t: Translator, template: str, *, status: int = 200, **context: Any) -> Response:
    other = LANGS[1 - LANGS.index(t.lang)]
    body = TEMPLATES.get_template(template).render(
        t=t,
        css=Markup(_CSS),  # our own file, pinned by hash in the CSP
        other_lang_url=f"{quote(request.url.path)}?lang={other}",
        other_lang_html=HTML_LANG[other],
        **context,
    )
    return _html(request, t, body, status=status)


def _not_found(request: Request, t: Translator, message: str, *, code: str) -> Response:
    return _render(request, t, "notfound.html", status=404, message=message, code=code)


def _lot_page(request: Request, t: Translator, lot: str, *, gtin: str | None) -> Response:
    request.scope["farmtrace.started"] = time.perf_counter()
    service: TraceService = request.app.state.service
    try:
        check_lot_code(lot)
        wanted_gtin = gtin14(gtin) if gtin is not None else None
    except InvalidEvent:
        return _not_found(request, t, t("notfound.malformed"), code=lot if len(lot) <= 20 else "")
    try:
        journey = service.journey(lot)
    except NotFound:
        return _not_found(request, t, t("notfound.unknown", code=lot), code=lot)
    except Exception:
        # The ledger's data for this lot cannot be read (an entry edited into garbage, a row deleted:
        # whatever the journey raises). A consumer is told the product cannot be verified, never
        # shown an error; the browser's check of the journey endpoint reports the server's answer.
        _log.exception("the journey of lot %r cannot be read", lot)
        view = _damaged_view(service, lot, t)
    else:
        product_gtin = journey["product"].get("gtin")
        if wanted_gtin is not None and (product_gtin is None or gtin14(product_gtin) != wanted_gtin):
            return _not_found(request, t, t("notfound.gtin", gtin=gtin, code=lot), code=lot)
        if any(item["event"] is None for item in journey["events"]):
            # An entry no longer decodes (or is gone): the journey carries it as stored, and the
            # browser's check names it; the page shows the product as unverifiable.
            view = _damaged_view(service, lot, t)
        else:
            view = journey_view(journey, t, lookup_party=_party_lookup(service))
    journey_url = f"/lots/{quote(lot, safe='')}/journey"
    log_key = service.log.verifier.key_string()
    config = {
        "lot": lot,
        "journey": journey_url,
        "logKey": log_key,
        "lang": t.lang,
        "messages": t.catalogue("verify."),
    }
    return _render(
        request,
        t,
        "lot.html",
        v=view,
        config=config,
        log_key=log_key,
        journey_url=journey_url,
        verify_js=f"/static/verify.js?v={_ASSETS['verify.js'].digest}",
    )


def _party_lookup(service: TraceService) -> Callable[[str], Mapping[str, Any] | None]:
    """The public record of a party the journey names but whose registration it does not carry (a
    buyer that has not yet signed anything on the lot), or None for a party the ledger lacks."""

    def lookup(pid: str) -> Mapping[str, Any] | None:
        try:
            return service.party(pid)
        except NotFound:
            return None

    return lookup


def _damaged_view(service: TraceService, lot: str, t: Translator) -> dict[str, Any]:
    try:
        state = service.lot(lot)
        product, quantity = state["product"], f"{state['quantity']} {_unit(t, state['unit'])}"
    except Exception:  # the tables may be as damaged as the ledger: show the code alone
        product, quantity = {"name_zh": lot}, ""
    names = _names(product, t)
    return {
        "lot": lot,
        "product_name": names[0],
        "product_other": names[1],
        "gtin": product.get("gtin"),
        "quantity": quantity,
        "variety": product.get("variety"),
        "recalls": [],
        "warnings": [],
        "origins": [],
        "prices": [],
        "steps": [],
        "damaged": True,
    }


# --- the journey as a page shows it ----------------------------------------------------------------


def _names(obj: dict[str, Any], t: Translator) -> tuple[str, str | None]:
    """(name in the page's language, the other language's name or None) of a product or party."""
    zh, en = obj.get("name_zh") or "", obj.get("name_en")
    if t.lang == "en" and en:
        return en, zh if zh != en else None
    return zh, en if en and en != zh else None


def _unit(t: Translator, unit: str) -> str:
    return t(f"unit.{unit}") if t.has(f"unit.{unit}") else unit


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _when(text: str) -> str:
    """ "2026-11-20T08:30:00+08:00" as recorded, to the minute: "2026-11-20 08:30"."""
    return text[:10] + " " + text[11:16] if len(text) >= 16 else text


def _parties(journey: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Public party records (names, roles, address) from the key registrations the journey carries."""
    out: dict[str, dict[str, Any]] = {}
    for key in journey.get("keys", {}).values():
        reg = key.get("registered_in") if isinstance(key, dict) else None
        if not reg:
            continue
        try:
            event = json.loads(base64.b64decode(reg["entry"]).split(b"\n")[1])
            record = event["detail"]["party"] if event.get("kind") == "party.register" else None
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        if isinstance(record, dict) and "id" in record:
            out[record["id"]] = record
    return out


def _price(t: Translator, price: dict[str, Any]) -> tuple[str, str | None]:
    """(price per kg — or per counted unit — in the page's words, the price as recorded if converted)."""
    try:
        amount = Decimal(price["amount"])
    except (InvalidOperation, KeyError, TypeError):
        return str(price.get("amount")), None
    unit = price.get("unit", "")
    if unit in MASS_UNITS and unit != "kg":
        per_kg = amount / MASS_UNITS[unit]
        return (
            t("price.amount", amount=_money(per_kg), unit=_unit(t, "kg")),
            t("price.as_recorded", amount=_money(amount), unit=_unit(t, unit)),
        )
    return t("price.amount", amount=_money(amount), unit=_unit(t, unit)), None


_STAGE_BY_ROLE = (
    ("retailer", "retail"),
    ("wholesaler", "wholesale"),
    ("processor", "processing"),
    ("producer", "production"),
    ("inspector", "inspection"),
    ("regulator", "regulator"),
)


def _stage(event: dict[str, Any], roles: list[str]) -> str:
    kind = event["kind"]
    fixed = {
        "harvest": "production",
        "inspect": "inspection",
        "certify": "certificate",
        "recall": "regulator",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "sell" and event.get("price", {}).get("stage") in ("wholesale", "retail"):
        return event["price"]["stage"]
    return next((stage for role, stage in _STAGE_BY_ROLE if role in roles), "production")


def _list(t: Translator, items: list[str], *, most: int = 5) -> str:
    """Items joined in the page's language; past `most`, the first few and how many in all."""
    shown = t("list.sep").join(items[:most])
    return shown if len(items) <= most else t("list.more", items=shown, n=len(items))


def journey_view(
    journey: dict[str, Any],
    t: Translator,
    *,
    lookup_party: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """What lot.html shows, in `t`'s language, from `TraceService.journey`'s answer.

    Parties are named in the page's language (English name when registered with one, else the
    Chinese): from the registrations the journey carries, else from `lookup_party(id)` (a party the
    journey names but that signed nothing on these lots, such as a buyer that has not received
    yet); the party's code only when neither knows it. Texts are returned as plain strings: the
    template escapes every one of them.
    """
    parties = _parties(journey)
    lineage = set(journey.get("lots", [])) | {journey["lot"]}
    looked_up: dict[str, Mapping[str, Any] | None] = {}

    def party_name(pid: str, fallback: str | None = None) -> str:
        if pid in parties:
            return _names(parties[pid], t)[0] or pid
        if lookup_party is not None and pid:
            if pid not in looked_up:
                looked_up[pid] = lookup_party(pid)
            if looked_up[pid]:
                return _names(looked_up[pid], t)[0] or pid
        return fallback or pid

    # Where the page's own lot went (for its recall banner): lots made from it, parties it was shipped to.
    went_lots: list[str] = []
    went_to: list[str] = []

    steps, prices, origins = [], [], []
    variety = journey["product"].get("variety")
    for n, item in enumerate(journey["events"], start=1):
        ev = item["event"]
        kind = ev["kind"]
        detail = ev.get("detail", {})
        who = party_name(ev["party"], item.get("party_name"))
        ins = [r for r in ev.get("inputs", []) if r["lot"] in lineage] or ev.get("inputs", [])
        outs = [o for o in ev.get("outputs", []) if o["lot"] in lineage] or ev.get("outputs", [])
        first_in = ins[0] if ins else None

        def qty(ref: dict[str, Any]) -> dict[str, str]:
            return {"quantity": ref["quantity"], "unit": _unit(t, ref["unit"])}

        lines: list[str] = []
        items: list[str] = []
        badge = None
        if kind == "transform":
            title = t(f"kind.transform.{detail.get('type', 'process')}")
        else:
            title = t(f"kind.{kind}") if t.has(f"kind.{kind}") else t("kind.other")
        if kind == "harvest":
            origin = detail.get("origin", {})
            field = ", ".join(x for x in (origin.get("name"), origin.get("address")) if x)
            for o in outs:
                lines.append(t("detail.harvest", **qty(o)))
                variety = variety or o.get("product", {}).get("variety")
            lines.append(t("detail.field", field=field))
            origins.append(
                {
                    "producer": who,
                    "address": parties.get(ev["party"], {}).get("address"),
                    "field": field,
                    "harvested": ev["event_time"][:10],
                }
            )
        elif kind == "inspect":
            lines += [
                t("detail.analyte", analyte=detail.get("analyte", "")),
                t("detail.method", method=detail.get("method", "")),
                t(
                    "detail.value",
                    value=detail.get("value"),
                    limit=detail.get("limit"),
                    unit=detail.get("unit"),
                ),
                t("detail.report", report=detail.get("report_no", "")),
            ]
            passed = detail.get("result") == "pass"
            badge = {
                "text": t("detail.pass" if passed else "detail.fail"),
                "cls": "pass" if passed else "fail",
            }
        elif kind == "certify":
            lines.append(t("detail.certificate", number=detail.get("certificate_no", "")))
            if first_in:
                lines.append(t("detail.quantity", **qty(first_in)))
            items = [t(f"commit.{c}") for c in detail.get("commitments", []) if t.has(f"commit.{c}")]
            if items:
                lines.append(t("detail.commitments"))
        elif kind == "ship" and first_in:
            destination = party_name(detail.get("destination", ""))
            lines.append(t("detail.ship", party=destination, **qty(first_in)))
            if first_in["lot"] == journey["lot"] and destination not in went_to:
                went_to.append(destination)
        elif kind == "receive" and first_in:
            lines.append(t("detail.receive", party=party_name(detail.get("source", "")), **qty(first_in)))
            check = detail.get("entry_check", {})
            text = t(
                "detail.entry_accepted" if check.get("result") == "accepted" else "detail.entry_rejected"
            )
            if check.get("certificate_no"):
                text += "，" if t.lang == "zh" else ", "
                # A paper certificate is the market's word, not a 合格证 the ledger holds: say so.
                paper = check.get("certificate_source") == "paper"
                text += t(
                    "detail.entry_certificate_paper" if paper else "detail.entry_certificate",
                    number=check["certificate_no"],
                )
            lines.append(text)
            for s in ev.get("sensors", []):
                if s.get("type") == "temperature":
                    lines.append(t("detail.temperature", value=s.get("value")))
        elif kind == "transform" and outs:
            how = detail.get("type")
            every = ev.get("outputs", [])
            # The page's own lot went into this transform (its page, not a descendant's): none of the
            # outputs is "this product", so name them all.
            consumed = any(r["lot"] == journey["lot"] for r in ev.get("inputs", []))
            if consumed:
                went_lots += [o["lot"] for o in every if o["lot"] not in went_lots]
            if consumed and how in ("split", "repack"):
                lines.append(t(f"detail.{how}_here", n=len(every), lots=_list(t, [o["lot"] for o in every])))
            elif how == "merge":
                lines.append(t("detail.merge", n=len(ev.get("inputs", [])), lot=outs[0]["lot"]))
            elif how in ("split", "repack"):
                lines.append(t(f"detail.{how}", n=len(every), lot=outs[0]["lot"], **qty(outs[0])))
            else:
                lines.append(t("detail.process", lot=outs[0]["lot"], **qty(outs[0])))
        elif kind == "sell" and first_in:
            lines.append(t("detail.sell", **qty(first_in)))
        elif kind in ("recall", "destroy"):
            lines.append(t("detail.reason", reason=detail.get("reason", "")))
            if detail.get("instructions"):
                lines.append(_instructions(t, detail["instructions"]))
        price_text = None
        price = ev.get("price")
        if price:
            shown, recorded = _price(t, price)
            stage_label = t(f"price.{price.get('stage')}") if price.get("stage") in _STAGES else ""
            price_text = t("detail.price", stage=stage_label, price=shown)
            prices.append(
                {
                    "stage": price.get("stage"),
                    "stage_label": stage_label,
                    "per_kg": shown,
                    "recorded": recorded,
                    "party": who,
                }
            )
        stage = _stage(ev, parties.get(ev["party"], {}).get("roles", []))
        # The place, unless it is just the party's own name (in either language).
        place = ev.get("location", {}).get("name")
        record = parties.get(ev["party"], {})
        if place in (who, record.get("name_zh"), record.get("name_en")):
            place = None
        steps.append(
            {
                "n": n,
                "index": item["index"],
                "id": item.get("id", ""),
                "kind": kind,
                "title": title,
                "stage": stage,
                "stage_label": t(f"stage.{stage}"),
                "datetime": ev["event_time"],
                "when": _when(ev["event_time"]),
                "party": who,
                "place": place,
                "lines": lines,
                "commitments": items,
                "badge": badge,
                "price": price_text,
            }
        )

    recalls = []
    for r in journey.get("recalls", []):
        date = str(r.get("time", ""))[:10]
        itself = r.get("lot") == journey["lot"]
        went = []
        if itself and went_lots:
            went.append(t("recall.went_lots", lots=_list(t, went_lots)))
        if itself and went_to:
            went.append(t("recall.went_to", parties=t("list.sep").join(went_to)))
        recalls.append(
            {
                "lead": t("recall.self" if itself else "recall.upstream", lot=r.get("lot"), date=date),
                "went": went,
                "reason": r.get("reason", ""),
                "instructions": _instructions(t, r.get("instructions", "")),
            }
        )
    status = journey.get("status", {})
    warnings = []
    if status.get("recalled") and not recalls:
        warnings.append(t("recall.title"))
    if status.get("failed"):
        warnings.append(t("status.failed"))
    if status.get("rejected"):
        warnings.append(t("status.rejected"))
    names = _names(journey["product"], t)
    return {
        "lot": journey["lot"],
        "product_name": names[0],
        "product_other": names[1],
        "gtin": journey["product"].get("gtin"),
        "quantity": f"{journey['quantity']} {_unit(t, journey['unit'])}",
        "variety": variety,
        "recalls": recalls,
        "warnings": warnings,
        "origins": origins,
        "prices": prices,
        "steps": steps,
        "damaged": False,
    }


def _instructions(t: Translator, text: str) -> str:
    """A recall's instructions; the standard text, recorded in either language, in the page's."""
    standard = MESSAGES["recall.standard_instructions"]
    return t("recall.standard_instructions") if text.strip() in standard else text


_STAGES = ("production", "wholesale", "retail")
