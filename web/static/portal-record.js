// farmtrace portal, part 4 of 7: recording — an event form signed, sent and answered, and the
// helpers that keep the form consistent while a person fills it in.
//
// Weak networks: a signed entry is kept until the server answers; pressing the button again after a
// network failure re-sends the *same* entry (the server answers a duplicate with its first receipt),
// so a lost answer never records an event twice. When the server says a lot moved on since the page
// loaded (rule "follows"), the event is built again on the lot's new head and signed once more.
// Every signed event is first kept in the outbox (portal-outbox.js, portal-queue.js): with no answer
// it stays there, the form says so, and the queue sends it when the network returns.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  if (!P.cfg) return; // not a portal page (portal-page.js)
  const { CheckError, decimal, LOT_CODE, pad, S, cfg, $, $$, msg, url, unitText, value, setValue, optionOf } = P;
  const { clearErrors, show, showCheck, showProblem, busy, enable } = P;
  const { buildWire, lookup, reindex, addRow, setRows } = P;

  // --- signing and sending ------------------------------------------------------------------------

  async function currentKey() {
    const key = await S.load();
    if (!key) throw new CheckError(null, "no_key");
    if (cfg.party && key.party !== cfg.party) throw new CheckError(null, "other_key", { party: key.party });
    return key;
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
      if (result.queued) {
        P.showQueued(form, result.item); // kept on this device, sent when the network returns
        return;
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
      else if (err instanceof TypeError && navigator.onLine === false) show(form, null, msg("problem.network"), "");
      else show(form, null, msg("problem.browser"), String(err && err.message ? err.message : err));
    } finally {
      if (!form.classList.contains("recorded")) busy(form, false);
    }
  }

  async function send(key, signed) {
    // Kept in the outbox (portal-outbox.js) until the server answers; without it, sent once.
    if (P.deliver) return P.deliver(key, signed);
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
      // Live animals travel under the veterinarian's 动物检疫合格证明, not the farm's 合格证.
      if (event.outputs[0].unit !== "head") links.append(link(msg("nav.certify"), url("/portal/certify", { lot: lots[0] })));
    }
    if (kind === "transform" && lots.length) {
      links.append(link(msg("ok.labels_all"), "/lots/" + encodeURIComponent(event.inputs[0].lot) + "/labels.pdf"));
    }
    if (lots.length) links.append(link(msg("lots.chain"), "/l/" + encodeURIComponent(lots[0]) + "?lang=" + cfg.lang));
    if (kind === "recall_ack") links.append(link(msg("nav.notices"), url("/portal/notices")));
    links.append(link(msg("ok.proof"), "/events/" + receipt.event_id + "/proof.tlog-proof")); // C2SP tlog-proof
    links.append(link(msg("nav.lots"), url("/portal/lots")));
    links.append(link(msg("ok.another"), location.pathname + "?lang=" + cfg.lang));
    box.append(links);
    box.dataset.event = signed.id;
    box.hidden = false;
    box.focus();
    box.scrollIntoView({ block: "start" });
  }

  // --- while a form is filled in ------------------------------------------------------------------

  // A lot chosen from the holdings: its unit shown, its quantity proposed, and on the first row the
  // product's details copied into the fields the person has not typed in themselves.
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
    if (P.slaughterYield(form, note)) return; // a slaughter: the yield instead (portal-livestock.js)
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
    if (unit === "head") P.fillTags(form, rows, q); // the input's animals, in order, q to each new lot
    note.textContent = msg("transform.filled", { n, q, unit: unitText(unit) });
    P.syncLivestock(form);
    balance(form);
  }

  // --- the form's wiring -------------------------------------------------------------------------

  function initEventForm(form) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitEvent(form);
    });
    form.addEventListener("change", (e) => {
      if (e.target.matches("select[data-sub=lot]")) onLotChosen(form, e.target);
      P.syncLivestock(form); // what shows for live animals or a slaughter (portal-livestock.js)
      if (e.target.matches("input, select")) balance(form);
    });
    form.addEventListener("input", (e) => {
      if (e.target.dataset) delete e.target.dataset.auto;
      if (form.dataset.form === "transform" && e.target.matches("input")) balance(form); // as it is typed
      if (e.target.name === "lot" && ["inspect", "quarantine"].includes(form.dataset.form)) delete e.target.dataset.for;
    });
    form.addEventListener("click", async (e) => {
      const b = e.target.closest("button[data-action]");
      if (!b) return;
      const action = b.dataset.action;
      if (action === "add-row") {
        addRow($(form, `.rows[data-rows=${b.dataset.rows}]`));
        P.syncLivestock(form);
      }
      if (action === "remove-row") {
        const rows = b.closest(".rows");
        b.closest("[data-row]").remove();
        reindex(rows);
        P.syncLivestock(form);
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
    P.syncLivestock(form);
    balance(form);
    enable(form);
  }

  Object.assign(P, { initEventForm });
})();
