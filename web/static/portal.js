// farmtrace portal: the forms of farms, inspection stations, markets and shops — the entry point.
//
// Shorter than the portal's other parts on purpose: it is the one that runs last and wires the parts
// to the page. The portal is seven classic scripts sharing one object, globalThis.FarmtracePortal,
// loaded in this order by templates/portal/layout.html (after codec.js and signing.js), each with
// `defer`, so each runs once the page is parsed and after the ones before it:
//
//   portal-checks.js   the checks a value passes before anything is signed (pure; runs in Node too)
//   portal-page.js     the page's configuration and messages, reading fields, showing errors
//   portal-forms.js    the event forms: what a form holds -> the wire event (trace/model/event.py)
//   portal-record.js   an event signed, sent and answered; the forms' live helpers
//   portal-livestock.js  live animals: ear tags, live weight, a slaughter and its yield
//   portal-enroll.js   who this browser is: the sign-in page, enrolment, a new key
//   portal-outbox.js   offline: the service worker, saved pages, the outbox (portal-queue.js, loaded
//                      after signing.js, keeps what waits)
//   portal.js          this file: start
//
// Every event is signed with the key this browser holds (signing.js) and POSTed to /events; a
// refusal (RFC 9457 problem+json) is shown next to the field it names (portal-page.js).
// FarmtracePortal's pure checks (decimal, checkPartyId, lotCode, rfc3339, CheckError) are the same
// normalisation the forms use, for tests and the console.
"use strict";

(() => {
  const P = globalThis.FarmtracePortal;
  if (!P.cfg) return; // not a portal page (portal-page.js)
  const { S, cfg, $$, BUILD, initEventForm, initHome, initEnroll, initKey } = P;

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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
