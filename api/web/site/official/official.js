// official.js runs the officials' dashboard: sign-in, coverage charts with
// their numbers in tables, due lists of sessions (with a CSV download),
// the review of anomalies and the decision of disputes.
//
// Charts are drawn by uPlot (vendored from npm, site/static/vendor): it is
// small (50 KB), fast on thousands of points, made for time series such as
// doses per day, and draws bars too, on canvas. Chart.js would do the bars
// as well but weighs four times as much for nothing these charts need.
// Each chart has a table of the same numbers beside it, for those who
// would rather read, and for screen readers.

import { el, $, day, when } from "/static/site.js";
import { api, download, session, signInForm, signOut, uuid } from "/static/api.js";

const ROLE = "official";
const BRAND = "#0b5f5a";
const INK = "#1b1f23";
const GRID = "#d0d7de";
const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif";
const MAX_BARS = 25; // more categories than this are in the table only
const MAX_DAYS = 3700; // a range longer than this is refused (ten years)

const ANOMALY_KINDS = {
  too_early: "given too early",
  not_consecutive: "dose number out of order",
  mixed_vaccine: "mixed vaccines",
  unbooked: "no booking",
  other_site: "booked at another site",
  duplicate: "duplicate",
  unregistered: "person not registered",
  no_policy: "no policy for the vaccine",
  beyond_schedule: "beyond the schedule",
  cancelled_booking: "booking cancelled",
};
const DUE_STATUS = { booked: "Booked", administered: "Vaccinated", no_show: "No-show", session_cancelled: "Session cancelled" };
const DISPUTE_KINDS = { not_vaccinated: "Says they were not vaccinated", wrong_details: "Says a detail is wrong" };

const nf = new Intl.NumberFormat("en-IN");
const fmt = (n) => nf.format(n);

// ---- signing in ----

// call sends an API request with the session's token. A 401 means the
// token expired or was refused: back to the sign-in form, saying why.
async function call(path, opts = {}) {
  const s = session(ROLE);
  if (!s) {
    expired();
    throw new Error("Signed out.");
  }
  try {
    return await api(path, { ...opts, token: s.token, role: ROLE });
  } catch (err) {
    if (err.status === 401) expired();
    throw err;
  }
}

// expired goes back to the sign-in form, once: the other requests that
// fail with it do not redraw the form under someone typing in it.
function expired() {
  signOut(ROLE);
  notice("Your sign-in has expired. Sign in again to go on.");
  if (shown) show();
}

function notice(message) {
  const n = $("notice");
  n.textContent = message || "";
  n.classList.toggle("hidden", !message);
}

let shown = false; // whether the dashboard's data has been loaded

function show() {
  const s = session(ROLE);
  $("signin").classList.toggle("hidden", !!s);
  $("dash").classList.toggle("hidden", !s);
  $("signout").classList.toggle("hidden", !s);
  $("who").textContent = s ? s.name : "";
  document.body.dataset.signedIn = s ? "yes" : "no";
  if (!s) {
    shown = false;
    signInForm($("signin-form"), ROLE, () => {
      notice("");
      show();
    });
    return;
  }
  if (!shown) {
    shown = true;
    loadPlaces();
    loadCoverage();
    loadAnomalies();
    loadDisputes();
  }
}

// ---- places: the datalists of the filters ----

let places = []; // [state, district] pairs with any activity

async function loadPlaces() {
  try {
    const res = await call("/api/v1/coverage?by=state,district");
    places = res.rows.map((r) => r.group);
    const states = [...new Set(places.map((p) => p[0]))];
    $("states").replaceChildren(...states.map((s) => el("option", { value: s })));
    fillDistricts();
  } catch {
    // The filters still take typed names.
  }
}

function fillDistricts() {
  const state = $("state").value.trim();
  const ds = [...new Set(places.filter((p) => !state || p[0] === state).map((p) => p[1]))].sort();
  $("districts").replaceChildren(...ds.map((d) => el("option", { value: d })));
}

