// farmtrace portal, part 1 of 7: the checks a form's values pass before anything is signed.
//
// Pure functions, no DOM: the browser's copies of the server's own checks, so a person learns of a
// typo at once, in their language, instead of from a refusal. Each raises CheckError(path, code,
// params): `path` is the event path the value fills ("inputs[0].quantity"), `code` names the
// message (portal.check.<code>). It also runs in Node (tests/web/js/node.py).
//
//   decimal(text, path, opts)   the canonical decimal text of what a person typed (trace/model/units.py)
//   checkPartyId(id, path)      a farmer's registration or a USCC with its check character (trace/model/ids.py)
//   lotCode(text, path)         a lot code as trace/model/ids.py accepts it
//   rfc3339(date)               the local time as the event's RFC 3339 text, with its offset
//
// It creates globalThis.FarmtracePortal, the object the portal's parts share (portal.js lists them).
"use strict";

(() => {
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

  // trace/model/ids.py check_party_id, in the browser: the person learns of a typo before anything is signed.
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

  function lotCode(text, path) {
    if (!LOT_CODE.test(text)) throw new CheckError(path, "lot_code");
    return text;
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

  globalThis.FarmtracePortal = { CheckError, decimal, checkPartyId, lotCode, LOT_CODE, pad, rfc3339 };
})();
