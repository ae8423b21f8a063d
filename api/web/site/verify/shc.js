// shc.js verifies SMART Health Cards offline in the browser, with
// WebCrypto and DecompressionStream only, against a trust bundle in the
// file form of GET /api/v1/trust-bundle (certs.TrustList). It follows the
// same steps, limits and verdicts as the Go verifier (certs/verify.go),
// so a card gets the same answer on the page as from `doseledger verify`.

export const VALID = "VALID";
export const INVALID = "INVALID";
export const REVOKED = "REVOKED";
export const UNKNOWN_ISSUER = "UNKNOWN ISSUER";

// Limits, as in certs: inputs past them are refused before work is spent.
const MAX_INPUT = 256 << 10;
const MAX_JWS = 64 << 10;
const MAX_PAYLOAD = 64 << 10;
const MAX_CHUNKS = 10;
const SKEW_MS = 5 * 60 * 1000; // clock difference tolerated on nbf and exp
const HEALTH_CARD = "https://smarthealth.cards#health-card";
const CVX = "http://hl7.org/fhir/sid/cvx";

// CVX names shown for dose codes; others show as "CVX <code>".
const CVX_NAMES = {
  "207": "COVID-19 mRNA (Moderna)",
  "208": "COVID-19 mRNA (Pfizer-BioNTech)",
  "210": "COVISHIELD",
  "211": "COVOVAX",
  "212": "COVID-19 (Janssen)",
  "229": "COVID-19 mRNA bivalent (Moderna)",
  "500": "COVID-19 vaccine (product not coded)",
  "502": "COVAXIN",
  "504": "SPUTNIK LIGHT",
  "505": "SPUTNIK V",
};

// CardError carries a verdict and a reason in words an official can act on.
class CardError extends Error {
  constructor(verdict, reason) {
    super(reason);
    this.verdict = verdict;
  }
}
const invalid = (reason) => new CardError(INVALID, reason);

const B64URL = /^[A-Za-z0-9_-]*$/;

// b64url decodes unpadded base64url strictly: no padding, no other
// alphabet, no length that base64 cannot produce, and no bits set past the
// last byte (atob ignores them; Go's strict decoder, which doseledger
// verify uses, refuses them, and both must give one answer).
export function b64url(s) {
  if (!B64URL.test(s) || s.length % 4 === 1) throw invalid("not base64url");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64urlEncode(out) !== s) throw invalid("not base64url");
  return out;
}

