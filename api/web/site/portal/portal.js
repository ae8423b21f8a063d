// The citizen portal: sign in with a mobile number, register family
// members, find a session and book, see doses and appointments, download
// certificates, and dispute a dose that was not given.
import { el, $, day, today } from "/static/site.js";
import { api, download, session, signInForm, signOut, uuid } from "/static/api.js";

const ROLE = "citizen";
let me = null; // the account's people, from GET /api/v1/me

function token() {
  const s = session(ROLE);
  if (!s) { show(); throw new Error("signed out"); }
  return s.token;
}

function call(path, opts = {}) {
  return api(path, { ...opts, token: token(), role: ROLE });
}

// show puts up the sign-in form or the account.
async function show() {
  const s = session(ROLE);
  $("signin").classList.toggle("hidden", !!s);
  $("account").classList.toggle("hidden", !s);
  $("signout").classList.toggle("hidden", !s);
  if (!s) {
    signInForm($("signin-form"), ROLE, () => show());
    return;
  }
  await loadPeople();
}

async function loadPeople() {
  const status = $("people-status");
  try {
    me = await call("/api/v1/me");
  } catch (err) {
    status.textContent = err.message;
    if (err.status === 401) show();
    return;
  }
  status.textContent = "";
  $("people-empty").classList.toggle("hidden", me.people.length > 0);
  $("people").replaceChildren(...me.people.map(personItem));
  $("book-for").replaceChildren(...me.people.map((p) => el("option", { value: p.id }, `${p.name} (${p.id})`)));
  $("register").classList.toggle("hidden", me.people.length >= 4);
  if (me.people.length >= 4) $("register-status").textContent = "Four people are registered under this number, the most it can hold.";
}

function personItem(p) {
  const doses = p.doses.length
    ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Dose"), el("th", {}, "Vaccine"), el("th", {}, "Date"), el("th", {}, "Where"), el("th", {}))),
        el("tbody", {}, p.doses.map((d) => el("tr", {}, el("td", {}, d.dose), el("td", {}, d.vaccine), el("td", {}, day(d.date)),
          el("td", {}, `${d.district}, ${d.state}`), el("td", {}, disputeButton(p, d))))))
    : el("p", { class: "muted" }, "No dose recorded yet.");
  const status = el("p", { class: "muted", role: "status" });
  const actions = el("div", { class: "actions" });
  if (p.doses.length) {
    actions.append(
      button("Download certificate (PDF)", async () => {
        await download(`/api/v1/beneficiaries/${p.id}/certificate.pdf`, token(), `certificate-${p.id}.pdf`);
        status.textContent = "Certificate downloaded.";
      }, status, { id: `pdf-${p.id}` }),
      button("Show QR", async () => {
        const c = await call(`/api/v1/beneficiaries/${p.id}/certificate`);
        const res = await fetch(c.links.qr, { headers: { Authorization: `Bearer ${token()}` } });
        if (!res.ok) throw new Error("the QR image could not be loaded");
        const img = el("img", { src: URL.createObjectURL(await res.blob()), alt: `QR code of the certificate of ${p.name}`, class: "qr" });
        status.replaceChildren(el("span", {}, `${c.kind === "final" ? "Final" : "Provisional"} certificate ${c.certificate_id}: `), img);
        status.dataset.qr = c.qr;
      }, status, { class: "secondary", id: `qr-${p.id}` }));
  }
  let appt = null;
  if (p.active) {
    appt = el("div", { class: "notice ok" },
      el("div", {}, `Booked: dose ${p.active.dose} of ${p.active.vaccine}, ${day(p.active.date)}, ${p.active.slot}, site ${p.active.site_id}. Booking code `),
      el("div", { class: "code", id: `code-${p.id}` }, p.active.code));
    actions.append(button("Cancel booking", async () => {
      await call("/api/v1/bookings/cancel", { body: { request_id: uuid(), beneficiary_id: p.id, reason: "cancelled by the person" } });
      await loadPeople();
    }, status, { class: "secondary" }));
  }
  const done = p.completed_on ? el("p", {}, `Fully vaccinated on ${day(p.completed_on)}.`) : null;
  return el("li", { id: `person-${p.id}` },
    el("strong", {}, p.name), " ", el("span", { class: "muted" }, `${p.id} · born ${p.birth_year || ""} · ${p.id_type} ending ${p.id_last4}`),
    done, appt, doses, actions, status);
}

