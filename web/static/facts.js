/* farmtrace: the facts a consumer's page may present as verified, computed from a checked journey.
 *
 * The twin of trace/journey_facts.py (`journey_facts`): the same rules, the same answer, key for key,
 * so tests/web/test_journey_facts.py can run both over the same genuine and tampered journeys and
 * compare the results exactly. The format is written down in docs/journey-facts.md.
 *
 *   FarmtraceFacts.factsOf(journey, result) -> facts
 *
 * `result` is what FarmtraceVerify.checkJourney answered for `journey` (only its `ok` and `failures`
 * are read). Nothing the server says about an event is used (neither its decoded `event` copy, nor
 * `kind`, `party_name`, `product`, `quantity`, `status` or `recalls`): every fact is read from the
 * bytes of a ledger entry the check proved. An event is proven when
 *   - no failure concerns the journey as a whole (shape, log key, checkpoint: without a trusted
 *     checkpoint nothing is proven in the log),
 *   - no failure is pinned to its ledger index, and its entry parsed,
 *   - its signing key failed no check of its own (step 3: the key's id, registration or proof),
 * and it is a fact only when it names a lot of the lineage rebuilt from proven events alone: the
 * lot, the inputs of the proven event that created it, and so on back to the fields. A party's name
 * is a fact only from a proven key's party.register entry.
 *
 * No DOM: the tests run it in Node as well as in Chromium. Needs codec.js (FarmtraceCodec).
 */
