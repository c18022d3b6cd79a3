"""The portal offline, in Chromium (issue 19 §2): a smallholder records on a weak rural network.

With the network cut (Playwright's `context.set_offline`), a phone that visited the portal once
opens its pages from the service worker's cache (saying so, with the time), records three events
(two harvests, and a certificate for the first of them, which follows the queued harvest on its lot),
keeps them through a reload, and when the network returns sends them: each lands exactly once,
checked on the server's own ledger and database. A lost answer (the request reached the server, the
answer never came back) is sent again and recorded once. A refusal stays visible in the outbox
with the server's reason, in Chinese and English, and is not sent again by itself.

The queue's policy (backoff, what is retried) is unit-tested in Node: tests/web/test_js_queue.py.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from farmtrace.web.i18n import LANGS, MESSAGES
from farmtrace.web.portal import offline

from .consumer_support import close_app, demo_app, free_port, live_server
from .portal_support import new_phone, open_form, shot, sign_in_with_key_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("offline")
    port = free_port()
    app, result = demo_app(tmp, port=port)
    with live_server(app, port) as base:
        yield base, app, tmp / "keys", result["parties"]
    close_app(app)


def _text(key: str, lang: str, **params) -> str:
    text = MESSAGES[key][LANGS.index(lang)]
    return text.format(**params) if params else text


def _ledger_size(base: str) -> int:
    return int(httpx.get(f"{base}/ledger/checkpoint", timeout=30).text.splitlines()[1])


def _events_since(base: str, start: int) -> list[dict]:
    """The events the ledger recorded from index `start` on, read from the log's own entries (the log
    holds other entries too: the index keeper's "farmtrace/index/v1")."""
    events = []
    while start is not None:
        page = httpx.get(f"{base}/ledger/entries", params={"start": start}, timeout=30).json()
        for e in page["entries"]:
            head, _, rest = base64.b64decode(e["entry"]).partition(b"\n")
            if head == b"farmtrace/entry/v1":  # canonical event, signature, each on its line
                events.append(json.loads(rest.rsplit(b"\n", 2)[0]))
        start = page["next"]
    return events


def _lots_of(events: list[dict]) -> list[tuple[str, list[str]]]:
    return [(e["kind"], [r["lot"] for r in e["inputs"] + e["outputs"]]) for e in events]


