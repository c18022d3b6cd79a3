/* farmtrace: step 6 of the journey check, completeness by the head index (issue 17 §2, docs/index.md).
 *
 * The twin of trace/journey_index_check.py: the same checks, in the same order, with the same reason
 * codes, run by verify.js's checkJourney after the chain step (tests/web/test_journey_index.py runs
 * both over the same tampered journeys). It reads the bytes docs/index.md defines; map proofs are
 * checked by vmap.js (FarmtraceMap.checkKey), loaded before this file, after codec.js.
 *
 *   a. the journey's "index" section is there, with entry, lots and keys        index.missing (stop)
 *   b. the entry is farmtrace/index/v1 ‖ RFC 8785 {keys, lots, root, size, time}, index.entry (stop)
 *      at its own ledger index N
 *   c. its inclusion proof leads to the checkpoint's root                        index.inclusion (stop)
 *   c2. given fresh {maxAge, at, witnessed}: the checkpoint's size is N + 1, or  index.stale
 *      at - time <= maxAge (at: the newest valid witness cosignature, or the
 *      reader's clock without one); the outcome's state is then "stale"
 *   d. each lineage lot (sorted), then each signing key (sorted): an item;       index.missing,
 *      a null or well-formed value proven by the entry's map root                index.proof
 *   e. below N, each proven lot's events are exactly `count`, ending at `head`   chain.hidden_tail
 *   f. no event after its key's revocation (ledger index > revoked); a key       key.revoked,
 *      proven absent that signed an indexed event                                index.missing
 *   Events at N and above: recorded, not yet indexed (the outcome's `unindexed`).
 *
 * FarmtraceCompleteness.checkIndex(journey, lot, parsedEvents, cp, fail, inclusion[, fresh])
 *     -> Promise<{state: "missing" | "unproven" | "stale" | "complete" | "pending", size, unindexed}>
 * FarmtraceCompleteness.show(result, box, msg): the page's completeness line and its state when the
 *     only failure is a missing index (verified, completeness not proven).
 */
