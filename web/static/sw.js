// farmtrace portal's service worker: the portal opens with no network once visited, and what a party
// recorded offline is sent when the network returns. Served as /portal/sw.js (web/portal/offline.py),
// which puts this build's VERSION, PRECACHE (asset URLs, the outbox page, manifest, icons) and IMPORTS
// (the scripts that send the queue) before this text. Scope: "/portal" and the pages under it.
//
// What is cached (docs/offline-capture.md):
// - the files every portal page loads, under their content-hash URLs (/static/NAME?v=DIGEST):
//   precached when this worker installs, then cache-first (a digest URL never changes);
// - the portal's pages, as last seen: network first, and the saved copy when the network fails or
//   is slower than NAV_TIMEOUT_MS. A saved copy is marked with the time it was saved and the party
//   it was rendered for (its portal-config), and is served only while this browser's key belongs to
//   that party. Served from the cache, the page's <html> carries data-cached-at="<ISO time>" so the
//   page says so (static/portal-outbox.js). A page never saved opens the outbox page instead,
//   marked data-offline-miss;
// - the manifest and icons.
// Never cached: anything but GET (the queue's POSTs go straight to the network), the JSON API
// (public or authenticated), pages outside /portal, answers other than 200 from this origin.
//
// On activation the caches of older builds are deleted; the pages they held are fetched again for
// the new build first (while online), so an update does not lose what a party could open offline.
// A Background Sync ("farmtrace-queue", where the browser has it) sends the queue from here too.
"use strict";

/* global VERSION, PRECACHE, IMPORTS, FarmtraceSigning, FarmtraceQueue */
importScripts(...IMPORTS);

const PREFIX = "farmtrace-portal-";
const FILES = PREFIX + "files-" + VERSION;
const PAGES = PREFIX + "pages-" + VERSION;
const NAV_TIMEOUT_MS = 6000;
const SAVED = "x-farmtrace-saved"; // when the copy was saved (ISO time)
const PARTY = "x-farmtrace-party"; // the party the page was rendered for ("" for none)
const CONFIG = /<script type="application\/json" id="portal-config">([^<]*)<\/script>/;

function inScope(url) {
  return url.origin === self.location.origin && (url.pathname === "/portal" || url.pathname.startsWith("/portal/"));
}

function isPage(url) {
  return inScope(url) && !/^\/portal\/(sw\.js|manifest\.webmanifest|icon[^/]*)$/.test(url.pathname);
}

