// farmtrace portal, its offline part (after portal-enroll.js, before portal.js): the service worker,
// pages saved on this device, and the outbox of events signed here that wait for the server's answer
// (static/portal-queue.js keeps them; docs/offline-capture.md).
//
// - Registers the worker (/portal/sw.js, scope /portal) and, while online and signed in, asks it to
//   save the pages of the party's menu, so they open with no network later.
// - A page the worker served from its cache says so at the top, with the time it was saved.
// - A bar under the menu counts what waits, what was refused and what went in, linking the outbox;
//   the outbox page (/portal/outbox) lists them: the receipt's ledger index for what went in, the
//   server's reason (in the page's language, its own detail under it) for what was refused.
// - The queue is sent when the page opens, when the browser says the network is back ("online":
//   at once, whatever the backoff said), when an item's backoff ends, every minute, and by the
//   worker on a Background Sync where the browser has one.
// - The forms (portal-record.js) keep every signed event here before sending it (P.deliver); lots
//   made by waiting events are offered in the forms' lot lists, and a new event on a lot follows the
//   queue's last event on it (P.localHead), so events recorded offline chain as they would online.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  const Q = globalThis.FarmtraceQueue;
  if (!P.cfg || !Q) return; // not a portal page (portal-page.js)
  const { S, cfg, $, $$, msg, url, unitText, problemText } = P;
  const root = document.documentElement;
  const cachedAt = root.dataset.cachedAt || null;
  const EVERY_MS = 60 * 1000;
  let key = null;
  let items = [];
  let timer = null;

  const two = (n) => String(n).padStart(2, "0");
  function when(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function note(text) {
    const p = el("p", "alert warning offline-note", text);
    p.setAttribute("role", "status");
    const main = document.getElementById("main");
    main.insertBefore(p, main.firstChild);
  }

  // --- the service worker -------------------------------------------------------------------------

  async function registration() {
    if (!("serviceWorker" in navigator)) return null;
    try {
      return (await navigator.serviceWorker.getRegistration("/portal")) || null;
    } catch (e) {
      return null;
    }
  }

  async function tellWorker(message) {
    const reg = await registration();
    const worker = reg && (reg.active || reg.waiting || reg.installing);
    if (worker) worker.postMessage(message);
  }

  async function requestSync() {
    const reg = await registration();
    try {
      if (reg && reg.sync) await reg.sync.register(Q.SYNC_TAG);
    } catch (e) {
      // Background Sync refused or missing: the page's own rounds send the queue.
    }
  }

  function register() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/portal/sw.js", { scope: "/portal" }).catch(() => null);
    navigator.serviceWorker.addEventListener("message", (e) => {
      if (e.data && e.data.type === "queue") refresh();
    });
  }

  // The pages a signed-in party may open next: this one (on a first visit the worker is not yet
  // there to save it), its menu, the sign-in page and the outbox. Once the worker is active.
  function warm() {
    const urls = [location.href, ...$$(document, ".pnav ul a").map((a) => a.href), url("/portal"), url("/portal/outbox")];
    navigator.serviceWorker.ready.then(() => tellWorker({ type: "warm", urls }));
  }

  // --- the queue: read, drawn, sent ------------------------------------------------------------------

  async function refresh() {
    if (!key) return;
    try {
      items = await Q.list(key.party);
    } catch (e) {
      items = [];
    }
    drawBar();
    drawOutbox();
    drawForms();
  }

  function schedule() {
    clearTimeout(timer);
    if (!key) return;
    const wait = Q.nextWake(items, key.party, Date.now());
    timer = setTimeout(() => flush(false), wait === null ? EVERY_MS : Math.min(Math.max(wait, 1000), EVERY_MS));
  }

  async function flush(force) {
    if (!key) return null;
    let result = null;
    try {
      result = await Q.flush({ key, force });
    } catch (e) {
      result = null; // storage trouble: nothing sent, tried again at the next round
    }
    await refresh();
    schedule();
    return result;
  }

  // Keep `signed` in the queue, then send it once now. What the form shows: {ok, status, body} as
  // FarmtraceSigning.post answers, or {queued, item} when no answer came (it stays in the queue).
  // A refusal here is shown by the form itself, at the field it names: it does not stay in the queue.
  async function deliver(k, signed) {
    key = key || k;
    const item = await Q.enqueue(signed, { party: k.party });
    const next = item.state === "waiting" ? await Q.sendNow(item, k) : item;
    if (next.state === "refused") await Q.remove(next.id);
    await refresh();
    schedule();
    if (next.state === "waiting") {
      requestSync();
      // Ask that the browser keep this site's storage under pressure (it may say no).
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => null);
      return { ok: false, queued: true, item: next };
    }
    if (next.state === "recorded") return { ok: true, status: 200, body: next.receipt };
    return { ok: false, status: next.problem.status, body: next.problem };
  }

  // A form whose event waits: disabled like a recorded one, and saying it is kept on this device.
  function showQueued(form, item) {
    form.classList.add("recorded");
    for (const e of $$(form, "input, select, textarea, button")) e.disabled = true;
    const submitBox = $(form, ".submit");
    if (submitBox) submitBox.hidden = true;
    const box = $(form, ".form-ok") || form.nextElementSibling;
    box.textContent = "";
    box.classList.add("queued");
    box.dataset.queued = item.id;
    box.append(el("h2", "", msg("offline.queued_title")), el("p", "small", msg("offline.queued_text")));
    const links = el("p", "actions");
    const a = (text, href) => Object.assign(el("a", "", text), { href });
    links.append(a(msg("offline.bar_link"), url("/portal/outbox")), a(msg("ok.another"), location.pathname + "?lang=" + cfg.lang));
    box.append(links);
    box.hidden = false;
    box.focus();
  }

  // A queued form's box once its event went in (or was refused) in a later round.
  function drawForms() {
    for (const box of $$(document, ".form-ok[data-queued]")) {
      const it = items.find((x) => x.id === box.dataset.queued);
      if (!it || it.state === "waiting") continue;
      delete box.dataset.queued;
      box.classList.remove("queued");
      const h = $(box, "h2");
      const p = $(box, "p.small");
      if (it.state === "recorded") {
        h.textContent = msg("ok." + it.kind);
        p.textContent = msg("ok.ledger", { index: it.receipt.index });
      } else {
        h.textContent = msg("offline.refused");
        p.textContent = problemText(it.problem.status, it.problem);
      }
    }
  }

  // --- what the party sees -------------------------------------------------------------------------

  function counts() {
    const c = { waiting: 0, refused: 0, recorded: 0 };
    for (const it of items) c[it.state] += 1;
    return c;
  }

  function drawBar() {
    let bar = document.getElementById("outbox-bar");
    const c = counts();
    const offline = navigator.onLine === false;
    if (!bar) {
      bar = el("p", "outbox-bar");
      bar.id = "outbox-bar";
      bar.setAttribute("role", "status");
      const main = document.getElementById("main");
      main.insertBefore(bar, main.firstChild);
    }
    const parts = [];
    if (offline) parts.push(msg("offline.no_network"));
    if (c.waiting) parts.push(msg("offline.bar_waiting", { n: c.waiting }));
    if (c.refused) parts.push(msg("offline.bar_refused", { n: c.refused }));
    bar.hidden = !parts.length;
    bar.dataset.waiting = c.waiting;
    bar.dataset.refused = c.refused;
    bar.textContent = parts.join(" · ");
    if (parts.length && cfg.page !== "outbox") {
      bar.append(" · ", Object.assign(el("a", "", msg("offline.bar_link")), { href: url("/portal/outbox") }));
    }
  }

  function productName(s) {
    return (cfg.lang === "en" && s.product.name_en) || s.product.name_zh || "";
  }

  function itemView(it) {
    const s = it.summary;
    const li = el("li", "outbox-item");
    li.dataset.id = it.id;
    li.dataset.state = it.state;
    const what = [msg("nav." + it.kind), productName(s), s.quantity ? s.quantity + " " + unitText(s.unit) : ""].filter(Boolean);
    li.append(el("p", "what", what.join(" · ")));
    li.append(el("p", "code small", s.lots.join(", ")));
    li.append(el("p", "small", msg("offline.signed_at", { time: when(it.created) })));
    const actions = el("p", "actions");
    if (it.state === "waiting") {
      const tried = it.attempts ? msg("offline.tries", { n: it.attempts, time: when(it.nextAt) }) : msg("offline.not_tried");
      li.append(el("p", "small", tried));
      if (it.lastError) {
        const why = it.lastError.status ? msg("problem.server", { status: it.lastError.status }) : msg("offline.no_answer");
        li.append(el("p", "small", msg("offline.last_error", { why })));
      }
    } else if (it.state === "recorded") {
      const line = el("p", "receipt", msg("offline.entry", { index: it.receipt.index }));
      if (it.receipt.duplicate) line.append(" ", el("span", "small", msg("offline.duplicate")));
      li.append(line);
      actions.append(Object.assign(el("a", "", msg("lots.chain")), { href: "/l/" + encodeURIComponent(s.lots[0]) + "?lang=" + cfg.lang }));
      if (it.kind === "certify") actions.append(Object.assign(el("a", "", msg("offline.certificate")), { href: url("/portal/certificate/" + it.id) }));
      actions.append(Object.assign(el("a", "", msg("ok.proof")), { href: "/events/" + it.receipt.event_id + "/proof.tlog-proof" }));
    } else {
      const why = el("p", "error");
      why.append(el("span", "error-text", problemText(it.problem.status, it.problem)));
      if (it.problem.detail) why.append(Object.assign(el("span", "error-detail", it.problem.detail), { lang: "en" }));
      li.append(why);
      actions.append(Object.assign(el("button", "", msg("offline.send_again")), { type: "button" }));
      actions.lastChild.dataset.action = "send-again";
      actions.append(Object.assign(el("button", "danger", msg("offline.remove")), { type: "button" }));
      actions.lastChild.dataset.action = "remove";
    }
    if (actions.childNodes.length) li.append(actions);
    return li;
  }

  function drawOutbox(state) {
    const box = document.getElementById("outbox");
    if (!box) return;
    const text = $(box, ".status-text");
    box.dataset.state = state || (key ? "ready" : "none");
    if (state === "no_storage") text.textContent = msg("offline.no_storage");
    else text.textContent = key ? "" : msg("offline.no_key");
    text.hidden = !text.textContent;
    const c = counts();
    $(box, "[data-action=send-now]").hidden = !c.waiting;
    for (const list of $$(box, "[data-state-list]")) {
      const mine = items.filter((it) => it.state === list.dataset.stateList);
      if (list.dataset.stateList === "recorded") mine.reverse(); // newest first
      list.hidden = !key;
      $(list, ".count").textContent = "(" + mine.length + ")";
      const ol = $(list, ".outbox-items");
      ol.textContent = "";
      if (!mine.length) ol.append(el("li", "small", msg("offline.none")));
      for (const it of mine) ol.append(itemView(it));
    }
  }

  function initOutbox() {
    const box = document.getElementById("outbox");
    if (!box) return;
    box.addEventListener("click", async (e) => {
      const b = e.target.closest("button[data-action]");
      if (!b || !key) return;
      const li = b.closest("[data-id]");
      b.disabled = true;
      if (b.dataset.action === "remove") await Q.remove(li.dataset.id);
      if (b.dataset.action === "send-again") await Q.retry(li.dataset.id);
      if (b.dataset.action === "send-again" || b.dataset.action === "send-now") await flush(true);
      else await refresh();
    });
  }

  // --- the forms: lots made offline, and heads that follow the queue ---------------------------------

  function localLots() {
    return key ? Q.localLots(items, key.party) : [];
  }

  P.localHead = (lot) => (key ? Q.localHead(items, key.party, lot, { recorded: Boolean(cachedAt) }) : null);
  P.localLot = (lot) => localLots().find((l) => l.lot === lot) || null;

  function offerLocalLots() {
    const lots = localLots();
    for (const select of $$(document, "form[data-form] select[data-sub=lot]")) {
      const known = new Set(Array.from(select.options).map((o) => o.value));
      for (const l of lots) {
        if (known.has(l.lot)) continue;
        const o = el("option", "", `${l.lot} · ${productName(l)} · ${l.quantity} ${unitText(l.unit)} · ${msg("offline.pending_lot")}`);
        Object.assign(o.dataset, { unit: l.unit, head: l.head, held: l.quantity, product: JSON.stringify(l.product), local: "1" });
        o.value = l.lot;
        select.append(o);
      }
    }
  }

  // A page from the cache carries the codes the server suggested when it drew the page: each record
  // made from it gets a fresh one of the same form (PREFIX-YYMMDD-XXXX, today's date in China).
  function freshSuggestions() {
    const SUGGESTED = /^(H|HGZ|KJ)-[0-9]{6}-[0-9A-F]{4}$/;
    const cst = new Date(Date.now() + 8 * 3600 * 1000); // China Standard Time, UTC+8 all year
    const day = String(cst.getUTCFullYear()).slice(2) + two(cst.getUTCMonth() + 1) + two(cst.getUTCDate());
    const fields = "form[data-form=harvest] input[name=lot], form[data-form=certify] input[name=certificate_no], form[data-form=inspect] input[name=report_no]";
    for (const input of $$(document, fields)) {
      const m = SUGGESTED.exec(input.value);
      if (!m) continue;
      const tail = Array.from(crypto.getRandomValues(new Uint8Array(2)), (b) => two(b.toString(16))).join("");
      input.value = `${m[1]}-${day}-${tail.toUpperCase()}`;
    }
  }

  // --- start -------------------------------------------------------------------------------------------

  async function start() {
    register();
    if (cachedAt) {
      // The outbox page is read from this device: only the server's pages can be out of date.
      if (cfg.page !== "outbox") note(msg("offline.cached", { time: when(Date.parse(cachedAt)) }));
      freshSuggestions();
    }
    if (root.dataset.offlineMiss) note(msg("offline.miss"));
    initOutbox();
    try {
      key = await S.load();
    } catch (e) {
      drawOutbox("no_storage");
      return;
    }
    await refresh();
    offerLocalLots();
    if (!key) return;
    tellWorker({ type: "party", party: key.party });
    if ("serviceWorker" in navigator && navigator.onLine !== false && !cachedAt && cfg.party === key.party) warm();
    window.addEventListener("online", () => flush(true));
    window.addEventListener("offline", drawBar);
    flush(false);
  }

  Object.assign(P, { deliver, showQueued, flushQueue: flush });
  start();
})();
