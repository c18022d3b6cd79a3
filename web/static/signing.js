// farmtrace signing: a party's key stays in this browser, and everything it records is signed here.
//
// - The Ed25519 key is generated with WebCrypto as non-extractable and kept in IndexedDB: the page
//   can use it to sign, nobody (not this page, not the server) can read it out.
// - Events are encoded exactly as the server encodes them (trace/encoding.py): RFC 8785 canonical
//   JSON of {"v": 1, ...fields}, signed over "farmtrace/event/v1\n" + canonical bytes, and sent as a
//   ledger entry: "farmtrace/entry/v1\n" + canonical + "\n" + base64(signature) + "\n".
// - Session tokens (trace/auth.py) are statements signed with the same key; the server keeps no
//   password and no session secret. The token travels as the `ft_token` cookie (SameSite=Strict)
//   for page loads and in the Authorization header for API calls. It names this service's log
//   origin (from GET /ledger/key) in what it signs, so no other service accepts it.
// - A key made elsewhere (`farmtrace init`, `farmtrace party-key`: a JSON key file holding the
//   32-byte seed) can be imported once with importKeyFile; from then on it is as non-extractable
//   as a generated one, and the file can be deleted from the device.
"use strict";

const FarmtraceSigning = (() => {
  const DB = "farmtrace-keys";
  const STORE = "keys";
  const enc = new TextEncoder();

  // --- RFC 8785 (JSON Canonicalization Scheme) ------------------------------------------------
  // Keys sorted by UTF-16 code units (JavaScript's default string order), strings as JSON.stringify
  // writes them (RFC 8785 §3.2.2.2 adopts ECMAScript's escaping), numbers as ECMAScript prints them.
  function canonicalize(value) {
    if (value === null || typeof value === "boolean") return JSON.stringify(value);
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new Error("RFC 8785 has no NaN or Infinity");
      return JSON.stringify(value);
    }
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
    if (typeof value === "object") {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
    }
    throw new Error("cannot canonicalize a " + typeof value);
  }

  function b64(bytes) {
    let s = "";
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s);
  }

  function b64url(bytes) {
    return b64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  // --- the key, in IndexedDB ------------------------------------------------------------------
  function db() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function idb(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  }

  // One key per browser profile; `party` is who it belongs to.
  async function load() {
    return (await idb("readonly", (s) => s.get("current"))) || null;
  }

  async function generate(party) {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const keyId = hex((await crypto.subtle.digest("SHA-256", raw)).slice(0, 8));
    const record = { party, keyId, publicKey: b64(raw), privateKey: pair.privateKey, created: Date.now() };
    await idb("readwrite", (s) => s.put(record, "current"));
    return record;
  }

  // PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410 §7): the only private-key import WebCrypto offers
  // besides JWK.
  const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

  function unb64(text) {
    const bin = atob(text);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  // Import a 32-byte seed as this browser's key for `party`. The public half is read once through a
  // short-lived extractable copy (WebCrypto derives no public key from a non-extractable one); what is
  // kept in IndexedDB is a non-extractable key. `expectedKeyId`, if given, must match.
  async function importSeed(party, seed, expectedKeyId) {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
    const pkcs8 = concat(Uint8Array.from(PKCS8_ED25519), seed);
    const temp = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", temp);
    const raw = unb64(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (jwk.x.length % 4)) % 4));
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    pkcs8.fill(0);
    const keyId = hex((await crypto.subtle.digest("SHA-256", raw)).slice(0, 8));
    if (expectedKeyId && expectedKeyId !== keyId) throw new Error("the key file's key_id does not match its seed");
    const record = { party, keyId, publicKey: b64(raw), privateKey, created: Date.now(), imported: true };
    await idb("readwrite", (s) => s.put(record, "current"));
    return record;
  }

  // Import a farmtrace key file (client/keys.py: {"format": "farmtrace-party-key/v1", party, key_id, seed}).
  async function importKeyFile(text) {
    const doc = typeof text === "string" ? JSON.parse(text) : text;
    if (!doc || doc.format !== "farmtrace-party-key/v1" || !doc.party || !doc.seed) {
      throw new Error("not a farmtrace-party-key/v1 file");
    }
    const seed = unb64(doc.seed);
    try {
      return await importSeed(doc.party, seed, doc.key_id);
    } finally {
      seed.fill(0);
    }
  }

  // The commitment a public party record carries to private contact details (trace/applications.py):
  // hex SHA-256(salt ‖ RFC 8785 JSON of the details). Returns {commitment, salt (hex)}.
  async function contactCommitment(details, salt) {
    salt = salt || crypto.getRandomValues(new Uint8Array(16));
    const digest = await crypto.subtle.digest("SHA-256", concat(salt, enc.encode(canonicalize(details))));
    return { commitment: hex(digest), salt: hex(salt) };
  }

  // Sign out: drop the session cookie, keep the key.
  function signOut() {
    document.cookie = "ft_token=; Max-Age=0; Path=/; SameSite=Strict";
  }

  async function forget() {
    await idb("readwrite", (s) => s.delete("current"));
    document.cookie = "ft_token=; Max-Age=0; Path=/; SameSite=Strict";
  }

  async function sign(key, bytes) {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, bytes));
  }

  // --- events, applications, tokens -------------------------------------------------------------
  async function signEvent(key, wire) {
    const event = Object.assign({}, wire, { party: key.party, key_id: key.keyId });
    const canonical = enc.encode(canonicalize(Object.assign({ v: 1 }, event)));
    const signature = await sign(key, concat(enc.encode("farmtrace/event/v1\n"), canonical));
    const entry = concat(enc.encode("farmtrace/entry/v1\n"), canonical, enc.encode("\n" + b64(signature) + "\n"));
    const id = hex(await crypto.subtle.digest("SHA-256", canonical));
    return { entry: b64(entry), id, canonical: new TextDecoder().decode(canonical) };
  }

  // Proof of possession for an enrollment application (trace/applications.py).
  async function applicationProof(key, kind, partyId, record) {
    const message = enc.encode("farmtrace/application/v1\n" + canonicalize({ kind, party_id: partyId, record }));
    return b64(await sign(key, message));
  }

  // The log origin this service's tokens are bound to: the name of its verifier key
  // ("origin+keyid+key", C2SP signed note), asked once per page.
  let originPromise = null;
  function logOrigin() {
    originPromise =
      originPromise ||
      fetch("/ledger/key").then(async (r) => {
        if (!r.ok) throw new Error("cannot read the log key: HTTP " + r.status);
        return (await r.text()).trim().split("+")[0];
      });
    return originPromise;
  }

  // A session's length: the server accepts tokens of at most an hour (trace/auth.py MAX_LIFETIME);
  // five minutes less leaves room for a clock that runs fast.
  const SESSION_SECONDS = 55 * 60;

  async function token(key, lifetimeSeconds = 600) {
    const origin = await logOrigin();
    const expires = Math.floor(Date.now() / 1000) + lifetimeSeconds;
    const message = enc.encode(`farmtrace/auth/v2\n${origin}\n${key.party}\n${key.keyId}\n${expires}\n`);
    return ["ft2", key.party, key.keyId, expires, b64url(await sign(key, message))].join(".");
  }

  // Sign in: a fresh token in a cookie the pages read (never sent to other sites).
  async function signIn(key) {
    const t = await token(key, SESSION_SECONDS);
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `ft_token=${t}; Max-Age=${SESSION_SECONDS}; Path=/; SameSite=Strict${secure}`;
    return t;
  }

  // POST JSON with the party's token; resolves to {ok, status, body} (body is problem+json on errors).
  async function post(key, url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "FarmTrace " + (await token(key, 600)) },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
    return { ok: r.ok, status: r.status, body: data };
  }

  async function record(key, wire) {
    const signed = await signEvent(key, wire);
    const result = await post(key, "/events", { entry: signed.entry });
    return Object.assign(result, { id: signed.id });
  }

  return {
    canonicalize,
    generate,
    load,
    forget,
    signEvent,
    applicationProof,
    token,
    signIn,
    signOut,
    post,
    record,
    b64,
    hex,
    importSeed,
    importKeyFile,
    contactCommitment,
  };
})();

if (typeof window !== "undefined") window.FarmtraceSigning = FarmtraceSigning;
