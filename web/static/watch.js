// "Watch this product" (web/watch.py, docs/recall-notices.md): subscribe this browser to Web Push and
// tell the server which lot it watches (POST /watch), or stop (DELETE /watch). Loaded by
// watch-hook.js only where service workers and PushManager exist. What the server keeps: the lot,
// the push endpoint and keys the browser's push service issued, the page language; nothing else.
// Which lots this browser watches is remembered here only (localStorage), to show "Watching".
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("ft-config").textContent);
  var m = globalThis.FarmtraceWatchWords;
  var anchor = document.querySelector("footer.foot"); // above "how this is checked", which stays put
  if (!m || !anchor) return;
  var WORKER = "/push-sw.js";
  var SCOPE = "/push/"; // no page lives there: the worker controls none (web/watch.py)
  var KEY = "ft-watch:";

  function element(tag, cls, text) {
    var el = document.createElement(tag);
    el.className = cls;
    if (text) el.textContent = text;
    return el;
  }
  var box = element("section", "card watch");
  box.id = "watch";
  box.setAttribute("aria-live", "polite");
  var start = element("button", "watch-button", m["watch.button"]);
  var state = element("p", "watch-state small");
  var stop = element("button", "watch-stop", m["watch.stop"]);
  start.type = stop.type = "button";
  state.hidden = stop.hidden = true;
  [element("p", "small", m["watch.note"]), start, state, stop].forEach(function (el) {
    box.appendChild(el);
  });

  function say(key, watching) {
    state.textContent = key ? m[key] : "";
    state.hidden = !key;
    start.hidden = watching;
    stop.hidden = !watching;
    start.disabled = stop.disabled = false;
  }

  function bytes(b64url) {
    var s = atob(b64url.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function watchedLots() {
    var lots = [];
    for (var i = 0; i < localStorage.length; i++) {
      var k = localStorage.key(i);
      if (k && k.indexOf(KEY) === 0) lots.push(k.slice(KEY.length));
    }
    return lots;
  }

  function registration() {
    return navigator.serviceWorker.register(WORKER, { scope: SCOPE }).then(function (reg) {
      if (reg.active) return reg;
      var worker = reg.installing || reg.waiting;
      return new Promise(function (resolve) {
        worker.addEventListener("statechange", function () {
          if (worker.state === "activated") resolve(reg);
        });
      });
    });
  }

  function send(method, body) {
    return fetch("/watch", {
      method: method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) throw new Error("the server answered " + r.status);
    });
  }

  start.addEventListener("click", function () {
    say("watch.busy", false);
    start.disabled = true;
    var made = false;
    var sub = null;
    registration()
      .then(function (reg) {
        return reg.pushManager.getSubscription().then(function (old) {
          if (old) return old;
          return fetch("/push/key")
            .then(function (r) {
              if (!r.ok) throw new Error("no push key: " + r.status);
              return r.json();
            })
            .then(function (answer) {
              made = true;
              var options = { userVisibleOnly: true, applicationServerKey: bytes(answer.key) };
              return reg.pushManager.subscribe(options);
            });
        });
      })
      .then(function (s) {
        sub = s;
        return send("POST", { lot: cfg.lot, subscription: s.toJSON(), lang: cfg.lang });
      })
      .then(function () {
        localStorage.setItem(KEY + cfg.lot, "1");
        say("watch.watching", true);
      })
      .catch(function (err) {
        // Nothing is stored when the push service cannot be reached (most browsers in China) or the
        // person declines notifications; a subscription made just now for nothing is given back.
        if (made && sub && !watchedLots().length) sub.unsubscribe();
        say(err && err.name === "NotAllowedError" ? "watch.denied" : "watch.failed", false);
      });
  });

  stop.addEventListener("click", function () {
    stop.disabled = true;
    navigator.serviceWorker
      .getRegistration(SCOPE)
      .then(function (reg) {
        return reg ? reg.pushManager.getSubscription() : null;
      })
      .then(function (sub) {
        if (!sub) return null;
        return send("DELETE", { lot: cfg.lot, subscription: { endpoint: sub.endpoint } }).then(function () {
          return sub;
        });
      })
      .then(function (sub) {
        localStorage.removeItem(KEY + cfg.lot);
        if (sub && !watchedLots().length) return sub.unsubscribe(); // the push service forgets it too
      })
      .then(function () {
        say("watch.stopped", false);
      })
      .catch(function () {
        say("watch.failed", true);
      });
  });

  anchor.parentNode.insertBefore(box, anchor);
  navigator.serviceWorker
    .getRegistration(SCOPE)
    .then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    })
    .then(function (sub) {
      if (sub && localStorage.getItem(KEY + cfg.lot)) say("watch.watching", true);
    })
    .catch(function () {});
})();