function b64urlEncode(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const ascii = new TextEncoder();

// decodeQR turns the text of one shc:/ QR, or of every QR of a chunked set
// (shc:/C/N/..., in any order, separated by white space), into the JWS.
export function decodeQR(text) {
  const parts = text.trim().split(/\s+/);
  if (parts.length > MAX_CHUNKS) throw invalid(`${parts.length} QR codes; a card has at most ${MAX_CHUNKS}`);
  let total = 0;
  const chunks = [];
  for (const part of parts) {
    const m = /^shc:\/(?:(\d+)\/(\d+)\/)?(\d*)$/i.exec(part);
    if (!m) throw invalid("QR text is not shc:/ followed by digits");
    const [, c, n, digits] = m;
    const count = n ? Number(n) : 1;
    const index = c ? Number(c) : 1;
    if (count < 1 || count > MAX_CHUNKS || index < 1 || index > count) throw invalid(`QR chunk ${c}/${n} is out of range`);
    if (total && count !== total) throw invalid("QR chunks belong to sets of different sizes");
    total = count;
    if (chunks[index - 1] !== undefined) throw invalid(`QR chunk ${index} of ${count} is given twice`);
    chunks[index - 1] = digits;
  }
  for (let i = 0; i < total; i++) {
    if (chunks[i] === undefined) throw invalid(`QR chunk ${i + 1} of ${total} is missing`);
  }
  const digits = chunks.join("");
  if (digits.length === 0 || digits.length % 2) throw invalid("QR digits are not in pairs");
  if (digits.length / 2 > MAX_JWS) throw invalid("QR text is too long");
  let jws = "";
  for (let i = 0; i < digits.length; i += 2) {
    const v = Number(digits.slice(i, i + 2));
    if (v > 77) throw invalid(`QR digit pair ${digits.slice(i, i + 2)} is not a JWS character`);
    jws += String.fromCharCode(v + 45);
  }
  return jws;
}

// chunkOf reads the position of one scanned QR in its set: {index, count}.
export function chunkOf(text) {
  const m = /^shc:\/(\d+)\/(\d+)\//i.exec(text.trim());
  return m ? { index: Number(m[1]), count: Number(m[2]) } : { index: 1, count: 1 };
}

// thumbprint is the RFC 7638 thumbprint of an EC public JWK: SHA-256 of
// its required members in lexical order, base64url.
async function thumbprint(k) {
  const canon = JSON.stringify({ crv: k.crv, kty: k.kty, x: k.x, y: k.y });
  return b64urlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", ascii.encode(canon))));
}

// parseEntry splits a CRL entry "rid" or "rid.timestamp" into the rid and
// the time (ms since 1970) before which its cards are revoked, 0 for all.
function parseEntry(e) {
  const m = /^([A-Za-z0-9_-]{1,24})(?:\.(\d+(?:\.\d+)?))?$/.exec(e);
  if (!m) return null;
  return { rid: m[1], before: m[2] ? Math.round(Number(m[2]) * 1000) : 0 };
}

// loadTrust reads a trust bundle (its JSON text) into what verify needs:
// each issuer with its WebCrypto keys, CRLs and withdrawn keys, and an
// index of keys by kid. Keys that are not EC P-256 for ES256, or whose
// kid is not their thumbprint, are left out and listed in warnings.
export async function loadTrust(text) {
  let file;
  try {
    file = JSON.parse(text);
  } catch (err) {
    throw new Error(`trust bundle is not JSON: ${err.message}`);
  }
  if (!file || !Array.isArray(file.issuers)) throw new Error("trust bundle has no issuers");
  // made is when the oldest revocation list was made, null if none.
  const trust = { issuers: new Map(), keys: new Map(), warnings: [], made: null };
  for (const fi of file.issuers) {
    if (typeof fi.iss !== "string" || !fi.iss.startsWith("https://")) {
      trust.warnings.push(`issuer ${JSON.stringify(fi.iss)} is not an https URL: left out`);
      continue;
    }
    const is = { iss: fi.iss, name: fi.name || "", keys: new Map(), crlVersions: new Map(), crls: new Map(), withdrawn: new Map() };
    for (const w of fi.withdrawn || []) is.withdrawn.set(w.kid, w.at ? new Date(w.at) : null);
    for (const k of (fi.keys && fi.keys.keys) || []) {
      if (k.use === "enc") continue;
      if (k.kty !== "EC" || k.crv !== "P-256" || (k.alg && k.alg !== "ES256") || k.d !== undefined) {
        trust.warnings.push(`issuer ${fi.iss}: key ${k.kid} is not a public EC P-256 key for ES256: left out`);
        continue;
      }
      const tp = await thumbprint(k);
      if (k.kid && k.kid !== tp) {
        trust.warnings.push(`issuer ${fi.iss}: kid ${k.kid} is not its key's thumbprint: left out`);
        continue;
      }
      if (Number.isInteger(k.crlVersion) && k.crlVersion > 0) is.crlVersions.set(tp, k.crlVersion);
      if (is.withdrawn.has(tp)) continue;
      let key;
      try {
        key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: k.x, y: k.y, ext: true },
          { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      } catch (err) {
        trust.warnings.push(`issuer ${fi.iss}: key ${tp} does not import: ${err.message}`);
        continue;
      }
      is.keys.set(tp, key);
      const entry = trust.keys.get(tp) || { key, issuers: [] };
      entry.issuers.push(is);
      trust.keys.set(tp, entry);
    }
    for (const tc of fi.crls || []) {
      const c = tc.crl || {};
      if (c.method !== "rid" || !Number.isInteger(c.ctr) || c.ctr < 1 || !Array.isArray(c.rids)) {
        trust.warnings.push(`issuer ${fi.iss}: the revocation list of key ${c.kid} is malformed: left out`);
        continue;
      }
      const revoked = new Map();
      for (const e of c.rids) {
        const p = parseEntry(e);
        if (!p) continue;
        // Listed plainly and with a time: every card; with several times:
        // before the latest (as certs does).
        const prev = revoked.get(p.rid);
        if (prev === undefined || (prev !== 0 && (p.before === 0 || p.before > prev))) revoked.set(p.rid, p.before);
      }
      const fetchedAt = new Date(tc.fetchedAt);
      is.crls.set(c.kid, { ctr: c.ctr, revoked, fetchedAt });
      // The oldest list says how much may be unknown here.
      if (!trust.made || fetchedAt < trust.made) trust.made = fetchedAt;
    }
    trust.issuers.set(is.iss, is);
  }
  return trust;
}

// inflate decompresses raw DEFLATE, at most MAX_PAYLOAD bytes of output.
async function inflate(bytes) {
  let stream;
  try {
    stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  } catch (err) {
    throw invalid(`payload is not raw DEFLATE: ${err.message}`);
  }
  const reader = stream.getReader();
  const parts = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_PAYLOAD) {
        reader.cancel().catch(() => {});
        throw invalid(`payload inflates past ${MAX_PAYLOAD} bytes`);
      }
      parts.push(value);
    }
  } catch (err) {
    if (err instanceof CardError) throw err;
    throw invalid("payload is not raw DEFLATE (the compressed data is broken)");
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function parseJSON(bytes, what) {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw invalid(`${what} is not UTF-8 JSON`);
  }
}

