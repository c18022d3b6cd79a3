"""The OpenAPI docs page, served with everything it needs from this server.

    GET /docs                    Swagger UI over /openapi.json
    GET /docs/assets/{name}      swagger-ui-bundle.js, swagger-ui.css, favicon.png; a year's cache
                                 when ?v= is the file's digest (the URLs /docs links)

FastAPI's own /docs loads Swagger UI from a CDN and /redoc loads ReDoc from another: blank pages on
a network without the internet, and against "no page loads anything from another server". The app
is built with `docs_url=None, redoc_url=None` and `install_docs(app)` adds the page above instead;
ReDoc is not served (one interactive reference is enough).

The assets are the ones the `fastapi-offline` package ships (Swagger UI 5, which reads the OpenAPI
3.1 documents FastAPI writes; the older `swagger-ui-bundle` package carries Swagger UI 4, which
cannot). They are read once, on first use, and kept gzipped. The page sends a
Content-Security-Policy that allows nothing from elsewhere: scripts from this origin plus
FastAPI's inline start-up script, pinned by its hash.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

__all__ = ["DOCS_ASSETS", "install_docs"]

# name -> media type: the files of fastapi_offline/static/ the page links.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
_PREFIX = "/docs/assets"
_YEAR = "public, max-age=31536000, immutable"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes | None  # None for files that do not shrink (PNG)
    media_type: str
    digest: str


@cache
def _asset(name: str) -> _Asset:
    """The packaged file `name` (one of DOCS_ASSETS), read once. Raises KeyError for any other name."""
    media_type = DOCS_ASSETS[name]
    body = files("fastapi_offline").joinpath("static", name).read_bytes()
    gzipped = gzip.compress(body, 9, mtime=0) if not media_type.startswith("image/") else None
    return _Asset(body, gzipped, media_type, hashlib.sha256(body).hexdigest()[:16])


def _url(root: str, name: str) -> str:
    return f"{root}{_PREFIX}/{name}?v={_asset(name).digest}"


def _policy(html: str) -> str:
    """The CSP of a docs page: this origin only, plus the page's inline scripts by hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {hashes}",
            # Swagger UI sets style attributes from its scripts (syntax highlighting, collapsing).
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",  # the OpenAPI document, and "Try it out"
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def install_docs(app: FastAPI) -> None:
    """Add GET /docs and its assets to `app`, which must be built with docs_url=None, redoc_url=None."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("build the app with docs_url=None and redoc_url=None: install_docs serves /docs")
    if app.openapi_url is None:
        raise ValueError("the app has no OpenAPI document to show (openapi_url is None)")
    openapi_url = app.openapi_url

    @app.get("/docs", include_in_schema=False)
    def docs_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} · API",
            swagger_js_url=_url(root, "swagger-ui-bundle.js"),
            swagger_css_url=_url(root, "swagger-ui.css"),
            swagger_favicon_url=_url(root, "favicon.png"),
            # The validator badge would fetch an image from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        html = bytes(page.body).decode()
        page.headers["Content-Security-Policy"] = _policy(html)
        page.headers["X-Content-Type-Options"] = "nosniff"
        page.headers["Referrer-Policy"] = "no-referrer"
        return page

    @app.get(_PREFIX + "/{name}", include_in_schema=False)
    def docs_asset(name: str, request: Request) -> Response:
        if name not in DOCS_ASSETS:
            return Response("not found\n", status_code=404, media_type="text/plain; charset=utf-8")
        asset = _asset(name)
        etag = f'"{asset.digest}"'
        headers = {
            "ETag": etag,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": _YEAR if request.query_params.get("v") == asset.digest else "no-cache",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
