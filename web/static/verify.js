/* farmtrace: verify a lot's journey in the consumer's own browser (WebCrypto Ed25519 and SHA-256).
 *
 * The twin of trace/verify_journey.py (`check_journey`): the same checks, in the same order, with the same
 * reason codes, so tests/web/test_journey_checks.py can run both over the same tampered journeys.
 * Nothing here trusts the server but for the log key the page embeds (its own copy, set when the page
 * was rendered from the server's configuration, not from the database).
 *
 *   0. shape       lot, events, keys, checkpoint present                   journey.malformed
 *   1. log key     the journey's log_key is the page's key                  log_key.mismatch
 *   2. checkpoint  C2SP signed note by the page's key; origin = key name    checkpoint.malformed / .signature
 *                  with a witness policy (witnessed.js): cosignatures       checkpoint.cosignature, .unwitnessed,
 *                  verify; a quorum; no older than the max age              checkpoint.quorum, .stale
 *   3. keys        id = hex(SHA-256(pub)[:8]); registered by a proven       key.id, key.not_registered,
 *                  party.register / party.key_add entry                     key.registration(_proof)
 *   4. events      entry format and RFC 8785 canonical JSON; key known,     entry.malformed, key.unknown,
 *                  of the party, registered before; Ed25519 signature;      key.party, key.order,
 *                  leaf hash and RFC 9162 §2.1.3.2 inclusion proof          signature.invalid, inclusion.*
 *   5. chain       ledger order; one creator per lot; the lineage has       chain.order, chain.created_twice,
 *                  creators; events belong to it; follows = previous head   chain.no_creation, .unrelated, .follows
 *   6. index       completeness.js (after vmap.js): the head index entry,     index.missing, index.entry,
 *                  proven; each lineage lot's and signing key's map proof;  index.inclusion, index.proof,
 *                  no hidden tail below it; no event after a revocation     chain.hidden_tail, key.revoked
 *                  with an index age policy: the entry is the latest, or    index.stale
 *                  at most maxAge older than the newest witness cosignature
 *
 * FarmtraceVerify.checkJourney(journey, logKey[, witness[, indexAge]])
 *     -> Promise<{ok, failures, events, size, witnessed, index, ms}>
 * On a page with <script id="ft-config">, it also fetches the journey and shows the outcome.
 *
 * Base64, hex, UTF-8, SHA-256, RFC 8785 and Ed25519 (verifyEd25519: WebCrypto, else the vendored
 * @noble/ed25519) come from codec.js (FarmtraceCodec), loaded before this file; checkJourney uses no
 * DOM, so the tests run it in Node as well as in Chromium.
 * FarmtraceVerify.supported() -> Promise<boolean>: false only when no Ed25519 engine exists at all;
 * FarmtraceVerify.engine() -> Promise<"webcrypto" | "noble" | null>: the one that verifies here.
 *
 * Over 400 lines on purpose: the checks read side by side with trace/verify_journey.py, and the page's part
 * (page(), about 110 lines) stays here so a phone on a weak network fetches two scripts, not three.
 */
