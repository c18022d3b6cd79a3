"""The regulator's console: server-rendered pages, in Simplified Chinese (default) or English.

    GET /console                    ledger health: size, latest checkpoint and its witnesses, the last
                                    full audit (result, time, first failure) and a button to run one
    GET /console/parties            parties and pending applications: approve, reject, suspend, revoke
    GET /console/lots               look a lot up (?code= redirects to its page)
    GET /console/lots/{code}        the lot's trace as a graph, its recall report, one-click recall
    GET /console/anomalies          refused attempts, filtered by rule, party and date range
    GET /console/prices             prices by stage for a product over time, as a chart
    GET /console/exports            exports of a date range or a lot's trace: EPCIS, CSV, XLSX
    GET /console/exports/range      ?since=&until=&fmt=  303 to /exports/events.{fmt} (dates are CST days)
    GET /console/exports/lot        ?code=&fmt=          303 to the lot's export
    GET /console/signin             sign in with a key file or the key this browser already holds

Every page but the sign-in page needs a regulator: the `ft_token` cookie (or an Authorization
header) checked by web/session.py. Anyone else — no token, a forged or expired one, another
party's — gets a 403 page in their language, with the sign-in form. Pages only read: everything
that changes the ledger is an event signed in the browser with the regulator's own key
(static/signing.js, driven by static/console.js) and recorded through POST /events, so the server
never holds a regulator's key; starting an audit and rejecting an application go to the JSON API
with a token header. After an action the browser reloads the page with ?done=<what>, shown as a
notice.

These pages use the JSON API's data through `TraceService` (app.state.service), the enrollment
desk (app.state.applications) and the audit runner (app.state.audit_job, duck-typed: `.status()`),
never through `farmtrace.api` (the floors of STYLE.md). The Content-Security-Policy is the consumer
page's, plus this origin's stylesheet: no inline script, no style attribute.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from farmtrace.ledger.checkpoint import open_checkpoint
from farmtrace.trace.auth import check_token
from farmtrace.trace.clock import CST, cst_range
from farmtrace.trace.errors import Forbidden, InvalidEvent, NotFound
from farmtrace.trace.ids import check_lot_code
from farmtrace.trace.repository import Repository
from farmtrace.trace.rules import RULES, PartyState
from farmtrace.trace.service import TraceService

from . import i18n_console  # noqa: F401  (registers the console's messages)
from .assets import PAGE_CSS, asset_url, content_security_policy
from .chart import STAGES, format_chart, price_series
from .clock import request_now, request_today
from .graph import format_svg, layout_trace
from .i18n import HTML_LANG, LANGS, MESSAGES, Translator, negotiate
from .session import request_token
from .templating import TEMPLATES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_log = logging.getLogger(__name__)
MAX_GRAPH_NODES = 1500  # beyond this the page lists the lots instead of drawing them
ANOMALY_LIMIT = 200
EXPORT_FORMATS = ("csv", "xlsx", "jsonld")
DONE = ("approved", "rejected", "suspended", "revoked", "recalled")


_CSS = PAGE_CSS
_ASSET_URLS = {name: asset_url(name) for name in ("console.css", "console.js", "signing.js")}
_CSP = content_security_policy(linked_styles=True)


# --- routes ---------------------------------------------------------------------------------------------


@router.get("/console/signin")
def signin_page(request: Request, lang: str | None = None, next: str = "") -> Response:
    t = _translator(request, lang)
    who = _party_or_none(request)
    return _render(
        request, t, "console/signin.html", title=t("console.signin.title"), who=who, next=_next(next, t)
    )


@router.get("/console")
def health_page(request: Request, lang: str | None = None) -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    service: TraceService = request.app.state.service
    log = service.log
    ledger: dict[str, Any] = {"origin": log.origin, "log_key": log.verifier.key_string()}
    try:
        cp = log.checkpoint()
        opened = open_checkpoint(
            cp.note_with_cosignatures(), log.verifier, witnesses=request.app.state.settings.witnesses()
        )
        ledger |= {
            "size": cp.size,
            "root": opened.checkpoint.root.hex(),
            "signed_at": _cst(datetime.fromtimestamp(cp.signed_at, UTC)),
            "checkpoint": cp.note_with_cosignatures(),
            "witnesses": [s.name for s in opened.cosignatures],
            "unverified": [s.name for s in opened.note.unverified],
            "error": None,
        }
    except Exception as exc:  # the page must still show the audit button when the checkpoint is bad
        _log.exception("the latest checkpoint cannot be opened")
        ledger |= {"size": log.size, "error": str(exc), "witnesses": [], "unverified": []}
    status = request.app.state.audit_job.status()
    names = {p["id"]: _name(p, t) for p in service.parties()}
    last = _audit_view(status.get("last"), names)
    running = _audit_view(status.get("running"), names)
    altered = None
    if last and last["first_failure"] and last["first_failure"].get("index") is not None:
        altered = service.entry_event(last["first_failure"]["index"])
        if altered:
            altered |= {
                "kind_name": _kind(t, altered["kind"]),
                "party_name": names.get(altered["party"], altered["party"]),
                "when": _cst_text(altered["event_time"]),
            }
    return _render(
        request,
        t,
        "console/health.html",
        title=t("console.health.title"),
        regulator=regulator,
        nav="health",
        ledger=ledger,
        last=last,
        running=running,
        altered=altered,
    )


@router.get("/console/parties")
def parties_page(request: Request, lang: str | None = None) -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    service: TraceService = request.app.state.service
    desk = request.app.state.applications
    applications = []
    for a in desk.list(status="pending"):
        record = a["record"]
        name = _name(record, t) if a["kind"] == "register" else None
        applications.append(
            {
                **a,
                "name": name,
                "submitted": _cst_text(a["submitted_at"]),
                "existing": _safe_party(service, a["party_id"]) if a["kind"] == "key" else None,
                "payload": json.dumps({"kind": a["kind"], "record": record}, ensure_ascii=False),
                "private": _private(a.get("private"), t),
            }
        )
    parties = []
    for p in service.parties():
        full = service.party(p["id"])
        parties.append(
            {
                **full,
                "name": _name(full, t),
                "other_name": _other_name(full, t),
                "registered": _cst_text(full["registered_at"]),
                "private": _private(desk.private(p["id"]), t),
                "keys": [
                    {
                        **k,
                        "from": _cst_text(k["active_from"]),
                        "revoked": _cst_text(k["revoked_at"]) if k["revoked_at"] else None,
                    }
                    for k in full["keys"]
                ],
            }
        )
    return _render(
        request,
        t,
        "console/parties.html",
        title=t("console.parties.title"),
        regulator=regulator,
        nav="parties",
        applications=applications,
        parties=parties,
    )


@router.get("/console/lots")
def lot_lookup(request: Request, lang: str | None = None, code: str = "") -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    code = code.strip()
    if code:
        return RedirectResponse(_url(f"/console/lots/{quote(code, safe='')}", t), status_code=303)
    return _render(
        request,
        t,
        "console/lookup.html",
        title=t("console.lots.title"),
        regulator=regulator,
        nav="lots",
        error=None,
    )


@router.get("/console/lots/{code:path}")
def lot_page(code: str, request: Request, lang: str | None = None, direction: str = "both") -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    service: TraceService = request.app.state.service
    if direction not in ("both", "back", "forward"):
        direction = "both"
    try:
        check_lot_code(code)
        lot = service.lot(code)
    except (InvalidEvent, NotFound):
        return _render(
            request,
            t,
            "console/lookup.html",
            status=404,
            title=t("console.lots.title"),
            regulator=regulator,
            nav="lots",
            error=t("console.lots.unknown", code=code[:40]),
        )
    trace = service.trace(code, direction=direction)
    recalls = []
    if lot["status"]["recalled"]:
        try:  # the recall events on the lot or its ancestors: why, and what to do
            recalls = [
                {**r, "when": _cst_text(r["time"]), "instructions": _instructions(t, r["instructions"])}
                for r in service.journey(code)["recalls"]
            ]
        except Exception:  # a damaged ledger entry must not hide the page; the flag still shows
            _log.exception("the recalls of lot %r cannot be read", code)
    report = service.recall_report(code)
    # Every party, product and holder in the reader's language (English where registered with one).
    names = {p["id"]: _name(p, t) for p in service.parties()}
    for p in report["parties"]:
        p["name"] = names.get(p["party"], p["name"])
    for s in report["shipments"]:
        s["from_name"], s["to_name"] = names.get(s["from"], s["from_name"]), names.get(s["to"], s["to_name"])
    for item in report["affected_lots"]:
        item["product"] = _name({"name_zh": item["product"], "name_en": item.get("product_en")}, t)
    for node in trace["nodes"]:
        node["product"] = _name({"name_zh": node["product"], "name_en": node.get("product_en")}, t)
        node["created_by_name"] = names.get(node["created_by"], node.get("created_by_name"))
        for h in node["holders"]:
            h["name"] = names.get(h["party"], h["name"])
    graph = None
    if len(trace["nodes"]) <= MAX_GRAPH_NODES:
        labels = {
            "recalled": t("console.graph.recalled"),
            "failed": t("console.graph.failed"),
            "rejected": t("console.graph.rejected"),
            "selected": t("console.graph.selected"),
        }
        graph = format_svg(
            layout_trace(trace),
            labels=labels,
            href=lambda c: _url(f"/console/lots/{quote(c, safe='/')}", t),
            title=t("console.graph.title", lot=code, n=len(trace["nodes"])),
        )
    holders_by_lot: dict[str, list[str]] = {}
    for p in report["parties"]:
        for held in p["lots"]:
            holders_by_lot.setdefault(held["lot"], []).append(
                f"{p['name'] or p['party']} {held['quantity']} {_unit(t, held['unit'])}"
            )
    product = lot["product"]
    return _render(
        request,
        t,
        "console/lot.html",
        title=t("console.lot.title", lot=code),
        regulator=regulator,
        nav="lots",
        lot=lot,
        code=code,
        quoted=quote(code, safe="/"),
        product_name=_name(product, t),
        creator=names.get(lot["created_by"], lot["created_by"]),
        list_sep=t("console.list.sep"),
        created=_cst_text(lot["created_at"]),
        holders=[(names.get(p, p), q) for p, q in lot["holders"].items()],
        direction=direction,
        graph=graph,
        node_count=len(trace["nodes"]),
        edge_count=len(trace["edges"]),
        origins=trace["origins"],
        recalls=recalls,
        report=report,
        holders_by_lot=holders_by_lot,
        unit=lambda u: _unit(t, u),
        recall_target={"lot": code, "quantity": lot["quantity"], "unit": lot["unit"]},
    )


@router.get("/console/anomalies")
def anomalies_page(
    request: Request,
    lang: str | None = None,
    rule: str = "",
    party: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    service: TraceService = request.app.state.service
    errors = []
    start, end = _day(since, errors, t, "since"), _day(until, errors, t, "until")
    rule = rule if rule in RULES else ""
    parties = service.parties()
    party = party if any(p["id"] == party for p in parties) else ""
    since_at, until_at = cst_range(start, end)  # the days the regulator picked, whole, in CST
    rows = service.anomalies(
        rule=rule or None,
        party=party or None,
        since=since_at,
        until=until_at,
        limit=ANOMALY_LIMIT,
    )
    names = {p["id"]: _name(p, t) for p in parties}
    shown = [
        {
            **a,
            "when": _cst_text(a["at"]),
            "party_name": names.get(a["party"], a["party"]),
            "rule_name": t(f"console.rule.{a['rule']}") if t.has(f"console.rule.{a['rule']}") else a["rule"],
            # What the refusal means, in the reader's words; the raw message stays as evidence.
            "explained": t(f"console.rule_detail.{a['rule']}")
            if t.has(f"console.rule_detail.{a['rule']}")
            else None,
            "kind_name": _kind(t, a["kind"]),
        }
        for a in rows
    ]
    return _render(
        request,
        t,
        "console/anomalies.html",
        status=400 if errors else 200,
        title=t("console.anomalies.title"),
        regulator=regulator,
        nav="anomalies",
        rows=shown,
        rules=[(r, t(f"console.rule.{r}")) for r in RULES],
        parties=sorted(((p["id"], names[p["id"]]) for p in parties), key=lambda x: x[1]),
        f={"rule": rule, "party": party, "since": since if start else "", "until": until if end else ""},
        errors=errors,
        limit=ANOMALY_LIMIT,
    )


@router.get("/console/prices")
def prices_page(
    request: Request, lang: str | None = None, product: str = "", since: str = "", until: str = ""
) -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    service: TraceService = request.app.state.service
    errors: list[str] = []
    start, end = _day(since, errors, t, "since"), _day(until, errors, t, "until")
    products = service.priced_products()
    if product not in products:
        product = products[0] if products else ""
    # Prices are kept by the product's Chinese name (the picker's value); shown in the reader's.
    english = service.product_names_en(products) if t.lang == "en" else {}
    shown = {name: english.get(name, name) for name in products}
    series = None
    chart = None
    if product:
        since_at, until_at = cst_range(start, end)
        rows = service.prices(product=product, since=since_at, until=until_at)
        series = price_series(rows)
        unit_words = (
            t("console.prices.per_kg")
            if series.unit == "kg"
            else t("console.prices.per_unit", unit=_unit(t, series.unit))
        )
        chart = format_chart(
            series,
            labels={
                **{s: t(f"price.{s}") for s in STAGES},
                "x_axis": t("console.prices.x_axis"),
                "y_axis": unit_words,
            },
            title=t("console.prices.chart_title", product=shown[product]),
        )
    table = []
    if series is not None:
        for stage in STAGES:
            for p in series.stages.get(stage, []):
                table.append({"stage": t(f"price.{stage}"), **p.__dict__})
        table.sort(key=lambda r: (r["day"], r["stage"]))
    return _render(
        request,
        t,
        "console/prices.html",
        status=400 if errors else 200,
        title=t("console.prices.title"),
        regulator=regulator,
        nav="prices",
        products=[(name, shown[name]) for name in products],
        product=product,
        product_name=shown.get(product, product),
        series=series,
        chart=chart,
        table=table,
        f={"since": since if start else "", "until": until if end else ""},
        errors=errors,
    )


@router.get("/console/exports")
def exports_page(request: Request, lang: str | None = None) -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    return _exports(request, t, regulator, errors=[], f={})


@router.get("/console/exports/range")
def export_range(
    request: Request, lang: str | None = None, since: str = "", until: str = "", fmt: str = "csv"
) -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    errors: list[str] = []
    start, end = _day(since, errors, t, "since"), _day(until, errors, t, "until")
    if not errors and (start is None or end is None):
        errors.append(t("console.exports.need_range"))
    elif start and end and end < start:
        errors.append(t("console.exports.bad_order"))
    elif start and end and (end - start).days >= 366:
        errors.append(t("console.exports.too_long"))
    if fmt not in EXPORT_FORMATS:
        errors.append(t("console.exports.bad_format"))
    if errors:
        return _exports(request, t, regulator, errors=errors, f={"since": since, "until": until}, status=400)
    assert start is not None and end is not None
    return RedirectResponse(_range_url(start, end, fmt, t.lang), status_code=303)


@router.get("/console/exports/lot")
def export_lot(request: Request, lang: str | None = None, code: str = "", fmt: str = "csv") -> Response:
    t = _translator(request, lang)
    regulator, denied = _gate(request, t)
    if denied:
        return denied
    code = code.strip()
    service: TraceService = request.app.state.service
    try:
        check_lot_code(code)
        service.lot(code)
    except (InvalidEvent, NotFound):
        errors = [t("console.lots.unknown", code=code[:40])]
        return _exports(request, t, regulator, errors=errors, f={"code": code}, status=404)
    if fmt not in EXPORT_FORMATS:
        return _exports(
            request, t, regulator, errors=[t("console.exports.bad_format")], f={"code": code}, status=400
        )
    if fmt == "jsonld":
        # The whole trace (back and forward), like the spreadsheets; GET /lots/{code}/epcis is the
        # public journey (the lot and its ancestors only).
        document = service.epcis(
            service.trace_events(code),
            created=request_now(request),
            base=request.app.state.settings.vocabulary_base,
        )
        name = f"farmtrace-trace-{code.replace('/', '_')}.jsonld"
        return Response(
            json.dumps(document, ensure_ascii=False).encode(),
            media_type="application/ld+json",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    return RedirectResponse(_lot_export_url(code, fmt, t.lang), status_code=303)


# --- pieces of pages ------------------------------------------------------------------------------------


def _exports(
    request: Request, t: Translator, regulator: PartyState, *, errors, f, status: int = 200
) -> Response:
    today = request_today(request)
    presets = []
    for days in (7, 30, 90):
        start = today - timedelta(days=days - 1)
        presets.append(
            {
                "label": t("console.exports.last_days", n=days),
                "since": start.isoformat(),
                "until": today.isoformat(),
                "links": {fmt: _range_url(start, today, fmt, t.lang) for fmt in EXPORT_FORMATS},
            }
        )
    return _render(
        request,
        t,
        "console/exports.html",
        status=status,
        title=t("console.exports.title"),
        regulator=regulator,
        nav="exports",
        presets=presets,
        errors=errors,
        f={
            "since": f.get("since", (today - timedelta(days=89)).isoformat()),
            "until": f.get("until", today.isoformat()),
            "code": f.get("code", ""),
        },
    )


def _range_url(start: date, end: date, fmt: str, lang: str) -> str:
    since, until = cst_range(start, end)
    params = {"since": since.isoformat(), "until": until.isoformat(), "lang": lang}
    return f"/exports/events.{fmt}?{urlencode(params)}"


def _lot_export_url(code: str, fmt: str, lang: str) -> str:
    return f"/lots/{quote(code, safe='/')}/export.{fmt}?lang={lang}"


def _audit_view(run: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, Any] | None:
    if not run:
        return None
    failures = run.get("failures") or []
    return {
        **run,
        "started": _cst_text(run["started_at"]),
        "finished": _cst_text(run["finished_at"]) if run.get("finished_at") else None,
        "by": names.get(run["requested_by"], run["requested_by"]),
        "first_failure": failures[0] if failures else None,
        "more_failures": max(len(failures) - 1, 0),
        "percent": int(100 * run["done"] / run["total"]) if run.get("total") else 0,
    }


def _safe_party(service: TraceService, party_id: str) -> dict[str, Any] | None:
    try:
        return service.party(party_id)
    except NotFound:
        return None


# --- who is asking -------------------------------------------------------------------------------------------


def _party_or_none(request: Request) -> PartyState | None:
    token = request_token(request)
    if token is None:
        return None
    service: TraceService = request.app.state.service
    try:
        with service.engine.connect() as conn:
            return check_token(token, Repository(conn), origin=service.log.origin, now=service.clock())
    except Forbidden:
        return None


def _gate(request: Request, t: Translator) -> tuple[PartyState | None, Response | None]:
    """(the regulator, None), or (None, the 403 page saying why)."""
    token = request_token(request)
    party = _party_or_none(request)
    if party is not None and "regulator" in party.roles:
        return party, None
    if token is None:
        reason = t("console.forbidden.no_token")
    elif party is None:
        reason = t("console.forbidden.bad_token")
    else:
        reason = t("console.forbidden.not_regulator", party=party.id)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return None, _render(
        request,
        t,
        "console/forbidden.html",
        status=403,
        title=t("console.forbidden.title"),
        reason=reason,
        who=party,
        next=_next(path, t),
    )


def _next(path: str, t: Translator) -> str:
    """A same-site console path to return to after signing in (anything else: the console's home)."""
    if (
        path.startswith("/console")
        and not path.startswith("/console/signin")
        and "//" not in path
        and "\\" not in path
    ):
        return path
    return _url("/console", t)


# --- rendering -------------------------------------------------------------------------------------------------


def _translator(request: Request, lang: str | None) -> Translator:
    return Translator(negotiate(lang, request.headers.get("accept-language")))


def _url(path: str, t: Translator, **params: str) -> str:
    query = urlencode({**{k: v for k, v in params.items() if v}, "lang": t.lang})
    return f"{path}?{query}"


def _render(request: Request, t: Translator, template: str, *, status: int = 200, **context: Any) -> Response:
    other = LANGS[1 - LANGS.index(t.lang)]
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "done")]
    done = request.query_params.get("done")
    config = {
        "lang": t.lang,
        "messages": t.catalogue("console.js."),
        "signin": _url("/console/signin", t),
    }
    regulator = context.get("regulator")
    if regulator is not None:
        # Where the regulator's events happen: its registered name and address.
        record = request.app.state.service.party(regulator.id)
        config["regulator"] = regulator.id
        config["location"] = {"name": record["name_zh"], "address": record["address"]}
    context.setdefault("regulator", None)
    body = TEMPLATES.get_template(template).render(
        t=t,
        css=Markup(_CSS),  # our own file, pinned by hash in the CSP
        other_lang_url=f"{quote(request.url.path, safe='/')}?{urlencode([*query, ('lang', other)])}",
        other_lang_html=HTML_LANG[other],
        assets=_ASSET_URLS,
        url=lambda path, **params: _url(path, t, **params),
        flash=t(f"console.done.{done}") if done in DONE else None,
        config=config,
        nav=context.pop("nav", None),
        **context,
    )
    headers = {
        "Content-Language": t.html_lang,
        "Vary": "Accept-Language, Cookie",
        "Cache-Control": "no-store",  # regulator-only data: never kept by a shared cache or the browser
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=headers)