// verify checks one card, given as QR text (shc:/...), a compact JWS, or
// a .smart-health-card file holding one card, against trust at the
// moment now. It never throws: every outcome is a result with a verdict
// (VALID, INVALID, REVOKED or UNKNOWN ISSUER) and a reason; holder and
// doses are set once the signature verified.
export async function verify(trust, input, now = new Date()) {
  const r = { verdict: INVALID, reason: "", issuer: "", issuerName: "", kid: "", holder: null, doses: [], revocation: null };
  try {
    await check(trust, input, now, r);
  } catch (err) {
    if (err instanceof CardError) {
      r.verdict = err.verdict;
      r.reason = err.message;
    } else {
      r.verdict = INVALID;
      r.reason = `could not be read: ${err && err.message ? err.message : err}`;
    }
  }
  return r;
}

async function check(trust, input, now, r) {
  if (typeof input !== "string" || input.length > MAX_INPUT) throw invalid("input is empty or too long");
  const s = input.trim();
  let token;
  if (/^shc:\//i.test(s)) {
    token = decodeQR(s);
  } else if (s.startsWith("{")) {
    let f;
    try {
      f = JSON.parse(s);
    } catch {
      throw invalid("file is not JSON");
    }
    const vc = f && f.verifiableCredential;
    if (!Array.isArray(vc) || vc.length !== 1 || typeof vc[0] !== "string") throw invalid("file does not hold exactly one card");
    token = vc[0];
  } else {
    token = s;
  }
  if (token.length > MAX_JWS) throw invalid("JWS is too long");
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[0]) throw invalid("not a compact JWS of three parts");
  let headerBytes, compressed, sig;
  try {
    headerBytes = b64url(parts[0]);
  } catch {
    throw invalid("JWS header is not base64url");
  }
  const h = parseJSON(headerBytes, "JWS header");
  r.kid = typeof h.kid === "string" ? h.kid : "";
  if (h.alg !== "ES256") throw invalid(`header alg is ${JSON.stringify(h.alg)}, not ES256`);
  if ("b64" in h || "crit" in h) throw invalid("JWS header has b64 or crit, which cards never use");
  if (h.zip !== "DEF") throw invalid(`header zip is ${JSON.stringify(h.zip)}, not "DEF"`);
  if (!r.kid) throw invalid("JWS header has no kid");
  try {
    compressed = b64url(parts[1]);
  } catch {
    throw invalid("JWS payload is not base64url");
  }
  if (compressed.length === 0) throw invalid("JWS payload is empty");
  try {
    sig = b64url(parts[2]);
  } catch {
    throw invalid("JWS signature is not base64url");
  }
  if (sig.length !== 64) throw invalid(`bad signature: ${sig.length} bytes, ES256 has 64`);

  const entry = trust.keys.get(r.kid);
  if (!entry) return unknownKey(trust, r, compressed);
  // WebCrypto's ECDSA signature is r||s, as in JWS.
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, entry.key, sig,
    ascii.encode(parts[0] + "." + parts[1]));
  if (!ok) throw invalid(`bad signature: not signed by key ${r.kid}`);

  // Signed by a trusted key from here on.
  const c = parseJSON(await inflate(compressed), "claims");
  r.issuer = typeof c.iss === "string" ? c.iss : "";
  const is = entry.issuers.find((i) => i.iss === r.issuer);
  if (!is) {
    withdrawnCheck(trust.issuers.get(r.issuer), r.kid);
    throw invalid(`unknown key: the card says issuer ${r.issuer}, but key ${r.kid} is ${entry.issuers[0].iss}'s`);
  }
  r.issuerName = is.name;
  const vc = c.vc || {};
  const rid = typeof vc.rid === "string" ? vc.rid : "";
  if (typeof c.nbf !== "number") throw invalid("claims have no nbf");
  const nbf = c.nbf * 1000;
  const exp = typeof c.exp === "number" ? c.exp * 1000 : 0;
  if (!Array.isArray(vc.type) || !vc.type.includes(HEALTH_CARD)) throw invalid(`vc.type does not include ${HEALTH_CARD}`);
  const subject = vc.credentialSubject || {};
  if (typeof subject.fhirVersion !== "string" || !subject.fhirVersion.startsWith("4.")) throw invalid("fhirVersion is not FHIR R4");
  holderAndDoses(subject.fhirBundle, r);

  r.revocation = revocation(is, r.kid, rid, nbf, now);
  if (r.revocation.status === "revoked") {
    const rev = r.revocation;
    const scope = rev.before ? `cards with rid ${rid} issued before ${new Date(rev.before).toISOString()}` : `every card with rid ${rid}`;
    throw new CardError(REVOKED, `revoked: the issuer revoked ${scope} (revocation list of key ${r.kid}, version ${rev.crlVersion})`);
  }
  if (nbf > now.getTime() + SKEW_MS) throw invalid(`not yet valid: valid from ${new Date(nbf).toISOString()}`);
  if (exp && !(now.getTime() - SKEW_MS < exp)) throw invalid(`expired on ${new Date(exp).toISOString()}`);
  r.verdict = VALID;
  r.reason = "signature verified: issued by " + (is.name || is.iss);
  if (r.revocation.status === "unknown") {
    r.reason += `; revocation status unknown: the issuer publishes a revocation list for key ${r.kid} (version ${r.revocation.published}) and this verifier has no copy`;
  } else if (r.revocation.status === "outdated") {
    r.reason += `; revocation checked against an outdated list (version ${r.revocation.crlVersion} of ${r.revocation.published})`;
  }
}

