// verify.mjs verifies one SMART Health Card QR text with jose, an
// implementation that shares no code with doseledger, following the steps
// of the SMART Health Cards specification (1.4, "Verifying a SMART Health
// Card"). certs/interop_test.go runs it on a freshly issued card.
//
//   node verify.mjs QR_FILE JWKS_FILE ISSUER
//
// On success it prints, as JSON, what a verifier shows: the issuer, kid,
// nbf, the Patient's name and birth date, and the doses. On any failure it
// prints the reason on stderr and exits 1.

import { readFileSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import * as jose from "jose";

const HEALTH_CARD = "https://smarthealth.cards#health-card";

function fail(msg) {
  process.stderr.write(`INVALID: ${msg}\n`);
  process.exit(1);
}

// shc:/ numeric mode: each pair of digits is a character's code minus 45.
function decodeQR(text) {
  const m = /^shc:\/([0-9]+)$/.exec(text.trim());
  if (!m) fail("QR text is not shc:/ followed by digits (chunked cards are not read here)");
  const digits = m[1];
  if (digits.length % 2 !== 0) fail("odd number of digits");
  let jws = "";
  for (let i = 0; i < digits.length; i += 2) {
    const v = Number(digits.slice(i, i + 2));
    if (v > 77) fail(`digit pair ${v} out of range`);
    jws += String.fromCharCode(v + 45);
  }
  return jws;
}

async function main() {
  const [qrFile, jwksFile, issuer] = process.argv.slice(2);
  if (!qrFile || !jwksFile || !issuer) fail("usage: node verify.mjs QR_FILE JWKS_FILE ISSUER");

  // 1. QR text to compact JWS.
  const jws = decodeQR(readFileSync(qrFile, "utf8"));

  // 2. The header: ES256, zip DEF, and a kid.
  let header;
  try {
    header = jose.decodeProtectedHeader(jws);
  } catch (e) {
    fail(`header: ${e.message}`);
  }
  if (header.alg !== "ES256") fail(`alg is ${header.alg}, not ES256`);
  if (header.zip !== "DEF") fail(`zip is ${header.zip}, not DEF`);
  if (!header.kid) fail("no kid");

  // 3. The issuer's key: the JWKS entry whose kid is the header's, an EC
  // P-256 signing key whose kid is its RFC 7638 thumbprint.
  const jwks = JSON.parse(readFileSync(jwksFile, "utf8"));
  const jwk = (jwks.keys || []).find((k) => k.kid === header.kid);
  if (!jwk) fail(`no key ${header.kid} in the issuer's JWKS`);
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || jwk.use !== "sig" || jwk.alg !== "ES256") {
    fail("issuer key is not an ES256 P-256 signing key");
  }
  if ((await jose.calculateJwkThumbprint(jwk, "sha256")) !== jwk.kid) fail("kid is not the key's thumbprint");
  const key = await jose.importJWK(jwk, "ES256");

  // 4. The signature, over the compressed payload.
  let verified;
  try {
    verified = await jose.compactVerify(jws, key, { algorithms: ["ES256"] });
  } catch (e) {
    fail(`signature: ${e.code || ""} ${e.message}`);
  }

  // 5. Raw DEFLATE, then JSON.
  let claims;
  try {
    claims = JSON.parse(inflateRawSync(Buffer.from(verified.payload)).toString("utf8"));
  } catch (e) {
    fail(`payload: ${e.message}`);
  }

  // 6. The claims: our issuer, nbf not in the future, exp if any not past,
  // a health card of FHIR 4.0.1.
  const now = Date.now() / 1000;
  if (claims.iss !== issuer) fail(`iss is ${claims.iss}, not ${issuer}`);
  if (typeof claims.nbf !== "number" || claims.nbf > now + 60) fail("nbf missing or in the future");
  if (claims.exp !== undefined && claims.exp < now - 60) fail("expired");
  const vc = claims.vc || {};
  if (!Array.isArray(vc.type) || !vc.type.includes(HEALTH_CARD)) fail(`vc.type lacks ${HEALTH_CARD}`);
  const subject = vc.credentialSubject || {};
  if (subject.fhirVersion !== "4.0.1") fail(`fhirVersion is ${subject.fhirVersion}`);
  const entries = (subject.fhirBundle && subject.fhirBundle.entry) || [];
  const patient = entries.find((e) => e.resource.resourceType === "Patient");
  if (!patient) fail("no Patient");
  const name = patient.resource.name[0];
  const doses = entries
    .filter((e) => e.resource.resourceType === "Immunization")
    .map(({ resource: r }) => {
      if (r.patient.reference !== patient.fullUrl) fail("Immunization for another patient");
      return {
        number: r.protocolApplied?.[0]?.doseNumberPositiveInt ?? 0,
        system: r.vaccineCode.coding[0].system,
        code: r.vaccineCode.coding[0].code,
        date: r.occurrenceDateTime,
        lot: r.lotNumber ?? "",
        site: r.performer?.[0]?.actor?.display ?? "",
        status: r.status,
      };
    });

  process.stdout.write(
    JSON.stringify({
      iss: claims.iss,
      kid: header.kid,
      nbf: claims.nbf,
      name: name.text ?? [...(name.given || []), name.family].join(" "),
      birthDate: patient.resource.birthDate,
      doses,
    }) + "\n",
  );
}

main().catch((e) => fail(e.stack || String(e)));
