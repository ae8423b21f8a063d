// Package web serves doseledger's web pages, embedded in the binary: go
// build alone makes a server that has them, with no npm, bundler or CDN.
//
// # Layout
//
// site/ holds the files as they are served: one directory per page
// (site/verify/ is /verify/), and site/static/ for what every page shares
// — site.css, the one stylesheet; site.js, a small ES module of helpers
// (el, $, ago, when, day, connectivity, registerWorker); the icons; and
// vendor/, libraries copied from npm. A page is plain HTML, CSS and ES
// modules: no framework and no build step. To add a page, add a
// directory: Site.Patterns lists it, and serve mounts every pattern.
//
// Pages load scripts and styles from files only (the Content-Security-
// Policy forbids inline ones), and write text read from cards or the API
// with textContent (site.js el), never as HTML.
//
// # The verifier
//
// /verify/ checks SMART Health Cards offline: verify/shc.js decodes the
// shc:/ QR text (one QR or the chunks of a set), checks the ES256
// signature with WebCrypto against the trust bundle the API serves at
// /api/v1/trust-bundle, inflates the payload with DecompressionStream,
// checks nbf, exp and the key's revocation list, and gives the verdicts
// of certs (VALID, INVALID, REVOKED, UNKNOWN ISSUER) with the same
// reasons. QR codes are read from the camera or a photo by zxing-wasm
// (ZXing-C++ compiled to WebAssembly). A service worker (verify/sw.js)
// keeps the page's files; the page keeps the trust bundle in the Cache
// API with the time it was downloaded, and shows its age.
//
// # The dashboard
//
// /official/ is the officials' page: sign-in (static/api.js), coverage
// charts with their numbers in tables beside them, due lists with a CSV
// download, and the review of anomalies and disputes, all through the
// API with the official's token. The charts are drawn on canvas by uPlot.
//
// # Vendored libraries
//
// package.json and package-lock.json pin the npm packages; vendor.sh
// (go generate ./api/web) installs them with npm ci and copies the files
// served into site/static/vendor (zxing-wasm's QR reader, uPlot), which
// is committed. TestVendored checks the copies against the lock file's
// packages when they are installed.
//
// # Browser tests
//
// Subpackage browsertest starts headless Chromium for tests; the tests
// here drive the pages through it, and skip when Chromium is missing
// (fail under CI=true).
package web
