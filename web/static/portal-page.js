// farmtrace portal, part 2 of 7: the page — its configuration and messages, reading a form's
// fields, and showing what went wrong next to the field it concerns.
//
// A refusal (RFC 9457 problem+json) is shown next to the input its `field` names: each input sits in
// a .field whose data-field lists the event paths it fills ("inputs[0].quantity"); a path with no
// input of its own falls back to its parent ("inputs[0].follows" -> "inputs[0]"), then to the form.
// The message is the page language's text for the problem's `rule` (portal.rule.*), with the
// server's own detail under it. Nothing typed is ever cleared by a refusal.
//
// On a page without the portal's configuration (or without signing.js) it adds nothing, and the
// parts after it stand down.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  const { CheckError, decimal, rfc3339 } = P;
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

  function unitText(unit) {
    return M["unit." + unit] || unit;
  }

  // --- reading a form ----------------------------------------------------------------------------

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

  function compact(obj) {
    const out = {};
    for (const [k, v] of Object.entries(obj)) if (v !== "" && v !== null && v !== undefined) out[k] = v;
    return out;
  }

  function checked(form, name) {
    return $$(form, `input[name="${name}"]:checked`).map((el) => el.value);
  }

  function optionOf(select) {
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
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

  // --- a form at work ----------------------------------------------------------------------------

  // The submit button says "sending" and is disabled while `on`.
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

  function enable(form) {
    for (const b of $$(form, "button[type=submit]")) b.disabled = false;
  }

  // Run `fn` with the form busy: a CheckError is shown at its field, a TypeError (fetch's network
  // failure) as a network problem, anything else as the browser's problem with its message.
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

  Object.assign(P, {
    S,
    cfg,
    M,
    $,
    $$,
    msg,
    url,
    unitText,
    value,
    need,
    setValue,
    decimalField,
    compact,
    checked,
    optionOf,
    eventTime,
    clearErrors,
    fill,
    show,
    showCheck,
    showProblem,
    problemText,
    busy,
    enable,
    guarded,
  });
})();
