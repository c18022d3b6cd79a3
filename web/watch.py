""" "Watch this product" on the consumer page: its push worker, its words, and what the page is told.

    GET /push-sw.js    the push-only service worker (static/push-sw.js), registered with scope /push/

    install(state, watches)        the app's PushWatches (api/app.py, when FARMTRACE_PUSH_CONTACT is set)
    watches_of(state)              -> PushWatches | None
    page_config(state, t)          -> the consumer page's `watch` config, or None: no button
    notice_words(lang, notice)     -> (title, body) of a watcher's notification, from the catalogue

The worker's scope is /push/, where no page lives: it controls no page and has no fetch handler, so
it can never change how a page loads (the portal's offline worker keeps /portal/). Its one job is the
`push` event: show the notification; and on a click, open the lot's page. Served from the site's
root, without `Service-Worker-Allowed`, because a worker may take only scopes under its own path.
The button's script (static/watch.js) is loaded by static/watch-hook.js only where the browser has
service workers and PushManager: most browsers in China lack a reachable push service, and they
fetch nothing more than the hook.
"""

from __future__ import annotations

import weakref
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from farmtrace.trace.push_watch import Notice, PushWatches

from .assets import ASSETS, asset_url
from .i18n import Translator
from .state import AppState

__all__ = ["WORKER", "install", "notice_words", "page_config", "router", "watches_of"]

router = APIRouter(include_in_schema=False)

WORKER = "/push-sw.js"
SCOPE = "/push/"
_watches: weakref.WeakKeyDictionary[AppState, PushWatches] = weakref.WeakKeyDictionary()


def install(state: AppState, watches: PushWatches) -> None:
    """Make `watches` the app's (its page then offers the button)."""
    _watches[state] = watches


def watches_of(state: AppState) -> PushWatches | None:
    """The app's watches, or None when Web Push is not configured."""
    return _watches.get(state)


def page_config(state: AppState, t: Translator) -> dict[str, Any] | None:
    """What static/watch.js needs: the VAPID key, the worker, the script and its words; None when
    Web Push is not configured (the page then shows no button and loads nothing for it)."""
    watches = watches_of(state)
    if watches is None:
        return None
    return {
        "key": watches.public_key,
        "worker": WORKER,
        "scope": SCOPE,
        "script": asset_url("watch.js"),
        "messages": {k: v for k, v in t.catalogue("watch.").items() if not k.startswith("watch.push.")},
    }


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
