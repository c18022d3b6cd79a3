""" "Watch this product" on the consumer page: its push worker, its words, and what the page is told.

    GET /push-sw.js    the push-only service worker (static/push-sw.js), registered with scope /push/

    install(state, watches)        the app's PushWatches (api/app.py, when FARMTRACE_PUSH_CONTACT is set)
    watches_of(state)              -> PushWatches | None
    page_config(state, t)          -> the consumer page's `watch` config, or None: no button
    notice_words(lang, notice)     -> (title, body) of a watcher's notification, from the catalogue

The worker's scope is /push/ (static/watch.js), where no page lives: it controls no page and has no fetch handler, so
it can never change how a page loads (the portal's offline worker keeps /portal/). Its one job is the
`push` event: show the notification; and on a click, open the lot's page. Served from the site's
root, without `Service-Worker-Allowed`, because a worker may take only scopes under its own path.
The button's script (static/watch.js) and its words (watch-words-{zh,en}.js) are loaded by
static/watch-hook.js only where the browser has service workers and PushManager: most browsers in
China lack a reachable push service, and they fetch nothing more than the hook.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import weakref

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.push_watch import Notice, PushWatches

from .assets import ASSETS, Asset, asset_url
from .i18n import LANGS, MESSAGES, Translator
from .state import AppState

__all__ = ["WORKER", "install", "notice_words", "page_config", "router", "watches_of"]

router = APIRouter(include_in_schema=False)

WORKER = "/push-sw.js"
_watches: weakref.WeakKeyDictionary[AppState, PushWatches] = weakref.WeakKeyDictionary()


def install(state: AppState, watches: PushWatches) -> None:
    """Make `watches` the app's (its page then offers the button)."""
    _watches[state] = watches


def watches_of(state: AppState) -> PushWatches | None:
    """The app's watches, or None when Web Push is not configured."""
    return _watches.get(state)


def page_config(state: AppState, t: Translator) -> dict[str, str] | None:
    """The consumer page's `watch` config: the URLs of static/watch.js and of its words in the page's
    language, which static/watch-hook.js loads where Web Push can work; None when Web Push is not
    configured (the page then links no hook). Everything else (the VAPID key from GET /push/key, the
    button, built by watch.js) costs the page nothing: it sits at the edge of its size budget."""
    if watches_of(state) is None:
        return None
    return {"js": asset_url("watch.js"), "words": asset_url(f"watch-words-{t.lang}.js")}


def _words() -> dict[str, Asset]:
    """watch-words-zh.js and watch-words-en.js: the button's words from the catalogue, one script per
    language (as web/assets.py makes words-*.js), cached for a year under their digest."""
    out = {}
    for column, lang in enumerate(LANGS):
        words = {
            k: v[column] for k, v in sorted(MESSAGES.items()) if k.startswith("watch.") and ".push." not in k
        }
        body = f"globalThis.FarmtraceWatchWords = {json.dumps(words, ensure_ascii=False)};\n".encode()
        digest = hashlib.sha256(body).hexdigest()[:16]
        out[f"watch-words-{lang}.js"] = Asset(
            body, gzip.compress(body, 9, mtime=0), ASSETS["watch.js"].media_type, digest
        )
    return out


# Served by GET /static/{name} like every asset (web/consumer.py reads ASSETS per request).
ASSETS.update(_words())


def notice_words(lang: str, notice: Notice) -> tuple[str, str]:
    """The notification's title and body in the watcher's page language."""
    t = Translator(lang)
    product = notice.product_en if lang == "en" and notice.product_en else notice.product_zh
    title = t("watch.push.title", product=product)
    if notice.recalled_lot == notice.lot:
        body = t("watch.push.body", product=product, lot=notice.lot, reason=notice.reason)
    else:
        body = t(
            "watch.push.body_from",
            product=product,
            lot=notice.lot,
            recalled=notice.recalled_lot,
            reason=notice.reason,
        )
    return title, body


@router.get(WORKER)
def push_worker(request: Request) -> Response:
    """The push-only service worker. Not cached long: a browser checks a worker for updates anyway."""
    asset = ASSETS["push-sw.js"]
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
