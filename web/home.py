"""The public home page, in Simplified Chinese (default) or English: what `scripts/start` opens.

    GET /                  what the platform is and why it can be trusted, a lot-code search form,
                           recent recalls, public prices by stage, the ledger's size and checkpoint,
                           and links to the portal, the console and the API docs
    GET /search?lot=CODE   the search form's target:
                             the lot exists            303 to its consumer page, /l/CODE
                             no such lot               404 page saying so, with the form again
                             not a lot code (or none)  400 page with the reason, with the form again

Every page takes ?lang=zh|en (the visible switch links to it), which overrides Accept-Language.
Nothing is loaded from another server and no script runs: the page is HTML, the shared page.css
inlined (pinned by hash in the Content-Security-Policy, as on the consumer page) and this origin's
home.css; the price chart is inline SVG drawn on the server (web/chart.py).

Recalls are read on every request (a recall must show at once) from the signed recall events,
through `TraceService.recent_recalls`. Prices are a summary of `TraceService.prices` over the last
PRICE_DAYS days, kept per service for PRICE_TTL seconds: a city's ledger records many priced
events a day and the home page is the most visited one; two minutes' staleness costs no one.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from farmtrace.trace.errors import InvalidEvent, NotFound
from farmtrace.trace.model.ids import check_lot_code
from farmtrace.trace.reads.reports import PriceRow
from farmtrace.trace.service import RecallNotice, TraceService

from .assets import asset_url, content_security_policy
from .chart import STAGES, Series, format_chart, price_series
from .deps import ServiceDep
from .i18n import Translator
from .render import Surface, names, translator, unit_name
from .render import render as render_page

__all__ = ["MAX_PRICED_PRODUCTS", "PRICE_DAYS", "PRICE_TTL", "RECALL_DAYS", "router"]

router = APIRouter(include_in_schema=False)

_log = logging.getLogger(__name__)

RECALL_DAYS = 90  # recalls older than this are history, not news
MAX_RECALLS = 5
PRICE_DAYS = 30
PRICE_TTL = 120.0  # seconds a price summary is reused
MAX_PRICED_PRODUCTS = 4
MAX_LOT_CODE = 20  # trace/model/ids.py: 1 to 20 characters of A-Z a-z 0-9 - . _ /
_LOT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._/")

_HOME_CSS = asset_url("home.css")
SURFACE = Surface(
    csp=content_security_policy(linked_styles=True),
    cache_control="no-cache",  # a recall must show at once
    vary="Accept-Language",
)


# --- routes -----------------------------------------------------------------------------------------


@router.get("/")
def home_page(request: Request, service: ServiceDep, lang: str | None = None) -> Response:
    t = translator(request, lang)
    now = service.clock()
    recalls = [
        _recall_view(r, t)
        for r in service.recent_recalls(limit=MAX_RECALLS, since=now - timedelta(days=RECALL_DAYS))
    ]
    prices = _price_summary(service)
    return _render(
        request,
        t,
        "home.html",
        recalls=recalls,
        recall_days=RECALL_DAYS,
        prices=[_product_view(p, t) for p in prices],
        chart=_chart(prices, t),
        price_days=PRICE_DAYS,
        ledger_size=_ledger_size(service),
        log_key=service.log.verifier.key_string(),
        search=None,
        code="",
    )


@router.get("/search")
def search(request: Request, service: ServiceDep, lot: str = "", lang: str | None = None) -> Response:
    """Find a lot by its code: 303 to its page, or a 404 / 400 page in the reader's language."""
    t = translator(request, lang)
    code = lot.strip()  # pasted codes often carry a space at either end
    problem = _lot_code_problem(code, t)
    if problem is not None:
        return _search_page(
            request, t, status=400, title=t("home.search.bad_title"), message=problem, code=code
        )
    try:
        service.lot_summary(code)
    except NotFound:
        return _search_page(
            request,
            t,
            status=404,
            title=t("home.search.notfound_title"),
            message=t("home.search.notfound", code=code),
            code=code,
        )
    return RedirectResponse(f"/l/{quote(code, safe='')}?lang={t.lang}", status_code=303)


# --- the search's answers ------------------------------------------------------------------------------


def _lot_code_problem(code: str, t: Translator) -> str | None:
    """None if `code` is a lot code (trace/model/ids.py decides), else why not, in `t`'s language."""
    try:
        check_lot_code(code)
        return None
    except InvalidEvent:
        pass
    if not code:
        return t("home.search.empty")
    if len(code) > MAX_LOT_CODE:
        return t("home.search.too_long", n=len(code))
    bad: list[str] = []
    for ch in code:
        shown = t("home.search.space") if ch.isspace() else ch
        if ch not in _LOT_CHARS and shown not in bad:
            bad.append(shown)
    return t("home.search.bad_chars", chars=" ".join(bad))