// place is the state and district the filters name.
function place() {
  return { state: $("state").value.trim(), district: $("district").value.trim() };
}

function placeQuery(q) {
  const p = place();
  if (p.state) q.set("state", p.state);
  if (p.district) q.set("district", p.district);
  return q;
}

function placeName() {
  const p = place();
  return [p.district, p.state].filter(Boolean).join(", ") || "all states";
}

// ---- coverage ----

const charts = {}; // uPlot instances by container id

async function loadCoverage() {
  const status = $("coverage-status");
  const from = $("from").value;
  const to = $("to").value;
  if (from && to && from > to) {
    status.textContent = `The range starts (${day(from)}) after it ends (${day(to)}): swap the dates.`;
    return;
  }
  if (from && to && daysBetween(from, to) > MAX_DAYS) {
    status.textContent = "Choose a range of ten years at most.";
    return;
  }
  const query = (by) => {
    const q = placeQuery(new URLSearchParams({ by }));
    if (from) q.set("from", from);
    if (to) q.set("to", to);
    return "/api/v1/coverage?" + q.toString();
  };
  status.textContent = "Loading…";
  document.body.dataset.coverage = "loading";
  let all, byDay, byDistrict, byVaccine;
  try {
    [all, byDay, byDistrict, byVaccine] = await Promise.all(
      ["", "day", "state,district", "vaccine"].map((by) => call(query(by))));
  } catch (err) {
    status.textContent = `Coverage could not be loaded: ${err.message}`;
    document.body.dataset.coverage = "error";
    return;
  }
  const total = all.rows[0] || { doses: 0, registrations: 0, completed: 0 };
  const range = from || to ? `${from ? day(from) : "the first day"} to ${to ? day(to) : "today"}` : "all days";
  const where = placeName();
  status.textContent = `${where[0].toUpperCase()}${where.slice(1)}, ${range}.` + (total.doses ? "" : " No doses recorded in this range.");
  $("total-doses").textContent = fmt(total.doses);
  $("total-registrations").textContent = fmt(total.registrations);
  $("total-completed").textContent = fmt(total.completed);
  $("totals").classList.remove("hidden");

  showDays(byDay.rows, from, to);
  showDistricts(byDistrict.rows);
  showVaccines(byVaccine.rows);
  document.body.dataset.coverage = "ready";
}

const first = (r) => (r.by_dose && r.by_dose["1"]) || 0;

function numberRow(label, ...nums) {
  return el("tr", {}, el("th", { scope: "row" }, label), nums.map((n) => el("td", { class: "num" }, fmt(n))));
}

function showDays(rows, from, to) {
  const counts = new Map(rows.map((r) => [r.group[0], r]));
  const days = rows.map((r) => r.group[0]).sort();
  const start = from || days[0];
  const end = to || days[days.length - 1];
  const xs = [];
  const ys = [];
  if (start && end && daysBetween(start, end) <= MAX_DAYS) {
    for (let d = start; d <= end; d = nextDay(d)) {
      xs.push(Date.parse(d + "T00:00:00Z") / 1000);
      ys.push(counts.get(d)?.doses || 0);
    }
  }
  $("days-table").tBodies[0].replaceChildren(...rows.filter((r) => r.doses > 0)
    .map((r) => numberRow(day(r.group[0]), r.doses, first(r), r.doses - first(r))));
  const peak = Math.max(0, ...ys);
  const busiest = peak > 0 ? day(new Date(xs[ys.indexOf(peak)] * 1000).toISOString().slice(0, 10)) : "";
  $("chart-days").setAttribute("aria-label", peak > 0
    ? `Bar chart of doses per day from ${day(start)} to ${day(end)}; the most, ${fmt(peak)}, on ${busiest}. The table below has every day.`
    : "No doses in this range.");
  draw("chart-days", peak > 0 ? timeChart(xs, ys) : null);
}

