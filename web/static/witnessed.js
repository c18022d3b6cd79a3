/* farmtrace: is a checkpoint current and witnessed? The twin of ledger/policy.py, with no DOM.
 *
 * FarmtraceWitnessed.parsePolicy(text, maxAge) -> {witnesses, groups, quorum, maxAge}   (throws Error)
 *   the C2SP tlog-policy text the page embeds (log / witness / group / quorum lines; # comments);
 *   maxAge (seconds, or null) is farmtrace's own addition, kept beside the text (docs/witness-policy.md)
 * FarmtraceWitnessed.checkWitnessed(note, policy, now, verify) -> Promise<{state, cosigned, invalid, quorumAt}>
 *   reads the note's signature lines; each line by a policy witness's key (name and key ID) is a
 *   c2sp.org/tlog-cosignature cosignature/v1: 8-byte big-endian time ‖ Ed25519 signature over
 *   "cosignature/v1\ntime <t>\n" ‖ the checkpoint text, checked with `verify(pub, sig, msg)` (the
 *   page's one Ed25519 primitive, handed in by verify.js). Lines of other keys are ignored.
 *   state: "none" (quorum none), "witnessed", "stale" (the quorum was reached before now - maxAge),
 *   "quorum" (valid cosignatures, too few), "unwitnessed" (none valid); null for an unparseable note.
 *   quorumAt: when the quorum was reached (a witness: its time; a group of k: the k-th newest of its
 *   members'), POSIX seconds, or null.
 */
