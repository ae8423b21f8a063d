// The vaccinator's page: open the day's session, look up the person by
// booking code (or register a walk-in), record the dose. Doses are kept
// on the device (queue.js) and sent in batches whenever the network is
// there; the server records each event id once, so resending is safe.
import { el, $, day, today, connectivity, registerWorker } from "/static/site.js";
import { api, ApiError, clockSkew, session, signInForm, signOut, uuid } from "/static/api.js";
import * as queue from "/vaccinator/queue.js";

const ROLE = "vaccinator";
let current = null; // the open session: { id, session, due: [...] }
let person = null;  // who the dose form is for

const dueKey = (id) => `doseledger.due.${id}`;

function show() {
  const s = session(ROLE);
  $("signin").classList.toggle("hidden", !!s);
  $("work").classList.toggle("hidden", !s);
  $("signout").classList.toggle("hidden", !s);
  if (!s) signInForm($("signin-form"), ROLE, () => { show(); sync(); });
  renderQueue();
}

function call(path, opts = {}) {
  const s = session(ROLE);
  if (!s) { show(); throw new ApiError(401, "unauthenticated", "Sign in again: your session ended. Doses on this device are kept."); }
  return api(path, { ...opts, token: s.token, role: ROLE });
}

// --- the session of the day ---

$("site-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const site = $("site-id").value.trim().toUpperCase();
  const date = $("site-date").value;
  const id = `${site}-${date.replaceAll("-", "")}`;
  const status = $("session-status");
  try {
    const due = await call(`/api/v1/sessions/${encodeURIComponent(id)}/due`);
    current = { id, session: due.session, due: due.due };
    localStorage.setItem(dueKey(id), JSON.stringify(current));
  } catch (err) {
    const cached = localStorage.getItem(dueKey(id));
    if (err.status !== 0 || !cached) { status.textContent = err.message; return; }
    current = JSON.parse(cached);
    status.textContent = "Offline: using the due list saved on this device.";
  }
  const s = current.session;
  status.textContent = `${s.site_name}, ${day(s.date)}: ${s.vaccine}, ${current.due.length} booked.` +
    (navigator.onLine ? "" : " (saved copy)");
  localStorage.setItem("doseledger.site", JSON.stringify({ site, date }));
});

// --- looking up who is in front of us ---

$("lookup-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("lookup-status");
  const code = $("code").value.trim();
  if (!current) { status.textContent = "Open the session first."; return; }
  try {
    const found = await call(`/api/v1/sessions/${encodeURIComponent(current.id)}/bookings/${code}`);
    choose(found.bookings.map((b) => ({ id: b.booking.beneficiary_id, name: b.name, dose: b.booking.dose, vaccine: b.booking.vaccine, entry: b.booking })));
  } catch (err) {
    const entries = current.due.filter((e) => e.code === code && e.status === "booked");
    if (err.status === 0 && entries.length) {
      choose(entries.map((entry) => ({ id: entry.beneficiary_id, name: "(offline: check the photo ID)", dose: entry.dose, vaccine: entry.vaccine, entry })));
      if (entries.length === 1) status.textContent = "Offline: found in the saved due list.";
    } else {
      status.textContent = err.message;
    }
  }
});

// choose opens the dose form for the one person a code finds, or lists
// them when two bookings share the code (codes are 4 digits), for the
// vaccinator to pick the one whose photo ID matches.
function choose(people) {
  const status = $("lookup-status");
  if (people.length === 1) {
    status.textContent = "";
    openDose(people[0]);
    return;
  }
  status.replaceChildren(el("span", {}, "Two or more bookings have this code. Pick the one on the photo ID:"),
    el("ul", { class: "people" }, people.map((p) => {
      const e = p.entry;
      const pick = el("button", { type: "button", class: "secondary" }, `${p.name} · ${e.id_type} ending ${e.id_last4} · born ${e.birth_year}`);
      pick.addEventListener("click", () => { status.textContent = ""; openDose(p); });
      return el("li", {}, pick);
    })));
}

