/* farmtrace: the product's path through a journey: which shipments and receipts the consumer page may name.
 *
 *   FarmtracePath.pathOf(lot, steps) -> {off_path: {"<index>": [party, ...] sorted}}
 *
 * The twin of web/journey_path.py (`journey_path`, whose docstring states the rule): the same answer
 * as its `JourneyPath.to_wire()`, which tests/web/test_journey_path.py compares on generated journeys.
 * `steps` are facts.js's `steps` (index, kind, party, inputs, outputs, detail, as signed). A ship or
 * receive listed in `off_path` is not on the path to `lot`: the page shows it without its
 * counterparty, naming only the parties listed for it (the makers of its lots and the parties on
 * their path, whom the page names anyway). No DOM: the tests run it in Node.
 */
"use strict";
(function () {
  const isObj = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const text = (o, k) => (isObj(o) && own(o, k) && typeof o[k] === "string" ? o[k] : null);
  const lotsOf = (refs) => (Array.isArray(refs) ? refs.filter((r) => isObj(r) && typeof text(r, "lot") === "string").map((r) => r.lot) : []);

  function lineageOf(lot, steps) {
    // The page's lot and every lot it was made from, and each lot's creating step (the first to output it).
    const creator = new Map();
    for (const s of steps) for (const code of lotsOf(s.outputs)) if (!creator.has(code)) creator.set(code, s);
    const lineage = new Set(), queue = [lot];
    while (queue.length) {
      const code = queue.shift();
      if (lineage.has(code)) continue;
      lineage.add(code);
      if (creator.has(code)) queue.push(...lotsOf(creator.get(code).inputs));
    }
    return { lineage, creator };
  }

  function pathOf(lot, steps) {
    const ordered = (Array.isArray(steps) ? steps : [])
      .filter((s) => isObj(s) && Number.isInteger(s.index) && typeof s.kind === "string")
      .sort((a, b) => a.index - b.index);
    const { lineage, creator } = lineageOf(lot, ordered);
    // 1. Each lineage lot's first targets: its sellers (the page's lot) or the makers of the lots on
    //    the path made from it.
    const targets = new Map([...lineage].map((code) => [code, new Set()]));
    for (const s of ordered) {
      const party = text(s, "party");
      if (party === null) continue;
      if (s.kind === "sell" && lotsOf(s.inputs).includes(lot)) targets.get(lot).add(party);
      const made = lotsOf(s.outputs).some((code) => lineage.has(code) && creator.get(code) === s);
      if (made) for (const parent of lotsOf(s.inputs)) if (lineage.has(parent)) targets.get(parent).add(party);
    }
    // 2. The ships, latest first: one to a target is on the path, and its shipper becomes a target.
    const onPath = new Set(), shipped = new Set();
    const key = (code, from, to) => JSON.stringify([code, from, to]);
    for (const s of [...ordered].reverse()) {
      if (s.kind !== "ship") continue;
      const shipper = text(s, "party"), destination = text(s.detail, "destination");
      for (const code of lotsOf(s.inputs)) {
        if (lineage.has(code) && shipper !== null && destination !== null && targets.get(code).has(destination)) {
          onPath.add(s.index);
          shipped.add(key(code, shipper, destination));
          targets.get(code).add(shipper);
        }
      }
    }
    // 3. A receive on the path takes in a ship on the path: its signer the ship's destination, its
    //    source the ship's shipper.
    for (const s of ordered) {
      if (s.kind !== "receive") continue;
      const receiver = text(s, "party"), source = text(s.detail, "source");
      if (lotsOf(s.inputs).some((code) => shipped.has(key(code, source, receiver)))) onPath.add(s.index);
    }
    // Off the path: every other transfer, with the parties the path names on its lineage lots.
    const off = {};
    for (const s of ordered) {
      if ((s.kind !== "ship" && s.kind !== "receive") || onPath.has(s.index)) continue;
      const named = new Set();
      for (const code of lotsOf(s.inputs)) {
        if (!lineage.has(code)) continue;
        for (const p of targets.get(code)) named.add(p);
        const maker = creator.has(code) ? text(creator.get(code), "party") : null;
        if (maker !== null) named.add(maker);
      }
      off[String(s.index)] = [...named].sort();
    }
    return { off_path: off };
  }

  globalThis.FarmtracePath = Object.freeze({ pathOf });
})();