# --- words and numbers ------------------------------------------------------------------------------------


def _name(obj: Mapping[str, Any], t: Translator) -> str:
    zh, en = obj.get("name_zh") or "", obj.get("name_en")
    return en if t.lang == "en" and en else zh


def _other_name(obj: Mapping[str, Any], t: Translator) -> str | None:
    zh, en = obj.get("name_zh") or "", obj.get("name_en")
    other = zh if t.lang == "en" else en
    return other if other and other != _name(obj, t) else None


def _instructions(t: Translator, text: str) -> str:
    """A recall's instructions; the standard text, recorded in either language, in the reader's."""
    standard = MESSAGES["recall.standard_instructions"]
    return t("recall.standard_instructions") if text.strip() in standard else text


def _private(details: Mapping[str, str] | None, t: Translator) -> list[tuple[str, str]] | None:
    """The registration desk's contact details as (label in the reader's language, value) pairs."""
    if not details:
        return None
    return [
        (t(f"console.private.{k}") if t.has(f"console.private.{k}") else k, v) for k, v in details.items()
    ]


def _unit(t: Translator, unit: str) -> str:
    return t(f"unit.{unit}") if t.has(f"unit.{unit}") else unit


def _kind(t: Translator, kind: str) -> str:
    key = f"console.kind.{kind}"
    return t(key) if t.has(key) else kind


def _cst(moment: datetime) -> str:
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def _cst_text(text: str | None) -> str:
    """An ISO time as stored (UTC or with an offset) in China Standard Time, to the minute."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _cst(moment)


def _day(text: str, errors: list[str], t: Translator, name: str) -> date | None:
    """A YYYY-MM-DD form field (empty: None); a malformed one adds an error."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date()
    except ValueError:
        errors.append(t("console.filter.bad_date", field=t(f"console.filter.{name}"), value=text[:20]))
        return None


def _bad_date() -> date:
    raise ValueError("expected YYYY-MM-DD")
