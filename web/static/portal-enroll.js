// farmtrace portal, part 6 of 7: who this browser is — the key it holds and its state on the ledger
// (the sign-in page), enrolment of a new party, and a new key for a registered one.
//
// The key is made in this browser (signing.js) and never leaves it: an application carries the
// public key, a proof of possession signed with it and, for a new party, the commitment to its
// contact details (trace/applications.py), whose details and salt go to the registration desk only.
// Once a regulator approves, the page signs in by itself.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  if (!P.cfg) return; // not a portal page (portal-page.js)
  const { CheckError, checkPartyId, S, cfg, $, msg, url, value, need, setValue, compact, checked } = P;
  const { fill, showProblem, enable, guarded } = P;

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

  // File an application (no token: the applicant is not on the ledger yet); {ok, status, body}.
  async function apply(kind, record, proof, priv) {
    const body = { kind, record, proof };
    if (priv) body.private = priv;
    return S.postJson("/parties/applications", body, { Accept: "application/json" });
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

  Object.assign(P, { initHome, initEnroll, initKey });
})();