function showDistricts(rows) {
  const sorted = [...rows].sort((a, b) => b.doses - a.doses || a.group[1].localeCompare(b.group[1]));
  const names = sorted.map((r) => r.group[1]);
  const twice = new Set(names.filter((n, i) => names.indexOf(n) !== i));
  const label = (r) => (twice.has(r.group[1]) ? `${r.group[1]} (${r.group[0]})` : r.group[1]);
  $("districts-table").tBodies[0].replaceChildren(...sorted.map((r) =>
    numberRow(`${r.group[1]}, ${r.group[0]}`, r.doses, r.registrations, r.completed)));
  const bars = sorted.filter((r) => r.doses > 0).slice(0, MAX_BARS);
  describeBars("chart-districts", bars.map(label), bars.map((r) => r.doses), sorted.length, "districts");
}

function showVaccines(rows) {
  const sorted = [...rows].sort((a, b) => b.doses - a.doses);
  $("vaccines-table").tBodies[0].replaceChildren(...sorted.map((r) =>
    numberRow(r.group[0], r.doses, first(r), r.doses - first(r))));
  const bars = sorted.filter((r) => r.doses > 0).slice(0, MAX_BARS);
  describeBars("chart-vaccines", bars.map((r) => r.group[0]), bars.map((r) => r.doses), sorted.length, "vaccines");
}

function describeBars(id, labels, values, all, what) {
  const more = all > labels.length ? ` The ${labels.length} with the most doses are drawn; the table has all ${all}.` : "";
  $(id).setAttribute("aria-label", labels.length
    ? `Bar chart of doses by ${what.replace(/s$/, "")}: ` + labels.map((l, i) => `${l} ${fmt(values[i])}`).join(", ") + "." + more
    : "No doses in this range.");
  draw(id, labels.length ? barChart(labels, values) : null);
}

// draw replaces the chart in the container: make(width) returns uPlot's
// options and data for that width, or null for "nothing to draw".
function draw(id, make) {
  const box = $(id);
  charts[id]?.plot.destroy();
  delete charts[id];
  box.replaceChildren();
  box.classList.toggle("empty", !make);
  if (!make) {
    box.append(el("p", { class: "muted" }, "No doses in this range."));
    return;
  }
  const [opts, data] = make(box.clientWidth || 320);
  charts[id] = { plot: new uPlot(opts, data, box), make };
}

// Charts follow their container's width (a phone turned, a window resized).
const resized = new ResizeObserver((entries) => {
  for (const e of entries) {
    const c = charts[e.target.id];
    if (!c) continue;
    const width = Math.floor(e.contentRect.width);
    if (width > 0 && width !== c.plot.width) c.plot.setSize({ width, height: c.make(width)[0].height });
  }
});
for (const id of ["chart-days", "chart-districts", "chart-vaccines"]) resized.observe($(id));

const wholeNumbers = (u, splits) => splits.map((v) => (Number.isInteger(v) ? fmt(v) : ""));
// A count axis starts at 0 and ends at a round number above the largest.
const countRange = (u, min, max) => [0, niceCeil(Math.max(max, 1))];

function niceCeil(n) {
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= n * 1.12) return m * p;
  return 10 * p;
}

function timeChart(xs, ys) {
  return (width) => [{
    width,
    height: width < 500 ? 220 : 280,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"), // dates are India's days, stored as UTC midnights
    // The legend under the chart reads out the day under the pointer.
    legend: { show: true, live: true },
    cursor: { y: false, points: { show: false } },
    // Half a day either side, so the first and last bars are whole.
    scales: { x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] }, y: { range: countRange } },
    axes: [
      { stroke: INK, font: FONT, grid: { show: false }, ticks: { stroke: GRID }, space: 56, incrs: DAY_STEPS,
        values: (u, splits) => splits.map((ts, i) => tickDay(ts, i === 0)) },
      { stroke: INK, font: FONT, grid: { stroke: GRID, width: 1 }, ticks: { show: false }, values: wholeNumbers, size: 50, space: 30 },
    ],
    series: [{ label: "Day", value: (u, ts) => (ts == null ? "—" : day(new Date(ts * 1000).toISOString())) }, {
      label: "Doses", stroke: BRAND, fill: BRAND, width: 0, value: (u, v) => (v == null ? "—" : fmt(v)),
      paths: uPlot.paths.bars({ size: [0.8, 24], align: 0 }), points: { show: false },
    }],
    hooks: { draw: [barLabels(false)] },
  }, [xs, ys]];
}

