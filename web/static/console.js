// farmtrace regulator console: sign-in, and every action that changes the ledger, signed in this browser.
//
// The pages are rendered by the server (web/console/); this script only acts:
// - sign-in: import a key file (farmtrace-party-key/v1, client/keys.py) as a NON-extractable
//   WebCrypto key kept in IndexedDB (FarmtraceSigning.importKeyFile), or reuse the key already
//   there; then FarmtraceSigning.signIn sets the ft_token cookie the pages read;
// - approve (party.register / party.key_add), suspend (party.suspend), revoke (party.key_revoke),
//   recall (recall): events signed with that key and recorded with FarmtraceSigning.record;
// - start an audit, reject an application: FarmtraceSigning.post (a token header, never the cookie);
// - audit progress: polls GET /ledger/audit until the run is finished.
// After an action succeeds the page reloads with ?done=<action>, which the server shows as a notice.
"use strict";

(() => {
  const cfgEl = document.getElementById("console-config");
  const cfg = cfgEl ? JSON.parse(cfgEl.textContent) : { lang: "zh", messages: {} };
  const S = window.FarmtraceSigning;
  const KEY_FORMAT = "farmtrace-party-key/v1";

  function msg(key, params) {
    const text = cfg.messages["console.js." + key] || key;
    return text.replace(/\{([a-z_]+)\}/g, (_, k) => (params && k in params ? String(params[k]) : ""));
  }

  function show(out, text, state) {
    if (!out) return;
    out.textContent = text;
    out.dataset.state = state;
  }

  function problem(res) {
    const b = res && res.body;
    return (b && (b.detail || b.title)) || "HTTP " + (res ? res.status : "?");
  }

  // RFC 3339, seconds, China Standard Time: what the server and the other clients write.
  function nowCST() {
    return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 19) + "+08:00";
  }

  function reloadWith(done, hash) {
    const u = new URL(location.href);
    u.searchParams.set("done", done);
    u.hash = hash || "";
    location.assign(u.toString());
  }

  function lotPath(code) {
    return code.split("/").map(encodeURIComponent).join("/");
  }

  // --- the key ------------------------------------------------------------------------------------
  // A key file (farmtrace-party-key/v1, client/keys.py) is imported by FarmtraceSigning.importKeyFile
  // as a NON-extractable WebCrypto key kept in IndexedDB; the file is read here only to say clearly,
  // in the page's language, what is wrong with it.
  async function importKeyFile(text) {
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new Error(msg("bad_file"));
    }
    if (!doc || doc.format !== KEY_FORMAT || typeof doc.seed !== "string" || typeof doc.party !== "string") {
      throw new Error(msg("bad_file"));
    }
    if (!window.crypto || !crypto.subtle) throw new Error(msg("no_crypto"));
    try {
      return await S.importKeyFile(doc);
    } catch (e) {
      if (/key_id/.test(e.message)) throw new Error(msg("key_mismatch"));
      if (/seed|atob|base64|character/i.test(e.message)) throw new Error(msg("bad_file"));
      throw new Error(msg("no_crypto"));
    }
  }

  async function signingKey() {
    const key = await S.load();
    if (!key) throw new Error(msg("no_key"));
    if (cfg.regulator && key.party !== cfg.regulator) throw new Error(msg("wrong_key", { party: key.party }));
    return key;
  }

  // --- sign-in ----------------------------------------------------------------------------------------
  async function setUpSignIn(panel) {
    const out = panel.querySelector("[data-result]");
    const next = panel.dataset.next || "/console";
    const finish = async (key) => {
      await S.signIn(key);
      show(out, msg("signed_in"), "ok");
      location.assign(next);
    };
    const stored = await S.load().catch(() => null);
    // The key this page was just refused for (a party that is not a regulator) is not offered again.
    if (stored && stored.party !== panel.dataset.refused) {
      const box = panel.querySelector("[data-stored]");
      box.querySelector("[data-stored-party]").textContent = stored.party;
      box.querySelector("[data-stored-key]").textContent = stored.keyId;
      box.hidden = false;
      box.querySelector("[data-use-stored]").addEventListener("click", () =>
        finish(stored).catch((e) => show(out, msg("error", { detail: e.message }), "error"))
      );
    }
    panel.querySelector("[data-import]").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const file = ev.target.querySelector("input[type=file]").files[0];
      if (!file) return;
      try {
        await finish(await importKeyFile(await file.text()));
      } catch (e) {
        show(out, e.message, "error");
      }
    });
  }

  // --- audit --------------------------------------------------------------------------------------------
  function renderProgress(section, run) {
    const box = section.querySelector("[data-progress]");
    if (!run) return;
    box.hidden = false;
    const bar = box.querySelector("progress");
    bar.max = Math.max(run.total, 1);
    bar.value = run.done;
    box.querySelector("[data-progress-text]").textContent = msg("progress", { done: run.done, total: run.total });
    section.dataset.progressSeen = String(Number(section.dataset.progressSeen || "0") + 1);
    section.dataset.progressDone = String(run.done);
  }

  async function followAudit(section, status) {
    const out = section.querySelector("[data-result]");
    while (status.running) {
      renderProgress(section, status.running);
      await new Promise((r) => setTimeout(r, 300));
      const r = await fetch("/ledger/audit", { cache: "no-store" });
      status = await r.json();
    }
    if (status.last) renderProgress(section, status.last);
    show(out, msg("audit_done"), "ok");
    // A new query (the run's id) makes this a real navigation: the server renders the verdict.
    const u = new URL(location.href);
    u.searchParams.delete("done");
    u.searchParams.set("run", String(status.last ? status.last.id : Date.now()));
    u.hash = "audit";
    location.assign(u.toString());
  }

  function setUpAudit(section) {
    // Two buttons: the full (Merkle) audit, and the replay audit (data-replay, docs/replay.md).
    const buttons = [...section.querySelectorAll("[data-audit-start]")];
    const out = section.querySelector("[data-result]");
    for (const button of buttons) {
      button.addEventListener("click", async () => {
        buttons.forEach((b) => (b.disabled = true));
        try {
          const path = button.dataset.replay === "true" ? "/ledger/audit?replay=true" : "/ledger/audit";
          const res = await S.post(await signingKey(), path, {});
          if (!res.ok) throw new Error(problem(res));
          show(out, msg("audit_started"), "ok");
          section.dataset.auditRun = String((res.body.running || res.body.last || {}).id || "");
          await followAudit(section, res.body);
        } catch (e) {
          show(out, msg("error", { detail: e.message }), "error");
          buttons.forEach((b) => (b.disabled = false));
        }
      });
    }
    if (section.dataset.running === "true") {
      fetch("/ledger/audit", { cache: "no-store" })
        .then((r) => r.json())
        .then((status) => followAudit(section, status));
    }
  }

  // --- actions that change the ledger ---------------------------------------------------------------
  function eventWire(kind, detail, inputs) {
    return {
      kind,
      event_time: nowCST(),
      location: cfg.location,
      inputs: inputs || [],
      outputs: [],
      detail,
    };
  }

  const ACTIONS = {
    async approve(form, key) {
      const app = JSON.parse(form.dataset.payload);
      const r = app.record;
      const wire =
        app.kind === "register"
          ? eventWire("party.register", { party: r })
          : eventWire("party.key_add", { party_id: r.party_id, key_id: r.key_id, public_key: r.public_key });
      return [await S.record(key, wire), "approved"];
    },
    async reject(form, key) {
      const note = form.elements.note.value.trim();
      return [await S.post(key, `/parties/applications/${form.dataset.application}/reject`, { note }), "rejected"];
    },
    async suspend(form, key) {
      const wire = eventWire("party.suspend", { party_id: form.dataset.party, reason: form.elements.reason.value.trim() });
      return [await S.record(key, wire), "suspended"];
    },
    async revoke(form, key) {
      const wire = eventWire("party.key_revoke", {
        party_id: form.dataset.party,
        key_id: form.dataset.key,
        reason: form.elements.reason.value.trim(),
      });
      return [await S.record(key, wire), "revoked"];
    },
    async recall(form, key) {
      // The lot's current head, read now: the recall must follow it (the lot's hash chain).
      const r = await fetch(`/lots/${lotPath(form.dataset.lot)}`, { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const lot = await r.json();
      const input = { lot: lot.code, quantity: lot.quantity, unit: lot.unit, follows: [lot.head] };
      const detail = { reason: form.elements.reason.value.trim(), instructions: form.elements.instructions.value.trim() };
      return [await S.record(key, eventWire("recall", detail, [input])), "recalled"];
    },
  };

  function setUpAction(form) {
    const out = form.querySelector("[data-result]");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const buttons = form.querySelectorAll("button");
      buttons.forEach((b) => (b.disabled = true));
      show(out, msg("working"), "working");
      try {
        const [res, done] = await ACTIONS[form.dataset.action](form, await signingKey());
        if (!res.ok) {
          show(out, msg("refused", { detail: problem(res) }), "error");
          buttons.forEach((b) => (b.disabled = false));
          return;
        }
        show(out, "✓", "ok");
        reloadWith(done);
      } catch (e) {
        show(out, msg("error", { detail: e.message }), "error");
        buttons.forEach((b) => (b.disabled = false));
      }
    });
  }

  // --- the graph: bring the selected lot into view ------------------------------------------------------
  function centreGraph(box) {
    const node = box.querySelector(".node.selected rect");
    if (!node) return;
    const b = node.getBBox();
    box.scrollTop = Math.max(0, b.y - box.clientHeight / 3);
    box.scrollLeft = Math.max(0, b.x - 16);
  }

  function start() {
    document.querySelectorAll("[data-signin]").forEach((p) => setUpSignIn(p));
    document.querySelectorAll("[data-audit]").forEach(setUpAudit);
    document.querySelectorAll("form.act[data-action]").forEach(setUpAction);
    document.querySelectorAll("[data-graph]").forEach(centreGraph);
    document.querySelectorAll("[data-signout]").forEach((b) =>
      b.addEventListener("click", () => {
        S.signOut(); // the session ends; the key stays in this browser for the next sign-in
        location.assign(cfg.signin);
      })
    );
    document.documentElement.dataset.consoleReady = "true";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