// disputeButton lets the person say a recorded dose was not given: an
// official checks, and voids the dose if so.
function disputeButton(p, d) {
  const cell = el("div", {});
  const open = el("button", { type: "button", class: "secondary", id: `dispute-${d.event_id}` }, "Not given?");
  const text = el("input", { id: `dispute-text-${d.event_id}`, "aria-label": "What happened", placeholder: "What happened?", maxlength: 1000 });
  const send = el("button", { type: "submit" }, "Send to an official");
  const form = el("form", { class: "stack hidden" }, text, send);
  const status = el("span", { class: "muted", role: "status" });
  open.addEventListener("click", () => { form.classList.remove("hidden"); open.classList.add("hidden"); text.focus(); });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    try {
      await call(`/api/v1/beneficiaries/${p.id}/disputes`, { body: { request_id: uuid(), kind: "not_vaccinated", dose_event_id: d.event_id, text: text.value.trim() } });
      form.replaceWith(el("span", { class: "muted" }, "Disputed: an official will check."));
    } catch (err) {
      status.textContent = err.message;
      send.disabled = false;
    }
  });
  cell.append(open, form, status);
  return cell;
}

// button makes an action button whose errors show in status.
function button(label, action, status, attrs = {}) {
  const b = el("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await action();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

// One request id per registration attempt: a retry after a lost answer
// (same form, same id) registers the person once; editing the form makes
// it a new request.
let registerRequest = uuid();
$("register").addEventListener("input", () => { registerRequest = uuid(); });

$("register").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("register-status");
  const v = (id) => $(id).value.trim();
  try {
    const r = await call("/api/v1/beneficiaries", { body: {
      request_id: registerRequest, mobile: session(ROLE).mobile, name: v("r-name"), birth_date: v("r-birth"), gender: v("r-gender"),
      id_type: v("r-idtype"), id_number: v("r-idnumber"), state: v("r-state"), district: v("r-district"), pincode: v("r-pincode"),
    } });
    registerRequest = uuid();
    $("register").reset();
    await loadPeople();
    status.textContent = `Registered: beneficiary reference ${r.beneficiary_id}.`;
  } catch (err) {
    status.textContent = err.message;
  }
});

$("search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const status = $("book-status");
  const q = new URLSearchParams({ date: $("s-date").value });
  if ($("s-pincode").value.trim()) q.set("pincode", $("s-pincode").value.trim());
  else if ($("s-district").value.trim()) q.set("district", $("s-district").value.trim());
  else { status.textContent = "Give a pincode or a district."; return; }
  try {
    const list = await api(`/api/v1/sessions?${q}`);
    const open = list.sessions.filter((s) => !s.cancelled);
    $("sessions-table").classList.toggle("hidden", open.length === 0);
    $("sessions").replaceChildren(...open.map(sessionRow));
    status.textContent = open.length ? "" : "No session on that day there. Try another date or a nearby pincode.";
  } catch (err) {
    status.textContent = err.message;
  }
});

function sessionRow(s) {
  const slot = el("select", { "aria-label": `slot at ${s.site_name}` }, s.slots.map((x) => el("option", { value: x }, x)));
  const free = s.seats.map((x) => `dose ${x.dose}: ${x.free}`).join(", ");
  const book = el("button", { type: "button" }, "Book");
  book.addEventListener("click", async () => {
    const status = $("book-status");
    book.disabled = true;
    try {
      const a = await call("/api/v1/bookings", { body: { request_id: uuid(), beneficiary_id: $("book-for").value, session_id: s.id, slot: slot.value } });
      status.replaceChildren(el("span", {}, `Booked dose ${a.dose} at ${s.site_name} on ${day(a.date)}, ${a.slot}. Your booking code: `),
        el("span", { class: "code", id: "booked-code" }, a.code));
      await loadPeople();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      book.disabled = false;
    }
  });
  return el("tr", {}, el("td", {}, s.site_name, el("div", { class: "muted" }, `${s.district} ${s.pincode}`)), el("td", {}, s.vaccine),
    el("td", {}, free), el("td", {}, slot), el("td", {}, book));
}

$("signout").addEventListener("click", () => { signOut(ROLE); show(); });
$("s-date").value = today();
show();