// Tick steps of the day axis: whole days and weeks, never hours.
const DAY_STEPS = [1, 2, 3, 7, 14, 28, 56, 91, 182, 364, 728].map((d) => d * 86400);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// tickDay writes a day as "3 May", with the year under the first.
function tickDay(ts, first) {
  const d = new Date(ts * 1000);
  const s = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return first || (d.getUTCMonth() === 0 && d.getUTCDate() <= 7) ? `${s}\n${d.getUTCFullYear()}` : s;
}

// barLabels writes each bar's number at its end, when the bars are wide
// enough apart to hold one: a chart people can read without the table.
function barLabels(horizontal) {
  return (u) => {
    const [xs, ys] = u.data;
    const px = uPlot.pxRatio;
    const step = xs.length > 1 ? Math.abs(u.valToPos(xs[1], "x", true) - u.valToPos(xs[0], "x", true)) : Infinity;
    if (step < 18 * px) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.font = FONT.replace("12px", `${Math.round(12 * px)}px`);
    ctx.fillStyle = INK;
    ctx.textAlign = horizontal ? "left" : "center";
    ctx.textBaseline = horizontal ? "middle" : "bottom";
    ys.forEach((y, i) => {
      if (y == null || y === 0) return;
      const along = u.valToPos(xs[i], "x", true);
      const end = u.valToPos(y, "y", true);
      if (horizontal) ctx.fillText(fmt(y), end + 4 * px, along);
      else ctx.fillText(fmt(y), along, end - 3 * px);
    });
    ctx.restore();
  };
}

// barChart draws horizontal bars, one a category, largest first: names
// stay readable on a phone, however long.
function barChart(labels, values) {
  return (width) => {
    const labelWidth = Math.min(Math.ceil(widest(labels)) + 16, Math.floor(width * 0.42));
    const shown = labels.map((l) => fit(l, labelWidth - 16));
    return [{
      width,
      height: labels.length * 30 + 44,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, ori: 1, dir: -1, range: [-0.5, labels.length - 0.5] },
        y: { ori: 0, dir: 1, range: countRange },
      },
      axes: [
        { scale: "x", side: 3, stroke: INK, font: FONT, size: labelWidth, gap: 6, grid: { show: false }, ticks: { show: false },
          splits: () => labels.map((_, i) => i), values: (u, splits) => splits.map((i) => shown[i] ?? "") },
        { scale: "y", side: 2, stroke: INK, font: FONT, grid: { stroke: GRID, width: 1 }, ticks: { show: false }, values: wholeNumbers, space: 50 },
      ],
      series: [{}, {
        label: "Doses", stroke: BRAND, fill: BRAND, width: 0,
        paths: uPlot.paths.bars({ size: [0.7, 22] }), points: { show: false },
      }],
      hooks: { draw: [barLabels(true)] },
    }, [labels.map((_, i) => i), values]];
  };
}

let measurer;
function textWidth(s) {
  measurer ??= document.createElement("canvas").getContext("2d");
  measurer.font = FONT;
  return measurer.measureText(s).width;
}
const widest = (labels) => Math.max(0, ...labels.map(textWidth));

// fit shortens a label to width pixels, with an ellipsis.
function fit(s, width) {
  if (textWidth(s) <= width) return s;
  let t = s;
  while (t.length > 1 && textWidth(t + "…") > width) t = t.slice(0, -1);
  return t + "…";
}

