// farmtrace's outbox queue: events signed on this device, kept in IndexedDB until the server answers.
//
// Used by the portal's pages (static/portal-outbox.js, static/portal-record.js) and by the service
// worker (static/sw.js, on a Background Sync); it touches no DOM, and the pure half (retryDelay,
// outcome, settle, localHead, ...) runs in Node for the tests (tests/web/test_js_queue.py).
//
// An item is one signed ledger entry and what the server said about it:
//   {id, party, kind, entry, canonical, summary, seq, created,
//    state: "waiting" | "recorded" | "refused",
//    attempts, nextAt, lastError: {status, detail} | null,      while waiting
//    receipt: {index, event_id, duplicate}, answeredAt,          once recorded
//    problem: {status, type, title, detail, rule, field}}        once refused
//
// The rules (docs/offline-capture.md):
// 1. An item leaves "waiting" only on the server's answer. A lost answer (the page closed, the
//    network dropped after the request went out) leaves it waiting; sending the same signed entry
//    again is answered 200 with the first receipt (POST /events is idempotent), so it is never
//    recorded twice.
// 2. 2xx: recorded, with the receipt. Network failure, 408, 429 and 5xx: retried after an
//    exponential backoff with jitter, capped (retryDelay), or the server's Retry-After if longer;
//    5xx and 429 at most SERVER_TRIES times, then refused as the server's failure. Any other 4xx:
//    refused, final, with the server's problem+json, never retried by itself.
// 3. Items are sent one at a time, oldest first, per party; the first that must wait stops the
//    round (a later event may follow an earlier one on the same lot, and the network is likely
//    down anyway). A refused item does not stop the round.
// 4. One round at a time per browser (Web Locks), whether a page or the worker runs it.
"use strict";

