// The push-only service worker of "watch this product" (web/watch.py, docs/recall-notices.md).
// Registered with scope /push/, where no page lives: it controls no page and has no fetch handler.
// On a push it shows the recall the server sent (its title and body are in the watcher's language);
// a click opens the lot's page.
self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("push", function (event) {
  var data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch (e) {
    data = null;
  }
  if (!data || typeof data.title !== "string") return;
  event.waitUntil(
    self.registration.showNotification(data.title, {
      body: typeof data.body === "string" ? data.body : "",
      tag: "recall-" + data.recall + "-" + data.lot, // one notice per recall and lot, however often sent
      requireInteraction: true,
      data: { url: data.url },
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = event.notification.data && event.notification.data.url;
  if (typeof url === "string" && /^https?:\/\//.test(url)) event.waitUntil(self.clients.openWindow(url));
});