function daysBetween(a, b) {
  return Math.round((Date.parse(b + "T00:00:00Z") - Date.parse(a + "T00:00:00Z")) / 86400000);
}

function nextDay(d) {
  return new Date(Date.parse(d + "T00:00:00Z") + 86400000).toISOString().slice(0, 10);
}

// ---- due lists ----

let openSession = null; // the session whose due list is shown

async function findSessions() {
  const status = $("sessions-status");
  const q = new URLSearchParams();
  const date = $("due-date").value;
  const district = $("due-district").value.trim();
  const pincode = $("due-pincode").value.trim();
  if (!date) {
    status.textContent = "Choose the session's date.";
    return;
  }
  if (pincode && !/^\d{6}$/.test(pincode)) {
    status.textContent = "A pincode is 6 digits.";
    return;
  }
  const site = $("due-site").value.trim().toUpperCase();
  if (site) {
    // A session's id is its site's and its date: straight to the due list.
    $("sessions").replaceChildren();
    status.textContent = "";
    await loadDue(`${site}-${date.replaceAll("-", "")}`);
    return;
  }
  q.set("date", date);
  if (district) q.set("district", district);
  if (pincode) q.set("pincode", pincode);
  status.textContent = "Looking…";
  try {
    const res = await call("/api/v1/sessions?" + q.toString());
    const list = res.sessions;
    status.textContent = list.length
      ? `${list.length} session${list.length === 1 ? "" : "s"} on ${day(date)}.`
      : `No session on ${day(date)}${district ? " in " + district : ""}${pincode ? " at pincode " + pincode : ""}.`;
    $("sessions").replaceChildren(...list.map(sessionItem));
  } catch (err) {
    status.textContent = err.message;
  }
}

function sessionItem(s) {
  const seats = s.seats.map((x) => `dose ${x.dose}: ${x.taken} of ${x.capacity} booked`).join("; ");
  const open = el("button", { type: "button", class: "secondary", "data-session": s.id }, "Due list");
  open.addEventListener("click", () => loadDue(s.id));
  return el("li", {},
    el("div", {}, el("strong", {}, s.site_name), ` · ${s.vaccine}`, s.cancelled ? el("span", { class: "badge bad" }, "cancelled") : null),
    el("div", { class: "muted" }, `${s.district}, ${s.state} ${s.pincode} · ${s.id} · ${seats}`),
    open);
}

async function loadDue(id) {
  const status = $("due-status");
  $("due-view").classList.remove("hidden");
  $("due-session").textContent = id;
  $("due-summary").textContent = "";
  $("due-table").tBodies[0].replaceChildren();
  openSession = null;
  status.textContent = "Loading…";
  try {
    const v = await call(`/api/v1/sessions/${encodeURIComponent(id)}/due`);
    openSession = v.session;
    const s = v.session;
    $("due-session").textContent = `${s.site_name}, ${day(s.date)}`;
    const given = v.due.filter((e) => e.status === "administered").length;
    $("due-summary").textContent = `${s.district}, ${s.state} · ${s.vaccine} · ${v.due.length} booked, ${given} vaccinated, ` +
      `${v.no_shows} no-show${v.no_shows === 1 ? "" : "s"}` + (s.cancelled ? " · this session is cancelled" : "") + ` · as of ${day(v.today)}`;
    $("due-table").tBodies[0].replaceChildren(...v.due.map((e) => el("tr", { "data-status": e.status },
      el("td", { class: "nowrap" }, e.slot), el("td", { class: "booking-code" }, e.code), el("td", { class: "num" }, e.dose),
      el("td", {}, el("span", { class: `badge ${e.status}` }, DUE_STATUS[e.status] || e.status)),
      el("td", { class: "person" }, personLine(e, s.vaccine)))));
    status.textContent = v.due.length ? "" : "Nobody is booked in this session.";
    $("due-view").scrollIntoView({ block: "nearest" });
  } catch (err) {
    status.textContent = err.message;
  }
}

