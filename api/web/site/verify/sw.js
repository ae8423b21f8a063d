// sw.js keeps the verifier page and everything it loads on the device, so
// that it opens and checks cards with no network. The server writes the
// site's content hash into VERSION: any change to the embedded files
// makes a new worker, which caches the new files and drops the old cache.
// The trust list is not kept here: the page keeps it, with its download
// time, in its own cache (verify.js).

const VERSION = "{{SITE_VERSION}}";
const CACHE = "doseledger-verify-" + VERSION;
// Every file the page needs (api/web tests check each one exists).
const FILES = [
  "/verify/",
  "/verify/verify.js",
  "/verify/shc.js",
  "/verify/manifest.webmanifest",
  "/static/site.css",
  "/static/site.js",
  "/static/icon-192.png",
  "/static/icon-512.png",
  "/static/vendor/zxing-reader.js",
  "/static/vendor/zxing_reader.wasm",
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
      if (name.startsWith("doseledger-verify-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The page's own files come from the cache, which the next worker
// refreshes whole; everything else (the trust list) goes to the network.
self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const path = req.mode === "navigate" && url.pathname.startsWith("/verify/") ? "/verify/" : url.pathname;
  if (!FILES.includes(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(path);
    return hit || fetch(req);
  })());
});
