// api.js: how a page talks to the doseledger API — sign-in with a mobile
// number and an OTP, the bearer token kept for the tab, JSON requests with
// the API's errors as exceptions, and downloads that need the token.
import { el } from "/static/site.js";

// ApiError is an answer of 4xx/5xx: status, the API's code and its
// message (written for people), or a network failure (status 0).
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const key = (role) => `doseledger.session.${role}`;

// session returns the signed-in session of role in this tab, or null if
// there is none or it has expired.
export function session(role) {
  try {
    const s = JSON.parse(sessionStorage.getItem(key(role)) || "null");
    if (s && new Date(s.expires_at) > new Date()) return s;
  } catch { /* a damaged entry is no session */ }
  sessionStorage.removeItem(key(role));
  return null;
}

export function signOut(role) {
  sessionStorage.removeItem(key(role));
}

// api sends a request and returns the parsed JSON answer. body, if given,
// is sent as JSON. A 401 ends the session of opts.role, if given.
export async function api(path, opts = {}) {
  const headers = { Accept: "application/json" };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res;
  const sent = Date.now();
  try {
    res = await fetch(path, { method: opts.method || (body ? "POST" : "GET"), headers, body });
  } catch (err) {
    throw new ApiError(0, "network", "The server cannot be reached: check the network and try again.");
  }
  noteClock(res, sent, Date.now());
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    if (res.status === 401 && opts.role) signOut(opts.role);
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || "http_" + res.status, e.message || `The server answered ${res.status}.`);
  }
  return data;
}

const clockKey = "doseledger.clock";

// noteClock compares the device's clock with the server's, from the Date
// header of an answer that took from sent to received (device time), and
// keeps the difference for clockSkew. A device whose clock was reset (a
// flat battery, a wrong time zone) stamps every dose it records with that
// wrong time, and may be offline when it does.
function noteClock(res, sent, received) {
  const date = Date.parse(res.headers.get("Date") || "");
  if (Number.isNaN(date) || received - sent > 10_000) return; // too slow an answer to time anything by
  // Date is whole seconds: the server's clock read somewhere in that second.
  const skew = (sent + received) / 2 - (date + 500);
  try { localStorage.setItem(clockKey, JSON.stringify({ skew_ms: Math.round(skew), at: new Date(received).toISOString() })); } catch { /* storage full: no note */ }
  window.dispatchEvent(new CustomEvent("doseledger:clock"));
}

// clockSkew returns how far the device's clock was ahead of the server's
// (negative: behind) at the last answer, in milliseconds, and when that
// was measured; or null before any answer.
export function clockSkew() {
  try {
    const c = JSON.parse(localStorage.getItem(clockKey) || "null");
    if (c && Number.isFinite(c.skew_ms)) return c;
  } catch { /* a damaged entry: not measured */ }
  return null;
}

// download fetches path with the token and saves it as filename.
export async function download(path, token, filename) {
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached: check the network and try again.");
  }
  if (!res.ok) {
    let msg = `The server answered ${res.status}.`;
    try { msg = (await res.json()).error.message; } catch { /* keep the status */ }
    throw new ApiError(res.status, "download", msg);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = el("a", { href: url, download: filename, class: "hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// signInForm fills container with the two steps of signing in as role
// (mobile number, then the code sent to it) and calls onSignedIn with the
// session once the server has issued a token.
export function signInForm(container, role, onSignedIn) {
  const status = el("p", { class: "muted", role: "status" });
  const mobile = el("input", { id: `${role}-mobile`, type: "tel", inputmode: "numeric", autocomplete: "tel",
    placeholder: "98765 43210", required: true });
  const otp = el("input", { id: `${role}-otp`, type: "text", inputmode: "numeric", autocomplete: "one-time-code",
    maxlength: 6, placeholder: "6 digits" });
  const send = el("button", { id: `${role}-send`, type: "submit" }, "Send code");
  const verify = el("button", { id: `${role}-verify`, type: "submit" }, "Sign in");
  const step1 = el("form", { class: "stack" },
    el("label", { for: mobile.id }, "Mobile number"), mobile, el("div", { class: "actions" }, send));
  const step2 = el("form", { class: "stack hidden" },
    el("label", { for: otp.id }, "Code sent to your mobile"), otp, el("div", { class: "actions" }, verify));
  container.replaceChildren(step1, step2, status);

  step1.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    status.textContent = "Sending…";
    try {
      await api("/api/v1/auth/otp", { body: { mobile: mobile.value } });
      status.textContent = "A 6-digit code was sent. It is good for 5 minutes.";
      step2.classList.remove("hidden");
      otp.focus();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      send.disabled = false;
    }
  });
  step2.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    verify.disabled = true;
    try {
      const s = await api("/api/v1/auth/token", { body: { mobile: mobile.value, otp: otp.value.trim(), role } });
      s.mobile = mobile.value;
      sessionStorage.setItem(key(role), JSON.stringify(s));
      onSignedIn(s);
    } catch (err) {
      status.textContent = err.message;
    } finally {
      verify.disabled = false;
    }
  });
}

// uuid is a random request or event id.
export function uuid() {
  return crypto.randomUUID();
}