// personLine is what the due list says of a person: enough to match
// their photo ID, and their id; the vaccine if not the session's.
function personLine(e, vaccine) {
  const parts = [e.gender, e.birth_year ? `born ${e.birth_year}` : "", e.id_last4 ? `${e.id_type || "ID"} …${e.id_last4}` : "",
    e.vaccine !== vaccine ? e.vaccine : ""].filter(Boolean);
  return el("span", {}, parts.join(", "), el("br"), el("span", { class: "mono muted" }, e.beneficiary_id));
}

async function downloadDue() {
  if (!openSession) return;
  const status = $("due-status");
  const s = session(ROLE);
  if (!s) return expired();
  try {
    await download(`/api/v1/sessions/${encodeURIComponent(openSession.id)}/due?format=csv`, s.token, `due-${openSession.id}.csv`);
    status.textContent = `Saved due-${openSession.id}.csv.`;
  } catch (err) {
    if (err.status === 401) return expired();
    status.textContent = `The CSV could not be downloaded: ${err.message}`;
  }
}

// ---- anomalies ----

async function loadAnomalies() {
  const status = $("anomalies-status");
  const want = $("anomaly-status").value;
  const kind = $("anomaly-kind").value;
  const q = placeQuery(new URLSearchParams({ limit: "200" }));
  if (want) q.set("status", want);
  if (kind) q.set("kind", kind);
  status.textContent = "Loading…";
  try {
    const res = await call("/api/v1/anomalies?" + q.toString());
    const list = res.anomalies;
    const what = want ? `${want} ` : "";
    const why = kind ? ` (${ANOMALY_KINDS[kind]})` : "";
    status.textContent = list.length
      ? `${list.length === 200 ? "The first 200" : list.length} ${what}flagged dose${list.length === 1 ? "" : "s"}${why} in ${placeName()}.`
      : `No ${what}flagged doses${why} in ${placeName()}.`;
    page($("anomaly-list"), list, anomalyItem);
  } catch (err) {
    status.textContent = `Anomalies could not be loaded: ${err.message}`;
  }
}

// PAGE is how many items of a work list are shown at first, and added by
// each press of "Show more": a list of hundreds stays quick to scroll.
const PAGE = 20;

// page fills list with an item per entry, PAGE at a time.
function page(list, entries, make) {
  const more = el("button", { type: "button", class: "secondary" });
  const moreItem = el("li", { class: "more" }, more);
  let shown = 0;
  const next = () => {
    const add = entries.slice(shown, shown + PAGE).map(make);
    shown += add.length;
    moreItem.before(...add);
    const left = entries.length - shown;
    more.textContent = `Show ${Math.min(left, PAGE)} more (${left} not shown)`;
    moreItem.classList.toggle("hidden", left === 0);
  };
  more.addEventListener("click", next);
  list.replaceChildren(moreItem);
  next();
}

// item is a work list's entry: a line that opens to the details and the
// decision (body), so that a long list reads at a glance.
function item(attrs, title, line, status) {
  const body = el("div", { class: "item-body" });
  const li = el("li", attrs, el("details", {},
    el("summary", {}, el("span", { class: "item-head" }, el("strong", {}, title), el("span", { class: `badge ${status}` }, status)),
      el("span", { class: "muted item-line" }, line)),
    body));
  return { li, body };
}

