// farmtrace portal: importing a record book (台账). The page of web/portal/sheets.py.
//
// 1. The chosen file (CSV or XLSX) is POSTed as it is to /portal/import/drafts with the party's
//    token; the server answers one unsigned event per row (trace/sheet_drafts.py) and the problems of
//    the rows it refused, already worded in the page's language.
// 2. "Sign and record": each draft is signed here with the key in IndexedDB (signing.js). A signed
//    event's id must be the draft's `event_id`, so the server cannot make the browser sign anything
//    but the rows it showed; then the entries go to POST /events/batch in parts of PART, and the
//    progress bar moves through signing (first half) and recording (second half).
// 3. Every refused row is listed by row and column, with the rule and the reason. The ledger's
//    refusals name an event field; the draft answer's `field_columns` (per kind, every field path of
//    the kind's event -> its column) turns it into the column, the nearest enclosing path first.
//
// Importing the same file again is safe: a row's event is derived from the row only, so the ledger
// answers it as a duplicate.
"use strict";

(() => {
  const S = globalThis.FarmtraceSigning;
  const cfgEl = document.getElementById("portal-config");
  const form = document.getElementById("sheet-form");
  if (!S || !cfgEl || !form) return;
  const cfg = JSON.parse(cfgEl.textContent);
  const M = cfg.messages || {};
  const PART = 500; // entries per POST /events/batch: a steady progress bar, well inside its limits
  const status = document.getElementById("sheet-status");
  const bar = document.getElementById("sheet-progress");
  const button = document.getElementById("sheet-record");
  const input = document.getElementById("f-sheet");
  const box = document.getElementById("sheet-problems");
  let answer = null;

  function msg(key, params) {
    const text = M[key];
    if (text === undefined) return key;
    return text.replace(/\{([a-z_]+)\}/g, (_, name) => (params && name in params ? String(params[name]) : ""));
  }

  function say(text) {
    status.textContent = text;
  }

  function progress(value) {
    bar.hidden = false;
    bar.value = Math.round(value);
  }

  function addProblem(p) {
    const tr = document.createElement("tr");
    tr.dataset.row = String(p.row);
    tr.dataset.column = p.column || "";
    tr.dataset.rule = p.rule;
    for (const text of [String(p.row), p.header, p.rule]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    const main = document.createElement("span");
    main.className = "error-text";
    main.textContent = p.message;
    td.append(main);
    if (p.detail && p.detail !== p.message) {
      const detail = document.createElement("span");
      detail.className = "error-detail";
      detail.textContent = p.detail;
      td.append(detail);
    }
    tr.append(td);
    box.querySelector("tbody").append(tr);
    box.hidden = false;
  }

  function clearProblems() {
    box.querySelector("tbody").textContent = "";
    box.hidden = true;
  }

  async function currentKey() {
    const key = await S.load();
    if (!key || (cfg.party && key.party !== cfg.party)) throw new Error(msg("portal.check.no_key"));
    return key;
  }

  async function read() {
    clearProblems();
    answer = null;
    button.hidden = true;
    bar.hidden = true;
    const file = input.files && input.files[0];
    if (!file) return;
    say(msg("sheet.ui.reading"));
    try {
      const key = await currentKey();
      const r = await fetch("/portal/import/drafts?lang=" + cfg.lang, {
        method: "POST",
        headers: { Authorization: "FarmTrace " + (await S.token(key, 600)), "Content-Type": "application/octet-stream" },
        body: await file.arrayBuffer(),
      });
      const body = await r.json();
      if (!r.ok) {
        say(msg("sheet.ui.failed", { detail: body.detail || r.status }));
        return;
      }
      answer = body;
      say(msg("sheet.ui.read", { rows: body.rows, ready: body.drafts.length, refused: new Set(body.problems.map((p) => p.row)).size }));
      if (body.ignored.length) say(status.textContent + " " + msg("sheet.ui.ignored", { headers: body.ignored.join(", ") }));
      for (const p of body.problems) addProblem(p);
      if (body.drafts.length) {
        button.textContent = msg("sheet.page.record", { count: body.drafts.length });
        button.hidden = false;
        button.disabled = false;
      } else {
        say(status.textContent + " " + msg("sheet.ui.nothing"));
      }
    } catch (err) {
      say(msg("sheet.ui.failed", { detail: err && err.message ? err.message : String(err) }));
    }
  }

  // The column of a field the ledger named: the nearest enclosing path the draft answer maps.
  function columnOf(kind, field) {
    const map = (answer.field_columns || {})[kind] || {};
    let f = field || "";
    while (f) {
      if (f in map) return map[f];
      const shorter = f.replace(/(\.[^.[\]]*|\[\d+\])$/, "");
      if (shorter === f) break;
      f = shorter;
    }
    return "";
  }

  function refusal(draft, problem) {
    const rule = problem.rule || "invalid";
    const column = columnOf(draft.wire.kind, problem.field);
    const text = M["portal.rule." + rule];
    return {
      row: draft.row,
      column,
      header: column ? answer.headers[column] || column : msg("sheet.row_whole"),
      rule,
      message: text !== undefined ? text : msg("sheet.problem.invalid", { detail: problem.detail || "" }),
      detail: problem.detail || "",
    };
  }

  async function record() {
    if (!answer) return;
    button.disabled = true;
    input.disabled = true;
    const drafts = answer.drafts;
    const total = drafts.length;
    try {
      const key = await currentKey();
      if (key.party !== answer.party || key.keyId !== answer.key_id) throw new Error(msg("portal.check.no_key"));
      const entries = [];
      for (let i = 0; i < total; i++) {
        const signed = await S.signEvent(key, drafts[i].wire);
        if (signed.id !== drafts[i].event_id) throw new Error("row " + drafts[i].row + ": the signed event is not the draft shown");
        entries.push(signed.entry);
        if (i % 25 === 24 || i === total - 1) {
          progress(((i + 1) / total) * 50);
          say(msg("sheet.ui.signing", { done: i + 1, total }));
        }
      }
      let fresh = 0, duplicate = 0, refused = 0;
      for (let start = 0; start < total; start += PART) {
        const result = await S.post(key, "/events/batch", { entries: entries.slice(start, start + PART) });
        if (!result.ok) throw new Error((result.body && result.body.detail) || "HTTP " + result.status);
        result.body.results.forEach((r, k) => {
          if (r.ok) {
            if (r.receipt.duplicate) duplicate++;
            else fresh++;
          } else {
            refused++;
            addProblem(refusal(drafts[start + k], r.problem));
          }
        });
        const done = Math.min(start + PART, total);
        progress(50 + (done / total) * 50);
        say(msg("sheet.ui.sending", { done, total }));
      }
      say(msg("sheet.ui.done", { new: fresh, duplicate, refused: refused + new Set(answer.problems.map((p) => p.row)).size }));
      button.hidden = true; // recorded: choosing a file again starts over
      form.dataset.done = "1";
    } catch (err) {
      say(err instanceof TypeError ? msg("sheet.ui.network") : String(err && err.message ? err.message : err));
      button.disabled = false;
    } finally {
      input.disabled = false;
    }
  }

  input.addEventListener("change", read);
  button.addEventListener("click", record);
  document.documentElement.dataset.importReady = "1";
})();
