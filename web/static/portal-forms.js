// farmtrace portal, part 3 of 7: the event forms — from what a form holds to the wire event.
//
// Every event is built here from its form (BUILD[form.dataset.form]), each value normalised to its
// one wire spelling (trace/model/units.py: "1.2", never "1.20"); buildWire adds what every event carries
// (time, place). An input names the lot's current head (the hash chain's `follows`): the one the
// page was rendered with, or, when the server said it moved (ctx.fresh), the one it has now.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  if (!P.cfg) return; // not a portal page (portal-page.js)
  const { CheckError, decimal, lotCode, LOT_CODE, cfg, $, $$, msg, unitText } = P;
  const { value, need, setValue, decimalField, compact, checked, optionOf, eventTime } = P;

  // --- repeated rows (lots in, lots out) -----------------------------------------------------------

  function reindex(rows) {
    const all = $$(rows, ":scope > [data-row]");
    all.forEach((row, i) => {
      for (const f of $$(row, "[data-paths]")) f.dataset.field = f.dataset.paths.replace(/#/g, String(i));
      for (const el of $$(row, "[id]")) el.id = el.id.replace(/-[0-9]+$/, "-" + i);
      for (const el of $$(row, "label[for]")) el.htmlFor = el.htmlFor.replace(/-[0-9]+$/, "-" + i);
      for (const b of $$(row, "[data-action=remove-row]")) b.hidden = all.length < 2;
    });
  }

  function addRow(rows) {
    const all = $$(rows, ":scope > [data-row]");
    const row = all[0].cloneNode(true);
    for (const el of $$(row, "input, textarea")) el.value = "";
    for (const el of $$(row, "select[data-sub=lot]")) el.selectedIndex = 0;
    for (const el of $$(row, ".error")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of $$(row, ".unit-text, .animals-list")) el.textContent = "";
    for (const el of $$(row, ".animals-list")) el.hidden = true;
    all[all.length - 1].after(row);
    reindex(rows);
    return row;
  }

  function setRows(rows, n) {
    let all = $$(rows, ":scope > [data-row]");
    for (const row of all.slice(n)) row.remove();
    all = $$(rows, ":scope > [data-row]");
    for (let i = all.length; i < n; i++) addRow(rows);
    reindex(rows);
    return $$(rows, ":scope > [data-row]");
  }

  // --- lots' current heads (the hash chain's `follows`) ---------------------------------------------

  async function fetchLot(code) {
    const r = await fetch("/lots/" + encodeURIComponent(code), { headers: { Accept: "application/json" } });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error("lot lookup failed: " + r.status);
    return r.json();
  }

  async function head(code, known, ctx) {
    // An event in the outbox on this lot, not yet in the page: the new event follows it.
    const local = P.localHead ? P.localHead(code) : null;
    if (local && !ctx.fresh) return local;
    if (known && !ctx.fresh) return known;
    const lot = await fetchLot(code);
    if (!lot) throw new CheckError("inputs", "lot_unknown");
    return lot.head;
  }

  // Rows of [data-rows=inputs]: lot (a select of holdings, or fixed on the row), unit, head, quantity.
  async function inputsFrom(form, ctx, opts) {
    const rows = $(form, "[data-rows=inputs]") || form;
    const out = [];
    const seen = new Set();
    for (const [i, row] of $$(rows, "[data-row]").entries()) {
      const select = $(row, "select[data-sub=lot]");
      const opt = optionOf(select);
      const lot = select ? select.value : row.dataset.lot;
      if (!lot) throw new CheckError(`inputs[${i}].lot`, "choose_lot");
      if (seen.has(lot)) throw new CheckError(`inputs[${i}].lot`, "twice");
      seen.add(lot);
      const unit = select ? opt.dataset.unit : row.dataset.unit;
      const known = select ? opt.dataset.head : row.dataset.head;
      const qInput = $(row, "input[name=quantity]");
      const quantity = decimal(qInput.value, `inputs[${i}].quantity`);
      qInput.value = quantity;
      if (unit === "head") P.heads(quantity, `inputs[${i}].quantity`); // animals are whole
      const h = await head(lot, known, ctx);
      if (select) opt.dataset.head = h;
      else row.dataset.head = h;
      out.push({ lot, quantity, unit, follows: [h] });
    }
    if (!out.length && !(opts && opts.optional)) throw new CheckError("inputs", "choose_lot");
    return out;
  }

  function priceFrom(form, stage, required) {
    const amount = decimalField(form, "price", "price.amount", { places: 2, required });
    if (amount === null) return undefined;
    return { amount, currency: "CNY", unit: value(form, "price_unit") || "kg", stage };
  }

  function temperatureFrom(form, time) {
    const v = decimalField(form, "temperature", "sensors[0].value", { places: 3, negative: true, zero: true, required: false });
    return v === null ? undefined : [{ type: "temperature", value: v, unit: "Cel", time }];
  }

  function productFrom(form, prefix) {
    const gtin = value(form, "gtin");
    if (gtin && !/^([0-9]{8}|[0-9]{12,14})$/.test(gtin)) throw new CheckError(prefix + ".gtin", "gtin");
    return compact({
      name_zh: need(form, "product_name_zh", prefix + ".name_zh"),
      name_en: value(form, "product_name_en"),
      gtin,
      variety: value(form, "variety"),
      category: value(form, "category"),
    });
  }

  // --- the event of each form ---------------------------------------------------------------------

  const BUILD = {
    async harvest(form) {
      const lot = lotCode(need(form, "lot", "outputs[0].lot"), "outputs[0].lot");
      const unit = value(form, "unit");
      const quantity = decimalField(form, "quantity", "outputs[0].quantity");
      const product = productFrom(form, "outputs[0].product");
      // Live animals: their ear tags, one per head, and their live weight (portal-livestock.js).
      const animals = unit === "head" ? P.harvestAnimals(form, quantity) : {};
      return {
        kind: "harvest",
        outputs: [{ lot, quantity, unit, product, ...animals }],
        price: priceFrom(form, "production", false),
        detail: {
          origin: compact({ name: need(form, "origin_name", "detail.origin.name"), address: value(form, "origin_address") }),
        },
      };
    },

    async inspect(form, ctx) {
      const code = lotCode(need(form, "lot", "inputs[0].lot"), "inputs[0].lot");
      const input = form.elements.lot;
      if (ctx.fresh || input.dataset.for !== code) await lookup(form);
      if (input.dataset.for !== code) throw new CheckError("inputs[0].lot", "lot_unknown");
      const value_ = decimalField(form, "value", "detail.value", { places: 6, zero: true });
      const limit = decimalField(form, "limit", "detail.limit", { places: 6, zero: true });
      const result = checked(form, "result")[0];
      if (!result) throw new CheckError("detail.result", "result");
      if ((result === "pass") !== (Number(value_) <= Number(limit))) {
        throw new CheckError("detail.result", result === "pass" ? "pass_over_limit" : "fail_under_limit");
      }
      const report = need(form, "report_no", "detail.report_no");
      return {
        kind: "inspect",
        inputs: [{ lot: code, quantity: decimalField(form, "quantity", "inputs[0].quantity"), unit: input.dataset.unit, follows: [input.dataset.head] }],
        documents: [{ type: "inspection_report", id: report }],
        detail: {
          analyte: need(form, "analyte", "detail.analyte"),
          method: need(form, "method", "detail.method"),
          value: value_,
          limit,
          unit: need(form, "test_unit", "detail.unit"),
          result,
          report_no: report,
        },
      };
    },

    async quarantine(form, ctx) {
      // A 动物检疫合格证明 (trace/model/details.py QuarantineDetail) on a lot the vet looks up: for
      // animals, its ear tags (one per head: the input's quantity) and purpose; for products, their name.
      const code = lotCode(need(form, "lot", "inputs[0].lot"), "inputs[0].lot");
      const input = form.elements.lot;
      if (ctx.fresh || input.dataset.for !== code) await lookup(form);
      if (input.dataset.for !== code) throw new CheckError("inputs[0].lot", "lot_unknown");
      const kind = need(form, "q_form", "detail.form"), animals = kind.startsWith("animal");
      const tags = animals ? value(form, "ear_tags").split(/[\s,，、;；]+/).filter(Boolean) : [];
      if (animals && !tags.length) throw new CheckError("detail.ear_tags", "required");
      if (tags.some((tag, i) => !/^[1-3][0-9]{14}$/.test(tag) || tags.indexOf(tag) !== i)) {
        throw new CheckError("detail.ear_tags", "ear_tag");
      }
      const days = need(form, "valid_days", "detail.valid_days");
      if (!/^[1-9][0-9]?$/.test(days) || Number(days) > 30) throw new CheckError("detail.valid_days", "valid_days");
      const quantity = animals ? String(tags.length) : decimalField(form, "quantity", "inputs[0].quantity");
      if (!quantity) throw new CheckError("inputs[0].quantity", "required");
      return {
        kind: "quarantine",
        inputs: [{ lot: code, quantity, unit: input.dataset.unit, follows: [input.dataset.head] }],
        detail: compact({
          form: kind,
          certificate_no: need(form, "certificate_no", "detail.certificate_no"),
          owner: need(form, "owner", "detail.owner"),
          species: need(form, "species", "detail.species"),
          origin: need(form, "origin", "detail.origin"),
          destination: need(form, "destination", "detail.destination"),
          valid_days: days,
          official_vet: need(form, "official_vet", "detail.official_vet"),
          product_name: animals ? null : need(form, "product_name", "detail.product_name"),
          purpose: animals ? need(form, "purpose", "detail.purpose") : null,
          ear_tags: animals ? tags : null,
          carrier: value(form, "carrier"),
          transport: value(form, "transport"),
          vehicle: value(form, "vehicle"),
          disinfection: value(form, "disinfection"),
          marks: value(form, "marks"),
          note: value(form, "note"),
        }),
      };
    },

    async certify(form, ctx) {
      const select = form.elements.lot;
      const opt = optionOf(select);
      if (!select.value) throw new CheckError("inputs[0].lot", "choose_lot");
      const commitments = checked(form, "commitments");
      if (!commitments.length) throw new CheckError("detail.commitments", "commitments");
      const quantity = decimalField(form, "quantity", "inputs[0].quantity");
      const h = await head(select.value, opt.dataset.head, ctx);
      opt.dataset.head = h;
      return {
        kind: "certify",
        inputs: [{ lot: select.value, quantity, unit: opt.dataset.unit, follows: [h] }],
        detail: {
          certificate_no: need(form, "certificate_no", "detail.certificate_no"),
          product_name: need(form, "product_name", "detail.product_name"),
          origin: need(form, "origin", "detail.origin"),
          commitments,
          contact: need(form, "contact", "detail.contact"),
        },
      };
    },

    async ship(form, ctx) {
      const inputs = await inputsFrom(form, ctx);
      const destination = need(form, "destination", "detail.destination");
      return {
        kind: "ship",
        inputs,
        price: priceFrom(form, value(form, "price_stage") || "wholesale", false),
        sensors: temperatureFrom(form, ctx.time),
        detail: { destination },
      };
    },

    async receive(form, ctx) {
      const inputs = await inputsFrom(form, ctx);
      const result = checked(form, "result")[0] || "accepted";
      return {
        kind: "receive",
        inputs,
        sensors: temperatureFrom(form, ctx.time),
        detail: {
          source: form.dataset.source,
          ship_event: form.dataset.shipEvent,
          entry_check: compact({
            result,
            certificate_no: value(form, "certificate_no"),
            inspection_event: value(form, "inspection_event"),
            note: value(form, "note"),
          }),
        },
      };
    },

    async transform(form, ctx) {
      const type = checked(form, "type")[0] || "split";
      const inputs = await inputsFrom(form, ctx);
      const product = productFrom(form, "outputs[0].product");
      if (type === "slaughter") product.category = need(form, "meat_category", "outputs[0].product.category");
      const rows = $$(form, "[data-rows=outputs] > [data-row]");
      const outputs = [];
      const codes = new Set(inputs.map((r) => r.lot));
      rows.forEach((row, i) => {
        const lotInput = $(row, "input[name=out_lot]");
        const lot = lotCode(lotInput.value.trim(), `outputs[${i}].lot`);
        if (codes.has(lot)) throw new CheckError(`outputs[${i}].lot`, "twice");
        codes.add(lot);
        const qInput = $(row, "input[name=out_quantity]");
        const quantity = decimal(qInput.value, `outputs[${i}].quantity`);
        qInput.value = quantity;
        const unit = $(row, "select[name=out_unit]").value;
        const out = { lot, quantity, unit, product };
        if (unit === "head") out.ear_tags = P.outputTags(row, i, quantity); // the animals of a split
        outputs.push(out);
      });
      // A slaughter: head in, meat out by mass, its live weight and 肉品品质检验合格证 (portal-livestock.js).
      if (type === "slaughter") return { kind: "transform", inputs, outputs, detail: P.slaughterDetail(form, inputs, outputs) };
      P.checkAnimalsTaken(form, inputs, outputs);
      return { kind: "transform", inputs, outputs, detail: { type } };
    },

    async sell(form, ctx) {
      const inputs = await inputsFrom(form, ctx);
      return { kind: "sell", inputs, price: priceFrom(form, checked(form, "price_stage")[0] || "retail", true), detail: {} };
    },

    // A recall's acknowledgement (web/portal/notices.py): the lot is in the detail, no inputs.
    async recall_ack(form) {
      const detail = { recall_event: need(form, "recall_event", "detail.recall_event"), lot: need(form, "ack_lot", "detail.lot") };
      const note = value(form, "note");
      if (note) detail.note = note;
      return { kind: "recall_ack", detail };
    },
  };

  async function buildWire(form, ctx) {
    const kind = form.dataset.form;
    ctx.time = eventTime(form);
    const wire = await BUILD[kind](form, ctx);
    wire.event_time = ctx.time;
    wire.location = compact({ name: need(form, "place_name", "location.name"), address: value(form, "place_address") });
    wire.inputs = wire.inputs || [];
    wire.outputs = wire.outputs || [];
    for (const k of Object.keys(wire)) if (wire[k] === undefined) delete wire[k];
    return wire;
  }

  // --- the inspection form's lot, looked up by its code ---------------------------------------

  async function lookup(form) {
    const input = form.elements.lot;
    const info = $(form, ".lot-info");
    const code = input.value.trim();
    delete input.dataset.for;
    if (!LOT_CODE.test(code)) throw new CheckError("inputs[0].lot", "lot_code");
    const lot = await fetchLot(code).catch((e) => {
      // No network: a lot made by an event in this device's outbox is known here (portal-outbox.js).
      const local = P.localLot ? P.localLot(code) : null;
      if (local) return { head: local.head, unit: local.unit, quantity: local.quantity, product: local.product };
      if (e instanceof TypeError) throw new CheckError("inputs[0].lot", "offline_lookup");
      throw e;
    });
    if (!lot) {
      info.textContent = "";
      throw new CheckError("inputs[0].lot", "lot_unknown");
    }
    const local = P.localHead ? P.localHead(code) : null; // an outbox event on it comes first
    Object.assign(input.dataset, { for: code, head: local || lot.head, unit: lot.unit });
    const name = (cfg.lang === "en" && lot.product.name_en) || lot.product.name_zh;
    info.textContent = msg("lot_info", { product: name, quantity: lot.quantity, unit: unitText(lot.unit) });
    if (!value(form, "quantity")) setValue(form, "quantity", lot.quantity);
    return lot;
  }

  Object.assign(P, { BUILD, buildWire, lookup, reindex, addRow, setRows });
})();
