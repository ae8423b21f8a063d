// verify.js runs the verifier page: it reads a card (camera, photo or
// pasted text), checks it with shc.js against the trust list kept on this
// device, and shows the verdict. The trust list is kept in the Cache API
// with the time it was downloaded, so the page works offline; the service
// worker (sw.js) keeps the page itself.

import { $, el, ago, when, day, connectivity, registerWorker } from "/static/site.js";
import { loadTrust, verify, chunkOf, VALID, INVALID, REVOKED, UNKNOWN_ISSUER } from "/verify/shc.js";

const BUNDLE_URL = "/api/v1/trust-bundle";
const TRUST_CACHE = "doseledger-trust-v1";
// A trust list older than this is refreshed on load when online; one
// older than STALE_MS is flagged, since revocations since are unknown.
const REFRESH_MS = 60 * 60 * 1000;
const STALE_MS = 7 * 24 * 60 * 60 * 1000;

let trust = null; // what loadTrust made of the kept bundle
let downloadedAt = null; // when this device downloaded it

// ---- trust list ----

async function keptBundle() {
  if (!("caches" in window)) return null;
  const cache = await caches.open(TRUST_CACHE);
  const res = await cache.match(BUNDLE_URL);
  if (!res) return null;
  return { text: await res.text(), at: new Date(res.headers.get("X-Downloaded-At") || 0) };
}

async function useBundle(text, at) {
  trust = await loadTrust(text);
  downloadedAt = at;
  showTrust();
}

async function refreshBundle(userAsked) {
  const button = $("refresh");
  button.disabled = true;
  try {
    const res = await fetch(BUNDLE_URL, { cache: "no-store" });
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    const text = await res.text();
    const at = new Date();
    await useBundle(text, at); // refuses a bundle that does not load, keeping the old one
    if ("caches" in window) {
      const cache = await caches.open(TRUST_CACHE);
      await cache.put(BUNDLE_URL, new Response(text, {
        headers: { "Content-Type": "application/json", "X-Downloaded-At": at.toISOString() },
      }));
    }
  } catch (err) {
    const why = navigator.onLine ? err.message : "this device is offline";
    if (userAsked || !trust) showTrustProblem(`Could not update the trust list: ${why}.`);
  } finally {
    button.disabled = false;
  }
}

function showTrustProblem(message) {
  const w = $("trust-warning");
  w.textContent = message + (trust ? " The list kept on this device is used." : " No card can be checked until it is downloaded once.");
  w.classList.remove("hidden");
  if (!trust) $("trust-status").textContent = "No trust list on this device yet.";
}

function showTrust() {
  const now = new Date();
  const made = trust.made || downloadedAt;
  const issuers = [...trust.issuers.values()];
  $("trust-status").textContent = `${issuers.length} trusted issuer${issuers.length === 1 ? "" : "s"}; ` +
    `oldest revocation list made ${ago(made, now)} (${when(made)}); downloaded ${ago(downloadedAt, now)}.`;
  const list = $("issuers");
  list.replaceChildren(...issuers.map((is) => {
    const crls = [...is.crls.entries()].map(([kid, c]) => `key ${kid.slice(0, 8)}…: revocation list v${c.ctr}, made ${ago(c.fetchedAt, now)}`);
    return el("li", {}, el("strong", {}, is.name || is.iss), ` — ${is.iss}`, crls.length ? ` (${crls.join(", ")})` : " (no revocation lists)");
  }));
  const w = $("trust-warning");
  if (now - made > STALE_MS) {
    w.textContent = `The revocation lists are ${ago(made, now).replace(" ago", "")} old: cards revoked since are not known here. Update the list when online.`;
    w.classList.remove("hidden");
  } else if (trust.warnings.length) {
    w.textContent = trust.warnings.join("; ");
    w.classList.remove("hidden");
  } else {
    w.classList.add("hidden");
  }
  document.body.dataset.trust = "ready";
}

// ---- reading QR codes ----

let zxingReady = null;

function zxing() {
  if (!zxingReady) {
    if (!window.ZXingWASM) throw new Error("the QR reader did not load");
    // The WebAssembly module is served with the page, never from a CDN,
    // so that the page works offline.
    window.ZXingWASM.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? "/static/vendor/zxing_reader.wasm" : prefix + path) },
    });
    zxingReady = true;
  }
  return window.ZXingWASM;
}

const canvas = document.createElement("canvas");
const ctx = canvas.getContext("2d", { willReadFrequently: true });

// qrTexts returns the text of every shc:/ QR code in an image (a video,
// image or ImageBitmap of size w×h), the largest side scaled to 2000 px
// at most.
async function qrTexts(source, w, h) {
  const scale = Math.min(1, 2000 / Math.max(w, h));
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const found = await zxing().readBarcodes(image, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 10 });
  return found.filter((r) => r.isValid && /^shc:\//i.test(r.text)).map((r) => r.text);
}

