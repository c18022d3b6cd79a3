/* farmtrace codec: the byte encodings the browser's signer (signing.js) and verifier (verify.js) share.
 *
 * One function per concept and per direction, each the twin of what the server uses:
 *
 *   b64encode(bytes) -> text          standard base64 with padding (Python's base64.b64encode)
 *   b64decode(text) -> bytes | null   strict: standard alphabet, padded, nothing else (Python's
 *                                     b64decode(validate=True)); null for anything else
 *   hex(bytes) -> text                lower-case hex (bytes.hex())
 *   concat(...bytes) -> bytes         one Uint8Array of the parts in order
 *   utf8encode(text) -> bytes         UTF-8 (a lone surrogate becomes U+FFFD, as TextEncoder does)
 *   utf8decode(bytes) -> text         strict UTF-8: throws TypeError on an invalid sequence; a BOM is kept
 *   jcs(value) -> text                RFC 8785 canonical JSON (Python's rfc8785.dumps); throws Error
 *   sha256(bytes) -> Promise<bytes>   SHA-256: WebCrypto, else the vendored pure-JS one
 *   sha256Sync(...bytes) -> bytes     SHA-256 of the parts' concatenation, in plain JS, synchronous
 *   verifyEd25519(pub, sig, msg) -> Promise<boolean>
 *                                     RFC 8032 Ed25519 verification, the one primitive every check
 *                                     calls: WebCrypto where the browser has Ed25519, else the vendored
 *                                     @noble/ed25519 (strict RFC 8032 mode); false for a bad key or
 *                                     signature; throws Error only when no engine exists at all
 *   verifyEd25519Many([{publicKey, signature, message}]) -> Promise<boolean[]>
 *                                     the same verdicts for many signatures at once: WebCrypto's in
 *                                     parallel; noble's as one batch equation, checked one by one only
 *                                     when the batch fails (so every verdict is noble's own)
 *   ed25519Engine() -> Promise<"webcrypto" | "noble" | null>
 *                                     which engine verifyEd25519 uses here (chosen once, by verifying
 *                                     RFC 8032's test 1 with WebCrypto); null when there is none
 *   ed25519Engines                    {webcrypto, noble}: each engine's own verify, for the tests
 *   ed25519BatchHolds(items) -> boolean
 *                                     the noble batch equation alone (no one-by-one retry), for the tests
 *
 * The fallback is web/static/vendor/noble.js (globalThis.FarmtraceNoble: @noble/ed25519 and
 * @noble/hashes bundled by scripts/vendor_noble.py), fetched on first need from the URL in codec.js's
 * data-noble attribute (or loaded before this file, as the tests and other pages may): it serves browsers without WebCrypto Ed25519 (in-app webviews, older Safari) and pages opened outside a
 * secure context (no crypto.subtle at all). The engines part only on inputs no honest signer makes:
 * keys of small order or written non-canonically (noble refuses them, WebCrypto and the server accept),
 * and an R with a torsion component (noble's cofactored equation accepts it): docs/browser-ed25519.md.
 *
 * A classic script with no DOM use, so the same file runs in a page (loaded before signing.js and
 * verify.js, which read globalThis.FarmtraceCodec when they load) and in Node (the tests' runner,
 * tests/web/js/evaluate.mjs): `defer` keeps the pages' order, and the pages' CSP allows scripts from
 * this origin only.
 */
