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
 *   sha256(bytes) -> Promise<bytes>   WebCrypto SHA-256
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

  async function sha256(bytes) {
    return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes));
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
  });
})();
