// farmtrace portal: the forms of farms, inspection stations, markets and shops.
//
// Every event is built here from the form, normalised to its one wire spelling (trace/events.py:
// "1.2", never "1.20"), signed with the key this browser holds (signing.js) and POSTed to /events.
// A refusal (RFC 9457 problem+json) is shown next to the input its `field` names: each input sits in
// a .field whose data-field lists the event paths it fills ("inputs[0].quantity"); a path with no
// input of its own falls back to its parent ("inputs[0].follows" -> "inputs[0]"), then to the form.
// The message is the page language's text for the problem's `rule` (portal.rule.*), with the
// server's own detail under it. Nothing typed is ever cleared by a refusal.
//
// Weak networks: a signed entry is kept until the server answers; pressing the button again after a
// network failure re-sends the *same* entry (the server answers a duplicate with its first receipt),
// so a lost answer never records an event twice.
"use strict";

(() => {
  const S = window.FarmtraceSigning;
  const cfgEl = document.getElementById("portal-config");
  if (!S || !cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  const M = cfg.messages || {};
  const $ = (root, sel) => root.querySelector(sel);
  const $$ = (root, sel) => Array.from(root.querySelectorAll(sel));

  function msg(key, params) {
    const text = M["portal." + key];
    if (text === undefined) return key;
    return text.replace(/\{([a-z_]+)\}/g, (_, name) => (params && name in params ? String(params[name]) : ""));
  }

  function url(path, params) {
    const q = new URLSearchParams(params || {});
    q.set("lang", cfg.lang);
    return path + "?" + q.toString();
  }

  // --- checks before signing --------------------------------------------------------------------

  class CheckError extends Error {
    constructor(path, code, params) {
      super(code);
      this.path = path;
      this.code = code;
      this.params = params || {};
    }
  }

  const FULLWIDTH = /[\uff10-\uff19\uff0e\u3002\uff0c]/g;

  // The canonical decimal text of what a person typed: full-width digits and points accepted,
  // leading and trailing zeros dropped ("007.50" -> "7.5"). Raises CheckError(path, ...).
  function decimal(text, path, opts) {
    const o = Object.assign({ places: 3, negative: false, zero: false, required: true }, opts || {});
    let s = String(text || "")
      .replace(FULLWIDTH, (c) => (c === "\uff0c" ? "," : c === "\uff0e" || c === "\u3002" ? "." : String.fromCharCode(c.charCodeAt(0) - 0xfee0)))
      .replace(/[\s,]/g, "");
    if (!s) {
      if (o.required) throw new CheckError(path, "required");
      return null;
    }
    let sign = "";
    if (s[0] === "-" || s[0] === "+") {
      sign = s[0] === "-" ? "-" : "";
      s = s.slice(1);
    }
    const m = /^([0-9]*)(?:\.([0-9]*))?$/.exec(s);
    if (!m || (!m[1] && !m[2])) throw new CheckError(path, "number");
    let int = m[1].replace(/^0+(?=[0-9])/, "") || "0";
    let frac = (m[2] || "").replace(/0+$/, "");
    if (frac.length > o.places) throw new CheckError(path, "places", { places: o.places });
    if (int.length > 13) throw new CheckError(path, "too_big");
    let out = int + (frac ? "." + frac : "");
    if (out === "0") {
      if (!o.zero) throw new CheckError(path, "positive");
      return "0";
    }
    if (sign === "-") {
      if (!o.negative) throw new CheckError(path, "positive");
      out = "-" + out;
    }
    return out;
  }

  const LOT_CODE = /^[A-Za-z0-9\-._/]{1,20}$/;
  const USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  // trace/ids.py check_party_id, in the browser: the person learns of a typo before anything is signed.
  function checkPartyId(id, path) {
    if (id.startsWith("F") && id.length === 14) {
      if (!/^F[0-9]{6}-[0-9]{6}$/.test(id)) throw new CheckError(path, "farmer_id");
      return "farmer_reg";
    }
    if (id.length !== 18 || [...id].some((c) => !USCC_ALPHABET.includes(c)) || !/^[0-9]{6}$/.test(id.slice(2, 8))) {
      throw new CheckError(path, "party_id");
    }
    let total = 0;
    for (let i = 0; i < 17; i++) total += USCC_ALPHABET.indexOf(id[i]) * USCC_WEIGHTS[i];
    const want = USCC_ALPHABET[(31 - (total % 31)) % 31];
    if (id[17] !== want) throw new CheckError(path, "uscc_check", { want });
    return "uscc";
  }

  function value(form, name) {
    const el = form.elements[name];
    if (!el) return "";
    return (el.value || "").trim();
  }

  function need(form, name, path) {
    const v = value(form, name);
    if (!v) throw new CheckError(path, "required");
    return v;
  }

  function setValue(form, name, v) {
    const el = form.elements[name];
    if (el && v !== null && v !== undefined) el.value = v;
  }

  // A decimal field, written back in its canonical spelling so the person sees what is signed.
  function decimalField(form, name, path, opts) {
    const v = decimal(value(form, name), path, opts);
    if (v !== null) setValue(form, name, v);
    return v;
  }

  function lotCode(text, path) {
    if (!LOT_CODE.test(text)) throw new CheckError(path, "lot_code");
    return text;
  }

  function compact(obj) {
    const out = {};
    for (const [k, v] of Object.entries(obj)) if (v !== "" && v !== null && v !== undefined) out[k] = v;
    return out;
  }

  function checked(form, name) {
    return $$(form, `input[name="${name}"]:checked`).map((el) => el.value);
  }

  // --- time ---------------------------------------------------------------------------------------

  const pad = (n, w = 2) => String(n).padStart(w, "0");

  function rfc3339(d) {
    const off = -d.getTimezoneOffset();
    const sign = off < 0 ? "-" : "+";
    const a = Math.abs(off);
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`
    );
  }

  function eventTime(form) {
    const v = value(form, "event_time");
    if (!v) return rfc3339(new Date());
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new CheckError("event_time", "time");
    return rfc3339(d);
  }

  // --- showing errors -----------------------------------------------------------------------------

  function fieldFor(form, path) {
    let p = path;
    while (p) {
      const el = $$(form, "[data-field]").find((e) => e.dataset.field.split(" ").includes(p));
      if (el && !el.closest("[hidden]")) return el;
      const shorter = p.replace(/(\.[^.[\]]*|\[[0-9]+\])$/, "");
      if (shorter === p) break;
      p = shorter;
    }
    return null;
  }

  function errorSlot(field) {
    return $$(field, ".error").find((e) => e.closest("[data-field]") === field) || null;
  }

  function clearErrors(form) {
    for (const e of $$(form, ".error, .form-error")) {
      e.hidden = true;
      e.textContent = "";
    }
    for (const el of $$(form, "[aria-invalid]")) el.removeAttribute("aria-invalid");
    for (const el of $$(form, ".has-error")) el.classList.remove("has-error");
  }

  function fill(slot, text, detail) {
    slot.textContent = "";
    const main = document.createElement("span");
    main.className = "error-text";
    main.textContent = text;
    slot.appendChild(main);
    if (detail) {
      const d = document.createElement("span");
      d.className = "error-detail";
      d.lang = "en";
      d.textContent = detail;
      slot.appendChild(d);
    }
    slot.hidden = false;
  }

  function formError(form) {
    return $(form, ".form-error") || $(document, ".form-error");
  }

  function show(form, path, text, detail) {
    const field = path ? fieldFor(form, path) : null;
    const summary = formError(form);
    if (field && errorSlot(field)) {
      fill(errorSlot(field), text, detail);
      field.classList.add("has-error");
      const input = $(field, "input:not([type=hidden]), select");
      if (input) input.setAttribute("aria-invalid", "true");
      const details = field.closest("details");
      if (details) details.open = true;
      if (summary) fill(summary, msg("problem.see_field"), "");
      field.scrollIntoView({ block: "center" });
      if (input) input.focus({ preventScroll: true });
    } else if (summary) {
      fill(summary, text, detail);
      summary.scrollIntoView({ block: "center" });
    }
  }

  function showCheck(form, err) {
    show(form, err.path, msg("check." + err.code, err.params), "");
  }

  function problemText(status, body) {
    const rule = body && body.rule;
    if (rule && M["portal.rule." + rule] !== undefined) return msg("rule." + rule);
    if (status === 400) return msg("problem.invalid");
    if (status === 401) return msg("problem.signature");
    if (status === 403) return msg("problem.forbidden");
    if (status === 404) return msg("problem.not_found");
    if (status === 422) return msg("problem.refused");
    return msg("problem.server", { status });
  }

  function showProblem(form, status, body) {
    show(form, body && body.field, problemText(status, body), (body && body.detail) || "");
  }

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
    for (const el of $$(row, "input")) el.value = "";
    for (const el of $$(row, "select[data-sub=lot]")) el.selectedIndex = 0;
    for (const el of $$(row, ".error")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of $$(row, ".unit-text")) el.textContent = "";
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

  function optionOf(select) {
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
  }

  // --- lots' current heads (the hash chain's `follows`) ---------------------------------------------

  async function fetchLot(code) {
    const r = await fetch("/lots/" + encodeURIComponent(code), { headers: { Accept: "application/json" } });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error("lot lookup failed: " + r.status);
    return r.json();
  }

  async function head(code, known, ctx) {
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
      return {
        kind: "harvest",
        outputs: [{ lot, quantity, unit, product }],
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
        outputs.push({ lot, quantity, unit: $(row, "select[name=out_unit]").value, product });
      });
      return { kind: "transform", inputs, outputs, detail: { type } };
    },

    async sell(form, ctx) {
      const inputs = await inputsFrom(form, ctx);
      return { kind: "sell", inputs, price: priceFrom(form, checked(form, "price_stage")[0] || "retail", true), detail: {} };
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

  // --- signing and sending ------------------------------------------------------------------------

  async function currentKey() {
    const key = await S.load();
    if (!key) throw new CheckError(null, "no_key");
    if (cfg.party && key.party !== cfg.party) throw new CheckError(null, "other_key", { party: key.party });
    return key;
  }

  function busy(form, on) {
    const button = $(form, "button[type=submit]");
    if (!button) return;
    button.disabled = on;
    if (on) {
      button.dataset.text = button.dataset.text || button.textContent;
      button.textContent = msg("sending");
    } else if (button.dataset.text) {
      button.textContent = button.dataset.text;
    }
  }

  async function submitEvent(form) {
    clearErrors(form);
    busy(form, true);
    try {
      const key = await currentKey();
      const snapshot = JSON.stringify($$(form, "input, select, textarea").map((el) => [el.name, el.type === "checkbox" || el.type === "radio" ? el.checked : el.value]));
      let signed = form._pending && form._pending.snapshot === snapshot ? form._pending.signed : null;
      let ctx = { fresh: false };
      if (!signed) {
        signed = await S.signEvent(key, await buildWire(form, ctx));
        form._pending = { snapshot, signed };
      }
      let result = await send(key, signed);
      if (!result.ok && result.body && result.body.rule === "follows") {
        // Someone recorded on one of these lots since the page loaded: sign again on the new head.
        ctx = { fresh: true };
        signed = await S.signEvent(key, await buildWire(form, ctx));
        form._pending = { snapshot, signed };
        result = await send(key, signed);
      }
      if (result.network) {
        show(form, null, msg("problem.network"), "");
        return;
      }
      form._pending = null;
      if (!result.ok) {
        showProblem(form, result.status, result.body);
        return;
      }
      done(form, result.body, signed);
    } catch (err) {
      if (err instanceof CheckError) showCheck(form, err);
      else show(form, null, msg("problem.browser"), String(err && err.message ? err.message : err));
    } finally {
      if (!form.classList.contains("recorded")) busy(form, false);
    }
  }

  async function send(key, signed) {
    try {
      return await S.post(key, "/events", { entry: signed.entry });
    } catch (e) {
      return { ok: false, network: true };
    }
  }

  function link(text, href) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function done(form, receipt, signed) {
    const kind = form.dataset.form;
    if (kind === "certify") {
      location.assign(url("/portal/certificate/" + signed.id));
      return;
    }
    form.classList.add("recorded");
    for (const el of $$(form, "input, select, textarea, button")) el.disabled = true;
    const submitBox = $(form, ".submit");
    if (submitBox) submitBox.hidden = true;
    const box = $(form, ".form-ok") || form.nextElementSibling;
    box.textContent = "";
    const h = document.createElement("h2");
    h.textContent = msg("ok." + kind);
    const p = document.createElement("p");
    p.className = "small";
    p.textContent = msg("ok.ledger", { index: receipt.index });
    box.append(h, p);
    const links = document.createElement("p");
    links.className = "actions";
    const event = JSON.parse(signed.canonical);
    const lots = event.outputs.length ? event.outputs.map((o) => o.lot) : event.inputs.map((i) => i.lot);
    if (kind === "harvest") {
      links.append(link(msg("ok.labels"), url("/portal/labels/" + lots[0])));
      links.append(link(msg("nav.certify"), url("/portal/certify", { lot: lots[0] })));
    }
    if (kind === "transform" && lots.length) {
      links.append(link(msg("ok.labels_all"), "/lots/" + encodeURIComponent(event.inputs[0].lot) + "/labels.pdf"));
    }
    links.append(link(msg("lots.chain"), "/l/" + encodeURIComponent(lots[0]) + "?lang=" + cfg.lang));
    links.append(link(msg("nav.lots"), url("/portal/lots")));
    links.append(link(msg("ok.another"), location.pathname + "?lang=" + cfg.lang));
    box.append(links);
    box.dataset.event = signed.id;
    box.hidden = false;
    box.focus();
    box.scrollIntoView({ block: "start" });
  }

  // --- the forms' helpers -------------------------------------------------------------------------

  async function lookup(form) {
    const input = form.elements.lot;
    const info = $(form, ".lot-info");
    const code = input.value.trim();
    delete input.dataset.for;
    if (!LOT_CODE.test(code)) throw new CheckError("inputs[0].lot", "lot_code");
    const lot = await fetchLot(code);
    if (!lot) {
      info.textContent = "";
      throw new CheckError("inputs[0].lot", "lot_unknown");
    }
    Object.assign(input.dataset, { for: code, head: lot.head, unit: lot.unit });
    const name = (cfg.lang === "en" && lot.product.name_en) || lot.product.name_zh;
    info.textContent = msg("lot_info", { product: name, quantity: lot.quantity, unit: unitText(lot.unit) });
    if (!value(form, "quantity")) setValue(form, "quantity", lot.quantity);
    return lot;
  }

  function unitText(unit) {
    return M["unit." + unit] || unit;
  }

  function onLotChosen(form, select) {
    const opt = optionOf(select);
    const row = select.closest("[data-row]") || form;
    const unitSpan = $(row, ".unit-text");
    if (!opt || !opt.value) {
      if (unitSpan) unitSpan.textContent = "";
      return;
    }
    if (unitSpan) unitSpan.textContent = "(" + unitText(opt.dataset.unit) + ")";
    const kind = form.dataset.form;
    const qty = $(row, "input[name=quantity]");
    if (qty && !qty.value && kind !== "sell") qty.value = opt.dataset.held;
    const first = select === $(form, "select[data-sub=lot]");
    if (!first) return;
    if (form.elements.price_unit) form.elements.price_unit.value = opt.dataset.unit;
    const product = JSON.parse(opt.dataset.product || "{}");
    if (kind === "certify" && !value(form, "product_name")) setValue(form, "product_name", product.name_zh);
    if (kind === "transform") {
      for (const [name, key] of [["product_name_zh", "name_zh"], ["product_name_en", "name_en"], ["gtin", "gtin"], ["variety", "variety"], ["category", "category"]]) {
        const el = form.elements[name];
        if (el && (!el.value || el.dataset.auto === "1")) {
          el.value = product[key] || "";
          el.dataset.auto = "1";
        }
      }
      if (!value(form, "helper_prefix") || form.elements.helper_prefix.dataset.auto === "1") {
        form.elements.helper_prefix.value = opt.value.slice(0, 16) + "-";
        form.elements.helper_prefix.dataset.auto = "1";
      }
      form.elements.helper_unit.value = opt.dataset.unit;
      for (const s of $$(form, "select[name=out_unit]")) s.value = opt.dataset.unit;
      balance(form);
    }
  }

  const MASS = { kg: 1, g: 0.001, t: 1000, jin: 0.5 };

  function total(rows, qName, unitOf) {
    let sum = 0;
    let unit = null;
    for (const row of rows) {
      const q = Number(($(row, `input[name=${qName}]`) || {}).value);
      const u = unitOf(row);
      if (!u || !Number.isFinite(q)) continue;
      if (u in MASS) {
        sum += q * MASS[u];
        unit = unit && unit !== "kg" ? null : "kg";
      } else {
        sum += q;
        unit = unit && unit !== u ? null : u;
      }
    }
    return { sum: Math.round(sum * 1000) / 1000, unit };
  }

  function balance(form) {
    const note = $(form, ".balance");
    if (!note) return;
    const ins = total($$(form, "[data-rows=inputs] > [data-row]"), "quantity", (row) => {
      const o = optionOf($(row, "select[data-sub=lot]"));
      return o && o.value ? o.dataset.unit : null;
    });
    const outs = total($$(form, "[data-rows=outputs] > [data-row]"), "out_quantity", (row) => $(row, "select[name=out_unit]").value);
    if (!ins.unit || !outs.unit) {
      note.textContent = "";
      return;
    }
    note.textContent = msg("transform.balance", { out: outs.sum, in: ins.sum, unit: unitText(ins.unit === "kg" ? "kg" : ins.unit) });
    note.classList.toggle("over", outs.sum > ins.sum);
  }

  function fillOutputs(form) {
    const note = $(form, ".helper-note");
    const n = Number(value(form, "helper_n"));
    let q;
    try {
      q = decimal(value(form, "helper_q"), "helper", {});
    } catch (e) {
      note.textContent = msg("check." + e.code, e.params);
      return;
    }
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      note.textContent = msg("transform.n_range");
      return;
    }
    const width = Math.max(2, String(n).length);
    const prefix = value(form, "helper_prefix");
    if (!LOT_CODE.test(prefix + "0".repeat(width)) || (prefix + "0".repeat(width)).length > 20) {
      note.textContent = msg("transform.prefix_bad", { max: 20 - width });
      return;
    }
    const unit = value(form, "helper_unit");
    const rows = setRows($(form, "[data-rows=outputs]"), n);
    rows.forEach((row, i) => {
      $(row, "input[name=out_lot]").value = prefix + pad(i + 1, width);
      $(row, "input[name=out_quantity]").value = q;
      $(row, "select[name=out_unit]").value = unit;
    });
    note.textContent = msg("transform.filled", { n, q, unit: unitText(unit) });
    balance(form);
  }

  function initEventForm(form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitEvent(form);
    });
    form.addEventListener("change", (e) => {
      if (e.target.matches("select[data-sub=lot]")) onLotChosen(form, e.target);
      if (e.target.matches("input, select")) balance(form);
    });
    form.addEventListener("input", (e) => {
      if (e.target.dataset) delete e.target.dataset.auto;
      if (e.target.name === "lot" && form.dataset.form === "inspect") delete e.target.dataset.for;
    });
    form.addEventListener("click", async (e) => {
      const b = e.target.closest("button[data-action]");
      if (!b) return;
      const action = b.dataset.action;
      if (action === "add-row") addRow($(form, `.rows[data-rows=${b.dataset.rows}]`));
      if (action === "remove-row") {
        const rows = b.closest(".rows");
        b.closest("[data-row]").remove();
        reindex(rows);
        balance(form);
      }
      if (action === "fill-outputs") fillOutputs(form);
      if (action === "lookup") {
        clearErrors(form);
        try {
          await lookup(form);
        } catch (err) {
          if (err instanceof CheckError) showCheck(form, err);
        }
      }
    });
    for (const select of $$(form, "select[data-sub=lot]")) if (select.value) onLotChosen(form, select);
    for (const rows of $$(form, ".rows[data-rows]")) reindex(rows);
    enable(form);
  }

  function enable(form) {
    for (const b of $$(form, "button[type=submit]")) b.disabled = false;
  }

  // --- who this browser is ------------------------------------------------------------------------

  // "active" | "pending" (party not registered yet) | "pending_key" (party known, key not yet) |
  // "revoked" | "suspended", from the public party record.
  async function keyStatus(key) {
    const r = await fetch("/parties/" + encodeURIComponent(key.party), { headers: { Accept: "application/json" } });
    if (r.status === 404) return { state: "pending" };
    if (!r.ok) throw new Error("party lookup failed: " + r.status);
    const party = await r.json();
    const mine = (party.keys || []).find((k) => k.key_id === key.keyId);
    const active = (party.keys || []).filter((k) => !k.revoked_at).map((k) => k.key_id);
    if (party.status !== "active") return { state: "suspended", party, active };
    if (!mine) return { state: "pending_key", party, active };
    if (mine.revoked_at) return { state: "revoked", party, active };
    return { state: "active", party, active };
  }

  async function signInAndGo(key, next) {
    sessionStorage.removeItem("ft_signed_out");
    await S.signIn(key);
    location.assign(next || url("/portal/lots"));
  }

  async function initHome() {
    const box = document.getElementById("key-status");
    const text = $(box, ".status-text");
    const signinBtn = $(box, "[data-action=signin]");
    const recheck = $(box, "[data-action=recheck]");
    const err = $(box, ".form-error");
    async function refresh(auto) {
      err.hidden = true;
      signinBtn.hidden = true;
      recheck.hidden = true;
      let key;
      try {
        key = await S.load();
      } catch (e) {
        text.textContent = msg("home.no_storage");
        return;
      }
      const line = $(box, ".key-line");
      const danger = $(document, ".danger-zone");
      if (danger) danger.hidden = !key;
      if (!key) {
        box.dataset.state = "none";
        line.hidden = true;
        text.textContent = msg("home.no_key");
        return;
      }
      line.hidden = false;
      $(box, ".key-party").textContent = key.party;
      $(box, ".key-id").textContent = key.keyId;
      let st;
      try {
        st = await keyStatus(key);
      } catch (e) {
        box.dataset.state = "error";
        text.textContent = msg("problem.network");
        recheck.hidden = false;
        return;
      }
      box.dataset.state = st.state;
      text.textContent = msg("home.state." + st.state);
      if (st.state === "active") {
        signinBtn.hidden = false;
        signinBtn.disabled = false;
        signinBtn.onclick = () => signInAndGo(key, cfg.next);
        const signedAsKey = cfg.signedIn && cfg.party === key.party;
        // Sign in by itself once, unless just tried (a clock far off would loop).
        const last = Number(sessionStorage.getItem("ft_auto") || 0);
        const out = sessionStorage.getItem("ft_signed_out") === "1";
        if (auto && !signedAsKey && !out && Date.now() - last > 30000) {
          sessionStorage.setItem("ft_auto", String(Date.now()));
          await signInAndGo(key, cfg.next);
        }
      } else {
        recheck.hidden = false;
      }
    }
    recheck.onclick = () => refresh(true);
    const file = document.getElementById("f-keyfile");
    if (file) {
      file.addEventListener("change", async () => {
        const field = file.closest(".field");
        const slot = $(field, ".error");
        slot.hidden = true;
        try {
          await S.importKeyFile(await file.files[0].text());
          file.value = "";
          await refresh(true);
        } catch (e) {
          fill(slot, msg("home.import_failed"), String(e.message || e));
        }
      });
    }
    const forget = $(document, "[data-action=forget]");
    if (forget) {
      forget.addEventListener("click", async () => {
        await S.forget();
        location.assign(url("/portal"));
      });
    }
    await refresh(true);
  }

  // --- enrollment and new keys --------------------------------------------------------------------

  // The key to apply with: the one already here if it is this party's and not yet approved,
  // else a new one (replacing another only when the person ticked "replace").
  async function applyingKey(form, partyId, mustBeNew) {
    const existing = await S.load();
    if (existing) {
      let st = null;
      try {
        st = await keyStatus(existing);
      } catch (e) {
        st = null;
      }
      const reusable = existing.party === partyId && st && (mustBeNew ? st.state === "pending_key" : st.state === "pending");
      if (reusable) return existing;
      const replace = $(form, ".replace-key");
      replace.hidden = false;
      if (!checked(form, "replace").length) throw new CheckError("replace", "replace", { party: existing.party });
    }
    return S.generate(partyId);
  }

  async function apply(kind, record, proof, priv) {
    const body = { kind, record, proof };
    if (priv) body.private = priv;
    const r = await fetch("/parties/applications", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
    return { ok: r.ok, status: r.status, body: data };
  }

  function pendingPanel(form, key, application, extra) {
    const panel = document.getElementById("pending");
    $(panel, ".key-id").textContent = key.keyId;
    $(panel, ".pending-text").textContent = msg(form.dataset.form === "key" ? "key.waiting" : "enroll.waiting", { id: application.id, party: key.party });
    if (extra) extra(panel);
    panel.hidden = false;
    form.hidden = true;
    panel.focus();
    const status = $(panel, ".status-text");
    $(panel, "[data-action=recheck]").onclick = async () => {
      try {
        const st = await keyStatus(key);
        status.textContent = msg("home.state." + st.state);
        if (st.state === "active") await signInAndGo(key, url("/portal/lots"));
      } catch (e) {
        status.textContent = msg("problem.network");
      }
    };
  }

  async function guarded(form, fn) {
    clearErrors(form);
    busy(form, true);
    try {
      await fn();
    } catch (err) {
      if (err instanceof CheckError) showCheck(form, err);
      else if (err instanceof TypeError) show(form, null, msg("problem.network"), "");
      else show(form, null, msg("problem.browser"), String(err && err.message ? err.message : err));
    } finally {
      busy(form, false);
    }
  }

  function initEnroll(form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      guarded(form, async () => {
        const id = need(form, "party_id", "record.id").toUpperCase();
        setValue(form, "party_id", id);
        const idType = checkPartyId(id, "record.id");
        const nameZh = need(form, "name_zh", "record.name_zh");
        const roles = checked(form, "roles");
        if (!roles.length) throw new CheckError("record.roles", "roles");
        const address = need(form, "address", "record.address");
        const details = { contact: need(form, "contact", "private.details"), phone: need(form, "phone", "private.details.phone") };
        const key = await applyingKey(form, id, false);
        const { commitment, salt } = await S.contactCommitment(details);
        const record = compact({
          id,
          id_type: idType,
          name_zh: nameZh,
          name_en: value(form, "name_en"),
          roles,
          address,
          keys: [{ key_id: key.keyId, public_key: key.publicKey }],
          contact_commitment: commitment,
        });
        const proof = await S.applicationProof(key, "register", id, record);
        const result = await apply("register", record, proof, { details, salt });
        if (!result.ok) {
          showProblem(form, result.status, result.body);
          return;
        }
        pendingPanel(form, key, result.body);
      });
    });
    enable(form);
  }

  async function initKey(form) {
    const existing = await S.load().catch(() => null);
    if (existing && !value(form, "party_id")) setValue(form, "party_id", existing.party);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      guarded(form, async () => {
        const id = need(form, "party_id", "record.party_id").toUpperCase();
        setValue(form, "party_id", id);
        checkPartyId(id, "record.party_id");
        const r = await fetch("/parties/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
        if (r.status === 404) throw new CheckError("record.party_id", "not_registered");
        const party = await r.json();
        const key = await applyingKey(form, id, true);
        const record = { party_id: id, key_id: key.keyId, public_key: key.publicKey };
        const proof = await S.applicationProof(key, "key", id, record);
        const result = await apply("key", record, proof, null);
        if (!result.ok) {
          showProblem(form, result.status, result.body);
          return;
        }
        const old = (party.keys || []).filter((k) => !k.revoked_at && k.key_id !== key.keyId).map((k) => k.key_id);
        pendingPanel(form, key, result.body, (panel) => {
          if (old.length) {
            $(panel, ".old-keys").hidden = false;
            $(panel, ".old-key-ids").textContent = old.join(", ");
          }
        });
      });
    });
    enable(form);
  }

  // --- start ----------------------------------------------------------------------------------------

  function start() {
    for (const a of $$(document, "[data-action=signout]")) {
      a.addEventListener("click", () => {
        S.signOut();
        sessionStorage.setItem("ft_signed_out", "1"); // no automatic sign-in in this tab until asked
      });
    }
    for (const b of $$(document, "[data-action=print]")) b.addEventListener("click", () => window.print());
    if (cfg.page === "home") initHome();
    const enrollForm = document.getElementById("enroll-form");
    if (enrollForm) initEnroll(enrollForm);
    const keyForm = document.getElementById("key-form");
    if (keyForm) initKey(keyForm);
    for (const form of $$(document, "form[data-form]")) if (BUILD[form.dataset.form]) initEventForm(form);
    document.documentElement.dataset.portalReady = "1";
  }

  // Exposed for tests and the console: the same normalisation and checks the forms use.
  window.FarmtracePortal = { decimal, checkPartyId, rfc3339, CheckError };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