"use strict";
(function () {
  const { b64decode, utf8encode, utf8decode, jcs } = globalThis.FarmtraceCodec;
  const HEADER = utf8encode("farmtrace/index/v1\n");
  const HEX64 = /^[0-9a-f]{64}$/;
  const HEX16 = /^[0-9a-f]{16}$/;
  const KEY_FIELDS = ["key_id", "party", "public_key", "registered", "registered_at"];
  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const isIndex = (x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < 2 ** 53;
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const members = (o) => Object.keys(o).sort().join(",");

  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function hash32(text) {
    const raw = typeof text === "string" ? b64decode(text) : null;
    return raw && raw.length === 32 ? raw : null;
  }

  function parseIndexEntry(entry) {
    // Step b: {size, root (bytes), lots, keys, time}, or null.
    if (!equal(entry.subarray(0, HEADER.length), HEADER) || entry[entry.length - 1] !== 10) return null;
    if (entry.filter((b) => b === 10).length !== 2) return null;
    const body = entry.subarray(HEADER.length, entry.length - 1);
    let obj;
    try {
      const text = utf8decode(body); // strict UTF-8, so the same text means the same bytes
      obj = JSON.parse(text);
      if (!isObj(obj) || jcs(obj) !== text) return null;
    } catch (e) {
      return null;
    }
    if (members(obj) !== "keys,lots,root,size,time") return null;
    if (![obj.keys, obj.lots, obj.size, obj.time].every(isIndex)) return null;
    const root = hash32(obj.root);
    return root ? { ...obj, root } : null;
  }

  function lotValueOk(v, code) {
    return isObj(v) && members(v) === "count,head,lot" && isIndex(v.count) &&
      typeof v.head === "string" && HEX64.test(v.head) && v.lot === code;
  }
  function keyValueOk(v, kid, key) {
    if (!isObj(v)) return false;
    const revoked = own(v, "revoked");
    const fields = revoked ? [...KEY_FIELDS, "revoked", "revoked_at"] : KEY_FIELDS;
    if (members(v) !== [...fields].sort().join(",")) return false;
    // The journey's own copy of the key, when it has one (key.unknown names it when it has none).
    const k = isObj(key) ? key : {};
    return v.key_id === kid && HEX16.test(kid) && typeof v.party === "string" &&
      v.party === (own(k, "party") ? k.party : v.party) && hash32(v.public_key) !== null &&
      v.public_key === (own(k, "public_key") ? k.public_key : v.public_key) &&
      isIndex(v.registered) && typeof v.registered_at === "string" &&
      (!revoked || (isIndex(v.revoked) && typeof v.revoked_at === "string"));
  }

  async function proven(root, mapKey, item, wellFormed) {
    // Step d for one item: a null or well-formed value whose map proof leads to `root`.
    if (!isObj(item) || members(item) !== "proof,value") return false;
    const value = item.value;
    if (value !== null && !wellFormed(value)) return false;
    let vh = null;
    if (value !== null) {
      try {
        vh = await globalThis.FarmtraceMap.valueHash(value);
      } catch (e) {
        return false;
      }
    }
    return (await globalThis.FarmtraceMap.checkKey(root, mapKey, vh, item.proof)) === null;
  }

  function lineageOf(target, events) {
    // The lot and every lot it was made from, as the chain step walks it (the first creator of each).
    const creator = new Map();
    for (const [, p] of events) for (const out of p.event.outputs) if (!creator.has(out.lot)) creator.set(out.lot, p);
    const lineage = [], queue = [target];
    while (queue.length) {
      const code = queue.shift();
      if (lineage.includes(code)) continue;
      lineage.push(code);
      if (creator.has(code)) for (const ref of creator.get(code).event.inputs) queue.push(ref.lot);
    }
    return lineage.sort();
  }

  async function checkIndex(journey, target, events, cp, fail, inclusion, fresh) {
    const section = journey.index;
    // a. The section.
    if (!isObj(section) || !["entry", "lots", "keys"].every((k) => isObj(section[k]))) {
      fail("index.missing");
      return { state: "missing", size: null, unindexed: [] };
    }
    // b. The entry, at its own index.
    const item = section.entry;
    const at = isIndex(item.index) ? item.index : null;
    const entry = b64decode(item.entry);
    const parsed = entry ? parseIndexEntry(entry) : null;
    if (!parsed || parsed.size !== at) {
      fail("index.entry", { index: at });
      return { state: "unproven", size: null, unindexed: [] };
    }
    // c. Proven in the checkpoint.
    if (!cp) return { state: "unproven", size: null, unindexed: [] };
    if ((await inclusion(item, entry, cp)) !== null) {
      fail("index.inclusion", { index: at });
      return { state: "unproven", size: null, unindexed: [] };
    }
    const { size, root } = parsed;
    // c2. The latest entry, or recent enough (docs/index.md §4 step 1b).
    const stale = !!fresh && Number(cp.size) !== size + 1 && fresh.at - parsed.time > fresh.maxAge;
    if (stale) fail("index.stale", { index: size });
    // d. The items (their proofs checked in parallel, failures reported in order).
    const M = globalThis.FarmtraceMap, keys = isObj(journey.keys) ? journey.keys : {};
    const lotCodes = lineageOf(target, events);
    const kids = [...new Set(events.map(([, p]) => p.event.key_id))].sort();
    const lotChecks = await Promise.all(lotCodes.map(async (code) => {
      const it = own(section.lots, code) ? section.lots[code] : null;
      if (it === null || it === undefined) return "index.missing";
      return (await proven(root, await M.lotKey(code), it, (v) => lotValueOk(v, code))) ? null : "index.proof";
    }));
    const keyChecks = await Promise.all(kids.map(async (kid) => {
      const it = own(section.keys, kid) ? section.keys[kid] : null;
      if (it === null || it === undefined) return "index.missing";
      if (!HEX16.test(kid)) return "index.proof";
      const key = own(keys, kid) ? keys[kid] : undefined;
      return (await proven(root, await M.signingKey(kid), it, (v) => keyValueOk(v, kid, key))) ? null : "index.proof";
    }));
    const lots = new Map(), signers = new Map();
    lotCodes.forEach((code, i) => {
      if (lotChecks[i] === null) lots.set(code, section.lots[code].value);
      else fail(lotChecks[i], { lot: code });
    });
    kids.forEach((kid, i) => {
      if (keyChecks[i] === null) signers.set(kid, section.keys[kid].value);
      else fail(keyChecks[i], { key: kid });
    });
    // e. Below the index, each lot's events in the journey are exactly its indexed chain (each
    //    event listed once under each lot it names, in one pass over the events).
    const named = new Map();
    for (const [a, p] of events) {
      if (a === null || a >= size) continue;
      for (const code of new Set(p.event.inputs.concat(p.event.outputs).map((r) => r.lot))) {
        if (!named.has(code)) named.set(code, []);
        named.get(code).push([a, p.id]);
      }
    }
    for (const code of [...lots.keys()].sort()) {
      const value = lots.get(code);
      const mine = (named.get(code) || []).sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
      const count = value !== null ? value.count : 0, head = value !== null ? value.head : null;
      const last = mine.length ? mine[mine.length - 1][1] : null;
      if (mine.length !== count || last !== head) fail("chain.hidden_tail", { lot: code });
    }
    // f. No event after its key's revocation was recorded.
    for (const [a, p] of events) {
      const kid = p.event.key_id;
      if (!signers.has(kid) || a === null) continue;
      const value = signers.get(kid);
      if (value === null) {
        if (a < size) fail("index.missing", { index: a, key: kid });
      } else if (own(value, "revoked") && a > value.revoked) {
        fail("key.revoked", { index: a, key: kid });
      }
    }
    const unindexed = events.filter(([a]) => a !== null && a >= size).map(([a]) => a);
    return { state: stale ? "stale" : unindexed.length ? "pending" : "complete", size, unindexed };
  }

  // --- the page ----------------------------------------------------------------------------------

  function show(result, box, msg) {
    // The completeness line under the verdict; when the only failures are a missing index or a stale
    // one, the records check out but their completeness is not proven: a state of its own, never
    // "Verified".
    const line = box.querySelector(".verify-complete");
    const index = result.index || { state: "missing", size: null, unindexed: [] };
    const onlyMissing = !result.ok && result.failures.every((f) => f.reason === "index.stale" ||
      (f.reason === "index.missing" && f.index === null && f.lot === null && f.key === null));
    if (onlyMissing) {
      box.className = "card verify state-incomplete";
      box.dataset.state = "incomplete";
      box.querySelector("h2").textContent = msg("verify.incomplete");
      const detail = index.state === "stale" ? "verify.incomplete_stale_detail" : "verify.incomplete_detail";
      box.querySelector(".verify-detail").textContent = msg(detail, { events: result.events });
      box.querySelector(".verify-failures").hidden = true;
    }
    if (!line) return;
    line.dataset.state = index.state;
    const failed = !result.ok && !onlyMissing && index.state !== "missing";
    line.textContent = failed ? msg("verify.index_failed")
      : index.state === "complete" ? msg("verify.index_complete", { size: index.size })
      : index.state === "pending" ? msg("verify.index_pending", { n: index.unindexed.length, size: index.size })
      : index.state === "stale" ? msg("verify.index_stale")
      : index.state === "missing" ? msg("verify.index_missing") : msg("verify.index_unproven");
    line.hidden = false;
  }

  globalThis.FarmtraceCompleteness = Object.freeze({ checkIndex, show });
})();
