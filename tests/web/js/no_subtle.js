// Test prelude: no crypto.subtle at all, as on a page opened outside a secure context (plain HTTP
// to a host other than localhost). crypto.getRandomValues stays, as it does in such pages.
"use strict";
Object.defineProperty(globalThis.crypto, "subtle", { value: undefined, configurable: true });
globalThis.__farmtraceNoSubtle = true;
