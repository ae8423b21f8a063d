// sw.js keeps the vaccinator's page on the device, so that it opens and
// records doses with no network; the doses wait in IndexedDB
// (queue.js). The server writes the site's content hash into VERSION.

const VERSION = "{{SITE_VERSION}}";
const CACHE = "doseledger-vaccinator-" + VERSION;
// Every file the page needs (api/web tests check each one exists).
const FILES = [
  "/vaccinator/",
  "/vaccinator/vaccinator.js",
  "/vaccinator/queue.js",

  "/vaccinator/manifest.webmanifest",
  "/static/site.css",
  "/static/site.js",
  "/static/api.js",
  "/static/icon-192.png",
  "/static/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(FILES.map((f) => new Request(f, { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("doseledger-vaccinator-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The page's files come from the cache; the API always goes to the
// network (a dose is sent by the page, which keeps it until the server
// has it).
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const path = req.mode === "navigate" && url.pathname.startsWith("/vaccinator/") ? "/vaccinator/" : url.pathname;
  if (!FILES.includes(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    return (await cache.match(path)) || fetch(req);
  })());
});
