""" "Watch this product" on the consumer page, over HTTP (web/watch.py): offered only when Web Push is
configured, in zh and en; the page stays within its budget (tests/web/test_pages.py) because only a
tiny hook is linked and watch.js is fetched lazily; the push worker is served."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from fastapi.testclient import TestClient

from farmtrace.trace.push_watch import PushWatches
from farmtrace.trace.web_push import VapidKey
from farmtrace.web import watch as web_watch

from .consumer_support import demo_app
from .test_pages import BAG


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The demo twice: without Web Push (as served by default), and with it."""
    plain, _ = demo_app(tmp_path_factory.mktemp("watch-plain"))
    pushing, _ = demo_app(tmp_path_factory.mktemp("watch-push"))
    state = pushing.state
    watches = PushWatches(
        state.service.engine,
        state.log,
        key=VapidKey.generate(),
        contact="mailto:recalls@example.org",
        public_url=state.settings.public_url,
        clock=state.clock,
        words=web_watch.notice_words,
    )
    web_watch.install(state, watches)
    with TestClient(plain) as a, TestClient(pushing) as b:
        yield a, b, watches


def _config(html: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/json" id="ft-config">(.*?)</script>', html).group(1)
    )


def test_the_hook_is_linked_only_with_web_push(sites):
    plain, pushing, watches = sites
    page = plain.get(f"/l/{BAG}").text
    assert "watch-hook.js" not in page and "watch" not in _config(page)
    zh = _config(pushing.get(f"/l/{BAG}").text)["watch"]
    assert zh["js"].startswith("/static/watch.js?v=") and zh["words"].startswith(
        "/static/watch-words-zh.js?v="
    )
    en = _config(pushing.get(f"/l/{BAG}?lang=en").text)["watch"]
    assert en["words"].startswith("/static/watch-words-en.js?v=")
    words = pushing.get(en["words"]).content.decode()
    assert "Watch this product (notify me of a recall)" in words and "Stop watching" in words
    words = pushing.get(zh["words"]).content.decode()
    assert (
        "关注此产品（召回时通知我）" in words and "不保存任何关于您的个人信息" in words and "已关注" in words
    )
    assert "watch.push.title" not in words  # the notification's words are the server's
    assert pushing.get("/push/key").json() == {"key": watches.public_key}


def test_the_page_stays_small_with_the_hook(sites):
    # The same budget as test_pages_are_small: watch.js is not among the page's scripts.
    _, pushing, _ = sites
    # The demo's page is at the edge of its budget (8,500 bytes gzipped) without Web Push; the hook's
    # script tag and its two URLs in the config add about 150 bytes, the button nothing (watch.js
    # builds it). Measured against the same page without Web Push, not against a fixed number.
    plain = sites[0].get(f"/l/{BAG}", headers={"accept-encoding": "gzip"})
    r = pushing.get(f"/l/{BAG}", headers={"accept-encoding": "gzip"})
    grown = len(gzip.compress(r.content, 6)) - len(gzip.compress(plain.content, 6))
    assert grown < 200, grown
    names = re.findall(r'<script src="/static/([a-z0-9-]+\.js)\?', r.text)
    assert "watch-hook.js" in names and "watch.js" not in names and "push-sw.js" not in names
    # The scripts' budget (40,500 bytes gzipped, also at its edge): the hook is all this page adds.
    hook = len(gzip.compress(pushing.get("/static/watch-hook.js").content, 9))
    assert hook < 350, hook


def test_the_push_worker_is_served(sites):
    _, pushing, _ = sites
    r = pushing.get("/push-sw.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert 'addEventListener("push"' in r.text and '"fetch"' not in r.text  # no fetch handler
    assert r.headers["cache-control"] == "no-cache"


def test_the_notice_is_worded_in_the_watchers_language(sites):
    from farmtrace.trace.push_watch import Notice

    notice = Notice("S-1", "包菜", "Cabbage", "农残超标", "H-1", "http://x/l/S-1")
    assert web_watch.notice_words("zh", notice) == (
        "召回：包菜",
        "包菜（批次 S-1）的来源批次 H-1 已被召回：农残超标",
    )
    same = Notice("H-1", "包菜", None, "农残超标", "H-1", "http://x/l/H-1")
    assert web_watch.notice_words("en", same) == (
        "Recall: 包菜",
        "包菜 (lot H-1) has been recalled: 农残超标",
    )
