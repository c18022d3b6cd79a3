/* farmtrace: the consumer page's verified facts, drawn in place of the server's first paint.
 *
 * FarmtraceFactsView.show(facts, {messages, lang, state, standard, thresholds}) replaces every part of lot.html the
 * server painted (marked data-server and labelled "not yet verified": recall banners, warnings, the
 * product card, origins, prices, the journey) with what `facts` (facts.js's factsOf) proves:
 *   - state "verified": every check passed; the facts are shown as verified;
 *   - "stale" / "unwitnessed": the records are proven but the checkpoint is not current and
 *     witnessed (witnessed.js); the facts are shown, with that said by the verify box;
 *   - "failed": only what could be proven, under a notice saying so; a step whose event is not proven
 *     keeps the server's text, struck through and marked ✗, never as a fact.
 * A recall or a failed test among the proven events is a warning whatever the server said.
 * The lineage's cold-chain readings (signed `sensors`) are judged by `thresholds`, the server's
 * configuration (GET /alerts/thresholds?all=true), and the page says which threshold it applied.
 *
 * A ship or receive off the path to the page's lot (journey-path.js, twin of web/journey_path.py) is
 * shown without its counterparty, as timeline.py shows it.
 *
 * It mirrors web/timeline.py (the server's rendering of the same events), reading only `facts`. Every
 * text goes in with textContent: nothing a party typed is ever parsed as markup. `messages` are the
 * page's words in its language (web/i18n/common.py), from words-zh.js / words-en.js (web/assets.py)
 * and the page's ft-config JSON; `standard` the standard recall instructions in both languages.
 */
