// sw.js keeps the vaccinator's page on the device, so that it opens and
// records doses with no network (static/page-worker.js does the work);
// the doses wait in IndexedDB (queue.js), and the API is never cached.

const VERSION = "{{SITE_VERSION}}";
const PAGE = "vaccinator";
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

importScripts("/static/page-worker.js");
