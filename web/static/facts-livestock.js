/* farmtrace: live animals, quarantine and slaughter on the consumer page (issue 20 §5).
 *
 * The part of facts-view.js that only a page whose journey has livestock loads (lot.html, with the
 * livestock words in the page's config): a vegetable's page does not fetch it on a weak network.
 * It mirrors web/timeline.py's _harvest (live animals), _quarantine and _slaughter.
 *
 *   FarmtraceLivestock.describe(step, ctx) -> null (not livestock's) | {title, lines, tags}
 *   FarmtraceLivestock.raised(origin, steps) -> whether a harvest's origin card is of live animals
 *
 * `step` is a facts step (facts.js); `ctx` holds facts-view.js's helpers for it: msg, has, qty, unit,
 * list, who (the signer as the page names it), outs (its outputs on the lineage), first (its first
 * input on the lineage). No DOM: `tags` (ear tags) are drawn folded by facts-view.js.
 */
"use strict";
(function () {
  // Grams per mass unit (trace/model/units.py MASS_UNITS, exactly): a slaughter's yield is reckoned
  // in whole milligrams with BigInt, as timeline.py reckons it with int, so both print one percentage.
  const GRAMS = { kg: 1000n, g: 1n, t: 1000000n, jin: 500n };
  const DECIMAL = /^([0-9]+)(?:\.([0-9]{1,3}))?$/;
  const when = (text) => (text.length >= 16 ? text.slice(0, 10) + " " + text.slice(11, 16) : text);

  function milligrams(quantity, unit) {
    // A signed mass quantity in whole milligrams (null for a count, or a quantity not canonical).
    const m = typeof quantity === "string" ? DECIMAL.exec(quantity) : null;
    if (!m || !Object.prototype.hasOwnProperty.call(GRAMS, unit)) return null;
    return (BigInt(m[1]) * 1000n + BigInt((m[2] || "").padEnd(3, "0"))) * GRAMS[unit];
  }

  function validUntil(time, days) {
    // A certificate's last moment as recorded: `days` calendar days after `time` (timeline.py
    // _valid_until; rules/effects.py adds them to the signed time); null if unreadable.
    const text = String(time || "");
    if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text) || !/^[0-9]{1,4}$/.test(String(days))) return null;
    const n = Number(String(days));
    const day = new Date(Date.UTC(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10)) + n));
    return when(day.toISOString().slice(0, 10) + text.slice(10));
  }

  function describe(s, ctx) {
    const { msg, has, qty, unit, list, who, outs, first } = ctx;
    const d = s.detail, lines = [];
    let tags = [], title = null;
    if (s.kind === "harvest" && outs.some((o) => o.unit === "head")) {
      const animals = outs.every((o) => o.unit === "head");
      for (const o of outs) {
        if (o.unit === "head") { // live animals: their ear tags and live weight (values.LotOut)
          lines.push(msg("detail.animals", qty(o)));
          if (o.live_weight) lines.push(msg("detail.live_weight", { weight: o.live_weight }));
          if (Array.isArray(o.ear_tags)) tags = tags.concat(o.ear_tags);
        } else {
          lines.push(msg("detail.harvest", qty(o)));
        }
      }
      const where = d.origin || {};
      lines.push(msg(animals ? "detail.farm" : "detail.field", { field: [where.name, where.address].filter(Boolean).join(", ") }));
      title = msg(animals ? "kind.harvest.animals" : "kind.harvest");
    } else if (s.kind === "quarantine") {
      const form = String(d.form || ""), formKey = "detail.quarantine.form." + form;
      lines.push(msg("detail.quarantine.number", { form: has(formKey) ? msg(formKey) : form, number: d.certificate_no || "" }));
      if (first && form.startsWith("animal")) lines.push(msg("detail.quarantine.animals", { species: d.species || "", ...qty(first) }));
      else if (first) lines.push(msg("detail.quarantine.product", { product: d.product_name || "", ...qty(first) }));
      lines.push(msg("detail.quarantine.vet", { vet: d.official_vet || "" }));
      const until = validUntil(s.time, d.valid_days);
      if (until !== null) lines.push(msg("detail.quarantine.valid", { issued: when(String(s.time || "")), until }));
      lines.push(msg("detail.quarantine.destination", { destination: d.destination || "" }));
      if (d.purpose) lines.push(msg("detail.quarantine.purpose", { purpose: d.purpose }));
      if (Array.isArray(d.ear_tags)) tags = d.ear_tags.slice();
      title = msg("kind.quarantine");
    } else if (s.kind === "transform" && d.type === "slaughter" && outs.length) {
      let heads = 0;
      for (const r of s.inputs) if (/^[0-9]+$/.test(String(r.quantity))) heads += Number(r.quantity);
      lines.push(msg("detail.slaughter.house", { party: who }),
        msg("detail.slaughter.in", { quantity: heads, unit: unit("head"), weight: d.live_weight || "" }));
      const out = s.outputs.map((o) => milligrams(o.quantity, o.unit)), live = milligrams(d.live_weight, "kg");
      if (s.outputs.length && !out.includes(null)) {
        const total = out.reduce((a, b) => a + b, 0n);
        const kg = (String(total / 1000000n) + "." + String(total % 1000000n).padStart(6, "0")).replace(/\.?0+$/, "");
        lines.push(msg("detail.slaughter.out", { n: s.outputs.length, kg, lots: list(s.outputs.map((o) => o.lot)) }));
        if (live) {
          const tenths = (2n * total * 1000n + live) / (2n * live); // half up, in tenths of a percent
          lines.push(msg("detail.slaughter.yield", { percent: String(tenths / 10n) + "." + String(tenths % 10n) }));
        }
      }
      lines.push(msg("detail.meat_certificate", { number: d.certificate_no || "" }));
      title = msg("kind.transform.slaughter");
    } else {
      return null;
    }
    return { title, lines, tags };
  }

  function raised(origin, steps) {
    // Whether a harvest's origin (facts.origins) is live animals: all its outputs on the lineage are in
    // head (timeline.py's `animals`), so its card says farm and day sent out (出栏), not field and harvest.
    const s = steps.find((x) => x.index === origin.index);
    const outs = s ? s.outputs.filter((r) => origin.lots.includes(r.lot)) : [];
    return outs.length > 0 && outs.every((r) => r.unit === "head");
  }

  globalThis.FarmtraceLivestock = Object.freeze({ describe, raised });
})();