"use strict";
(function () {
  const { b64encode, b64decode, hex, concat, utf8encode, sha256 } = globalThis.FarmtraceCodec;

  async function parseVkey(vkey, type) {
    // name+hexid+base64(type ‖ 32-byte key), the ID being SHA-256(name ‖ "\n" ‖ type ‖ key)[:4].
    const i = typeof vkey === "string" ? vkey.indexOf("+") : -1, j = i < 0 ? -1 : vkey.indexOf("+", i + 1);
    const parts = j < 0 ? [] : [vkey.slice(0, i), vkey.slice(i + 1, j), vkey.slice(j + 1)];
    const key = parts.length === 3 ? b64decode(parts[2]) : null;
    const bad = () => new Error("not a verifier key of type " + type + ": " + vkey);
    if (!key || b64encode(key) !== parts[2] || key.length !== 33 || key[0] !== type) throw bad();
    if (!parts[0] || /\s/u.test(parts[0]) || !/^[0-9a-f]{8}$/.test(parts[1])) throw bad();
    const id = (await sha256(concat(utf8encode(parts[0] + "\n"), key))).subarray(0, 4);
    if (hex(id) !== parts[1]) throw bad();
    return { name: parts[0], keyId: parts[1], publicKey: key.subarray(1) };
  }

  async function parsePolicy(text, maxAge) {
    const witnesses = [], groups = [], names = new Set(), used = new Set();
    let quorum = null;
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) throw new Error("a policy has no control characters but tab and newline");
    const lines = String(text).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const items = lines[i].replace(/^[ \t]+|[ \t]+$/g, "").split(/[ \t]+/);
      if (items[0] === "" || items[0].startsWith("#")) continue;
      const [word, ...args] = items, where = "policy line " + (i + 1) + ": ";
      if (word === "log" && (args.length === 1 || args.length === 2)) {
        await parseVkey(args[0], 1);
      } else if (word === "witness" && (args.length === 2 || args.length === 3)) {
        if (args[0] === "none" || names.has(args[0])) throw new Error(where + "the name is taken");
        const key = await parseVkey(args[1], 4);
        if (witnesses.some((w) => hex(w.key.publicKey) === hex(key.publicKey))) throw new Error(where + "a key twice");
        witnesses.push({ name: args[0], key });
        names.add(args[0]);
      } else if (word === "group" && args.length >= 3) {
        const [name, word2, ...members] = args, n = members.length;
        if (name === "none" || names.has(name)) throw new Error(where + "the name is taken");
        if (members.some((m) => !names.has(m) || used.has(m)) || new Set(members).size !== n) {
          throw new Error(where + "a member is undefined or listed twice");
        }
        const k = word2 === "all" ? n : word2 === "any" ? 1 : /^[1-9][0-9]*$/.test(word2) ? Number(word2) : 0;
        if (!(k >= 1 && k <= n)) throw new Error(where + "a threshold is all, any or 1 to n");
        members.forEach((m) => used.add(m));
        groups.push({ name, threshold: k, members });
        names.add(name);
      } else if (word === "quorum" && args.length === 1 && quorum === null) {
        if (args[0] !== "none" && !names.has(args[0])) throw new Error(where + "the quorum is undefined");
        quorum = args[0];
      } else {
        throw new Error(where + "expected log, witness, group or quorum with its arguments");
      }
    }
    if (quorum === null) throw new Error("a policy needs a quorum line");
    return { witnesses, groups, quorum, maxAge: maxAge == null ? null : Number(maxAge) };
  }

  function quorumTime(policy, times) {
    const reached = new Map(times);
    for (const g of policy.groups) {
      const t = g.members.filter((m) => reached.has(m)).map((m) => reached.get(m)).sort((a, b) => b - a);
      if (t.length >= g.threshold) reached.set(g.name, t[g.threshold - 1]);
    }
    return reached.has(policy.quorum) ? reached.get(policy.quorum) : null;
  }

  async function checkWitnessed(note, policy, now, verify) {
    verify = verify || globalThis.FarmtraceCodec.verifyEd25519;
    const split = note.lastIndexOf("\n\n");
    if (split < 0) return { state: null, cosigned: [], invalid: [], quorumAt: null };
    const text = note.slice(0, split + 1), block = note.slice(split + 2);
    const byKey = new Map(policy.witnesses.map((w) => [w.key.name + " " + w.key.keyId, w]));
    const cosigned = [], invalid = [], times = new Map();
    for (const line of block.slice(0, -1).split("\n")) {
      const rest = line.slice(2), sp = rest.indexOf(" ");
      const raw = b64decode(rest.slice(sp + 1));
      if (!line.startsWith("\u2014 ") || sp < 0 || !raw || raw.length < 5) {
        return { state: null, cosigned: [], invalid: [], quorumAt: null };
      }
      const w = byKey.get(rest.slice(0, sp) + " " + hex(raw.subarray(0, 4)));
      if (!w) continue; // the log's own signature, another witness, another signature type
      const sig = raw.subarray(4);
      let stamp = null;
      if (sig.length === 72) {
        stamp = 0;
        for (let i = 0; i < 8; i++) stamp = stamp * 256 + sig[i]; // exact below 2^53: any real time
        const message = concat(utf8encode("cosignature/v1\ntime " + readU64(sig) + "\n"), utf8encode(text));
        if (!(await verify(w.key.publicKey, sig.subarray(8), message))) stamp = null;
      }
      if (stamp === null) invalid.push(w.name);
      else if (!times.has(w.name)) {
        cosigned.push({ name: w.name, timestamp: stamp });
        times.set(w.name, stamp);
      }
    }
    const required = policy.quorum !== "none";
    const quorumAt = required ? quorumTime(policy, times) : null;
    let state;
    if (!required) state = "none";
    else if (quorumAt === null) state = cosigned.length ? "quorum" : "unwitnessed";
    else if (policy.maxAge !== null && quorumAt < now - policy.maxAge) state = "stale";
    else state = "witnessed";
    return { state, cosigned, invalid, quorumAt };
  }

  function readU64(bytes) {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(bytes[i]);
    return v;
  }

  globalThis.FarmtraceWitnessed = Object.freeze({ parsePolicy, checkWitnessed });
})();