// unknownKey reports a card whose kid no trusted issuer lists: its
// unverified iss tells an unknown issuer from a trusted issuer's unknown
// or withdrawn key. Nothing else of the unverified payload is read.
async function unknownKey(trust, r, compressed) {
  const c = parseJSON(await inflate(compressed), "claims");
  if (typeof c.iss !== "string" || !c.iss) throw invalid("claims have no iss");
  r.issuer = c.iss;
  const is = trust.issuers.get(c.iss);
  if (!is) throw new CardError(UNKNOWN_ISSUER, `unknown issuer: ${c.iss} is not in the trust list`);
  withdrawnCheck(is, r.kid);
  throw invalid(`unknown key: issuer ${c.iss} has no key ${r.kid}`);
}

function withdrawnCheck(is, kid) {
  if (!is || !is.withdrawn.has(kid)) return;
  const at = is.withdrawn.get(kid);
  throw invalid(`signing key withdrawn: ${is.iss} withdrew key ${kid}${at ? " on " + at.toISOString() : ""} as compromised; the certificate must be reissued`);
}

// revocation checks a card against its issuer's copy of the key's CRL.
function revocation(is, kid, rid, nbf, now) {
  const published = is.crlVersions.get(kid) || 0;
  const c = is.crls.get(kid);
  if (!c) return { status: published ? "unknown" : "not published", published };
  const rev = { status: "checked", published, crlVersion: c.ctr, fetchedAt: c.fetchedAt, age: Math.max(0, now - c.fetchedAt) };
  if (!rid) return { ...rev, status: "no rid" };
  if (c.revoked.has(rid)) {
    const before = c.revoked.get(rid);
    if (before === 0 || nbf < before) return { ...rev, status: "revoked", before };
  }
  if (c.ctr < published) rev.status = "outdated";
  return rev;
}

// holderAndDoses reads the holder and the completed doses out of the
// verified FHIR bundle, as certs does.
function holderAndDoses(b, r) {
  if (!b || b.resourceType !== "Bundle" || !Array.isArray(b.entry) || !b.entry.length ||
    !b.entry[0].resource || b.entry[0].resource.resourceType !== "Patient") {
    throw invalid("fhirBundle does not start with a Patient");
  }
  const patient = b.entry[0];
  const p = patient.resource;
  let name = "";
  if (Array.isArray(p.name) && p.name.length) {
    const n = p.name[0];
    name = n.text || [...(n.given || []), n.family || ""].join(" ").trim();
  }
  if (!name) throw invalid("Patient has no name");
  // Holder and doses are shown only if every dose reads.
  const doses = [];
  for (const e of b.entry.slice(1)) {
    const im = e.resource || {};
    if (im.resourceType !== "Immunization") continue;
    const coding = im.vaccineCode && im.vaccineCode.coding && im.vaccineCode.coding[0];
    if (!coding || !im.occurrenceDateTime) throw invalid(`Immunization ${e.fullUrl} has no vaccine code or date`);
    if (!im.patient || im.patient.reference !== patient.fullUrl) throw invalid(`Immunization ${e.fullUrl} is not for the card's Patient`);
    if (im.status !== "completed") continue;
    let vaccine = `${coding.system} ${coding.code}`;
    if (coding.system === CVX) vaccine = CVX_NAMES[coding.code] || `CVX ${coding.code}`;
    const proto = im.protocolApplied && im.protocolApplied[0];
    doses.push({
      number: (proto && proto.doseNumberPositiveInt) || 0,
      vaccine,
      date: String(im.occurrenceDateTime).slice(0, 10),
      lot: im.lotNumber || "",
      site: (im.performer && im.performer[0] && im.performer[0].actor && im.performer[0].actor.display) || "",
    });
  }
  r.holder = { name, birthDate: p.birthDate || "" };
  r.doses = doses;
}