function anomalyItem(a) {
  const kinds = a.kinds.map((k) => ANOMALY_KINDS[k] || k).join(", ");
  const { li, body } = item({ "data-dose-event": a.dose_event_id, "data-status": a.status },
    `Dose ${a.dose} of ${a.vaccine}: ${kinds}`, `${day(a.date)} · ${a.site_id} · ${a.district}, ${a.state}`, a.status);
  body.append(
    el("dl", { class: "facts" },
      el("dt", {}, "Given"), el("dd", {}, `${day(a.date)} at ${a.site_id}, ${a.district}, ${a.state}`),
      el("dt", {}, "Person"), el("dd", { class: "mono" }, a.beneficiary_id),
      el("dt", {}, "Recorded"), el("dd", {}, `${when(new Date(a.recorded_at))} (${a.capture})`),
      a.duplicate_of ? [el("dt", {}, "Same as"), el("dd", { class: "mono" }, a.duplicate_of)] : null,
      a.reviewed_by ? [el("dt", {}, "Reviewed by"), el("dd", {}, a.reviewed_by)] : null,
      a.note ? [el("dt", {}, "Note"), el("dd", {}, a.note)] : null));
  if (a.status === "open" || a.status === "escalated") {
    const decisions = a.status === "open" ? [["confirmed", "Confirm"], ["dismissed", "Dismiss"], ["escalated", "Escalate"]]
      : [["confirmed", "Confirm"], ["dismissed", "Dismiss"]];
    body.append(decisionForm(`anomaly-${a.dose_event_id}`, "Note (optional)", false, decisions, async (decision, note) => {
      await call(`/api/v1/anomalies/${a.dose_event_id}/review`, { body: { request_id: uuid(), decision, note } });
      return `Recorded: dose ${a.dose} of ${a.beneficiary_id} ${decision}.`;
    }, loadAnomalies, "anomalies-status"));
  }
  return li;
}

// decisionForm is a note and a button per decision; act sends one and
// returns what to say, then done reloads the list, and the section's
// status (statusId) says what was done.
function decisionForm(id, noteLabel, noteRequired, decisions, act, done, statusId) {
  const note = el("input", { id: `${id}-note`, maxlength: 1000, autocomplete: "off" });
  const status = el("p", { class: "muted", role: "status" });
  const buttons = decisions.map(([decision, label]) => {
    const b = el("button", { type: "button", class: decision === "escalated" || decision === "rejected" ? "secondary" : "", "data-decision": decision }, label);
    b.addEventListener("click", async () => {
      if (noteRequired && !note.value.trim()) {
        status.textContent = "Write the reason in the note first: it is kept with the decision.";
        note.focus();
        return;
      }
      buttons.forEach((x) => (x.disabled = true));
      status.className = "muted";
      status.textContent = "Recording…";
      try {
        const said = await act(decision, note.value.trim());
        await done();
        const section = $(statusId);
        section.textContent = `${said} ${section.textContent}`;
      } catch (err) {
        // The API's own words: a decision taken meanwhile, a note too long.
        status.className = "notice bad";
        status.textContent = err.status === 409 ? `${err.message}. Show the list again to see it as it is now.` : err.message;
        buttons.forEach((x) => (x.disabled = false));
      }
    });
    return b;
  });
  return el("div", { class: "decide" },
    el("label", { for: note.id }, noteLabel), note, el("div", { class: "actions" }, buttons), status);
}


// ---- disputes ----

async function loadDisputes() {
  const status = $("disputes-status");
  const want = $("dispute-status").value;
  const q = placeQuery(new URLSearchParams({ limit: "200" }));
  if (want) q.set("status", want);
  status.textContent = "Loading…";
  try {
    const res = await call("/api/v1/disputes?" + q.toString());
    const list = res.disputes;
    const what = want ? `${want} ` : "";
    status.textContent = list.length
      ? `${list.length === 200 ? "The first 200" : list.length} ${what}dispute${list.length === 1 ? "" : "s"} in ${placeName()}.`
      : `No ${what}disputes in ${placeName()}.`;
    page($("dispute-list"), list, disputeItem);
  } catch (err) {
    status.textContent = `Disputes could not be loaded: ${err.message}`;
  }
}