"use strict";
(function () {
  const { b64decode, utf8decode } = globalThis.FarmtraceCodec;
  const GLOBAL = new Set(["journey.malformed", "log_key.mismatch", "checkpoint.malformed", "checkpoint.signature"]);
  // Failures of a key itself (step 3): no event it signed, and no registration it carries, is proven.
  const KEY = new Set(["key.id", "key.not_registered", "key.registration", "key.registration_proof"]);
  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const isIndex = (x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < 2 ** 53;
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const get = (o, k) => (isObj(o) && own(o, k) ? o[k] : null);

  function signedEvent(entryText) {
    // The event object of an entry ("farmtrace/entry/v1\n" canonical "\n" signature "\n"), or null.
    const entry = b64decode(entryText);
    if (!entry) return null;
    const parts = [];
    let start = 0;
    for (let i = 0; i < entry.length; i++) {
      if (entry[i] === 10) { parts.push(entry.subarray(start, i)); start = i + 1; }
    }
    if (parts.length !== 3) return null;
    try {
      const obj = JSON.parse(utf8decode(parts[1]));
      return isObj(obj) ? obj : null;
    } catch (e) {
      return null;
    }
  }

  function refs(list, lineage) {
    // The lots of `list` on the lineage (else, or with no lineage given, all of them), as {lot, quantity,
    // unit} and, for live animals, their signed ear_tags and live_weight.
    const all = Array.isArray(list) ? list.filter(isObj) : [];
    const on = lineage ? all.filter((r) => lineage.has(r.lot)) : [];
    return (on.length ? on : all).map((r) => {
      const ref = { lot: get(r, "lot"), quantity: get(r, "quantity"), unit: get(r, "unit") };
      // Live animals' ear tags and live weight (values.LotOut), only where the entry signs them.
      for (const k of ["ear_tags", "live_weight"]) if (own(r, k)) ref[k] = r[k];
      return ref;
    });
  }

  function provenEvents(journey, result) {
    // [index, event] of every event whose own checks all passed, in the journey's order.
    const failures = Array.isArray(result.failures) ? result.failures : [];
    if (!isObj(journey) || !Array.isArray(journey.events) || failures.some((f) => GLOBAL.has(f.reason))) return [];
    const badIndex = new Set(failures.map((f) => f.index));
    const badKey = new Set(failures.filter((f) => KEY.has(f.reason)).map((f) => f.key));
    const out = [];
    for (const item of journey.events) {
      if (!isObj(item) || !isIndex(item.index) || badIndex.has(item.index)) continue;
      const ev = signedEvent(item.entry);
      if (ev && !badKey.has(ev.key_id)) out.push([item.index, ev]);
    }
    return out;
  }

  function registrations(journey, result) {
    // party id -> the party record of a proven key's party.register entry.
    const failures = Array.isArray(result.failures) ? result.failures : [];
    const out = new Map();
    if (!isObj(journey) || !isObj(journey.keys) || failures.some((f) => GLOBAL.has(f.reason))) return out;
    const badKey = new Set(failures.filter((f) => KEY.has(f.reason)).map((f) => f.key));
    for (const kid of Object.keys(journey.keys).sort()) {
      const k = journey.keys[kid];
      if (badKey.has(kid) || !isObj(k) || !isObj(k.registered_in)) continue;
      const ev = signedEvent(k.registered_in.entry);
      const record = ev && ev.kind === "party.register" ? get(ev.detail, "party") : null;
      if (isObj(record) && typeof record.id === "string" && record.id === k.party && !out.has(record.id)) {
        out.set(record.id, record);
      }
    }
    return out;
  }

  function lineageOf(target, events) {
    const creator = new Map();
    for (const [, ev] of events) {
      for (const o of Array.isArray(ev.outputs) ? ev.outputs : []) {
        if (isObj(o) && !creator.has(o.lot)) creator.set(o.lot, ev);
      }
    }
    const lineage = new Set(), queue = [target];
    while (queue.length) {
      const code = queue.shift();
      if (lineage.has(code)) continue;
      lineage.add(code);
      if (creator.has(code)) for (const r of creator.get(code).inputs || []) if (isObj(r)) queue.push(r.lot);
    }
    return { lineage, creator };
  }

  function factsOf(journey, result) {
    const target = isObj(journey) && typeof journey.lot === "string" ? journey.lot : null;
    const proven = provenEvents(journey, result || {});
    const { lineage, creator } = lineageOf(target, proven);
    const named = (ev) => (ev.inputs || []).concat(ev.outputs || []).some((r) => isObj(r) && lineage.has(r.lot));
    const events = proven.filter(([, ev]) => named(ev));
    const used = new Set(events.map(([at]) => at));
    const all = isObj(journey) && Array.isArray(journey.events) ? journey.events : [];
    const facts = {
      lot: target,
      verified: Boolean(result && result.ok),
      proven: events.map(([at]) => at),
      unproven: all.map((item) => (isObj(item) && isIndex(item.index) ? item.index : null)).filter((at) => !used.has(at)),
      lineage: [...lineage].filter((x) => x !== null).sort(),
      product: null,
      quantity: null,
      origins: [],
      tests: [],
      certificates: [],
      prices: [],
      readings: [],
      recalls: [],
      hands: [],
      parties: {},
      status: { recalled: false, failed: false, rejected: false },
      steps: [],
    };
    if (creator.has(target)) {
      const out = creator.get(target).outputs.find((o) => isObj(o) && o.lot === target);
      facts.product = isObj(out.product) ? out.product : null;
      facts.quantity = { quantity: get(out, "quantity"), unit: get(out, "unit") };
    }
    const hand = (pid) => { if (typeof pid === "string" && pid && !facts.hands.includes(pid)) facts.hands.push(pid); };
    for (const [at, ev] of events) {
      const detail = isObj(ev.detail) ? ev.detail : {};
      const ins = refs(ev.inputs, lineage), outs = refs(ev.outputs, lineage);
      const first = ins.length ? ins[0].lot : null;
      hand(ev.party);
      if (ev.kind === "ship") hand(detail.destination);
      if (ev.kind === "receive") hand(detail.source);
      if (ev.kind === "harvest") {
        facts.origins.push({ index: at, party: ev.party, lots: outs.map((o) => o.lot), origin: get(detail, "origin"),
          location: get(ev, "location"), time: get(ev, "event_time") });
      } else if (ev.kind === "inspect") {
        const test = { index: at, party: ev.party, lot: first, time: get(ev, "event_time") };
        for (const k of ["analyte", "method", "value", "limit", "unit", "result", "report_no"]) test[k] = get(detail, k);
        facts.tests.push(test);
        if (test.result === "fail") facts.status.failed = true;
      } else if (ev.kind === "certify") {
        const cert = { index: at, party: ev.party, lot: first, time: get(ev, "event_time") };
        for (const k of ["certificate_no", "product_name", "origin", "commitments"]) cert[k] = get(detail, k);
        facts.certificates.push(cert);
      } else if (ev.kind === "recall") {
        facts.recalls.push({ index: at, party: ev.party, lot: first, time: get(ev, "event_time"),
          reason: get(detail, "reason"), instructions: get(detail, "instructions") });
        facts.status.recalled = true;
      } else if (ev.kind === "receive" && get(get(detail, "entry_check"), "result") === "rejected") {
        facts.status.rejected = true;
      }
      if (isObj(ev.price)) facts.prices.push({ index: at, party: ev.party, kind: ev.kind, price: ev.price });
      if (Array.isArray(ev.sensors) && ev.sensors.length) {
        facts.readings.push({ index: at, party: ev.party, kind: ev.kind, time: get(ev, "event_time"), sensors: ev.sensors });
      }
      facts.steps.push({ index: at, kind: ev.kind, party: ev.party, time: get(ev, "event_time"),
        location: get(ev, "location"), inputs: refs(ev.inputs, null), outputs: refs(ev.outputs, null), detail,
        price: get(ev, "price") });
    }
    const known = registrations(journey, result || {});
    for (const pid of facts.hands) {
      if (!known.has(pid)) continue;
      const r = known.get(pid);
      facts.parties[pid] = { name_zh: get(r, "name_zh"), name_en: get(r, "name_en"), roles: get(r, "roles"),
        address: get(r, "address") };
    }
    return facts;
  }

  globalThis.FarmtraceFacts = Object.freeze({ factsOf });
})();
