// site.js: the small module every doseledger page shares. Pages import
// what they use: import { el, ago } from "/static/site.js".

// el builds an element: el("td", {class: "x"}, "text", child, ...).
// Text is always set as text, never parsed as HTML, so data read from a
// card or the API cannot inject markup.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// $ returns the element with the id, or throws: a page missing one of its
// own elements is a bug to see at once.
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page has no element #${id}`);
  return node;
}

// ago says how long ago a moment was, in the largest whole unit:
// "just now", "5 minutes ago", "3 hours ago", "2 days ago".
export function ago(then, now = new Date()) {
  const s = Math.round((now.getTime() - then.getTime()) / 1000);
  if (s < 0) return "in the future (check this device's clock)";
  if (s < 60) return "just now";
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [name, size] of units) {
    const n = Math.floor(s / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

// when writes a moment as "22 Nov 2026, 07:30 UTC": unambiguous for
// officials in any locale, and the same on every device.
export function when(t) {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n) => String(n).padStart(2, "0");
  return `${t.getUTCDate()} ${months[t.getUTCMonth()]} ${t.getUTCFullYear()}, ${p(t.getUTCHours())}:${p(t.getUTCMinutes())} UTC`;
}

// day writes a YYYY-MM-DD (or YYYY) date as "14 Feb 1980".
export function day(s) {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(s || "");
  if (!m) return s || "";
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  if (!m[2]) return m[1];
  const mon = months[Number(m[2]) - 1] || m[2];
  return m[3] ? `${Number(m[3])} ${mon} ${m[1]}` : `${mon} ${m[1]}`;
}

// connectivity keeps a badge saying whether the device is online.
export function connectivity(badge) {
  const show = () => {
    const on = navigator.onLine;
    badge.textContent = on ? "online" : "offline";
    badge.className = "badge " + (on ? "online" : "offline");
  };
  window.addEventListener("online", show);
  window.addEventListener("offline", show);
  show();
}

// registerWorker registers a page's service worker, if the browser has
// them (they need https, or http on localhost). It resolves to the
// registration, or null.
export async function registerWorker(url, scope) {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(url, { scope });
  } catch (err) {
    console.warn("service worker not registered:", err);
    return null;
  }
}

// today is this device's date as YYYY-MM-DD (not UTC's: at 02:00 in India
// it is already tomorrow here).
export function today(now = new Date()) {
  const p = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}
