// farmtrace portal: the label_activate form (web/portal/label_activation.py). Adds its builder to
// the portal's BUILD table (static/portal-forms.js): the lot is named in the detail (no inputs, the
// lot's head does not move); serials are one per line or ranges "R7-0001..0500", expanded as
// trace/label_rolls.py's expand_range does (same width, last not before first, at most MAX).
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  if (!P || !P.BUILD) return;
  const { CheckError, need, $ } = P;
  const SERIAL = /^[A-Za-z0-9\-._]{1,20}$/;
  const RANGE = /^([A-Za-z0-9\-._]*?)([0-9]+)\.\.([0-9]+)$/;
  const MAX = 1000;

  function serialsFrom(text) {
    const out = [];
    const seen = new Set();
    for (const raw of text.split(/[\s,，]+/)) {
      const item = raw.trim();
      if (!item) continue;
      let items = [item];
      const m = RANGE.exec(item);
      if (m) {
        const [, prefix, first, last] = m;
        if (first.length !== last.length) throw new CheckError("detail.serials", "range_width");
        const lo = Number(first);
        const hi = Number(last);
        if (hi < lo) throw new CheckError("detail.serials", "range_order");
        if (hi - lo + 1 > MAX) throw new CheckError("detail.serials", "labels_max", { n: MAX });
        items = [];
        for (let n = lo; n <= hi; n++) items.push(prefix + String(n).padStart(first.length, "0"));
      }
      for (const s of items) {
        if (!SERIAL.test(s) || s === "." || s === "..") throw new CheckError("detail.serials", "serial", { serial: s.slice(0, 40) });
        if (seen.has(s)) throw new CheckError("detail.serials", "serial_twice", { serial: s });
        seen.add(s);
        out.push(s);
      }
    }
    if (!out.length) throw new CheckError("detail.serials", "required");
    if (out.length > MAX) throw new CheckError("detail.serials", "labels_max", { n: MAX });
    return out;
  }

  P.BUILD.label_activate = async (form) => {
    const lot = need(form, "label_lot", "detail.lot");
    const gtin = need(form, "gtin", "detail.gtin");
    if (!/^[0-9]{8}$|^[0-9]{12,14}$/.test(gtin)) throw new CheckError("detail.gtin", "gtin");
    return { kind: "label_activate", detail: { lot, gtin, serials: serialsFrom($(form, "[name=serials]").value) } };
  };

  const form = document.querySelector("form[data-form=label_activate]");
  if (!form) return;
  // portal.js wires the forms whose builder it knows when it starts; it may have started already.
  if (document.documentElement.dataset.portalReady) P.initEventForm(form);
  // The lot's own GTIN, when its product has one, is the labels' unless the party types another.
  const select = form.elements.label_lot;
  const fill = () => {
    const opt = select.selectedOptions[0];
    const product = opt && opt.dataset.product ? JSON.parse(opt.dataset.product) : {};
    if (product.gtin && !form.elements.gtin.value) form.elements.gtin.value = product.gtin;
  };
  select.addEventListener("change", fill);
  fill();
})();