def _search_page(
    request: Request, t: Translator, *, status: int, title: str, message: str, code: str
) -> Response:
    # The same template, showing only the answer and the form: the code is echoed back for
    # correcting, cut to what a person can read in the box.
    return _render(
        request, t, "home.html", status=status, search={"title": title, "message": message}, code=code[:60]
    )


# --- recalls, prices, ledger ------------------------------------------------------------------------


def _recall_view(r: RecallNotice, t: Translator) -> dict[str, Any]:
    name, other = names(r.product, t)
    return {
        "lot": r.lot,
        "url": f"/l/{quote(r.lot, safe='')}?lang={t.lang}",
        "product": name or r.lot,
        "product_other": other,
        "reason": r.reason,
        "instructions": r.instructions,
        "date": r.event_time[:10],
        "when": t(
            "home.recalls.when",
            date=r.event_time[:10],
            regulator=names(r.regulator_names, t)[0] or r.regulator,
        ),
    }


@dataclass(frozen=True)
class _Priced:
    """One product's prices over the window: its name, the charted series, its latest day."""

    product: str
    series: Series
    latest: str  # ISO day


_price_cache: weakref.WeakKeyDictionary[TraceService, tuple[float, list[_Priced]]] = (
    weakref.WeakKeyDictionary()
)


def _price_summary(service: TraceService) -> list[_Priced]:
    """Up to MAX_PRICED_PRODUCTS products, most recently priced first (then most prices), each with
    its series over the last PRICE_DAYS days; reused for PRICE_TTL seconds (see the module doc)."""
    cached = _price_cache.get(service)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    rows = service.prices(since=service.clock() - timedelta(days=PRICE_DAYS))
    by_product: dict[str, list[PriceRow]] = {}
    for row in rows:
        if row.product:
            by_product.setdefault(row.product, []).append(row)
    found = []
    for product, product_rows in by_product.items():
        series = price_series(product_rows)
        if series.empty:
            continue
        latest = max(p.day for points in series.stages.values() for p in points).isoformat()
        count = sum(p.count for points in series.stages.values() for p in points)
        found.append((latest, count, product, series))
    found.sort(key=lambda x: (x[0], x[1], x[2]), reverse=True)
    summary = [_Priced(product, series, latest) for latest, _, product, series in found[:MAX_PRICED_PRODUCTS]]
    _price_cache[service] = (time.monotonic() + PRICE_TTL, summary)
    return summary


def _product_view(p: _Priced, t: Translator) -> dict[str, Any]:
    """The product's latest price at each stage (None where the window has none), per kg or unit."""
    unit = unit_name(p.series.unit, t)
    stages = {}
    for stage in STAGES:
        points = p.series.stages.get(stage)
        if points:
            last = points[-1]
            stages[stage] = {
                "price": t("price.amount", amount=last.mean, unit=unit),
                "day": last.day.isoformat(),
            }
        else:
            stages[stage] = None
    return {"product": p.product, "latest": p.latest, "stages": stages}


def _chart(prices: list[_Priced], t: Translator) -> dict[str, Any] | None:
    """{"title", "svg"}: the chart of the shown product with prices on the most days (the first
    such), or None when none has prices on two days or more: one day's points make no trend."""
    days = [len({p.day for points in x.series.stages.values() for p in points}) for x in prices]
    if not days or max(days) < 2:
        return None
    p = prices[days.index(max(days))]
    title = t("home.prices.chart_title", product=p.product)
    svg = format_chart(
        p.series,
        labels={
            **{s: t(f"price.{s}") for s in STAGES},
            "x_axis": t("home.prices.x_axis"),
            "y_axis": t("home.prices.y_axis", unit=unit_name(p.series.unit, t)),
        },
        title=title,
    )
    return {"title": title, "svg": svg}


def _ledger_size(service: TraceService) -> int | None:
    """The size of the latest signed checkpoint, or None when the log has none yet (or it is unreadable)."""
    try:
        return service.log.size
    except Exception:  # the home page must still render; the console's health page names the fault
        _log.exception("the latest checkpoint cannot be read")
        return None


def _render(request: Request, t: Translator, template: str, *, status: int = 200, **context: Any) -> Response:
    return render_page(request, t, template, surface=SURFACE, status=status, home_css=_HOME_CSS, **context)
