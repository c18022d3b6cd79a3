"""Rendering a page, once for every page family (consumer, home, portal, console).

    translator(request, lang)         the reader's language: ?lang= first, then Accept-Language
    url(path, t, **params)            a same-site link that keeps the page's language
    other_lang_url(request, t, ...)   this page in the other language (the visible switch)
    render(request, t, template, surface=..., status=..., **context)   the page as a Response
    cst_text(text) / cst_minute(moment)   a stored time as China Standard Time, to the minute
    names(obj, t) / name(obj, t)      a product's or party's name in the page's language
    unit_name(unit, t)                a unit in the page's language
    instructions(text, t)             a recall's instructions: the standard text in the page's language

A `Surface` is how one page family is served: its Content-Security-Policy, its caching, which query
parameters its language switch keeps. Every page inlines the shared PAGE_CSS (pinned by hash in the
CSP); templates receive `t`, `css`, `other_lang_url` and `other_lang_html` besides their own context.
Arguments are always (value, translator): `url(path, t)`, `name(obj, t)`, `unit_name(unit, t)`.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from farmtrace.trace.clock import CST

from .assets import PAGE_CSS
from .i18n import HTML_LANG, LANGS, MESSAGES, Translator, negotiate
from .templating import TEMPLATES

__all__ = [
    "Surface",
    "cst_minute",
    "cst_text",
    "instructions",
    "name",
    "names",
    "other_lang_url",
    "render",
    "translator",
    "unit_name",
    "url",
]

_GZIP_MIN = 1024
STARTED = "farmtrace.started"  # request.scope key: when the route began (for Server-Timing)


@dataclass(frozen=True)
class Surface:
    """How one family of pages is served.

    `keep_query`: the language switch keeps the page's other query parameters (but those in `drop`);
    otherwise it links the bare path. `compress`: the page gzips itself when the client accepts it
    (the consumer page, opened by a QR scan on a weak network, also says its time in Server-Timing).
    """

    csp: str
    cache_control: str
    vary: str
    keep_query: bool = True
    drop: tuple[str, ...] = ("lang",)
    compress: bool = False


def translator(request: Request, lang: str | None) -> Translator:
    """The reader's language: `lang` (?lang=zh|en) if given, else the request's Accept-Language."""
    return Translator(negotiate(lang, request.headers.get("accept-language")))


def url(path: str, t: Translator, **params: Any) -> str:
    """`path` with `params` (those that are None or empty left out) and the page's language."""
    query = {k: v for k, v in params.items() if v is not None and v != ""}
    query["lang"] = t.lang
    return f"{path}?{urlencode(query)}"


def other_lang_url(request: Request, t: Translator, *, keep_query: bool = True, drop: Iterable[str] = ("lang",)) -> str:
    """This page's URL in the other language."""
    other = LANGS[1 - LANGS.index(t.lang)]
    dropped = set(drop) | {"lang"}
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in dropped] if keep_query else []
    return f"{quote(request.url.path)}?{urlencode([*query, ('lang', other)])}"


def render(
    request: Request, t: Translator, template: str, *, surface: Surface, status: int = 200, **context: Any
) -> Response:
    """The template rendered in `t`'s language as an HTML response served as `surface` says."""
    other = LANGS[1 - LANGS.index(t.lang)]
    body = TEMPLATES.get_template(template).render(
        t=t,
        css=Markup(PAGE_CSS),  # our own file, pinned by hash in the CSP
        other_lang_url=other_lang_url(request, t, keep_query=surface.keep_query, drop=surface.drop),
        other_lang_html=HTML_LANG[other],
        **context,
    )
    headers = {
        "Content-Language": t.html_lang,
        "Vary": surface.vary,
        "Cache-Control": surface.cache_control,
        "Content-Security-Policy": surface.csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    data = body.encode()
    if surface.compress:
        if len(data) >= _GZIP_MIN and "gzip" in request.headers.get("accept-encoding", "").lower():
            data = gzip.compress(data, 6)
            headers["Content-Encoding"] = "gzip"
        started = request.scope.get(STARTED)
        if started is not None:  # the route's own time, for browsers' dev tools and bench/page_bench.py
            headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return Response(data, status_code=status, media_type="text/html; charset=utf-8", headers=headers)


# --- times -------------------------------------------------------------------------------------------


def cst_minute(moment: datetime) -> str:
    """An aware time in China Standard Time, to the minute: "2026-11-20 08:30"."""
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def cst_text(text: str | None) -> str:
    """An ISO time as stored (UTC or with an offset; naive taken as UTC) in CST to the minute;
    "" for none, and text that is not an ISO time as it is."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return cst_minute(moment)


# --- words -------------------------------------------------------------------------------------------


def names(obj: Mapping[str, Any], t: Translator) -> tuple[str, str | None]:
    """(name in the page's language, the other language's name or None) of a product or party:
    the English name in English when registered with one, else the Chinese."""
    zh, en = obj.get("name_zh") or "", obj.get("name_en")
    if t.lang == "en" and en:
        return en, zh if zh != en else None
    return zh, en if en and en != zh else None


def name(obj: Mapping[str, Any], t: Translator) -> str:
    """The name of a product or party in the page's language (see `names`)."""
    return names(obj, t)[0]


def unit_name(unit: str, t: Translator) -> str:
    """A unit code ("kg", "box") in the page's language; an unknown code as it is."""
    return t(f"unit.{unit}") if t.has(f"unit.{unit}") else unit


def instructions(text: str, t: Translator) -> str:
    """A recall's instructions; the standard text, recorded in either language, in the page's."""
    standard = MESSAGES["recall.standard_instructions"]
    return t("recall.standard_instructions") if text.strip() in standard else text
