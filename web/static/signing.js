// farmtrace signing: a party's key stays in this browser, and everything it records is signed here.
//
// - The Ed25519 key is generated with WebCrypto as non-extractable and kept in IndexedDB: the page
//   can use it to sign, nobody (not this page, not the server) can read it out.
// - Events are encoded exactly as the server encodes them (trace/model/encoding.py): RFC 8785 canonical
//   JSON of {"v": 1, ...fields}, signed over "farmtrace/event/v1\n" + canonical bytes, and sent as a
//   ledger entry: "farmtrace/entry/v1\n" + canonical + "\n" + base64(signature) + "\n".
// - Session tokens (trace/auth.py) are statements signed with the same key; the server keeps no
//   password and no session secret. The token travels as the `ft_token` cookie (SameSite=Strict)
//   for page loads and in the Authorization header for API calls. It names this service's log
//   origin (from GET /ledger/key) in what it signs, so no other service accepts it.
// - A key made elsewhere (`farmtrace init`, `farmtrace party-key`: a JSON key file holding the
//   32-byte seed) can be imported once with importKeyFile; from then on it is as non-extractable
//   as a generated one, and the file can be deleted from the device.
//
// The bytes (RFC 8785, base64, hex, SHA-256) come from codec.js, which the page loads before this
// file. Nothing here touches the DOM or IndexedDB when it loads, so the tests run signEvent,
// applicationProof and contactCommitment in Node too (tests/web/test_js_signing.py).
"use strict";

const FarmtraceSigning = (() => {
  const DB = "farmtrace-keys";
  const STORE = "keys";
  const { b64encode, b64decode, hex, concat, utf8encode, jcs, sha256 } = globalThis.FarmtraceCodec;

  // Base64url without padding (RFC 4648 §5), the spelling of a token's signature (trace/auth.py).
  function b64url(bytes) {
    return b64encode(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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
    const record = { party, keyId: await keyIdOf(raw), publicKey: b64encode(raw), privateKey: pair.privateKey, created: Date.now() };
    await idb("readwrite", (s) => s.put(record, "current"));
    return record;
  }

  // PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410 §7): the only private-key import WebCrypto offers
  // besides JWK.
  const PKCS8_ED25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

  // A key's id: the hex of the first 8 bytes of SHA-256 over its 32 raw public bytes (trace/model/ids.py key_id_for).
  async function keyIdOf(raw) {
    return hex((await sha256(raw)).subarray(0, 8));
  }

  // Import a 32-byte seed as this browser's key for `party`. The public half is read once through a
  // short-lived extractable copy (WebCrypto derives no public key from a non-extractable one); what is
  // kept in IndexedDB is a non-extractable key. `expectedKeyId`, if given, must match.
  async function importSeed(party, seed, expectedKeyId) {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
    const pkcs8 = concat(Uint8Array.from(PKCS8_ED25519), seed);
    const temp = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", temp);
    const raw = b64decode(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (jwk.x.length % 4)) % 4));
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    pkcs8.fill(0);
    const keyId = await keyIdOf(raw);
    if (expectedKeyId && expectedKeyId !== keyId) throw new Error("the key file's key_id does not match its seed");
    const record = { party, keyId, publicKey: b64encode(raw), privateKey, created: Date.now(), imported: true };
    await idb("readwrite", (s) => s.put(record, "current"));
    return record;
  }

  // Import a farmtrace key file (client/keys.py: {"format": "farmtrace-party-key/v1", party, key_id, seed}).
  async function importKeyFile(text) {
    const doc = typeof text === "string" ? JSON.parse(text) : text;
    if (!doc || doc.format !== "farmtrace-party-key/v1" || !doc.party || !doc.seed) {
      throw new Error("not a farmtrace-party-key/v1 file");
    }
    const seed = b64decode(doc.seed);
    if (!seed) throw new Error("the key file's seed is not base64");
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
    const digest = await sha256(concat(salt, utf8encode(jcs(details))));
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
    const text = jcs(Object.assign({ v: 1 }, event));
    const canonical = utf8encode(text);
    const signature = await sign(key, concat(utf8encode("farmtrace/event/v1\n"), canonical));
    const entry = concat(utf8encode("farmtrace/entry/v1\n"), canonical, utf8encode("\n" + b64encode(signature) + "\n"));
    const id = hex(await sha256(canonical));
    return { entry: b64encode(entry), id, canonical: text };
  }

  // Proof of possession for an enrollment application (trace/applications.py).
  async function applicationProof(key, kind, partyId, record) {
    const message = utf8encode("farmtrace/application/v1\n" + jcs({ kind, party_id: partyId, record }));
    return b64encode(await sign(key, message));
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
      }).catch((e) => {
        originPromise = null; // asked again next time: the network may be back (static/portal-queue.js)
        throw e;
      });
    return originPromise;
  }

  // A session's length: the server accepts tokens of at most an hour (trace/auth.py MAX_LIFETIME);
  // five minutes less leaves room for a clock that runs fast.
  const SESSION_SECONDS = 55 * 60;

  async function token(key, lifetimeSeconds = 600) {
    const origin = await logOrigin();
    const expires = Math.floor(Date.now() / 1000) + lifetimeSeconds;
    const message = utf8encode(`farmtrace/auth/v2\n${origin}\n${key.party}\n${key.keyId}\n${expires}\n`);
    return ["ft2", key.party, key.keyId, expires, b64url(await sign(key, message))].join(".");
  }

  // Sign in: a fresh token in a cookie the pages read (never sent to other sites).
  async function signIn(key) {
    const t = await token(key, SESSION_SECONDS);
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `ft_token=${t}; Max-Age=${SESSION_SECONDS}; Path=/; SameSite=Strict${secure}`;
    return t;
  }

  // POST JSON; resolves to {ok, status, body} (body: the answer's JSON, problem+json on errors, or
  // null when it is not JSON). Rejects only when the network fails.
  async function postJson(url, body, headers) {
    const r = await fetch(url, {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, headers),
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

  // POST JSON with the party's token (an Authorization header, never the cookie).
  async function post(key, url, body) {
    return postJson(url, body, { Authorization: "FarmTrace " + (await token(key, 600)) });
  }

  async function record(key, wire) {
    const signed = await signEvent(key, wire);
    const result = await post(key, "/events", { entry: signed.entry });
    return Object.assign(result, { id: signed.id });
  }

  return {
    generate,
    load,
    forget,
    signEvent,
    applicationProof,
    token,
    signIn,
    signOut,
    post,
    postJson,
    record,
    importSeed,
    importKeyFile,
    contactCommitment,
  };
})();

globalThis.FarmtraceSigning = FarmtraceSigning;
