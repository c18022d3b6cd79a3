// The console's thresholds page (web/console/alerts.py): sets a new version of a cold-chain
// threshold. The form's values go to POST /alerts/thresholds with the regulator's token
// (FarmtraceSigning.post: an Authorization header signed with the key this browser holds, never
// the cookie); the server checks them (trace/cold_chain.py parse_threshold) and keeps the version
// with the regulator's id and the time. A refusal is shown as the server words it, naming the field.
(function () {
  "use strict";
  const S = window.FarmtraceSigning;
  const form = document.querySelector("[data-threshold-form]");
  const wordsEl = document.getElementById("threshold-messages");
  if (!form || !S) return;
  const words = wordsEl ? JSON.parse(wordsEl.textContent) : {};

  function msg(key, params) {
    const text = words["alerts.js." + key] || key;
    return text.replace(/\{([a-z_]+)\}/g, (_, k) => (params && k in params ? String(params[k]) : ""));
  }

  function show(text, state) {
    const out = form.querySelector("[data-result]");
    out.textContent = text;
    out.dataset.state = state;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    show(msg("working"), "working");
    try {
      const key = await S.load();
      if (!key) throw new Error(msg("no_key"));
      const value = (name) => form.elements[name].value.trim();
      const minutes = value("minutes");
      const body = {
        category: value("category"),
        measure: value("measure"),
        low: value("low") || null,
        high: value("high") || null,
        minutes: /^[0-9]{1,6}$/.test(minutes) ? Number(minutes) : minutes === "" ? 0 : -1,
      };
      const res = await S.post(key, "/alerts/thresholds", body);
      if (!res.ok) {
        const b = res.body;
        show(msg("refused", { detail: (b && (b.detail || b.title)) || "HTTP " + res.status }), "error");
        button.disabled = false;
        return;
      }
      const url = new URL(location.href);
      url.searchParams.set("saved", "1");
      location.assign(url.toString());
    } catch (e) {
      show(msg("refused", { detail: e.message }), "error");
      button.disabled = false;
    }
  });
})();