def _wait(predicate, *, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _controlled(page) -> None:
    """Wait until the portal's service worker is active and controls the page. A page that was still
    loading when the worker activated may escape its clients.claim() (Chromium): it is reloaded, as
    the next page a person opens would be controlled anyway."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def _saved(page, path: str) -> bool:
    """Whether the worker's page cache holds `path` (with its query)."""
    return page.evaluate(
        """async (path) => {
        for (const name of await caches.keys()) {
            if (!name.includes("-pages-")) continue;
            if (await (await caches.open(name)).match(path)) return true;
        }
        return false;
    }""",
        path,
    )


def _outbox_counts(page) -> dict[str, int]:
    return page.evaluate(
        """() => Object.fromEntries(["waiting", "refused", "recorded"].map((s) =>
            [s, document.querySelectorAll(`[data-state-list=${s}] li[data-id]`).length]))"""
    )


def _harvest(page, lot: str, product: str, quantity: str) -> None:
    page.fill("#f-product_name_zh", product)
    page.fill("#f-quantity", quantity)
    page.fill("#f-lot", lot)
    page.fill("#f-origin_name", "金洲镇 5 号地")
    page.locator("#event-form button[type=submit]").click()
    page.locator(".form-ok[data-queued]").wait_for()


def test_three_events_recorded_offline_land_once_when_the_network_returns(demo, browser):
    base, app, keys, _ = demo
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key")
        _controlled(page)
        # Visited once online: the forms are saved (the one opened, and the menu the page warms).
        open_form(page, base, "harvest")
        open_form(page, base, "certify")
        # Saved too: a page of the menu never opened (the page asks the worker to fetch its menu).
        _wait(
            lambda: all(_saved(page, f"/portal/{p}?lang=zh") for p in ("harvest", "certify", "ship")),
            what="saved",
        )
        size = _ledger_size(base)

        ctx.set_offline(True)
        page.goto(f"{base}/portal/harvest?lang=zh")
        note = page.locator(".offline-note").first
        assert note.inner_text().startswith("离线：这是本机")  # from the cache, with the time it was saved
        lots = ["H-OFF-0001", "H-OFF-0002"]
        _harvest(page, lots[0], "宁乡辣椒", "12.5")
        assert page.locator(".form-ok[data-queued] h2").inner_text() == _text(
            "portal.offline.queued_title", "zh"
        )
        shot(page, "offline-harvest-queued-zh")
        page.locator(".form-ok a", has_text=_text("portal.ok.another", "zh")).click()
        page.wait_for_selector("html[data-portal-ready]", state="attached")
        _harvest(page, lots[1], "宁乡茄子", "8")

        # A certificate for the first harvest: its lot is offered though the server has not seen it,
        # and the event follows the queued harvest.
        page.goto(f"{base}/portal/certify?lang=zh")
        page.wait_for_selector("html[data-portal-ready]", state="attached")
        page.wait_for_selector(f"#f-lot option[value={lots[0]}][data-local]", state="attached")
        page.select_option("#f-lot", lots[0])
        page.fill("#f-contact", "13800000000")
        for box in page.locator("input[name=commitments]").all():
            box.check()
        page.locator("#event-form button[type=submit]").click()
        page.locator(".form-ok[data-queued]").wait_for()

        # A page never saved opens the outbox, saying so.
        page.goto(f"{base}/portal/labels/{lots[0]}?lang=zh")
        assert page.locator(".offline-note").first.inner_text() == _text("portal.offline.miss", "zh")
        page.wait_for_selector("#outbox[data-state=ready]")

        # Reloaded offline: still there, still waiting.
        page.goto(f"{base}/portal/certify?lang=zh")
        page.reload()
        page.wait_for_selector("#outbox-bar:not([hidden])")
        assert page.locator("#outbox-bar").get_attribute("data-waiting") == "3"
        page.goto(f"{base}/portal/outbox?lang=en")
        page.wait_for_selector("#outbox[data-state=ready]")
        assert _outbox_counts(page) == {"waiting": 3, "refused": 0, "recorded": 0}
        shot(page, "offline-outbox-waiting-en")
        assert _events_since(base, size) == []  # nothing reached the server

        ctx.set_offline(False)  # the "online" event sends the queue at once
        page.wait_for_function(
            "() => document.querySelectorAll('[data-state-list=recorded] li[data-id]').length === 3",
            timeout=45_000,  # a first try as the network comes back may still fail: one backoff more
        )
        assert _outbox_counts(page) == {"waiting": 0, "refused": 0, "recorded": 3}
        shot(page, "offline-outbox-recorded-en")
        receipts = page.locator("[data-state-list=recorded] .receipt").all_inner_texts()
        assert all(r.startswith("Ledger entry ") for r in receipts)

        # The server: three events more, each once, in the order they were signed.
        assert _lots_of(_events_since(base, size)) == [
            ("harvest", [lots[0]]),
            ("harvest", [lots[1]]),
            ("certify", [lots[0]]),
        ]
        service = app.state.service
        for lot in lots:
            kinds = [e.kind for e, _, _ in service.trace_events(lot)]
            assert kinds.count("harvest") == 1, kinds
        assert [e.kind for e, _, _ in service.trace_events(lots[0])] == ["harvest", "certify"]
        ids = page.evaluate(
            "() => Array.from(document.querySelectorAll('[data-state-list=recorded] li'), (li) => li.dataset.id)"
        )
        indexes = sorted(service.signed_event(i)[1] for i in ids)
        assert len(set(indexes)) == 3 and min(indexes) >= size
        assert page.errors == []  # no script error, no CSP violation
    finally:
        ctx.close()


def test_a_lost_answer_is_sent_again_and_recorded_once(demo, browser):
    """The request reaches the server, its answer is lost: the phone sends it again, once recorded.

    Page routes do not see requests a service worker handles, so this phone runs without one: the
    queue is the page's own (the worker only adds its cache and Background Sync)."""
    base, app, keys, _ = demo
    ctx = browser.new_context(service_workers="block", locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key")
        size = _ledger_size(base)
        lost = []

        def lose_answer(route):
            response = route.fetch()  # the server records it ...
            lost.append(response.status)
            route.abort("connectionreset")  # ... and the phone never hears back

        page.route("**/events", lose_answer)
        open_form(page, base, "harvest")
        _harvest(page, "H-LOST-0001", "宁乡白菜", "3")
        assert lost == [201]
        assert _lots_of(_events_since(base, size)) == [
            ("harvest", ["H-LOST-0001"])
        ]  # the phone thinks it waits
        page.unroute("**/events")

        page.goto(f"{base}/portal/outbox?lang=zh")
        page.wait_for_selector("#outbox[data-state=ready]")
        page.locator("[data-action=send-now]").click()
        page.wait_for_selector("[data-state-list=recorded] li[data-id]")
        receipt = page.locator("[data-state-list=recorded] .receipt").first.inner_text()
        assert _text("portal.offline.duplicate", "zh") in receipt
        assert _lots_of(_events_since(base, size)) == [("harvest", ["H-LOST-0001"])]  # once
        assert [e.kind for e, _, _ in app.state.service.trace_events("H-LOST-0001")] == ["harvest"]
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refusal_stays_in_the_outbox_with_the_servers_reason(demo, browser, lang):
    """A harvest queued offline whose lot code is taken by the time it is sent: refused for good."""
    base, _, keys, _ = demo
    ctx = browser.new_context(service_workers="block", locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key", lang=lang)
        open_form(page, base, "harvest", lang=lang)
        ctx.set_offline(True)
        _harvest(page, "NX-BC-1120", "宁乡包菜", "5")  # the demo's lot: the server will refuse it
        ctx.set_offline(False)
        page.goto(f"{base}/portal/outbox?lang={lang}")
        page.wait_for_selector("[data-state-list=refused] li[data-id]")
        item = page.locator("[data-state-list=refused] li[data-id]").first
        assert item.locator(".error-text").inner_text() == _text("portal.rule.lot_exists", lang)
        assert "lot_exists" in item.locator(".error-detail").inner_text()  # the server's own detail
        shot(page, f"offline-outbox-refused-{lang}")
        # Not sent again by itself: a round later, still refused, still one.
        page.evaluate("() => FarmtracePortal.flushQueue(true)")
        assert _outbox_counts(page) == {"waiting": 0, "refused": 1, "recorded": 0}
    finally:
        ctx.close()


def test_a_new_worker_replaces_the_old_caches_and_keeps_the_saved_pages(demo, browser, monkeypatch):
    """A new build (another VERSION) installs, deletes the old build's caches, and has saved again
    the pages the old one held, so the portal still opens offline after an update."""
    base, _, keys, _ = demo
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key")
        _controlled(page)
        open_form(page, base, "harvest")
        _wait(lambda: _saved(page, "/portal/harvest?lang=zh"), what="the form saved")
        old = page.evaluate("() => caches.keys()")
        assert len(old) == 2 and all(n.startswith("farmtrace-portal-") for n in old)

        script = offline.worker_script()
        monkeypatch.setattr(
            offline, "worker_script", lambda: script.replace(b'VERSION = "', b'VERSION = "b2', 1)
        )
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration('/portal')).update()")
        _wait(
            lambda: all("-b2" in n for n in page.evaluate("() => caches.keys()")), what="old caches deleted"
        )
        new = page.evaluate("() => caches.keys()")
        assert sorted(new) == sorted(
            n.replace("-files-", "-files-b2").replace("-pages-", "-pages-b2") for n in old
        )
        assert _saved(page, "/portal/harvest?lang=zh")

        ctx.set_offline(True)
        page.goto(f"{base}/portal/harvest?lang=zh")
        page.wait_for_selector(".offline-note")
        page.wait_for_selector("html[data-portal-ready]", state="attached")
        assert page.errors == []
    finally:
        ctx.close()


def test_the_worker_sends_the_queue_with_no_page_open(demo, browser):
    """With no portal page open, the worker sends the queue itself (static/sw.js): Chromium fires the
    Background Sync registered when the event was kept as the network returns, and the test runs the
    same round in the worker too (which finds the lock taken when the browser's round is under way:
    either way the worker loads the key, signs a token and sends, and the event lands once)."""
    base, app, keys, _ = demo
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key")
        _controlled(page)
        open_form(page, base, "harvest")
        size = _ledger_size(base)
        ctx.set_offline(True)
        _harvest(page, "H-SYNC-0001", "宁乡萝卜", "20")
        page.close()  # no page left to send it
        ctx.set_offline(False)
        worker = ctx.service_workers[0]
        rounds = []

        def worker_round() -> bool:
            rounds.append(
                worker.evaluate(
                    """async () => {
                    const key = await FarmtraceSigning.load();
                    const r = await FarmtraceQueue.flush({ key, force: true });
                    return r && { sent: r.sent, recorded: r.recorded.map((i) => i.summary.lots), waiting: r.waiting };
                }"""
                )
            )
            return _events_since(base, size) != []

        # A round finds the lock taken (None) while the browser's own sync round runs, which may have
        # started as the network came back and have to wait its turn: run ours until it lands.
        _wait(worker_round, what="the worker's round")
        done = [r for r in rounds if r and r["recorded"]]
        assert done in ([], [{"sent": 1, "recorded": [["H-SYNC-0001"]], "waiting": 0}])
        assert _lots_of(_events_since(base, size)) == [("harvest", ["H-SYNC-0001"])]
        assert [e.kind for e, _, _ in app.state.service.trace_events("H-SYNC-0001")] == ["harvest"]
    finally:
        ctx.close()


CACHED = """async () => {
    const out = [];
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const req of await cache.keys()) {
            const r = await cache.match(req);
            out.push({ cache: name, path: new URL(req.url).pathname, method: req.method,
                       party: r.headers.get("x-farmtrace-party") });
        }
    }
    return out;
}"""


def test_pages_saved_for_one_party_are_never_shown_to_another(demo, browser):
    """Two parties on one phone, one after the other: the second's key never opens the first's pages
    offline (they are deleted when its key is in the browser), and no API answer or POST is cached."""
    base, _, keys, parties = demo
    ctx, page = new_phone(browser)
    try:
        sign_in_with_key_file(page, base, keys / "coop.key")
        _controlled(page)
        open_form(page, base, "harvest")
        _wait(lambda: _saved(page, "/portal/harvest?lang=zh"), what="the form saved")
        entries = page.evaluate(CACHED)
        assert {e["method"] for e in entries} == {"GET"}
        assert all(e["path"].startswith(("/static/", "/portal")) for e in entries), entries
        assert {e["party"] for e in entries if e["cache"].startswith("farmtrace-portal-pages-")} <= {
            "",
            parties["coop"],
        }

        # The coop's key leaves this phone (the tab forgets its last automatic sign-in); the market's comes.
        page.evaluate("async () => { await FarmtraceSigning.forget(); sessionStorage.clear(); }")
        sign_in_with_key_file(page, base, keys / "market.key")
        _wait(lambda: not _saved(page, "/portal/harvest?lang=zh"), what="the coop's pages deleted")
        ctx.set_offline(True)
        page.goto(f"{base}/portal/harvest?lang=zh")
        assert page.locator(".offline-note").first.inner_text() == _text("portal.offline.miss", "zh")
        assert parties["coop"] not in page.content()
    finally:
        ctx.close()
