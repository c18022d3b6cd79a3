// Test prelude: a WebCrypto without Ed25519, as in-app webviews and older Safari have. Run before the
// page's scripts (Playwright's add_init_script; tests/web/js/node.py in Node): importKey, verify,
// generateKey and sign reject Ed25519 with NotSupportedError, as such browsers do; the rest (SHA-256)
// works as before.
"use strict";
(function () {
  const subtle = globalThis.crypto.subtle;
  const name = (algorithm) => String((algorithm && algorithm.name) || algorithm || "");
  const refuse = () =>
    Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
  for (const [method, at] of [["importKey", 2], ["generateKey", 0], ["sign", 0], ["verify", 0]]) {
    const original = subtle[method].bind(subtle);
    subtle[method] = (...args) => (/^ed25519$/i.test(name(args[at])) ? refuse() : original(...args));
  }
  globalThis.__farmtraceNoEd25519 = true;
})();