"use strict";
(function () {
  const { b64encode, b64decode, hex, concat, utf8encode, utf8decode, jcs, sha256, sha256Sync } = globalThis.FarmtraceCodec;
  const { verifyEd25519, verifyEd25519Many, ed25519Engine } = globalThis.FarmtraceCodec;
  const ENTRY_HEADER = utf8encode("farmtrace/entry/v1");
  const SIGNING_PREFIX = utf8encode("farmtrace/event/v1\n");
  const HEX8 = /^[0-9a-f]{8}$/;
  const MAX_SIZE = (1n << 63n) - 1n;

  // --- bytes -------------------------------------------------------------------------------------

  function latin1(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  // Synchronous SHA-256 (codec.js's sha256Sync, its measured gain beside it): ids, leaves and proof
  // nodes are some 1,600 hashes for a 60-lot bag, each a task round trip through crypto.subtle.
  const LEAF = Uint8Array.of(0), NODE = Uint8Array.of(1);
  const leafHash = (entry) => sha256Sync(LEAF, entry); // RFC 9162 §2.1.1
  const nodeHash = (l, r) => sha256Sync(NODE, l, r);
  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const isIndex = (x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < 2 ** 53;
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

  async function ed25519(publicKey, signature, message) {
    // false if the key is not one or the signature does not verify (codec.js picks the engine).
    try {
      return await verifyEd25519(publicKey, signature, message);
    } catch (e) {
      return false; // no engine at all: the page asks supported() first
    }
  }
  async function ed25519Many(items) {
    try {
      return await verifyEd25519Many(items);
    } catch (e) {
      return items.map(() => false);
    }
  }

  // --- step 4a: a ledger entry -------------------------------------------------------------------

  async function parseEntry(entry) {
    const parts = [];
    let start = 0;
    for (let i = entry.indexOf(10); i >= 0; i = entry.indexOf(10, start)) {
      parts.push(entry.subarray(start, i));
      start = i + 1;
    }
    parts.push(entry.subarray(start));
    if (parts.length !== 4 || parts[3].length !== 0 || !equal(parts[0], ENTRY_HEADER)) return null;
    const canonical = parts[1];
    const sigText = latin1(parts[2]);
    const signature = b64decode(sigText);
    if (!signature || signature.length !== 64 || b64encode(signature) !== sigText) return null;
    let obj;
    try {
      // Canonical means: what jcs writes back is the same bytes (jcs throws for a lone surrogate).
      // utf8decode is strict, so the same text means the same bytes (no re-encoding).
      const text = utf8decode(canonical);
      obj = JSON.parse(text);
      if (!isObj(obj) || jcs(obj) !== text) return null;
    } catch (e) {
      return null;
    }
    if (typeof obj.v !== "number" || obj.v !== 1) return null;
    for (const k of ["kind", "party", "key_id"]) if (typeof obj[k] !== "string") return null;
    if (!Array.isArray(obj.inputs) || !Array.isArray(obj.outputs)) return null;
    for (const ref of obj.inputs) {
      if (!isObj(ref) || typeof ref.lot !== "string" || !Array.isArray(ref.follows)) return null;
      if (!ref.follows.every((f) => typeof f === "string")) return null;
    }
    if (!obj.outputs.every((o) => isObj(o) && typeof o.lot === "string")) return null;
    return { canonical, signature, id: hex(sha256Sync(canonical)), event: obj };
  }

  function registers(event, party, keyId, publicKey) {
    const detail = event.detail;
    if (!isObj(detail)) return false;
    if (event.kind === "party.register") {
      const record = detail.party;
      if (!isObj(record) || record.id !== party || !Array.isArray(record.keys)) return false;
      return record.keys.some((k) => isObj(k) && k.key_id === keyId && k.public_key === publicKey);
    }
    if (event.kind === "party.key_add") {
      return detail.party_id === party && detail.key_id === keyId && detail.public_key === publicKey;
    }
    return false;
  }

  // --- RFC 9162 §2.1.3.2, steps numbered as there ---------------------------------------------------

  function rootFromInclusion(proof, index, leaf, size) {
    let fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf; // 2.
    if (BigInt(index) >= BigInt(size)) return null;
    for (const p of proof) { // 3.
      if (sn === 0n) return null; // 3.1
      if ((fn & 1n) === 1n || fn === sn) { // 3.2
        r = nodeHash(p, r);
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else { // 3.3
        r = nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    return sn === 0n ? r : null; // 4.
  }

  async function inclusion(item, entry, cp) {
    // null if proven, else "leaf" or "invalid" (as trace/journey_entries.py's inclusion_failure).
    const leaf = leafHash(entry);
    if (!equal(b64decode(item.leaf_hash), leaf)) return "leaf";
    if (!isIndex(item.index) || !Array.isArray(item.proof)) return "invalid";
    const hashes = item.proof.map(b64decode);
    if (hashes.some((h) => !h || h.length !== 32)) return "invalid";
    const root = rootFromInclusion(hashes, item.index, leaf, cp.size);
    return root && equal(root, cp.root) ? null : "invalid";
  }

  // --- C2SP signed note and tlog-checkpoint -------------------------------------------------------

  async function parseLogKey(vkey) {
    // "name+hexkeyid+base64(0x01 ‖ public key)"; throws: a bad embedded key is the page's own bug.
    const bad = () => { throw new Error("the page's log key is not a valid verifier key"); };
    if (typeof vkey !== "string") bad();
    const i = vkey.indexOf("+"), j = vkey.indexOf("+", i + 1);
    if (i < 0 || j < 0) bad();
    const name = vkey.slice(0, i), hexId = vkey.slice(i + 1, j), keyB64 = vkey.slice(j + 1);
    const key = b64decode(keyB64);
    if (!validName(name) || !HEX8.test(hexId) || !key || b64encode(key) !== keyB64) bad();
    if (key.length !== 33 || key[0] !== 1) bad();
    const id = (await sha256(concat(utf8encode(name + "\n"), key))).subarray(0, 4);
    if (hex(id) !== hexId) bad();
    return { name, keyId: id, publicKey: key.subarray(1), text: vkey };
  }
  function validName(name) {
    return name.length > 0 && !name.includes("+") && !/\s/u.test(name);
  }
  function checkText(text) {
    return text.endsWith("\n") && !text.startsWith("\n") && !/[\x00-\x09\x0b-\x1f]/.test(text);
  }

  async function openCheckpoint(note, logKey) {
    // {checkpoint} or {reason}: "checkpoint.malformed" / "checkpoint.signature", as Python's
    // open_checkpoint raises MalformedError / VerificationError, in the same order.
    const malformed = { reason: "checkpoint.malformed" }, unsigned = { reason: "checkpoint.signature" };
    if (utf8encode(note).length > 1000000) return malformed;
    const split = note.lastIndexOf("\n\n");
    if (split < 0) return malformed;
    const text = note.slice(0, split + 1), block = note.slice(split + 2);
    if (!checkText(note) || !checkText(text) || !block.endsWith("\n")) return malformed;
    const sigs = [];
    for (const line of block.slice(0, -1).split("\n")) {
      if (!line.startsWith("\u2014 ")) return malformed;
      const rest = line.slice(2), sp = rest.indexOf(" ");
      if (sp < 0) return malformed;
      const name = rest.slice(0, sp), sigB64 = rest.slice(sp + 1);
      if (sigB64.includes(" ") || !validName(name)) return malformed;
      const raw = b64decode(sigB64);
      if (!raw || b64encode(raw) !== sigB64 || raw.length < 5) return malformed;
      sigs.push({ name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) });
    }
    if (sigs.length > 100) return malformed;
    let verified = 0;
    for (const s of sigs) {
      if (s.name !== logKey.name || !equal(s.keyId, logKey.keyId)) continue;
      if (!(await ed25519(logKey.publicKey, s.signature, utf8encode(text)))) return unsigned;
      if (++verified > 1) return unsigned;
    }
    if (!verified) return unsigned;
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) return malformed;
    const [origin, sizeText, rootText, ...extensions] = lines;
    if (!/^[0-9]+$/.test(sizeText) || sizeText.length > 19) return malformed;
    const size = BigInt(sizeText);
    const root = b64decode(rootText);
    if (!origin || origin !== origin.trim() || size > MAX_SIZE || String(size) !== sizeText) return malformed;
    if (!root || root.length !== 32 || b64encode(root) !== rootText || extensions.some((e) => !e)) return malformed;
    if (origin !== logKey.name) return unsigned;
    return { checkpoint: { origin, size, root } };
  }

  // --- the checks --------------------------------------------------------------------------------

  async function checkJourney(journey, logKeyText, witness, indexAge) {
    // witness (optional): {policy: tlog-policy text, maxAge: seconds or null, now: POSIX seconds}.
    // indexAge (optional): {maxAge: seconds, now: POSIX seconds}, the index entry's age policy.
    const t0 = performance.now();
    let witnessed = null; // step 2's answer from witnessed.js, when a policy is given
    const logKey = await parseLogKey(logKeyText);
    const failures = [];
    const fail = (reason, where) =>
      failures.push({ reason, index: null, key: null, lot: null, ...(where || {}) });
    const parsedEvents = [];
    const done = (events, size) => {
      // The computed ids of the events that failed no check of their own (the page marks the rest).
      const failedAt = new Set(failures.map((f) => f.index));
      const ids = parsedEvents.filter(([at]) => at !== null && !failedAt.has(at)).map(([, p]) => p.id);
      return { ok: failures.length === 0, failures, events, size, ids, witnessed, ms: performance.now() - t0 };
    };

    // 0. The shape the rest relies on.
    const j = isObj(journey) ? journey : {};
    const { lot, events, keys, checkpoint: note } = j;
    if (typeof lot !== "string" || !Array.isArray(events) || !isObj(keys) || typeof note !== "string") {
      fail("journey.malformed");
      return done(0, null);
    }
    // 1. The log key the server names must be the page's own (the page's is used either way).
    if (j.log_key !== logKey.text) fail("log_key.mismatch");
    // 2. The checkpoint.
    const opened = await openCheckpoint(note, logKey);
    const cp = opened.checkpoint || null;
    if (!cp) fail(opened.reason);
    if (cp && witness) {
      // Current and witnessed: the page's policy (witnessed.js, the twin of ledger/policy.py).
      const W = globalThis.FarmtraceWitnessed;
      witnessed = await W.checkWitnessed(note, await W.parsePolicy(witness.policy, witness.maxAge), witness.now, ed25519);
      for (const name of witnessed.invalid) fail("checkpoint.cosignature", { key: name });
      if (witnessed.state === "unwitnessed") fail("checkpoint.unwitnessed");
      else if (witnessed.state === "quorum") fail("checkpoint.quorum");
      else if (witnessed.state === "stale") fail("checkpoint.stale");
    }

    // 3. Keys (their hashes and proofs computed in parallel, failures reported in key-id order).
    const kids = Object.keys(keys).sort();
    const keyResults = await Promise.all(kids.map(async (kid) => {
      const k = isObj(keys[kid]) ? keys[kid] : {};
      const pub = b64decode(k.public_key);
      if (!pub || pub.length !== 32 || hex(sha256Sync(pub).subarray(0, 8)) !== kid) {
        return { fail: ["key.id", { key: kid }] };
      }
      const reg = k.registered_in;
      if (!isObj(reg)) return { pub, fail: ["key.not_registered", { key: kid }] };
      const at = isIndex(reg.index) ? reg.index : null;
      const entry = b64decode(reg.entry);
      const parsed = entry ? await parseEntry(entry) : null;
      if (!parsed || !registers(parsed.event, k.party, kid, k.public_key)) {
        return { pub, fail: ["key.registration", { index: at, key: kid }] };
      }
      if (cp && (await inclusion(reg, entry, cp)) !== null) {
        return { pub, fail: ["key.registration_proof", { index: at, key: kid }] };
      }
      return { pub, at };
    }));
    const publicKeys = new Map(), registeredAt = new Map();
    kids.forEach((kid, i) => {
      const r = keyResults[i];
      if (r.pub) publicKeys.set(kid, r.pub);
      if (r.fail) fail(...r.fail);
      else if (r.at !== null) registeredAt.set(kid, r.at);
    });

    // 4. Each event (computed in parallel, reported in order).
    const eventResults = await Promise.all(events.map(async (raw) => {
      const item = isObj(raw) ? raw : {};
      const at = isIndex(item.index) ? item.index : null;
      const entry = b64decode(item.entry);
      const parsed = entry ? await parseEntry(entry) : null;
      const proven = cp && entry ? await inclusion(item, entry, cp) : null;
      return { at, entry, parsed, signed: null, proven };
    }));
    // The signatures, all at once (codec.js: the fallback engine checks them as one batch).
    const signedBy = eventResults.filter((r) => r.parsed && publicKeys.has(r.parsed.event.key_id));
    const verdicts = await ed25519Many(signedBy.map(({ parsed }) => ({
      publicKey: publicKeys.get(parsed.event.key_id),
      signature: parsed.signature,
      message: concat(SIGNING_PREFIX, parsed.canonical),
    })));
    signedBy.forEach((r, i) => { r.signed = verdicts[i]; });
    for (const { at, entry, parsed, signed, proven } of eventResults) {
      if (!parsed) {
        fail("entry.malformed", { index: at });
      } else {
        parsedEvents.push([at, parsed]);
        const ev = parsed.event, kid = ev.key_id;
        if (!own(keys, kid)) fail("key.unknown", { index: at, key: kid });
        else if (!isObj(keys[kid]) || keys[kid].party !== ev.party) fail("key.party", { index: at, key: kid });
        else if (registeredAt.has(kid) && (at === null || registeredAt.get(kid) >= at)) {
          fail("key.order", { index: at, key: kid });
        }
        if (signed === false) fail("signature.invalid", { index: at, key: kid });
      }
      if (cp && entry) {
        if (proven === "leaf") fail("inclusion.leaf", { index: at });
        else if (proven === "invalid") fail("inclusion.invalid", { index: at });
      }
    }

    // 5. The chain.
    checkChain(lot, parsedEvents, fail);
    // 6. Completeness by the head index (completeness.js); events at or past it: not yet indexed.
    // Its age is measured against the newest valid witness cosignature; with none, the page's clock.
    const stamps = witnessed ? witnessed.cosigned.map((c) => Number(c.timestamp)) : [];
    const fresh = indexAge ? { maxAge: indexAge.maxAge, at: stamps.length ? Math.max(...stamps) : indexAge.now, witnessed: stamps.length > 0 } : undefined;
    const index = await globalThis.FarmtraceCompleteness.checkIndex(j, lot, parsedEvents, cp, fail, inclusion, fresh);
    return { ...done(events.length, cp ? Number(cp.size) : null), index };
  }

  function checkChain(target, events, fail) {
    // a. Ledger order.
    let last = -1;
    for (const [at] of events) {
      if (at === null || at <= last) fail("chain.order", { index: at });
      else last = at;
    }
    // b. Who created each lot.
    const creator = new Map();
    for (const [at, p] of events) {
      for (const out of p.event.outputs) {
        if (creator.has(out.lot)) fail("chain.created_twice", { index: at, lot: out.lot });
        else creator.set(out.lot, p);
      }
    }
    // c. The lineage, from the lot back to its fields.
    const lineage = new Set(), queue = [target];
    while (queue.length) {
      const code = queue.shift();
      if (lineage.has(code)) continue;
      lineage.add(code);
      if (creator.has(code)) for (const ref of creator.get(code).event.inputs) queue.push(ref.lot);
    }
    for (const code of [...lineage].sort()) {
      if (!creator.has(code)) fail("chain.no_creation", { lot: code });
    }
    // d, e. Each event belongs to the lineage; each input follows the lot's previous event.
    const head = new Map();
    for (const [at, p] of events) {
      const ev = p.event;
      const named = ev.inputs.map((r) => r.lot).concat(ev.outputs.map((o) => o.lot));
      if (!named.some((code) => lineage.has(code))) {
        fail("chain.unrelated", { index: at });
        continue;
      }
      for (const ref of ev.inputs) {
        const code = ref.lot;
        if (!lineage.has(code)) continue;
        if (!head.has(code) || ref.follows.length !== 1 || ref.follows[0] !== head.get(code)) {
          fail("chain.follows", { index: at, lot: code });
          break;
        }
      }
      for (const code of named) if (lineage.has(code)) head.set(code, p.id);
    }
  }

  async function supported() {
    // WebCrypto Ed25519 needs a recent browser and a secure context (HTTPS or localhost); elsewhere
    // the vendored noble code verifies (and hashes, when crypto.subtle is missing altogether).
    return (await ed25519Engine()) !== null;
  }

  globalThis.FarmtraceVerify = { checkJourney, supported, engine: ed25519Engine };

  // --- the page ----------------------------------------------------------------------------------

  function page() {
    const cfgEl = document.getElementById("ft-config");
    const box = document.getElementById("verify");
    if (!cfgEl || !box) return;
    const cfg = JSON.parse(cfgEl.textContent);
    const msg = (key, params) => {
      const text = cfg.messages[key] !== undefined ? cfg.messages[key] : key;
      return text.replace(/\{([a-z_]+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
    };
    const title = box.querySelector("h2"), detail = box.querySelector(".verify-detail");
    const list = box.querySelector(".verify-failures"), more = box.querySelector(".verify-more");
    const retry = box.querySelector(".verify-retry");
    const steps = new Map();
    document.querySelectorAll(".step[data-index]").forEach((el) => steps.set(Number(el.dataset.index), el));

    function show(state, heading, text, items, note) {
      box.className = "card verify state-" + state;
      box.dataset.state = state;
      title.textContent = heading;
      detail.textContent = text;
      list.replaceChildren(...(items || []).slice(0, 5).map((t) => {
        const li = document.createElement("li");
        li.textContent = t;
        return li;
      }));
      list.hidden = !(items && items.length);
      const extra = items && items.length > 5 ? msg("verify.more", { n: items.length - 5 }) : "";
      more.textContent = [extra, note || ""].filter(Boolean).join(" ");
      more.hidden = !more.textContent;
      retry.hidden = state !== "error";
    }

    function describe(f) {
      let step = msg("verify.some_record");
      if (f.index !== null && steps.has(f.index)) {
        const el = steps.get(f.index);
        step = msg("verify.step_ref", { n: el.dataset.n, title: el.dataset.title });
      } else if (f.index !== null) {
        step = msg("verify.entry_ref", { index: f.index });
      }
      const key = "verify.reason." + f.reason;
      const params = { step, key: f.key || "", lot: f.lot || "", reason: f.reason };
      return msg(cfg.messages[key] !== undefined ? key : "verify.reason.unknown", params);
    }

    function markSteps(result) {
      // ✗ on a step whose event failed a check (or is not among the verified entries at all); ✓ on
      // the others only when every failure is pinned to a step (none to the checkpoint or a key).
      const floating = result.failures.some((f) => !steps.has(f.index));
      const bad = new Set(result.failures.map((f) => f.index));
      const ids = new Set(result.ids);
      steps.forEach((el, index) => {
        const mark = el.querySelector(".step-mark");
        const failed = bad.has(index) || (!floating && !ids.has(el.dataset.id));
        el.classList.toggle("bad", failed);
        mark.className = "step-mark small" + (failed ? " bad" : floating ? "" : " ok");
        mark.textContent = failed ? "✗ " + msg("verify.step_bad") : floating ? "" : "✓ " + msg("verify.step_ok");
      });
    }

    // Current and witnessed (witnessed.js): the policy the page embeds, the line saying when the
    // record was last witnessed, and the page state when only the witness checks failed.
    const WITNESS_CODES = new Set(["checkpoint.unwitnessed", "checkpoint.quorum", "checkpoint.stale"]);
    const witnessLine = box.querySelector(".verify-witnessed");
    const cst = (t) => new Date((t + 8 * 3600) * 1000).toISOString().slice(0, 16).replace("T", " ") + " (UTC+8)";
    function witnessed(result) {
      // "stale" / "unwitnessed" when the records check out but the checkpoint is not current and
      // witnessed; null otherwise. Sets the witnessed line either way.
      const w = result.witnessed;
      if (witnessLine) {
        witnessLine.textContent = !w ? "" : w.state === "none" ? msg("verify.no_witnesses")
          : w.quorumAt !== null ? msg("verify.witnessed_at", { n: w.cosigned.length, when: cst(w.quorumAt) }) : "";
        witnessLine.hidden = !witnessLine.textContent;
      }
      if (result.ok || !result.failures.every((f) => WITNESS_CODES.has(f.reason))) return null;
      return w && w.state === "stale" ? "stale" : "unwitnessed";
    }

    function proofLinks(journey) {
      // Each step drawn from a checked event gets its offline proof: GET /events/{id}/proof.tlog-proof.
      const ids = new Map(journey.events.map((e) => [e && e.index, e && e.id]));
      document.querySelectorAll(".step[data-index]").forEach((el) => {
        const id = ids.get(Number(el.dataset.index));
        if (typeof id !== "string" || !/^[0-9a-f]{64}$/.test(id) || el.querySelector(".step-proof")) return;
        const a = document.createElement("a");
        a.className = "step-proof small";
        a.href = "/events/" + id + "/proof.tlog-proof";
        a.download = "";
        a.textContent = msg("verify.proof");
        el.append(a);
      });
    }

    async function run() {
      show("pending", msg("verify.pending"), msg("verify.pending_detail"));
      if (!(await supported())) {
        show("error", msg("verify.error"), msg("verify.error_crypto"));
        retry.hidden = true;
        return;
      }
      const t0 = performance.now();
      let response, journey;
      try {
        response = await fetch(cfg.journey, { headers: { Accept: "application/json" }, cache: "no-store" });
      } catch (e) {
        show("error", msg("verify.error"), msg("verify.error_network"));
        return;
      }
      if (!response.ok) {
        let problem = "";
        try { problem = (await response.json()).detail || ""; } catch (e) { /* not JSON */ }
        show("failed", msg("verify.failed"), msg("verify.error_server", { status: response.status, detail: problem }));
        window.farmtraceVerification = { ok: false, failures: [{ reason: "server", status: response.status }] };
        return;
      }
      try {
        journey = await response.json();
      } catch (e) {
        show("error", msg("verify.error"), msg("verify.error_network"));
        return;
      }
      const fetchMs = performance.now() - t0;
      const policy = cfg.witnessPolicy ? { policy: cfg.witnessPolicy, maxAge: cfg.witnessMaxAge, now: Math.floor(Date.now() / 1000) } : undefined;
      const indexAge = cfg.indexMaxAge != null ? { maxAge: cfg.indexMaxAge, now: Math.floor(Date.now() / 1000) } : undefined;
      const result = await checkJourney(journey, cfg.logKey, policy, indexAge);
      const currency = witnessed(result);
      result.fetchMs = fetchMs;
      const engine = await ed25519Engine(); // which Ed25519 verified, said small in the details
      const took = msg("verify.took", { ms: Math.max(1, Math.round(result.ms)) }) + " · " + msg("verify.engine." + engine);
      if (result.ok) {
        show("verified", msg("verify.ok"), msg("verify.ok_detail", { events: result.events, size: result.size }), [], took);
      } else if (currency) {
        const w = result.witnessed, hours = Math.round((cfg.witnessMaxAge || 0) / 360) / 10;
        const detail = msg("verify." + currency + "_detail", { when: w.quorumAt !== null ? cst(w.quorumAt) : "", hours });
        show(currency, msg("verify." + currency), detail, result.failures.map(describe), took);
      } else {
        show("failed", msg("verify.failed"), msg("verify.failed_detail"), result.failures.map(describe), took);
      }
      globalThis.FarmtraceCompleteness.show(result, box, msg); // completeness.js: its line, or its own state
      markSteps(currency ? { ...result, failures: [] } : result);
      // Issue 17 §1: the server's first paint gives way to the facts this check proved (facts.js,
      // drawn by facts-view.js); when the check failed, only what could be proven, marked as such.
      const facts = globalThis.FarmtraceFacts.factsOf(journey, result);
      const words = globalThis.FarmtraceWords; // words-zh.js / words-en.js (web/assets.py)
      const messages = { ...cfg.messages, ...words.messages };
      globalThis.FarmtraceFactsView.show(facts, { messages, lang: cfg.lang, state: box.dataset.state, standard: words.standard,
        thresholds: cfg.coldChain || [] });
      window.farmtraceFacts = facts;
      proofLinks(journey);
      box.dataset.ms = String(result.ms);
      box.dataset.engine = engine;
      window.farmtraceVerification = { ok: result.ok, failures: result.failures, ms: result.ms, fetchMs, events: result.events, engine, witnessed: result.witnessed };
    }

    retry.addEventListener("click", run);
    run();
  }

  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", page);
    else page();
  }
})();