"use strict";
(function () {
  const STAGES = ["production", "wholesale", "retail"];
  const STAGE_BY_ROLE = [["retailer", "retail"], ["wholesaler", "wholesale"], ["processor", "processing"],
    ["producer", "production"], ["inspector", "inspection"], ["regulator", "regulator"]];
  const STAGE_BY_KIND = { harvest: "production", inspect: "inspection", certify: "certificate", quarantine: "quarantine",
    recall: "regulator" };
  const MASS = { kg: 1, g: 0.001, t: 1000, jin: 0.5 }; // trace/model/units.py MASS_UNITS

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== "") node.append(c);
    return node;
  }

  function show(facts, opts) {
    const { messages, lang, state } = opts;
    const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
    const has = (key) => own(messages, key);
    const msg = (key, params) => {
      const text = has(key) ? messages[key] : key;
      return text.replace(/\{([a-z_]+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
    };
    const names = (obj) => {
      // [name in the page's language, the other name or null] (web/render.py `names`).
      const zh = (obj && obj.name_zh) || "", en = obj && obj.name_en;
      if (lang === "en" && en) return [en, zh !== en ? zh : null];
      return [zh, en && en !== zh ? en : null];
    };
    const party = (pid) => (facts.parties[pid] && names(facts.parties[pid])[0]) || pid || "";
    // The transfers off the path to the page's lot, and whom each may name (timeline.py's _signer).
    const path = globalThis.FarmtracePath.pathOf(facts.lot, facts.steps);
    const onPath = (index) => !own(path.off_path, String(index));
    const signer = (index, kind, pid) => {
      if (onPath(index)) return party(pid);
      if (kind === "receive") return msg("journey.another_buyer");
      return path.off_path[String(index)].includes(pid) ? party(pid) : msg("journey.another_seller");
    };
    const unit = (u) => (has("unit." + u) ? msg("unit." + u) : u);
    const qty = (r) => ({ quantity: r.quantity, unit: unit(r.unit) });
    const list = (items, most = 5) => {
      const shown = items.slice(0, most).join(msg("list.sep"));
      return items.length <= most ? shown : msg("list.more", { items: shown, n: items.length });
    };
    const standard = opts.standard || [];
    const instructions = (text) => (standard.includes(String(text || "").trim()) ? msg("recall.standard_instructions") : text || "");
    const main = document.querySelector("main");
    const box = document.getElementById("verify");
    const partial = state === "failed";
    const mark = (node) => { node.dataset.facts = partial ? "proven" : "verified"; return node; };

    // Server steps whose event is not proven stay, marked; everything else the server painted goes.
    const unproven = new Map();
    document.querySelectorAll("[data-server] .step[data-index]").forEach((s) => {
      if (facts.unproven.includes(Number(s.dataset.index))) unproven.set(Number(s.dataset.index), s);
    });
    document.querySelectorAll("[data-server]").forEach((n) => n.remove());
    document.querySelectorAll("[data-facts]").forEach((n) => n.remove());

    // 1. Warnings first: recalls, then a failed test or a refusal at market entry.
    const top = [];
    for (const r of facts.recalls) top.push(mark(recallBanner(r)));
    if (facts.status.failed) top.push(mark(el("section", { class: "alert warning", role: "alert" }, el("p", {}, "⚠ " + msg("status.failed")))));
    if (facts.status.rejected) top.push(mark(el("section", { class: "alert warning", role: "alert" }, el("p", {}, "⚠ " + msg("status.rejected")))));
    if (partial) top.push(mark(el("p", { class: "facts-note" }, msg("facts.partial"))));
    // 2. The product.
    if (facts.product) {
      const [name, other] = names(facts.product);
      const dl = el("dl", { class: "facts" },
        el("div", {}, el("dt", {}, msg("product.lot")), el("dd", { class: "code" }, facts.lot)),
        facts.product.gtin ? el("div", {}, el("dt", {}, msg("product.gtin")), el("dd", { class: "code" }, facts.product.gtin)) : null,
        el("div", {}, el("dt", {}, msg("product.quantity")), el("dd", {}, facts.quantity.quantity + " " + unit(facts.quantity.unit))),
        facts.product.variety ? el("div", {}, el("dt", {}, msg("product.variety")), el("dd", {}, facts.product.variety)) : null);
      top.push(mark(el("section", { class: "card product", "aria-labelledby": "product-name" },
        el("h1", { id: "product-name" }, name), other ? el("p", { class: "other-name" }, other) : null, dl)));
    }
    top.forEach((n) => main.insertBefore(n, box));
    // 3. After the verify box: origins, prices, the journey.
    const after = [];
    facts.origins.forEach((o, i) => after.push(mark(originCard(o, i + 1))));
    after.push(mark(priceCard()));
    if (facts.readings.length) after.push(mark(coldChainCard()));
    after.push(mark(journeyCard()));
    let at = box.nextSibling;
    for (const n of after) main.insertBefore(n, at);

    function recallBanner(r) {
      const itself = r.lot === facts.lot;
      const went = [];
      if (itself) {
        const lots = [], to = [];
        for (const s of facts.steps) {
          const consumed = s.inputs.some((x) => x.lot === facts.lot);
          if (s.kind === "transform" && consumed) for (const o of s.outputs) if (!lots.includes(o.lot)) lots.push(o.lot);
          if (s.kind === "ship" && s.inputs.length && s.inputs[0].lot === facts.lot && onPath(s.index)) {
            const p = party(s.detail.destination);
            if (!to.includes(p)) to.push(p);
          }
        }
        if (lots.length) went.push(msg("recall.went_lots", { lots: list(lots) }));
        if (to.length) went.push(msg("recall.went_to", { parties: to.join(msg("list.sep")) }));
      }
      const id = "recall-v-" + r.index;
      return el("section", { class: "alert recall", role: "alert", "aria-labelledby": id },
        el("h2", { id }, el("span", { "aria-hidden": "true" }, "⚠"), " " + msg("recall.title")),
        el("p", {}, msg(itself ? "recall.self" : "recall.upstream", { lot: r.lot, date: String(r.time || "").slice(0, 10) })),
        went.map((line) => el("p", { class: "went" }, line)),
        el("dl", {}, el("dt", {}, msg("recall.reason")), el("dd", {}, r.reason || ""),
          el("dt", {}, msg("recall.todo")), el("dd", {}, instructions(r.instructions))),
        el("p", { class: "small" }, msg("recall.hotline")));
    }

    function originCard(o, n) {
      const where = o.origin || {};
      const field = [where.name, where.address].filter(Boolean).join(", ");
      const record = facts.parties[o.party] || {};
      const animals = globalThis.FarmtraceLivestock && globalThis.FarmtraceLivestock.raised(o, facts.steps);
      return el("section", { class: "card origin", "aria-labelledby": "origin-v-" + n },
        el("h2", { id: "origin-v-" + n }, msg("origin.title")),
        el("dl", { class: "facts" },
          el("div", {}, el("dt", {}, msg("origin.producer")), el("dd", {}, party(o.party))),
          record.address ? el("div", {}, el("dt", {}, msg("origin.address")), el("dd", {}, record.address)) : null,
          el("div", {}, el("dt", {}, msg(animals ? "origin.farm" : "origin.field")), el("dd", {}, field)),
          el("div", {}, el("dt", {}, msg(animals ? "origin.sent_out" : "origin.harvested")), el("dd", {}, String(o.time || "").slice(0, 10)))));
    }

    function price(p) {
      // [per kg (or per counted unit) in the page's words, as recorded when converted] (timeline._price).
      const amount = Number(p.amount);
      if (!Number.isFinite(amount)) return [String(p.amount), null];
      const money = (x) => (Math.round(x * 100 + 1e-9) / 100).toFixed(2);
      if (MASS[p.unit] && p.unit !== "kg") {
        return [msg("price.amount", { amount: money(amount / MASS[p.unit]), unit: unit("kg") }),
          msg("price.as_recorded", { amount: money(amount), unit: unit(p.unit) })];
      }
      return [msg("price.amount", { amount: money(amount), unit: unit(p.unit || "") }), null];
    }

    function priceCard() {
      const items = facts.prices.map((p) => {
        const [shown, recorded] = price(p.price);
        const stage = STAGES.includes(p.price.stage) ? msg("price." + p.price.stage) : "";
        return el("li", { class: "stage-" + p.price.stage }, el("span", { class: "price-stage" }, stage), " ",
          el("strong", { class: "price-amount" }, shown), recorded ? el("span", { class: "price-note small" }, recorded) : null,
          el("span", { class: "price-party small" }, signer(p.index, p.kind, p.party)));
      });
      return el("section", { class: "card prices", "aria-labelledby": "prices-title" },
        el("h2", { id: "prices-title" }, msg("prices.title")),
        items.length ? el("ol", { class: "price-list" }, items) : el("p", { class: "small" }, msg("prices.none")));
    }

    function coldChainCard() {
      // The signed readings of the lineage's events, each judged by the threshold in force at its
      // event's time for the product's category (configuration the page names: trace/cold_chain.py).
      const category = (facts.product && facts.product.category) || "";
      const rules = (opts.thresholds || []).filter((v) => v.category === category);
      const ruleAt = (measure, time) => {
        const at = Date.parse(time);
        let found = null;
        for (const v of rules) {
          if (v.measure !== measure || !(Date.parse(v.set_at) <= at)) continue;
          if (!found || Date.parse(v.set_at) > Date.parse(found.set_at) || (v.set_at === found.set_at && v.id > found.id)) found = v;
        }
        return found;
      };
      const bound = (v, u) => (v === null || v === undefined ? msg("facts.cold.open") : v + " " + u);
      const used = new Map();
      let out = 0, judged = 0;
      const items = [];
      for (const r of facts.readings) {
        for (const x of r.sensors) {
          if (!x || typeof x !== "object") continue;
          const u = has("facts.cold.unit." + x.type) ? msg("facts.cold.unit." + x.type) : String(x.unit || "");
          const rule = ruleAt(x.type, r.time);
          let verdict = el("span", { class: "badge", "data-verdict": "none" }, msg("facts.cold.no_rule"));
          if (rule) {
            used.set(rule.id, rule);
            judged += 1;
            const v = Number(x.value);
            const ok = (rule.low === null || v >= Number(rule.low)) && (rule.high === null || v <= Number(rule.high));
            if (!ok) out += 1;
            verdict = el("span", { class: "badge " + (ok ? "pass" : "fail"), "data-verdict": ok ? "in" : "out" },
              msg(ok ? "facts.cold.in" : "facts.cold.out"));
          }
          items.push(el("li", { "data-reading": x.type },
            el("strong", {}, msg("facts.cold.measure." + x.type) + " " + x.value + " " + u), " ", verdict,
            el("span", { class: "small" }, " " + String(x.time || "").replace("T", " ").slice(0, 16) + " · " + signer(r.index, r.kind, r.party))));
        }
      }
      const summary = !judged ? msg("facts.cold.none_judged", { category: category || "–" })
        : out ? msg("facts.cold.some_out", { n: out, total: judged }) : msg("facts.cold.all_in", { n: judged });
      const applied = [...used.values()].map((v) => {
        const u = has("facts.cold.unit." + v.measure) ? msg("facts.cold.unit." + v.measure) : "";
        const which = v.set_by === "farmtrace" ? "facts.cold.rule_default" : "facts.cold.rule"; // the platform's default
        return el("li", { class: "small", "data-rule": v.id }, msg(which, {
          category: v.category, measure: msg("facts.cold.measure." + v.measure), low: bound(v.low, u), high: bound(v.high, u),
          minutes: v.minutes, id: v.id, set_by: v.set_by, set_at: String(v.set_at).slice(0, 10) }));
      });
      return el("section", { class: "card cold-chain", "aria-labelledby": "cold-title", "data-cold": out ? "out" : "in" },
        el("h2", { id: "cold-title" }, msg("facts.cold.title")),
        el("p", { class: out ? "warn" : "" }, summary),
        el("ol", { class: "price-list" }, items),
        applied.length ? el("p", { class: "small" }, msg("facts.cold.applied")) : null,
        applied.length ? el("ul", {}, applied) : null,
        el("p", { class: "small" }, msg("facts.cold.config")));
    }

    function journeyCard() {
      const proven = new Map(facts.steps.map((s) => [s.index, s]));
      const order = [...new Set([...facts.proven, ...unproven.keys()])].sort((a, b) => a - b);
      const items = order.map((index, i) => {
        if (proven.has(index)) return step(proven.get(index), i + 1);
        const s = unproven.get(index);
        s.classList.add("bad");
        const m = s.querySelector(".step-mark");
        if (m) { m.className = "step-mark small bad"; m.textContent = "✗ " + msg("verify.step_bad"); }
        return s;
      });
      return el("section", { class: "card journey", "aria-labelledby": "journey-title" },
        el("h2", { id: "journey-title" }, msg("journey.title")),
        items.length ? el("ol", { class: "timeline" }, items) : el("p", { class: "small" }, msg("journey.empty")));
    }

    function stageOf(s) {
      if (STAGE_BY_KIND[s.kind]) return STAGE_BY_KIND[s.kind];
      if (s.kind === "sell" && s.price && ["wholesale", "retail"].includes(s.price.stage)) return s.price.stage;
      const roles = (facts.parties[s.party] || {}).roles || [];
      const hit = STAGE_BY_ROLE.find(([role]) => roles.includes(role));
      return hit ? hit[1] : "production";
    }

    function step(s, n) {
      // The step's lots on the lineage (else all of them), as timeline.py's _Step.ins / .outs.
      const lineage = (refs) => { const on = refs.filter((r) => facts.lineage.includes(r.lot)); return on.length ? on : refs; };
      const ins = lineage(s.inputs), outs = lineage(s.outputs);
      const d = s.detail, first = ins[0], lines = [];
      let badge = null, commitments = [];
      const who = signer(s.index, s.kind, s.party);
      // Live animals, quarantine, slaughter: facts-livestock.js, loaded only where the journey has them.
      const stock = globalThis.FarmtraceLivestock
        ? globalThis.FarmtraceLivestock.describe(s, { msg, has, qty, unit, list, who, outs, first }) : null;
      const title = stock ? stock.title : s.kind === "transform" ? msg("kind.transform." + (d.type || "process"))
        : has("kind." + s.kind) ? msg("kind." + s.kind) : msg("kind.other");
      if (stock) {
        lines.push(...stock.lines);
      } else if (s.kind === "harvest") {
        for (const o of outs) lines.push(msg("detail.harvest", qty(o)));
        const where = d.origin || {};
        lines.push(msg("detail.field", { field: [where.name, where.address].filter(Boolean).join(", ") }));
      } else if (s.kind === "inspect") {
        lines.push(msg("detail.analyte", { analyte: d.analyte || "" }), msg("detail.method", { method: d.method || "" }),
          msg("detail.value", { value: d.value, limit: d.limit, unit: d.unit }), msg("detail.report", { report: d.report_no || "" }));
        const passed = d.result === "pass";
        badge = el("span", { class: "badge " + (passed ? "pass" : "fail") }, msg(passed ? "detail.pass" : "detail.fail"));
      } else if (s.kind === "certify") {
        lines.push(msg("detail.certificate", { number: d.certificate_no || "" }));
        if (first) lines.push(msg("detail.quantity", qty(first)));
        commitments = (Array.isArray(d.commitments) ? d.commitments : []).filter((c) => has("commit." + c)).map((c) => msg("commit." + c));
        if (commitments.length) lines.push(msg("detail.commitments"));
      } else if (s.kind === "ship" && first) {
        lines.push(onPath(s.index) ? msg("detail.ship", { party: party(d.destination), ...qty(first) }) : msg("detail.ship_unnamed", qty(first)));
      } else if (s.kind === "receive" && first) {
        lines.push(onPath(s.index) ? msg("detail.receive", { party: party(d.source), ...qty(first) }) : msg("detail.receive_unnamed", qty(first)));
        const check = d.entry_check || {};
        let text = msg(check.result === "accepted" ? "detail.entry_accepted" : "detail.entry_rejected");
        if (check.certificate_no) {
          text += lang === "zh" ? "，" : ", ";
          const paper = check.certificate_source === "paper";
          text += msg(paper ? "detail.entry_certificate_paper" : "detail.entry_certificate", { number: check.certificate_no });
        }
        lines.push(text);
      } else if (s.kind === "transform" && outs.length) {
        const how = d.type, consumed = s.inputs.some((r) => r.lot === facts.lot), out = outs[0];
        if (consumed && (how === "split" || how === "repack")) {
          lines.push(msg("detail." + how + "_here", { n: s.outputs.length, lots: list(s.outputs.map((o) => o.lot)) }));
        } else if (how === "merge") {
          lines.push(msg("detail.merge", { n: s.inputs.length, lot: out.lot }));
        } else if (how === "split" || how === "repack") {
          lines.push(msg("detail." + how, { n: s.outputs.length, lot: out.lot, ...qty(out) }));
        } else {
          lines.push(msg("detail.process", { lot: out.lot, ...qty(out) }));
        }
      } else if (s.kind === "sell" && first) {
        lines.push(msg("detail.sell", qty(first)));
      } else if (s.kind === "recall" || s.kind === "destroy") {
        lines.push(msg("detail.reason", { reason: d.reason || "" }));
        if (d.instructions) lines.push(instructions(d.instructions));
      }
      let priceLine = null;
      if (s.price && typeof s.price === "object") {
        const stage = STAGES.includes(s.price.stage) ? msg("price." + s.price.stage) : "";
        priceLine = msg("detail.price", { stage, price: price(s.price)[0] });
      }
      const record = facts.parties[s.party] || {};
      let place = s.location && s.location.name;
      if ([who, record.name_zh, record.name_en].includes(place) || !onPath(s.index)) place = null;
      const stage = stageOf(s), time = String(s.time || "");
      return el("li", { class: "step stage-" + stage, "data-index": s.index, "data-n": n, "data-title": title, "data-kind": s.kind,
        "data-type": s.kind === "transform" && d.type ? d.type : null },
        el("div", { class: "step-head" }, el("h3", {}, title), el("span", { class: "chip" }, msg("stage." + stage)),
          el("span", { class: "step-mark small ok", "aria-live": "off" }, (partial ? "✓ " + msg("facts.step_proven") : "✓ " + msg("verify.step_ok")))),
        el("p", { class: "when small" }, el("time", { datetime: time }, time.length >= 16 ? time.slice(0, 10) + " " + time.slice(11, 16) : time)),
        badge ? el("p", {}, badge) : null,
        lines.map((line) => el("p", {}, line)),
        stock && stock.tags.length ? el("details", { class: "ear-tags" }, el("summary", {}, msg("detail.ear_tags", { n: stock.tags.length })),
          el("p", { class: "code" }, stock.tags.join(" "))) : null,
        commitments.length ? el("ul", { class: "commitments" }, commitments.map((c) => el("li", {}, c))) : null,
        priceLine ? el("p", { class: "step-price" }, priceLine) : null,
        el("p", { class: "who small" }, msg("journey.by", { party: who }) + (place ? " · " + msg("journey.at", { place }) : "")));
    }
  }

  globalThis.FarmtraceFactsView = Object.freeze({ show });
})();