const FarmtraceQueue = (() => {
  const DB = "farmtrace-queue";
  const STORE = "items";
  const SYNC_TAG = "farmtrace-queue";
  const LOCK = "farmtrace-queue-flush";
  const RETRY = { baseMs: 5000, capMs: 10 * 60 * 1000 };
  const SERVER_TRIES = 12;
  const KEEP_RECORDED = 50; // recorded items kept for the party to see, newest first ...
  const KEEP_RECORDED_MS = 7 * 24 * 3600 * 1000; // ... and for at most a week

  // --- the policy (pure) -----------------------------------------------------------------------

  // Milliseconds to wait before try number `attempts + 1`, after `attempts` failed tries: "equal
  // jitter" — half of min(cap, base * 2^attempts), plus a random part of the other half, so that
  // phones that lost the network together do not come back in step, and none comes back at once.
  function retryDelay(attempts, random = Math.random, policy = RETRY) {
    const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempts, 0), 30));
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  // What an HTTP status (0: no answer) means for an item: "recorded", "retry" or "refused".
  function outcome(status) {
    if (status >= 200 && status < 300) return "recorded";
    if (status === 0 || status === 408 || status === 429 || status >= 500) return "retry";
    return "refused";
  }

  // A Retry-After header (RFC 9110 §10.2.3: seconds, or an IMF-fixdate) in milliseconds from `now`;
  // null for anything else.
  function retryAfterMs(header, now) {
    if (!header) return null;
    const text = String(header).trim();
    if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
    if (!/^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/.test(text)) return null;
    const at = Date.parse(text);
    return Number.isNaN(at) ? null : Math.max(0, at - now);
  }

  function problemOf(status, body) {
    const b = body && typeof body === "object" ? body : {};
    const pick = (k) => (typeof b[k] === "string" ? b[k] : null);
    return { status, type: pick("type"), title: pick("title"), detail: pick("detail"), rule: pick("rule"), field: pick("field") };
  }

  // The item after the server's answer {status, body, retryAfter} (status 0: none) at `now`.
  function settle(item, answer, now, random = Math.random) {
    const status = answer.status || 0;
    const kind = outcome(status);
    if (kind === "recorded") {
      const b = answer.body || {};
      const receipt = { index: b.index, event_id: b.event_id || item.id, duplicate: Boolean(b.duplicate) };
      return { ...item, state: "recorded", receipt, answeredAt: now, lastError: null, attempts: item.attempts + 1 };
    }
    if (kind === "refused") {
      return { ...item, state: "refused", problem: problemOf(status, answer.body), answeredAt: now, attempts: item.attempts + 1 };
    }
    const attempts = item.attempts + 1;
    const serverTries = (item.serverTries || 0) + (status ? 1 : 0);
    const detail = status ? problemOf(status, answer.body).detail : answer.error || null;
    if (status && serverTries >= SERVER_TRIES) {
      return { ...item, state: "refused", problem: problemOf(status, answer.body), answeredAt: now, attempts, serverTries };
    }
    const wait = Math.max(retryDelay(attempts - 1, random), retryAfterMs(answer.retryAfter, now) || 0);
    return { ...item, attempts, serverTries, nextAt: now + wait, lastError: { status, detail } };
  }

  // The lots an event names: its inputs' and outputs' codes.
  function lotsOf(event) {
    return [...(event.inputs || []), ...(event.outputs || [])].map((r) => r.lot);
  }

  // What the outbox shows of an event, without parsing its canonical text again.
  function summarize(event) {
    const first = (event.outputs && event.outputs[0]) || (event.inputs && event.inputs[0]) || {};
    const product = first.product || {};
    return {
      kind: event.kind,
      time: event.event_time,
      lots: lotsOf(event),
      outputs: (event.outputs || []).map((o) => ({ lot: o.lot, quantity: o.quantity, unit: o.unit, product: o.product || {} })),
      quantity: first.quantity || null,
      unit: first.unit || null,
      // A certificate names its product in its detail; other events on their lots.
      product: { name_zh: product.name_zh || (event.detail && event.detail.product_name) || null, name_en: product.name_en || null },
      detail: event.detail || {},
    };
  }

  function ordered(items) {
    return [...items].sort((a, b) => a.seq - b.seq || a.created - b.created);
  }

  // The head a new event on `lot` must follow when the queue holds events on it the server may not
  // have yet: the id of the party's last such event, waiting (or, with `recorded`, also recorded:
  // for a page from the cache, drawn before they went in). null when the queue has none.
  function localHead(items, party, lot, { recorded = false } = {}) {
    let head = null;
    for (const it of ordered(items)) {
      if (it.party !== party || !(it.state === "waiting" || (recorded && it.state === "recorded"))) continue;
      if ((it.summary.lots || []).includes(lot)) head = it.id;
    }
    return head;
  }

  // Lots created by the party's waiting events, which the server's pages do not list yet:
  // [{lot, quantity, unit, product, head}], oldest first; a later waiting event on one moves its head.
  function localLots(items, party) {
    const out = new Map();
    for (const it of ordered(items)) {
      if (it.party !== party || it.state !== "waiting") continue;
      for (const lot of it.summary.lots) if (out.has(lot)) out.set(lot, { ...out.get(lot), head: it.id });
      for (const o of it.summary.outputs || []) out.set(o.lot, { ...o, head: it.id });
    }
    return [...out.values()];
  }

  // Recorded items past the week or beyond the newest KEEP_RECORDED: their ids, to delete.
  function expired(items, now) {
    const recorded = items.filter((it) => it.state === "recorded").sort((a, b) => b.answeredAt - a.answeredAt);
    return recorded.filter((it, i) => i >= KEEP_RECORDED || now - it.answeredAt > KEEP_RECORDED_MS).map((it) => it.id);
  }

  // The wait until the party's next waiting item is due (0: now), or null when nothing waits.
  function nextWake(items, party, now) {
    const waiting = items.filter((it) => it.party === party && it.state === "waiting");
    if (!waiting.length) return null;
    return Math.max(0, Math.min(...waiting.map((it) => it.nextAt)) - now);
  }

  // --- the store: IndexedDB, or any {all, get, put, remove} (the tests use one in memory) -------------

  function idbStore() {
    let opened = null;
    function db() {
      opened =
        opened ||
        new Promise((resolve, reject) => {
          const req = indexedDB.open(DB, 1);
          req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      return opened;
    }
    async function run(mode, fn) {
      const d = await db();
      return new Promise((resolve, reject) => {
        const tx = d.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(req && req.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    }
    return {
      all: () => run("readonly", (s) => s.getAll()),
      get: (id) => run("readonly", (s) => s.get(id)),
      put: (item) => run("readwrite", (s) => s.put(item)),
      remove: (id) => run("readwrite", (s) => s.delete(id)),
    };
  }

  function memoryStore() {
    const rows = new Map();
    return {
      all: async () => [...rows.values()].map((r) => structuredClone(r)),
      get: async (id) => (rows.has(id) ? structuredClone(rows.get(id)) : undefined),
      put: async (item) => void rows.set(item.id, structuredClone(item)),
      remove: async (id) => void rows.delete(id),
    };
  }

  let defaultStore = null;
  function storeOf(opts) {
    if (opts && opts.store) return opts.store;
    defaultStore = defaultStore || idbStore();
    return defaultStore;
  }

  // Keep `signed` ({entry, id, canonical}, from FarmtraceSigning.signEvent) until the server answers.
  // The same signed entry twice is one item (the one already there, unless it was refused).
  async function enqueue(signed, { party, now = Date.now(), store } = {}) {
    const s = storeOf({ store });
    const items = await s.all();
    const old = items.find((it) => it.id === signed.id);
    if (old && old.state !== "refused") return old;
    const event = JSON.parse(signed.canonical);
    const item = {
      id: signed.id,
      party: party || event.party,
      kind: event.kind,
      entry: signed.entry,
      canonical: signed.canonical,
      summary: summarize(event),
      seq: items.reduce((m, it) => Math.max(m, it.seq || 0), 0) + 1,
      created: now,
      state: "waiting",
      attempts: 0,
      serverTries: 0,
      nextAt: now,
      lastError: null,
      receipt: null,
      problem: null,
    };
    await s.put(item);
    return item;
  }

  // --- sending ---------------------------------------------------------------------------------------

  // POST the item's entry once: {status, body, retryAfter}, status 0 (with `error`) when no answer came.
  async function post(item, key, { fetchImpl, authorize } = {}) {
    const doFetch = fetchImpl || ((...a) => fetch(...a));
    const auth = authorize || ((k) => globalThis.FarmtraceSigning.token(k, 600));
    let r;
    try {
      r = await doFetch("/events", {
        method: "POST",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Authorization: "FarmTrace " + (await auth(key)) },
        body: JSON.stringify({ entry: item.entry }),
      });
    } catch (e) {
      return { status: 0, body: null, retryAfter: null, error: String((e && e.message) || e) };
    }
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    return { status: r.status, body, retryAfter: r.headers.get("retry-after") };
  }

  // Send one item now and keep what the server said: the item as settled (and stored).
  async function sendNow(item, key, opts = {}) {
    const now = opts.now || Date.now;
    const answer = await post(item, key, opts);
    const next = settle(item, answer, now(), opts.random);
    await storeOf(opts).put(next);
    return next;
  }

  let running = false; // where Web Locks are missing (Node): one round per realm
  async function exclusive(fn) {
    const locks = globalThis.navigator && globalThis.navigator.locks;
    if (locks) return locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? fn() : null));
    if (running) return null;
    running = true;
    try {
      return await fn();
    } finally {
      running = false;
    }
  }

  // One round (rule 3) for `key`'s party: {sent, recorded: [items], refused: [items], waiting}, or
  // null when another round is already running. `force`: send what waits even before its time (the
  // network just came back, or the party asked).
  async function flush({ key, force = false, now = Date.now, ...opts }) {
    const store = storeOf(opts);
    const result = await exclusive(async () => {
      const out = { sent: 0, recorded: [], refused: [], waiting: 0 };
      for (const id of expired(await store.all(), now())) await store.remove(id);
      for (const item of ordered(await store.all())) {
        if (item.party !== key.party || item.state !== "waiting") continue;
        if (!force && item.nextAt > now()) break;
        const next = await sendNow(item, key, { ...opts, store, now });
        out.sent += 1;
        if (next.state === "recorded") out.recorded.push(next);
        else if (next.state === "refused") out.refused.push(next);
        else break;
      }
      out.waiting = (await store.all()).filter((it) => it.party === key.party && it.state === "waiting").length;
      return out;
    });
    return result;
  }

  // The party's items, oldest first.
  async function list(party, opts = {}) {
    return ordered((await storeOf(opts).all()).filter((it) => it.party === party));
  }

  async function remove(id, opts = {}) {
    await storeOf(opts).remove(id);
  }

  // A refused item put back in the queue, to be sent again at the next round.
  async function retry(id, { now = Date.now(), ...opts } = {}) {
    const store = storeOf(opts);
    const item = await store.get(id);
    if (!item || item.state === "recorded") return null;
    const next = { ...item, state: "waiting", problem: null, nextAt: now, serverTries: 0 };
    await store.put(next);
    return next;
  }

  return {
    SYNC_TAG,
    RETRY,
    SERVER_TRIES,
    retryDelay,
    outcome,
    retryAfterMs,
    settle,
    summarize,
    localHead,
    localLots,
    expired,
    nextWake,
    memoryStore,
    enqueue,
    post,
    sendNow,
    flush,
    list,
    remove,
    retry,
  };
})();

globalThis.FarmtraceQueue = FarmtraceQueue;