"use strict";
(function () {
  const STRICT_B64 = /^[A-Za-z0-9+/]*={0,2}$/;
  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  function b64encode(bytes) {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let s = "";
    for (let i = 0; i < view.length; i++) s += String.fromCharCode(view[i]);
    return btoa(s);
  }

  function b64decode(text) {
    if (typeof text !== "string" || text.length % 4 !== 0 || !STRICT_B64.test(text)) return null;
    let bin;
    try {
      bin = atob(text);
    } catch (e) {
      return null; // "=" inside the text, or padding where none can be
    }
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  const HEX_DIGITS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

  function hex(bytes) {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    let s = "";
    for (let i = 0; i < view.length; i++) s += HEX_DIGITS[view[i]];
    return s;
  }

  function concat(...parts) {
    let n = 0;
    for (let i = 0; i < parts.length; i++) n += parts[i].length;
    const out = new Uint8Array(n);
    for (let i = 0, at = 0; i < parts.length; at += parts[i].length, i++) out.set(parts[i], at);
    return out;
  }

  function utf8encode(text) {
    return encoder.encode(text);
  }

  function utf8decode(bytes) {
    return decoder.decode(bytes);
  }

  // --- RFC 8785 (JSON Canonicalization Scheme) -------------------------------------------------------
  // Object keys sorted by UTF-16 code units (§3.2.3: JavaScript's default string order), strings
  // escaped as JSON.stringify escapes them (§3.2.2.2 adopts ECMAScript's rules), numbers printed as
  // ECMAScript prints them (§3.2.2.3). Refused, as Python's rfc8785 refuses them: NaN and ±Infinity
  // (§3.2.2.3), strings holding a lone surrogate (§3.1: the data must be I-JSON, RFC 7493 §2.1), and
  // what JSON has no spelling for (undefined outside an object, functions, symbols, bigints, objects
  // other than plain ones and arrays). An object member whose value is undefined is left out, as
  // JSON.stringify leaves it out.

  function string(text) {
    if (LONE_SURROGATE.test(text)) throw new Error("RFC 8785 refuses a string with a lone surrogate");
    return JSON.stringify(text);
  }

  function plain(value) {
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
  }

  function jcs(value) {
    if (value === null || typeof value === "boolean") return JSON.stringify(value);
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new Error("RFC 8785 has no NaN or Infinity");
      return JSON.stringify(value);
    }
    if (typeof value === "string") return string(value);
    if (Array.isArray(value)) return "[" + value.map((item) => jcs(item)).join(",") + "]";
    if (typeof value === "object" && plain(value)) {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
      return "{" + keys.map((k) => string(k) + ":" + jcs(value[k])).join(",") + "}";
    }
    const what = typeof value === "object" ? Object.prototype.toString.call(value) : typeof value;
    throw new Error("RFC 8785 cannot encode " + what);
  }

  // --- SHA-256 and Ed25519: WebCrypto, else the vendored @noble code ----------------------------------

  const subtle = () => (globalThis.crypto && globalThis.crypto.subtle) || null;
  const noble = () => globalThis.FarmtraceNoble || null;

  // The fallback (40 kB, 12 kB gzipped) is fetched only by a browser that needs it: a page names it
  // on codec.js's own tag, <script src="codec.js" data-noble="URL of noble.js">. Node (the tests)
  // and a page that loads noble.js itself find globalThis.FarmtraceNoble already there.
  const NOBLE_URL =
    typeof document !== "undefined" && document.currentScript ? document.currentScript.dataset.noble || null : null;
  let nobleLoading = null;

  function loadNoble() {
    if (noble() || !NOBLE_URL) return Promise.resolve(noble());
    if (!nobleLoading) {
      nobleLoading = new Promise((resolve) => {
        const tag = document.createElement("script");
        tag.src = NOBLE_URL;
        tag.onload = () => resolve(noble());
        tag.onerror = () => resolve(null); // offline or blocked: no fallback (ed25519Engine says so)
        document.head.appendChild(tag);
      });
    }
    return nobleLoading;
  }

  // SHA-256 in plain JS (FIPS 180-4) for a 60-lot bag's ~3,000 hashes (ids, leaves, proofs): at 4x,
  // that bag's check p50 283 ms against 416 through a crypto.subtle promise each (12 loads each,
  // alternated, load 12). tests/web/test_js_sha256.py: against hashlib, every length to 300, 1 MB.
  const K256 = Int32Array.from(
    ("428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5 d807aa98 12835b01 " +
     "243185be 550c7dc3 72be5d74 80deb1fe 9bdc06a7 c19bf174 e49b69c1 efbe4786 0fc19dc6 240ca1cc " +
     "2de92c6f 4a7484aa 5cb0a9dc 76f988da 983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 " +
     "06ca6351 14292967 27b70a85 2e1b2138 4d2c6dfc 53380d13 650a7354 766a0abb 81c2c92e 92722c85 " +
     "a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070 19a4c116 1e376c08 " +
     "2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3 748f82ee 78a5636f 84c87814 8cc70208 " +
     "90befffa a4506ceb bef9a3f7 c67178f2").split(" ").map((x) => parseInt(x, 16)),
  );
  const W256 = new Int32Array(64); // Int32: a word read back is an int32 (Uint32Array's may not be)
  const H0 = Int32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
  const H = new Int32Array(8);
  const PADDED = new Uint8Array(4096), PADDED_VIEW = new DataView(PADDED.buffer); // reused: no garbage per hash

  // A call per block: with the block loop inline, Chromium 156's Maglev code left for on-stack
  // replacement on each long input (370-odd deopts in one 60-lot check, --js-flags=--trace-deopt; 2
  // once split). Check's main-thread CPU at 1x, 16 loads each alternated: p50 27.5 against 33.6 ms.
  function compress(buf, off) {
    // One 64-byte block at buf[off..] into H (FIPS 180-4 §6.2.2).
    const W = W256;
    for (let i = 0, j = off; i < 16; i++, j += 4) W[i] = (buf[j] << 24) | (buf[j + 1] << 16) | (buf[j + 2] << 8) | buf[j + 3];
    for (let i = 16; i < 64; i++) {
      const a = W[i - 15], b = W[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K256[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }

  function sha256Sync(...parts) {
    // Parts, so that sha256Sync(LEAF, entry) copies the entry once (4x: check 105 vs 115 ms p50).
    let n = 0;
    for (let i = 0; i < parts.length; i++) n += parts[i].length;
    const total = ((n + 9 + 63) >> 6) << 6;
    const buf = total <= PADDED.length ? PADDED : new Uint8Array(total);
    const view = buf === PADDED ? PADDED_VIEW : new DataView(buf.buffer);
    H.set(H0);
    for (let i = 0, at = 0; i < parts.length; at += parts[i].length, i++) buf.set(parts[i], at);
    buf.fill(0, n, total);
    buf[n] = 0x80;
    view.setUint32(total - 8, Math.floor(n / 0x20000000)); // the length in bits, 64-bit big-endian
    view.setUint32(total - 4, (n << 3) >>> 0);
    for (let off = 0; off < total; off += 64) compress(buf, off);
    const out = new Uint8Array(32), o = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) o.setUint32(4 * i, H[i]);
    return out;
  }

  async function sha256(bytes) {
    const s = subtle();
    if (s) return new Uint8Array(await s.digest("SHA-256", bytes));
    const lib = noble() || (await loadNoble());
    if (lib) return lib.sha256(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    throw new Error("no SHA-256: neither crypto.subtle nor vendor/noble.js");
  }

  async function webcryptoEd25519(publicKey, signature, message) {
    try {
      const key = await subtle().importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      return await subtle().verify({ name: "Ed25519" }, key, signature, message);
    } catch (e) {
      return false; // a key WebCrypto cannot import (or no Ed25519 at all: ed25519Engine checks first)
    }
  }

  async function nobleEd25519(publicKey, signature, message) {
    const lib = noble();
    if (!lib) return false;
    lib.ed25519.hashes.sha512 = lib.sha512; // synchronous SHA-512: crypto.subtle may be missing
    try {
      // zip215: false: RFC 8032 §5.1.7's strict decoding (canonical S, A and R), no small-order A;
      // noble's default, ZIP-215, accepts more (docs/browser-ed25519.md).
      return lib.ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch (e) {
      return false; // not 32 and 64 bytes
    }
  }

  // RFC 8032 §7.1, test 1: the probe a WebCrypto engine must pass to be used.
  const PROBE = {
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  };
  const fromHex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
  let chosen = null;

  function ed25519Engine() {
    // WebCrypto when it verifies the probe (its Ed25519 missing: NotSupportedError, or broken), else noble.
    if (!chosen) {
      chosen = (async () => {
        if (subtle()) {
          try {
            const key = await subtle().importKey("raw", fromHex(PROBE.publicKey), { name: "Ed25519" }, false, ["verify"]);
            if (await subtle().verify({ name: "Ed25519" }, key, fromHex(PROBE.signature), new Uint8Array(0))) {
              return "webcrypto";
            }
          } catch (e) {
            /* no Ed25519 in this WebCrypto */
          }
        }
        return noble() || (await loadNoble()) ? "noble" : null;
      })();
    }
    return chosen;
  }

  // --- Ed25519 batch verification, for the noble engine -----------------------------------------------
  // noble's strict verify checks one signature's cofactored equation [8][S]B = [8]R + [8][k]A (RFC 8032
  // §5.1.7), about 4 ms on a phone. For n signatures, with random 128-bit z_i, one equation instead:
  //   [8]( [Σ z_i·S_i]B − Σ [z_i]R_i − Σ over keys A of [Σ_{i signed by A} z_i·k_i]A ) = 0,
  // one multi-scalar multiplication (Straus, 4-bit windows) sharing its doublings, each key decoded
  // once. Batch and single verification agree when both are cofactored (Bernstein, Doumen, Lange and
  // Oosterwijk 2012, "Faster batch forgery identification"; Chalkias, Garillot and Nikolaenko 2020,
  // "Taming the many EdDSAs", §5); an invalid signature passes with probability at most 2^-128. The
  // per-item checks are noble's strict ones: S < L, A and R canonical, A not of small order. A batch
  // that fails (or refuses an item) is checked one by one with noble's own verify, so every verdict is
  // noble's: the batch only saves time when all are valid, the common case.

  const L = (1n << 252n) + 27742317777372353535851937790883648493n; // RFC 8032 §5.1: the group order

  function littleEndian(bytes) {
    let n = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
    return n;
  }

  function straus(Point, terms) {
    // Σ [scalar]point over terms (scalars ≥ 0): a table of 0..15 × point each, then one pass over the
    // 4-bit digits from the top, four doublings shared by all the terms per digit.
    const digits = terms.map(({ scalar }) => {
      const out = [];
      for (let n = scalar; n > 0n; n >>= 4n) out.push(Number(n & 15n));
      return out;
    });
    const tables = terms.map(({ point }) => {
      const t = [null, point];
      for (let d = 2; d < 16; d++) t.push(d % 2 ? t[d - 1].add(point) : t[d / 2].double());
      return t;
    });
    let acc = Point.ZERO;
    for (let w = Math.max(0, ...digits.map((d) => d.length)) - 1; w >= 0; w--) {
      acc = acc.double().double().double().double();
      for (let i = 0; i < terms.length; i++) {
        const d = digits[i][w];
        if (d) acc = acc.add(tables[i][d]);
      }
    }
    return acc;
  }

  function nobleBatchHolds(lib, items) {
    // true if the batch equation holds; false if it does not or an item fails noble's strict checks.
    const { Point } = lib.ed25519;
    const random = new Uint32Array(4 * items.length);
    globalThis.crypto.getRandomValues(random); // there even outside a secure context
    const keys = new Map(), terms = [];
    let sumS = 0n;
    try {
      items.forEach(({ publicKey, signature, message }, i) => {
        if (publicKey.length !== 32 || signature.length !== 64) throw new Error("length");
        const name = hex(publicKey);
        if (!keys.has(name)) {
          const A = Point.fromBytes(publicKey, false); // strict: throws for a non-canonical encoding
          if (A.isSmallOrder()) throw new Error("small-order key");
          keys.set(name, { point: A.negate(), scalar: 0n });
        }
        const R = Point.fromBytes(signature.subarray(0, 32), false);
        const S = littleEndian(signature.subarray(32));
        if (S >= L) throw new Error("S is not below L");
        const k = littleEndian(lib.sha512(concat(signature.subarray(0, 32), publicKey, message))) % L;
        let z = 1n; // z_i in [2^128, 2^129): never 0
        for (let j = 0; j < 4; j++) z = (z << 32n) | BigInt(random[4 * i + j]);
        sumS = (sumS + z * S) % L;
        const key = keys.get(name);
        key.scalar = (key.scalar + z * k) % L;
        terms.push({ point: R.negate(), scalar: z });
      });
    } catch (e) {
      return false;
    }
    terms.push(...keys.values(), { point: Point.BASE, scalar: sumS });
    return straus(Point, terms).clearCofactor().is0();
  }

  function ed25519BatchHolds(items) {
    const lib = noble();
    if (!lib) throw new Error("vendor/noble.js is not loaded");
    lib.ed25519.hashes.sha512 = lib.sha512;
    return nobleBatchHolds(lib, items);
  }

  async function nobleEd25519Many(items) {
    const lib = noble();
    if (lib && items.length > 1) {
      lib.ed25519.hashes.sha512 = lib.sha512;
      if (nobleBatchHolds(lib, items)) return items.map(() => true);
    }
    return Promise.all(items.map((x) => nobleEd25519(x.publicKey, x.signature, x.message)));
  }

  const ed25519Engines = Object.freeze({ webcrypto: webcryptoEd25519, noble: nobleEd25519 });

  async function verifyEd25519(publicKey, signature, message) {
    const engine = await ed25519Engine();
    if (!engine) throw new Error("no Ed25519 verifier: neither WebCrypto Ed25519 nor vendor/noble.js");
    return ed25519Engines[engine](publicKey, signature, message);
  }

  async function verifyEd25519Many(items) {
    const engine = await ed25519Engine();
    if (!engine) throw new Error("no Ed25519 verifier: neither WebCrypto Ed25519 nor vendor/noble.js");
    if (engine === "noble") return nobleEd25519Many(items);
    return Promise.all(items.map((x) => webcryptoEd25519(x.publicKey, x.signature, x.message)));
  }

  globalThis.FarmtraceCodec = Object.freeze({
    b64encode,
    b64decode,
    hex,
    concat,
    utf8encode,
    utf8decode,
    jcs,
    sha256,
    sha256Sync,
    verifyEd25519,
    verifyEd25519Many,
    ed25519Engine,
    ed25519Engines,
    ed25519BatchHolds,
  });
})();
