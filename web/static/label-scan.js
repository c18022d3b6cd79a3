// A pre-printed label's page (web/label_scans.py): after the page has loaded, one beacon counts a
// scan of the label (navigator.sendBeacon: it never delays the page and outlives it). The person's
// approximate area is sent only if they press the button, rounded to 0.1 degree (about 10 km) here,
// in the browser, before it leaves. Nothing else is sent: no identifier, no cookie.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("ft-config").textContent);
  const label = config.label;
  if (!label) return;
  const send = (extra) => {
    const body = JSON.stringify(Object.assign({ gtin: label.gtin, serial: label.serial }, extra));
    if (navigator.sendBeacon) {
      return navigator.sendBeacon(label.scan, new Blob([body], { type: "text/plain" }));
    }
    fetch(label.scan, { method: "POST", body, keepalive: true, credentials: "omit" }).catch(() => {});
    return true;
  };
  const beacon = () => setTimeout(() => send({}), 0);
  if (document.readyState === "complete") beacon();
  else window.addEventListener("load", beacon, { once: true });

  const button = document.querySelector("[data-share-area]");
  const state = document.querySelector("[data-share-state]");
  if (!button || !navigator.geolocation) {
    if (button) button.hidden = true;
    return;
  }
  const round = (x) => (Math.round(x * 10) / 10).toFixed(1).replace(/^-0\.0$/, "0.0");
  button.addEventListener("click", () => {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        send({ area: round(pos.coords.latitude) + "," + round(pos.coords.longitude) });
        state.textContent = button.dataset.done;
      },
      () => {
        state.textContent = button.dataset.failed;
        button.disabled = false;
      },
      { enableHighAccuracy: false, maximumAge: 600000, timeout: 15000 },
    );
  });
})();
