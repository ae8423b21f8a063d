// sw.js keeps the verifier page and everything it loads on the device, so
// that it opens and checks cards with no network (static/page-worker.js
// does the work). The trust list is not kept here: the page keeps it,
// with its download time, in its own cache (verify.js).

const VERSION = "{{SITE_VERSION}}";
const PAGE = "verify";
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

importScripts("/static/page-worker.js");
