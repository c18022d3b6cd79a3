"""The URIs farmtrace's documents name, served so that they resolve.

    GET /ns                          the EPCIS extension vocabulary: its terms (`{base}/ns#term`)
    GET /ns/epcis-context.jsonld     the JSON-LD context of those terms (trace/epcis.py)
    GET /problems/{slug}             what a problem type means (api/errors.py `PROBLEM_TYPES`)

`base` is the vocabulary base URI (FARMTRACE_VOCAB_BASE, by default the public URL). The vocabulary
and problem pages answer a browser (Accept: text/html) with one page in Chinese and English, and
anything else with JSON; the context is always JSON-LD.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from farmtrace.trace.epcis import EXTENSIONS, context_document, context_url, namespace
from farmtrace.trace.errors import NotFound

from ..errors import problem_type, problem_type_uri
from ..schemas import problems

router = APIRouter(tags=["vocabulary"])

_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
_PAGE_OR_JSON = {
    200: {
        "description": "a page (Accept: text/html) or JSON",
        "content": {"text/html": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}},
    }
}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _page(title: str, sections: list[str]) -> HTMLResponse:
    body = "\n".join(sections)
    text = (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body>\n{body}\n</body></html>\n"
    )
    return HTMLResponse(text, headers={"Content-Security-Policy": _CSP})


def _base(request: Request) -> str:
    return request.app.state.settings.vocabulary_base


@router.get("/ns", responses=_PAGE_OR_JSON, response_class=Response)
def vocabulary(request: Request) -> Response:
    """The `farmtrace:` EPCIS extension terms, each `{base}/ns#{term}`, with what it holds."""
    ns = namespace(_base(request))
    if not _wants_html(request):
        terms = {name: {"@id": ns + name, "en": en, "zh": zh} for name, (en, zh) in EXTENSIONS.items()}
        return JSONResponse({"namespace": ns, "context": context_url(_base(request)), "terms": terms})
    rows = {
        lang: "".join(
            f'<dt id="{escape(name)}"><code>farmtrace:{escape(name)}</code></dt><dd>{escape(text[i])}</dd>'
            for name, text in EXTENSIONS.items()
        )
        for i, lang in enumerate(("en", "zh"))
    }
    link = escape(context_url(_base(request)))
    return _page(
        "farmtrace EPCIS 扩展词汇 · extension vocabulary",
        [
            '<section lang="zh-CN"><h1>farmtrace EPCIS 扩展词汇</h1>'
            f"<p>命名空间 <code>{escape(ns)}</code>；JSON-LD 上下文：<a href=\"{link}\">{link}</a></p>"
            f"<dl>{rows['zh']}</dl></section>",
            '<section lang="en"><h1>farmtrace EPCIS extension vocabulary</h1>'
            f"<p>Namespace <code>{escape(ns)}</code>; JSON-LD context: <a href=\"{link}\">{link}</a></p>"
            f"<dl>{rows['en']}</dl></section>",
        ],
    )


@router.get(
    "/ns/epcis-context.jsonld",
    response_class=JSONResponse,
    responses={200: {"content": {"application/ld+json": {"schema": {"type": "object"}}}}},
)
def epcis_context(request: Request) -> JSONResponse:
    """The JSON-LD 1.1 context every EPCIS document of this service names beside GS1's."""
    return JSONResponse(
        context_document(_base(request)),
        media_type="application/ld+json",
        headers={"Access-Control-Allow-Origin": "*"},  # JSON-LD processors in browsers fetch it
    )


@router.get("/problems/{slug}", responses={**_PAGE_OR_JSON, **problems(404)}, response_class=Response)
def problem_description(
    slug: Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$")], request: Request
) -> Response:
    """What problem type `slug` means, in Chinese and English."""
    kind = problem_type(slug)
    if kind is None:
        raise NotFound("problem type", slug)
    uri = problem_type_uri(slug)
    if not _wants_html(request):
        body: dict[str, Any] = {
            "type": uri,
            "status": kind.status,
            "title": kind.title,
            "title_zh": kind.title_zh,
            "description": kind.about,
            "description_zh": kind.about_zh,
        }
        return JSONResponse(body)
    return _page(
        f"{kind.title_zh} · {kind.title}",
        [
            f'<section lang="zh-CN"><h1>{escape(kind.title_zh)}</h1><p>HTTP {kind.status}</p>'
            f"<p>{escape(kind.about_zh)}</p></section>",
            f'<section lang="en"><h1>{escape(kind.title)}</h1><p>HTTP {kind.status}</p>'
            f"<p>{escape(kind.about)}</p><p><code>{escape(uri)}</code></p></section>",
        ],
    )