function openDose(p) {
  // The dose's event id is chosen as the form opens: a second press of
  // Record (a double tap, Enter twice) is the same report, not a second.
  person = { ...p, eventID: uuid() };
  $("dose-card").classList.remove("hidden");
  $("d-name").textContent = p.name;
  $("d-id").textContent = p.id;
  const e = p.entry || {};
  $("d-idcheck").textContent = e.id_type ? `${e.id_type} ending ${e.id_last4}, born ${e.birth_year}` : "photo ID";
  $("d-dose").value = p.dose || 1;
  $("d-vaccine").value = p.vaccine || (current && current.session.vaccine) || "";
  $("d-lot").focus();
}

$("dose-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!person || !current) return;
  // Taken before the first await: a second submit meanwhile finds no one.
  const p = person;
  person = null;
  const s = current.session;
  const event_id = p.eventID;
  const dose = {
    event_id,
    occurred_at: new Date().toISOString(), // when it was given, not when it is sent
    beneficiary_id: p.id,
    dose: Number($("d-dose").value),
    vaccine: $("d-vaccine").value.trim(),
    lot: $("d-lot").value.trim(),
    site_id: s.site_id,
    state: s.state,
    district: s.district,
    session_id: s.id,
    vaccinator: session(ROLE)?.actor || "vaccinator",
    capture: navigator.onLine ? "online" : "offline_device",
  };
  $("dose-card").classList.add("hidden");
  await queue.add({ event_id, dose, label: `${p.name} (${p.id})`, state: "waiting" });
  $("lookup-status").textContent = `Dose ${dose.dose} for ${p.name} saved on this device.`;
  $("code").value = "";
  await renderQueue();
  sync();
});

// --- walk-ins ---

// One request id per registration attempt: a retry after a lost answer
// (same form, same id) registers the person once; editing the form makes
// it a new request.
let registerRequest = uuid();
$("walkin-form").addEventListener("input", () => { registerRequest = uuid(); });

$("walkin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("walkin-status");
  if (!current) { status.textContent = "Open the session first."; return; }
  const s = current.session;
  const v = (id) => $(id).value.trim();
  try {
    const r = await call("/api/v1/beneficiaries", { body: { request_id: registerRequest, mobile: v("w-mobile"), name: v("w-name"),
      birth_date: v("w-birth"), gender: v("w-gender"), id_type: v("w-idtype"), id_number: v("w-idnumber"),
      state: s.state, district: s.district, pincode: s.pincode } });
    status.textContent = `Registered ${r.beneficiary_id}.`;
    openDose({ id: r.beneficiary_id, name: v("w-name"), dose: 1, vaccine: s.vaccine });
    registerRequest = uuid();
    $("walkin-form").reset();
  } catch (err) {
    status.textContent = err.message;
  }
});

// --- sending ---

let syncing = false;

export async function sync() {
  if (syncing || !session(ROLE)) return;
  syncing = true;
  try {
    const waiting = await queue.waiting();
    for (let i = 0; i < waiting.length; i += 200) {
      const batch = waiting.slice(i, i + 200);
      let answer;
      try {
        answer = await call("/api/v1/doses/batch", { body: { doses: batch.map((e) => e.dose) } });
      } catch (err) {
        $("queue-summary").textContent = err.status === 0
          ? `${waiting.length} waiting: no network. They will be sent when it returns.`
          : `Not sent: ${err.message}`;
        return;
      }
      for (const r of answer.results) {
        const entry = batch.find((e) => e.event_id === r.event_id) || batch[r.index];
        if (!entry) continue;
        // Only an answer the server gives for this dose settles it; any
        // other keeps it waiting, to be sent again.
        if (!["new", "already_recorded", "flagged", "refused"].includes(r.status)) continue;
        entry.state = r.status === "refused" ? "refused" : r.status === "flagged" ? "flagged" : "sent";
        entry.note = r.status === "refused" ? r.error.message
          : r.status === "flagged" ? `recorded, flagged for review: ${r.anomalies.join(", ")}`
          : r.status === "already_recorded" ? "recorded (sent before)" : "recorded";
        await queue.update(entry);
      }
    }
  } finally {
    syncing = false;
    await renderQueue();
  }
}