async function fromPhoto(file) {
  const status = $("read-status");
  status.textContent = "Reading the photo…";
  try {
    const bitmap = await createImageBitmap(file);
    const texts = await qrTexts(bitmap, bitmap.width, bitmap.height);
    bitmap.close();
    if (!texts.length) {
      status.textContent = "No certificate QR code found in that photo. Try a sharper, closer photo.";
      return;
    }
    status.textContent = "";
    await check(texts.join("\n"));
  } catch (err) {
    status.textContent = `Could not read that photo: ${err.message}`;
  }
}

let stream = null;
let chunks = new Map();

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $("read-status").textContent = "This browser cannot use the camera here; open a photo instead.";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    $("read-status").textContent = `The camera could not be opened: ${err.message}`;
    return;
  }
  chunks = new Map();
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  $("camera").classList.remove("hidden");
  $("camera-status").textContent = "Point the camera at the QR code.";
  scanFrame();
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  $("video").srcObject = null;
  $("camera").classList.add("hidden");
}

async function scanFrame() {
  if (!stream) return;
  const video = $("video");
  try {
    if (video.videoWidth) {
      for (const text of await qrTexts(video, video.videoWidth, video.videoHeight)) {
        const { index, count } = chunkOf(text);
        chunks.set(index, text);
        if (chunks.size >= count) {
          const all = [...chunks.values()].join("\n");
          stopCamera();
          await check(all);
          return;
        }
        $("camera-status").textContent = `Read QR ${[...chunks.keys()].sort().join(", ")} of ${count}; show the next one.`;
      }
    }
  } catch (err) {
    $("camera-status").textContent = `Could not read the camera: ${err.message}`;
  }
  setTimeout(scanFrame, 150);
}

// ---- verdict ----

// What an official does with each verdict; the reason below says why.
const ADVICE = {
  [VALID]: "Genuine and in force. Check the name and birth date against the person's photo ID.",
  [INVALID]: "Do not accept this certificate: it was changed after it was signed, is damaged, or is not a certificate.",
  [REVOKED]: "Do not accept this certificate: the issuer withdrew it. The holder may have a newer one.",
  [UNKNOWN_ISSUER]: "Issued by someone this device does not trust. Update the trust list when online, or check it another way.",
};

async function check(text) {
  if (!trust) {
    showTrustProblem("There is no trust list on this device.");
    return;
  }
  const r = await verify(trust, text, new Date());
  show(r);
}

function show(r) {
  const verdict = $("verdict");
  verdict.textContent = r.verdict;
  verdict.className = "verdict " + ({ [VALID]: "valid", [REVOKED]: "revoked", [UNKNOWN_ISSUER]: "unknown" }[r.verdict] || "invalid");
  $("advice").textContent = ADVICE[r.verdict] || ADVICE[INVALID];
  $("reason").textContent = r.reason;
  const holder = $("holder");
  if (r.holder) {
    $("holder-name").textContent = r.holder.name;
    $("holder-birth").textContent = day(r.holder.birthDate);
    $("issuer").textContent = r.issuerName ? `${r.issuerName} (${r.issuer})` : r.issuer;
    $("doses").replaceChildren(...r.doses.map((d) =>
      el("tr", {}, el("td", {}, d.number || "—"), el("td", {}, d.vaccine), el("td", {}, day(d.date)), el("td", {}, d.lot || "—"), el("td", {}, d.site || "—"))));
    if (!r.doses.length) $("doses").replaceChildren(el("tr", {}, el("td", { colspan: 5 }, "No doses on this card.")));
    $("revocation").textContent = revocationLine(r.revocation);
    holder.classList.remove("hidden");
  } else {
    holder.classList.add("hidden");
  }
  const section = $("result");
  section.dataset.verdict = r.verdict;
  section.classList.remove("hidden");
  section.scrollIntoView({ block: "start" });
}

function revocationLine(rev) {
  if (!rev) return "";
  const copy = rev.fetchedAt ? `list version ${rev.crlVersion}, made ${ago(rev.fetchedAt)}` : "";
  switch (rev.status) {
    case "checked": return `Revocation checked against the issuer's ${copy}.`;
    case "outdated": return `Revocation checked against an outdated ${copy}; the issuer has published version ${rev.published}. Update the trust list.`;
    case "revoked": return `On the issuer's revocation ${copy}.`;
    case "no rid": return "This card cannot be revoked by list (it has no revocation id).";
    case "unknown": return "Revocation not checked: this device has no copy of the issuer's revocation list.";
    default: return "The issuer publishes no revocation list for this key.";
  }
}

// ---- start ----

connectivity($("network"));
$("scan").addEventListener("click", startCamera);
$("stop").addEventListener("click", stopCamera);
$("photo").addEventListener("change", (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) fromPhoto(file);
  e.target.value = ""; // the same photo may be chosen again
});
$("check").addEventListener("click", () => check($("text").value));
$("refresh").addEventListener("click", () => refreshBundle(true));
window.addEventListener("online", () => refreshBundle(false));

registerWorker("/verify/sw.js", "/verify/");
(async () => {
  try {
    const kept = await keptBundle();
    if (kept) await useBundle(kept.text, kept.at);
  } catch (err) {
    console.warn("kept trust list unreadable:", err);
  }
  if (!trust || (navigator.onLine && Date.now() - downloadedAt > REFRESH_MS)) await refreshBundle(false);
})();