// --- install, activate -------------------------------------------------------------------------

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const files = await caches.open(FILES);
      const pages = await caches.open(PAGES);
      for (const url of PRECACHE) {
        const r = await fetch(url, { cache: "no-cache" });
        if (!r.ok) throw new Error("precache " + url + ": HTTP " + r.status);
        if (isPage(new URL(url, self.location.href))) await savePage(pages, url, r);
        else await files.put(url, r);
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const pages = await caches.open(PAGES);
      for (const name of await caches.keys()) {
        if (!name.startsWith(PREFIX) || name === FILES || name === PAGES) continue;
        if (name.startsWith(PREFIX + "pages-")) await carryPages(await caches.open(name), pages);
        await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

// The old build's pages, fetched again (they name the old build's files) while the network is there.
async function carryPages(old, pages) {
  for (const req of (await old.keys()).slice(0, 40)) {
    if (await pages.match(req.url)) continue;
    try {
      const r = await fetch(req.url, { redirect: "manual" });
      if (r.status === 200 && r.type === "basic") await savePage(pages, req.url, r);
    } catch (e) {
      return; // offline: the pages come back as the party opens them
    }
  }
}

// --- pages ------------------------------------------------------------------------------------------

async function savePage(pages, url, response) {
  const type = response.headers.get("content-type") || "";
  if (response.status !== 200 || !type.startsWith("text/html")) return;
  const text = await response.text();
  const m = CONFIG.exec(text);
  let party = "";
  try {
    party = (m && JSON.parse(m[1]).party) || "";
  } catch (e) {
    return; // not a page we drew: not saved
  }
  const headers = new Headers(response.headers);
  for (const h of ["content-encoding", "content-length"]) headers.delete(h);
  headers.set(SAVED, new Date().toISOString());
  headers.set(PARTY, party);
  await pages.put(url, new Response(text, { status: 200, headers }));
}

async function currentParty() {
  try {
    const key = await FarmtraceSigning.load();
    return key ? key.party : "";
  } catch (e) {
    return "";
  }
}

// The saved copy of `url` for this browser's party: the same address, else the same path in the same
// language. A page saved for another party is never served.
async function savedPage(pages, url) {
  const party = await currentParty();
  const target = new URL(url);
  const mine = (r) => r && (!r.headers.get(PARTY) || r.headers.get(PARTY) === party);
  const exact = await pages.match(url);
  if (mine(exact)) return exact;
  for (const req of await pages.keys(url, { ignoreSearch: true })) {
    const u = new URL(req.url);
    if ((u.searchParams.get("lang") || "zh") !== (target.searchParams.get("lang") || "zh")) continue;
    const r = await pages.match(req);
    if (mine(r)) return r;
  }
  return null;
}

// A saved page with a mark on its <html> for the page's script to read.
async function marked(response, attrs) {
  const text = (await response.text()).replace(
    /<html\b/,
    "<html" + Object.entries(attrs).map(([k, v]) => ` ${k}="${String(v).replace(/[^0-9A-Za-z:.\-/_?=&%]/g, "")}"`).join(""),
  );
  const headers = new Headers(response.headers);
  for (const h of [SAVED, PARTY]) headers.delete(h);
  return new Response(text, { status: 200, headers });
}

async function offlinePage(pages, url) {
  const lang = new URL(url).searchParams.get("lang") === "en" ? "en" : "zh";
  const outbox = await pages.match("/portal/outbox?lang=" + lang);
  if (outbox) return marked(outbox, { "data-offline-miss": new URL(url).pathname });
  return new Response("offline\n", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

async function page(event) {
  const req = event.request;
  const pages = await caches.open(PAGES);
  const network = fetch(req).then(async (r) => {
    if (r.status === 200 && r.type === "basic") await savePage(pages, req.url, r.clone());
    return r;
  });
  event.waitUntil(network.catch(() => null)); // the copy is saved even when the cache answered first
  const saved = await savedPage(pages, req.url);
  try {
    return saved ? await within(network, NAV_TIMEOUT_MS) : await network;
  } catch (e) {
    if (saved) return marked(saved, { "data-cached-at": saved.headers.get(SAVED) || "" });
    return offlinePage(pages, req.url);
  }
}

// --- files --------------------------------------------------------------------------------------------

async function file(req) {
  const files = await caches.open(FILES);
  const hit = await files.match(req, { ignoreVary: true });
  if (hit) return hit;
  const r = await fetch(req);
  if (r.status === 200 && r.type === "basic") await files.put(req, r.clone());
  return r;
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return; // POSTs are never cached
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === "navigate" && isPage(url)) event.respondWith(page(event));
  else if (url.pathname.startsWith("/static/") && url.searchParams.has("v")) event.respondWith(file(req));
  else if (inScope(url) && !isPage(url) && url.pathname !== "/portal/sw.js") event.respondWith(file(req));
  // Everything else (the JSON API, other pages) goes to the network untouched.
});

// --- messages from pages; Background Sync -----------------------------------------------------------

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "warm") event.waitUntil(warm(data.urls || []));
  if (data.type === "party") event.waitUntil(forgetOthers(data.party || ""));
});

// Save the pages a signed-in party may open next (its menu), at most every WARM_EVERY_MS each.
const WARM_EVERY_MS = 10 * 60 * 1000;
async function warm(urls) {
  const pages = await caches.open(PAGES);
  for (const u of urls.slice(0, 20)) {
    const url = new URL(u, self.location.href);
    if (!isPage(url)) continue;
    const old = await pages.match(url.href);
    if (old && Date.now() - Date.parse(old.headers.get(SAVED) || 0) < WARM_EVERY_MS) continue;
    try {
      const r = await fetch(url.href, { redirect: "manual" });
      if (r.status === 200 && r.type === "basic") await savePage(pages, url.href, r);
    } catch (e) {
      return;
    }
  }
}

// Pages saved for another party than this browser's key's are deleted (a shared device).
async function forgetOthers(party) {
  const pages = await caches.open(PAGES);
  for (const req of await pages.keys()) {
    const r = await pages.match(req);
    const owner = r && r.headers.get(PARTY);
    if (owner && owner !== party) await pages.delete(req);
  }
}

self.addEventListener("sync", (event) => {
  if (event.tag !== FarmtraceQueue.SYNC_TAG) return;
  event.waitUntil(
    (async () => {
      const key = await FarmtraceSigning.load();
      if (!key) return;
      const result = await FarmtraceQueue.flush({ key, force: true });
      if (!result) return; // a page is sending the queue right now
      for (const c of await self.clients.matchAll({ type: "window" })) c.postMessage({ type: "queue" });
      if (result.waiting) throw new Error("still waiting: the browser tries the sync again later");
    })(),
  );
});
