// page-worker.js is the service worker of every page that works offline.
// A page's sw.js declares VERSION (the site's content hash, written in by
// the server: any change to the embedded files makes a new worker, which
// caches the new files and drops the old cache), PAGE (its directory) and
// FILES (every file the page loads; api/web tests check the list), then
// loads this with importScripts.
/* global VERSION, PAGE, FILES */

const CACHE = `doseledger-${PAGE}-${VERSION}`;

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
      if (name.startsWith(`doseledger-${PAGE}-`) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The page's own files come from the cache, which the next worker
// refreshes whole; everything else (the API) goes to the network.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const home = `/${PAGE}/`;
  const path = req.mode === "navigate" && url.pathname.startsWith(home) ? home : url.pathname;
  if (!FILES.includes(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    return (await cache.match(path)) || fetch(req);
  })());
});