function disputeItem(d) {
  const subject = d.kind === "wrong_details" ? `the ${d.field || "detail"}` : `dose record ${d.dose_event_id || ""}`;
  const { li, body } = item({ "data-dispute": d.id, "data-status": d.status }, DISPUTE_KINDS[d.kind] || d.kind,
    `${[d.district, d.state].filter(Boolean).join(", ") || "—"} · raised ${when(new Date(d.raised_at))}`, d.status);
  body.append(
    el("dl", { class: "facts" },
      el("dt", {}, "About"), el("dd", {}, subject),
      el("dt", {}, "Person"), el("dd", { class: "mono" }, d.beneficiary_id),
      el("dt", {}, "Where"), el("dd", {}, [d.district, d.state].filter(Boolean).join(", ") || "—"),
      el("dt", {}, "Raised"), el("dd", {}, `${when(new Date(d.raised_at))} by ${d.raised_by}`),
      d.resolved_at ? [el("dt", {}, "Decided"), el("dd", {}, `${when(new Date(d.resolved_at))} by ${d.resolved_by}`)] : null,
      d.note ? [el("dt", {}, "Note"), el("dd", {}, d.note)] : null));
  const statement = el("div", { class: "statement hidden" });
  const read = el("button", { type: "button", class: "secondary", "data-read": d.id }, "Read the statement");
  read.addEventListener("click", async () => {
    read.disabled = true;
    statement.classList.remove("hidden");
    statement.replaceChildren(el("p", { class: "muted" }, "Opening…"));
    try {
      const who = encodeURIComponent(d.beneficiary_id);
      const [res, detail] = await Promise.all([call(`/api/v1/beneficiaries/${who}/disputes`), call(`/api/v1/beneficiaries/${who}`)]);
      const mine = res.disputes.find((x) => x.id === d.id);
      if (!mine) throw new Error("The statement was not found in the person's disputes.");
      const person = detail.beneficiary;
      const parts = [el("p", { class: "muted" }, "The person wrote (this read is logged):"),
        el("blockquote", {}, mine.text || "(no statement)")];
      if (d.dose_event_id) {
        const dose = person.doses.find((x) => x.event_id === d.dose_event_id);
        parts.push(el("p", {}, dose
          ? `The dose in question: dose ${dose.dose} of ${dose.vaccine}, ${day(dose.date)}, at ${dose.site_id} (${dose.district}, ${dose.state}).`
          : "That dose no longer counts on the record (it was voided)."));
      }
      if (mine.value) {
        const now = person[mine.field];
        parts.push(el("p", {}, `The right ${mine.field || "value"}, they say: `, el("strong", {}, mine.value),
          now !== undefined && now !== "" ? ` (the record has ${now})` : ""));
      }
      statement.replaceChildren(...parts);
      read.classList.add("hidden");
    } catch (err) {
      statement.replaceChildren(el("p", { class: "notice bad" }, err.message));
      read.disabled = false;
    }
  });
  body.append(el("div", { class: "actions" }, read), statement);
  if (d.status === "open") {
    body.append(decisionForm(`dispute-${d.id}`, "Reason for the decision (kept in the ledger: no personal details)", true,
      [["upheld", "Uphold"], ["rejected", "Reject"]], async (decision, note) => {
        await call(`/api/v1/disputes/${d.id}/resolve`, { body: { request_id: uuid(), decision, note } });
        return `Recorded: the dispute about ${d.beneficiary_id} is ${decision}.`;
      }, loadDisputes, "disputes-status"));
  }
  return li;
}

// ---- wiring ----

$("signout").addEventListener("click", () => {
  signOut(ROLE);
  notice("");
  show();
});
$("filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  loadCoverage();
  loadAnomalies();
  loadDisputes();
});
$("state").addEventListener("change", fillDistricts);
$("session-search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  findSessions();
});
$("due-csv").addEventListener("click", downloadDue);
$("anomaly-status").addEventListener("change", loadAnomalies);
$("anomaly-kind").append(...Object.entries(ANOMALY_KINDS).map(([k, name]) => el("option", { value: k }, name)));
$("anomaly-kind").addEventListener("change", loadAnomalies);
$("dispute-status").addEventListener("change", loadDisputes);
// Today on this device's calendar (toISOString alone would give UTC's).
const now = new Date();
$("due-date").value = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);

show();