async function renderQueue() {
  const entries = (await queue.all()).sort((a, b) => b.dose.occurred_at.localeCompare(a.dose.occurred_at));
  const waiting = entries.filter((e) => e.state === "waiting").length;
  const refused = entries.filter((e) => e.state === "refused").length;
  if (!syncing || waiting === 0) {
    $("queue-summary").textContent = waiting ? `${waiting} waiting to be sent.`
      : refused ? `${refused} refused by the server, nothing else waiting: see below.`
      : entries.length ? "All doses are with the server." : "Nothing waiting.";
  }
  $("queue-table").classList.toggle("hidden", entries.length === 0);
  $("queue").replaceChildren(...entries.slice(0, 50).map((e) => el("tr", { "data-event": e.event_id, "data-state": e.state },
    el("td", {}, new Date(e.dose.occurred_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    el("td", {}, e.label), el("td", {}, `${e.dose.dose} · ${e.dose.vaccine} · lot ${e.dose.lot}`),
    el("td", {}, e.state === "waiting" ? "waiting" : e.note || e.state, timeRefused(e) ? correctTime(e) : []))));
}

// timeRefused reports whether the server refused e for its time: the
// device's clock was wrong (reset after a flat battery, say). The dose was
// given all the same, so the vaccinator can put the time right and send
// it again, under the same event id.
const timeRefused = (e) => e.state === "refused" && /occurred_at/.test(e.note || "");

function correctTime(e) {
  const at = el("input", { type: "datetime-local", "aria-label": "when the dose was given", class: "fix-time" });
  const fix = el("button", { type: "button", class: "secondary fix-time" }, "Correct the time and send again");
  const form = el("span", { class: "hidden" }, at, fix);
  const open = el("button", { type: "button", class: "secondary fix-time-open" }, "Correct the time");
  open.addEventListener("click", () => { open.classList.add("hidden"); form.classList.remove("hidden"); at.focus(); });
  fix.addEventListener("click", async () => {
    const when = new Date(at.value);
    if (!at.value || Number.isNaN(when.getTime())) { at.focus(); return; }
    e.dose.occurred_at = when.toISOString();
    e.state = "waiting";
    e.note = "";
    await queue.update(e);
    await renderQueue();
    sync();
  });
  return [el("br"), open, form];
}

// --- the device's clock ---

// A dose is stamped with the device's clock. Beyond this difference from
// the server's, the page says so before the next dose is recorded: the
// 28-day rule, the due lists and the certificate all read that time.
const CLOCK_TOLERANCE_MS = 5 * 60_000;

function showClock() {
  const c = clockSkew();
  const warn = $("clock-warning");
  const off = c && Math.abs(c.skew_ms) > CLOCK_TOLERANCE_MS;
  warn.classList.toggle("hidden", !off);
  if (!off) return;
  const minutes = Math.round(Math.abs(c.skew_ms) / 60_000);
  const amount = minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`;
  warn.textContent = `This device's clock is ${amount} ${c.skew_ms > 0 ? "ahead of" : "behind"} the server's ` +
    `(checked ${new Date(c.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}). ` +
    "Every dose is recorded with the device's time: set its date and time right before recording doses.";
}
window.addEventListener("doseledger:clock", showClock);

$("sync").addEventListener("click", () => sync());
$("signout").addEventListener("click", () => { signOut(ROLE); show(); });
window.addEventListener("online", () => sync());
setInterval(() => { if (navigator.onLine) sync(); }, 20_000);

connectivity($("network"));
const last = JSON.parse(localStorage.getItem("doseledger.site") || "null");
$("site-id").value = last?.site || "";
$("site-date").value = today();
registerWorker("/vaccinator/sw.js", "/vaccinator/");
showClock();
show();
sync();
