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
 *   verifyEd25519(pub, sig, msg) -> Promise<boolean>
 *                                     RFC 8032 Ed25519 verification, the one primitive every check
 *                                     calls: WebCrypto where the browser has Ed25519, else the vendored
 *                                     @noble/ed25519 (strict RFC 8032 mode); false for a bad key or
 *                                     signature; throws Error only when no engine exists at all
 *   ed25519Engine() -> Promise<"webcrypto" | "noble" | null>
 *                                     which engine verifyEd25519 uses here (chosen once, by verifying
 *                                     RFC 8032's test 1 with WebCrypto); null when there is none
 *   ed25519Engines                    {webcrypto, noble}: each engine's own verify, for the tests
 *
 * The fallback is web/static/vendor/noble.js (globalThis.FarmtraceNoble: @noble/ed25519 and
 * @noble/hashes bundled by scripts/vendor_noble.py), loaded before this file where pages verify: it
 * serves browsers without WebCrypto Ed25519 (in-app webviews, older Safari) and pages opened outside a
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

  function hex(bytes) {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    return Array.from(view, (b) => b.toString(16).padStart(2, "0")).join("");
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

  async function sha256(bytes) {
    const s = subtle();
    if (s) return new Uint8Array(await s.digest("SHA-256", bytes));
    if (noble()) return noble().sha256(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
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
        return noble() ? "noble" : null;
      })();
    }
    return chosen;
  }

  const ed25519Engines = Object.freeze({ webcrypto: webcryptoEd25519, noble: nobleEd25519 });

  async function verifyEd25519(publicKey, signature, message) {
    const engine = await ed25519Engine();
    if (!engine) throw new Error("no Ed25519 verifier: neither WebCrypto Ed25519 nor vendor/noble.js");
    return ed25519Engines[engine](publicKey, signature, message);
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
    verifyEd25519,
    ed25519Engine,
    ed25519Engines,
  });
})();
