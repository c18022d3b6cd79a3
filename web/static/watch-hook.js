// Loads watch.js and its words only where Web Push can work (web/watch.py).
(function () {
  var w = JSON.parse(document.getElementById("ft-config").textContent).watch;
  if (!w || !isSecureContext || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  [w.words, w.js].forEach(function (src) {
    var s = document.createElement("script");
    s.src = src;
    s.async = false;
    document.head.appendChild(s);
  });
})();
