/* farmtrace: check a proof of the head index's map in the consumer's browser (docs/index.md).
 *
 * The twin of ledger/verifiable_map.py's `MapProof.from_wire` + `check_key`: the same strict wire form,
 * the same checks in the same order, the same reason codes (REASONS there), so that
 * tests/web/test_js_vmap.py can run both over the vectors (tests/ledger/vectors/index_v1.json) and
 * thousands of random proofs and compare every verdict.
 *
 * The map is a compact sparse Merkle tree over 32-byte keys:
 *   leaf(key, value_hash) = SHA-256(0x00 ‖ key ‖ value_hash)    node(l, r) = SHA-256(0x01 ‖ l ‖ r)
 *   EMPTY = 32 zero bytes; bit i of a key is bit 7 - i % 8 of byte i >> 3; 0 goes left.
 * A proof is {"siblings": [base64 | null, ...] (the deepest first, null: EMPTY, at most 256),
 *             "other": null | {"key": base64, "value_hash": base64}}.
 *
 *   FarmtraceMap.checkKey(root, key, valueHash, proof) -> Promise<null | reason>
 *       root, key, valueHash: Uint8Array (valueHash null: the key is claimed absent); proof: wire JSON.
 *       null: the proof shows that `key` maps to `valueHash` (or to nothing) in the map of `root`.
 *       Else one of REASONS; it never throws for bad input.
 *   FarmtraceMap.lotKey(code), .signingKey(keyId) -> Promise<Uint8Array>   the map keys of a lot, a key
 *   FarmtraceMap.valueHash(value) -> Promise<Uint8Array>                    SHA-256 of RFC 8785 JSON
 *
 * Base64, SHA-256 and RFC 8785 come from codec.js (FarmtraceCodec), loaded before this file (as
 * verify.js is); no DOM use, so the tests run it in Node as well as in Chromium.
 */
"use strict";
(function () {
  const { b64decode, concat, utf8encode, jcs, sha256Sync } = globalThis.FarmtraceCodec;
  const LEAF = Uint8Array.of(0);
  const NODE = Uint8Array.of(1);
  const EMPTY = new Uint8Array(32);
  const MAX_DEPTH = 256;
  const LOT_PREFIX = utf8encode("farmtrace/index/v1/lot\n");
  const KEY_PREFIX = utf8encode("farmtrace/index/v1/key\n");
  const HEX16 = /^[0-9a-f]{16}$/;
  const CANONICAL_LAST = "AEIMQUYcgkosw048"; // the base64 digits whose low 2 bits are 0

  const REASONS = Object.freeze([
    "map.malformed", // not a proof, or a key / value hash not 32 bytes
    "map.other_leaf", // a value is claimed, but the proof ends at another key's leaf
    "map.same_key", // a proof of absence ending at the key's own leaf: the key is in the map
    "map.off_path", // a proof of absence ending at a leaf whose key is not on the key's path
    "map.root", // the recomputed root is not the root
  ]);

  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const isHash = (x) => x instanceof Uint8Array && x.length === 32;
  const bit = (key, i) => (key[i >> 3] >> (7 - (i & 7))) & 1;

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function members(obj, names) {
    // Exactly these own members (names sorted), as from_wire's _members.
    return isObj(obj) && Object.keys(obj).sort().join("\n") === names.join("\n");
  }

  function hash32(text) {
    // 32 bytes from canonical standard base64 (what b64encode writes, nothing else), else null.
    // 44 characters decoding to 32 bytes end in one "="; the one before it carries the last 4 bits
    // and 2 bits that b64encode writes 0: checking them is the round trip b64encode(bytes) === text
    // without building the text again (1,400 of them in a 60-lot bag's proofs).
    if (typeof text !== "string" || text.length !== 44 || !CANONICAL_LAST.includes(text[42])) return null;
    const bytes = b64decode(text);
    return bytes !== null && bytes.length === 32 ? bytes : null;
  }

  function parseProof(wire) {
    // {siblings: [Uint8Array | null], other: {key, valueHash} | null}, or null if malformed.
    if (!members(wire, ["other", "siblings"])) return null;
    const raw = wire.siblings;
    if (!Array.isArray(raw) || raw.length > MAX_DEPTH) return null;
    const siblings = [];
    for (const s of raw) {
      if (s === null) {
        siblings.push(null);
        continue;
      }
      const h = hash32(s);
      if (h === null || equal(h, EMPTY)) return null; // EMPTY is written null
      siblings.push(h);
    }
    let other = null;
    if (wire.other !== null) {
      if (!members(wire.other, ["key", "value_hash"])) return null;
      const key = hash32(wire.other.key);
      const valueHash = hash32(wire.other.value_hash);
      if (key === null || valueHash === null) return null;
      other = { key, valueHash };
    }
    return { siblings, other };
  }

  function samePath(a, b, depth) {
    for (let i = 0; i < depth; i++) if (bit(a, i) !== bit(b, i)) return false;
    return true;
  }

  async function checkKey(root, key, valueHash, proof) {
    // 1. The proof's wire form, then the key and the claimed value hash.
    const p = parseProof(proof);
    if (p === null || !isHash(key) || (valueHash !== null && !isHash(valueHash))) return "map.malformed";
    // 2. Where the key's path ends, at depth = the number of siblings: its own leaf, EMPTY, or the
    //    leaf of another key that shares the path so far.
    const depth = p.siblings.length;
    let h;
    if (valueHash !== null) {
      if (p.other !== null) return "map.other_leaf";
      h = sha256Sync(LEAF, key, valueHash);
    } else if (p.other === null) {
      h = EMPTY;
    } else {
      if (equal(p.other.key, key)) return "map.same_key";
      if (!samePath(p.other.key, key, depth)) return "map.off_path";
      h = sha256Sync(LEAF, p.other.key, p.other.valueHash);
    }
    // 3. Up to the root: at depth d the key's bit d - 1 says on which side the path runs.
    for (let i = 0; i < depth; i++) {
      const s = p.siblings[i] === null ? EMPTY : p.siblings[i];
      h = bit(key, depth - 1 - i) ? sha256Sync(NODE, s, h) : sha256Sync(NODE, h, s);
    }
    return root instanceof Uint8Array && equal(h, root) ? null : "map.root";
  }

  async function lotKey(code) {
    return sha256Sync(concat(LOT_PREFIX, utf8encode(code)));
  }

  async function signingKey(keyId) {
    if (typeof keyId !== "string" || !HEX16.test(keyId)) {
      throw new Error("a key id is 16 lowercase hex digits");
    }
    return sha256Sync(concat(KEY_PREFIX, utf8encode(keyId)));
  }

  async function valueHash(value) {
    return sha256Sync(utf8encode(jcs(value)));
  }

  globalThis.FarmtraceMap = Object.freeze({ REASONS, checkKey, lotKey, signingKey, valueHash });
})();
