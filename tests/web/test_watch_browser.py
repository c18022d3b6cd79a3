""" "Watch this product" in Chromium (web/watch.py, static/watch-hook.js, watch.js, push-sw.js).

Headless Chromium reaches no real push service offline, so `PushManager.prototype.subscribe` is
stubbed (an init script) to answer a subscription whose endpoint is a local fake push service and
whose keys are the test's own. The page registers the real push worker (/push-sw.js, scope /push/),
subscribes, POSTs /watch and says it is watching; the regulator then recalls the harvest the bag
was made from, and the fake push service receives the encrypted notice, which the test decrypts.
Stop watching deletes the watch. A browser without PushManager shows no button and fetches no
watch script; neither does any browser when Web Push is not configured.
"""

from __future__ import annotations

import json

import pytest

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.trace.store import push_watches as sql
from farmtrace.web.watch import watches_of

from ..api.test_watch import Browser, PushService
from ..trace.story import REGULATOR, story_one
from ..trace.test_replay import _entry, _genesis, record
from .browser_support import screenshot
from .consumer_support import free_port, live_server
from .test_label_scans import LOG_SIGNER

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BAG = "S-CAB-01-02"
HARVEST = "NX-CAB-001"

STUB = """
(() => {
  if (!("PushManager" in window)) return;
  const fake = %s;
  const made = () => ({
    endpoint: fake.endpoint, expirationTime: null, options: {userVisibleOnly: true},
    toJSON: () => fake, getKey: () => null,
    unsubscribe: () => { sessionStorage.removeItem("stub-push"); return Promise.resolve(true); },
  });
  // Kept across reloads, as the browser keeps a registration's subscription.
  PushManager.prototype.subscribe = function () {
    sessionStorage.setItem("stub-push", "1");
    return Promise.resolve(made());
  };
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(sessionStorage.getItem("stub-push") ? made() : null);
  };
})();
"""
NO_PUSH = "delete window.PushManager;"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("watch-browser")
    port = free_port()
    settings = Settings.from_env(
        {},
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        log_origin="test.local/labels",
        public_url=f"http://127.0.0.1:{port}",
        push_contact="mailto:recalls@example.org",
        webhook_private=True,  # the fake push service listens on loopback
    )
    app = create_app(settings)
    ledger = story_one(until="repack")
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in ledger.log)])
    push = PushService()
    with live_server(app, port) as base:
        yield base, app, ledger, push
    push.server.shutdown()
    app.state.log.close(close_store=True)


def _watches(app) -> list[sql.WatchRow]:
    engine = app.state.service.engine
    if not sql.has_watch_tables(engine):
        return []
    with engine.connect() as conn:
        return sql.watch_rows(conn)


def test_watch_a_bag_then_a_recall_of_its_harvest_is_pushed(served, phone):
    base, app, ledger, push = served
    browser = Browser(f"{push.origin}/wpush/chromium")
    page = phone("en-US")
    page.add_init_script(STUB % json.dumps(browser.subscription()))
    page.goto(f"{base}/l/{BAG}?lang=en")
    button = page.locator("#watch .watch-button")
    button.wait_for(state="visible")
    assert button.inner_text() == "Watch this product (notify me of a recall)"
    button.click()
    page.wait_for_selector("#watch .watch-state:has-text('Watching')")
    assert page.locator("#watch .watch-stop").is_visible() and not button.is_visible()
    screenshot(page, "watch-watching-en")
    (row,) = _watches(app)
    assert (row.lot, row.endpoint, row.lang) == (BAG, browser.endpoint, "en")
    registration = page.evaluate(
        "navigator.serviceWorker.getRegistration('/push/').then(r => r && [r.scope, r.active && r.active.scriptURL])"
    )
    assert registration == [f"{base}/push/", f"{base}/push-sw.js"]
    # The regulator recalls the harvest: the fake push service receives the bag's notice.
    ledger.record(
        "recall",
        REGULATOR,
        inputs=[ledger.inp(HARVEST, "500")],
        detail={"reason": "carbofuran", "instructions": "stop"},
    )
    record(app.state.service, [_entry(ledger.log[-1][0])])
    assert watches_of(app.state).run_once() == 1
    (message,) = push.wait_for(1)
    notice = browser.read(message["body"])
    assert notice["title"] == "Recall: Cabbage, 1 kg bag" and notice["url"].endswith(f"/l/{BAG}?lang=en")
    # A reload remembers it; stop watching deletes the watch.
    page.reload()
    page.locator("#watch .watch-stop").wait_for(state="visible")
    page.locator("#watch .watch-stop").click()
    page.wait_for_selector("#watch .watch-state:has-text('No longer watching')")
    assert _watches(app) == [] and page.errors == []


def test_no_button_without_a_push_manager(served, phone):
    base, _app, _ledger, _push = served
    page = phone("zh-CN")
    page.add_init_script(NO_PUSH)
    page.goto(f"{base}/l/{BAG}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    assert not page.locator("#watch").is_visible()
    fetched = [u.split("?")[0].rsplit("/", 1)[-1] for u in page.requested]
    assert "watch-hook.js" in fetched and "watch.js" not in fetched and page.errors == []
