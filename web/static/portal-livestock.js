// farmtrace portal, part 5 of 7: live animals (issue 20 §5) — what a pig farm and a slaughterhouse
// add to the forms a vegetable cooperative uses.
//
//   harvest in head (头)   the ear tags, one per head (畜禽标识: 15 digits, the first the species), and the
//                          lot's live weight in kg: LotOut.ear_tags / live_weight (trace/model/values.py)
//   split of animals       each new lot in head names its animals' ear tags; the input lot's animals are
//                          listed under it (the server renders them: data-animals on each holding)
//   slaughter (屠宰)       head in, meat out by mass (category 肉类 or 冷冻肉), the live weight and the
//                          肉品品质检验合格证 number: TransformDetail; the yield (out ÷ live weight) is shown
//                          before signing against the species' band (config.yieldBands, rules/livestock.py)
//
// Every check here is the browser's copy of one the server makes (trace/model/values.py,
// trace/rules/livestock.py), so a person learns of a miscount next to the field, before signing.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  if (!P.cfg) return; // not a portal page (portal-page.js)
  const { CheckError, cfg, $, $$, msg, value, need, decimalField, checked, optionOf } = P;

  const EAR_TAG = /^[1-3][0-9]{14}$/; // trace/model/ids.py check_ear_tag
  const MASS = { kg: 1, g: 0.001, t: 1000, jin: 0.5 }; // trace/model/units.py MASS_UNITS

  // --- checks -------------------------------------------------------------------------------------

  // The ear tags typed in a box, separated by spaces, new lines or commas (full-width ones too).
  function earTags(text, path) {
    const tags = String(text || "").split(/[\s,，、;；]+/).filter(Boolean);
    if (tags.some((tag, i) => !EAR_TAG.test(tag) || tags.indexOf(tag) !== i)) throw new CheckError(path, "ear_tag");
    return tags;
  }

  // A number of head is whole: an animal is not divided but by its own slaughter.
  function heads(quantity, path) {
    if (!/^[0-9]+$/.test(quantity)) throw new CheckError(path, "whole_head");
    return Number(quantity);
  }

  // The ear tags of `quantity` head: as many tags as head (values.LotOut's own check).
  function tagsFor(text, quantity, quantityPath, tagsPath) {
    const n = heads(quantity, quantityPath);
    const tags = earTags(text, tagsPath);
    if (!tags.length) throw new CheckError(tagsPath, "required");
    if (tags.length !== n) throw new CheckError(tagsPath, "ear_tag_count", { n, found: tags.length });
    return tags;
  }

  // --- the wire's parts ---------------------------------------------------------------------------

  // A harvest of live animals: {ear_tags, live_weight} for its one output of `quantity` head (the
  // rules weigh animals when they are tagged: a slaughter's live weight is checked against it).
  function harvestAnimals(form, quantity) {
    const ear_tags = tagsFor(value(form, "ear_tags"), quantity, "outputs[0].quantity", "outputs[0].ear_tags");
    return { ear_tags, live_weight: decimalField(form, "live_weight", "outputs[0].live_weight") };
  }

  // Output row `i` of a transform, in head: the ear tags of its animals.
  function outputTags(row, i, quantity) {
    return tagsFor($(row, "textarea[name=out_tags]").value, quantity, `outputs[${i}].quantity`, `outputs[${i}].ear_tags`);
  }

  // The animals each input row's lot holds now, where the page knows them: {lot: [tags]}.
  function inputAnimals(form) {
    const out = {};
    for (const select of $$(form, "[data-rows=inputs] select[data-sub=lot]")) {
      const opt = optionOf(select);
      if (opt && opt.value && opt.dataset.animals) out[opt.value] = opt.dataset.animals.split(" ");
    }
    return out;
  }

  // A split, merge or repack of animals: each tag named is in a lot put in, and each lot in head put in
  // gives exactly as many animals as its quantity (rules/livestock.py _check_ear_tags).
  function checkAnimalsTaken(form, inputs, outputs) {
    const known = inputAnimals(form);
    const lotOf = {};
    for (const [lot, tags] of Object.entries(known)) for (const tag of tags) lotOf[tag] = lot;
    const taken = {};
    const seen = new Set();
    outputs.forEach((o, i) => {
      for (const tag of o.ear_tags || []) {
        if (seen.has(tag)) throw new CheckError(`outputs[${i}].ear_tags`, "ear_tag");
        seen.add(tag);
        const lot = lotOf[tag];
        const unknown = inputs.some((r) => r.unit === "head" && !(r.lot in known));
        if (!lot && !unknown) throw new CheckError(`outputs[${i}].ear_tags`, "ear_tag_not_in", { tag });
        if (lot) taken[lot] = (taken[lot] || 0) + 1;
      }
    });
    inputs.forEach((r, i) => {
      if (r.unit !== "head" || !(r.lot in known)) return;
      if (Number(r.quantity) !== (taken[r.lot] || 0)) {
        throw new CheckError(`inputs[${i}].quantity`, "ear_tag_taken", { n: r.quantity, taken: taken[r.lot] || 0 });
      }
    });
  }

  // A slaughter's detail, once its inputs are live animals and its outputs are by mass.
  function slaughterDetail(form, inputs, outputs) {
    inputs.forEach((r, i) => {
      if (r.unit !== "head") throw new CheckError(`inputs[${i}].lot`, "slaughter_head");
    });
    outputs.forEach((o, i) => {
      if (!(o.unit in MASS)) throw new CheckError(`outputs[${i}].unit`, "slaughter_mass");
    });
    return {
      type: "slaughter",
      live_weight: decimalField(form, "live_weight", "detail.live_weight"),
      certificate_no: need(form, "meat_certificate_no", "detail.certificate_no"),
    };
  }

  // --- while the form is filled in ----------------------------------------------------------------

  // The unit a form is about: a harvest's chosen unit, else the first chosen lot's.
  function formUnit(form) {
    const unit = form.elements.unit;
    if (unit && unit.tagName === "SELECT") return unit.value;
    const opt = optionOf($(form, "select[data-sub=lot]"));
    return opt && opt.value ? opt.dataset.unit : "";
  }

  // Show what concerns live animals or a slaughter, and hide the rest: [data-when-unit],
  // [data-when-type] (and not [data-unless-type]), each output row's ear tags (when it is in head), and
  // the animals of each lot put in.
  function syncLivestock(form) {
    const unit = formUnit(form);
    const type = checked(form, "type")[0] || "";
    const slaughter = type === "slaughter";
    for (const el of $$(form, "[data-when-unit]")) el.hidden = el.dataset.whenUnit !== unit || el.dataset.unlessType === type;
    for (const el of $$(form, "[data-when-type]")) el.hidden = el.dataset.whenType !== type;
    if (slaughter) {
      // Meat comes out by mass, named by the person: a live animal's name and GTIN are not the meat's.
      for (const s of $$(form, "select[name=out_unit], select[name=helper_unit]")) if (!(s.value in MASS)) s.value = "kg";
      for (const name of ["product_name_zh", "product_name_en", "gtin"]) {
        const el = form.elements[name];
        if (el && el.dataset.auto === "1") el.value = "";
      }
      recordedWeight(form);
    }
    for (const row of $$(form, "[data-rows=outputs] > [data-row]")) {
      const tags = $(row, ".field.tags");
      if (tags) tags.hidden = $(row, "select[name=out_unit]").value !== "head";
    }
    for (const row of $$(form, "[data-rows=inputs] > [data-row]")) {
      const list = $(row, ".animals-list");
      const opt = optionOf($(row, "select[data-sub=lot]"));
      if (!list) continue;
      const tags = opt && opt.value && opt.dataset.animals ? opt.dataset.animals.split(" ") : [];
      list.textContent = tags.length ? msg("transform.animals", { n: tags.length, tags: tags.join(" ") }) : "";
      list.hidden = !tags.length;
    }
  }

  // A slaughter starts from the animals' recorded live weight (each at its last weighing, summed over
  // the lots put in) until the person types the weighing before slaughter, which the rules hold to
  // config.weightBand percent of it (rules/livestock.py SLAUGHTER_WEIGHT).
  function recordedWeight(form) {
    const note = $(form, ".recorded-weight");
    const input = form.elements.live_weight;
    if (!note || !input) return;
    const opts = $$(form, "[data-rows=inputs] select[data-sub=lot]").map(optionOf).filter((o) => o && o.value);
    const known = opts.length > 0 && opts.every((o) => o.dataset.liveWeight);
    note.hidden = !known;
    if (!known) return;
    const round = (x) => Math.round(x * 1000) / 1000;
    const kg = round(opts.reduce((sum, o) => sum + Number(o.dataset.liveWeight), 0));
    const [low, high] = (cfg.weightBand || ["85", "105"]).map(Number);
    note.textContent = msg("transform.recorded_weight", { kg, low: round((kg * low) / 100), high: round((kg * high) / 100) });
    if (!input.value || input.dataset.auto === "1") {
      input.value = String(kg);
      input.dataset.auto = "1";
    }
  }

  // The quick split in head: the input lots' animals in order, `q` to each new lot.
  function fillTags(form, rows, q) {
    const n = Number(q);
    if (!Number.isInteger(n)) return;
    const tags = Object.values(inputAnimals(form)).flat();
    rows.forEach((row, i) => {
      $(row, "textarea[name=out_tags]").value = tags.slice(i * n, (i + 1) * n).join("\n");
    });
  }

  // A slaughter's yield in the form's .balance note: the outputs' kg over the live weight, with the
  // species' band (read from the first digit of the animals' ear tags). False if not a slaughter.
  function slaughterYield(form, note) {
    if ((checked(form, "type")[0] || "") !== "slaughter") return false;
    note.classList.remove("over");
    let out = 0;
    for (const row of $$(form, "[data-rows=outputs] > [data-row]")) {
      const q = Number($(row, "input[name=out_quantity]").value);
      const u = $(row, "select[name=out_unit]").value;
      if (Number.isFinite(q) && u in MASS) out += q * MASS[u];
    }
    const live = Number(value(form, "live_weight"));
    if (!(live > 0) || !(out > 0)) {
      note.textContent = "";
      return true;
    }
    out = Math.round(out * 1000) / 1000;
    const ratio = (out / live) * 100;
    const percent = Math.round(ratio * 10) / 10;
    let text = msg("transform.yield", { percent, out, live });
    const species = new Set(Object.values(inputAnimals(form)).flat().map((tag) => tag[0]));
    const band = species.size === 1 ? (cfg.yieldBands || {})[[...species][0]] : null;
    if (band) {
      const [low, high] = band.map(Number);
      if (ratio < low || ratio > high) {
        text += " " + msg("transform.yield_band", { species: msg("transform.species." + [...species][0]), low, high });
        note.classList.add("over");
      }
    }
    note.textContent = text;
    return true;
  }

  Object.assign(P, { earTags, heads, harvestAnimals, outputTags, checkAnimalsTaken, slaughterDetail, syncLivestock, fillTags, slaughterYield });
})();
