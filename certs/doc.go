// Package certs issues and verifies vaccination certificates as SMART
// Health Cards (specification 1.4, https://spec.smarthealth.cards/), so
// that any conforming verifier can read ours and ours can read theirs,
// with no network.
//
// # Issuing
//
// A Request (issuer URL, issue time, Holder, Doses, optional rid) becomes
// JWT claims with MarshalPayload: iss, nbf, optional exp, and vc with type
// HealthCardType, fhirVersion 4.0.1 and a minimized FHIR R4 Bundle — a
// Patient (name, birth date) as resource:0 and one Immunization per dose
// (status, CVX vaccine code, date, lot, site as performer, dose number).
// The holder's mobile number, ID number and address are never written:
// Holder has no field for them. A Signer, made from a P-256 private key,
// compresses the claims with raw DEFLATE and signs them as a compact JWS
// (ES256, header zip "DEF", kid the key's RFC 7638 thumbprint) with
// lestrrat-go/jwx. Signer.Issue does both and checks the JWS fits one QR
// code (MaxSingleQRJWS characters, version 22 at error correction L).
//
// # QR codes
//
// EncodeQR turns a JWS into QR text, "shc:/" and two digits per character
// (its code minus 45), which QR numeric mode packs densely; QRCodePNG
// renders it. DecodeQR reverses EncodeQR and also reads the deprecated
// chunked sets (shc:/C/N/…) still found in the wild.
//
// # Verifying
//
// A Verifier checks a card offline against a TrustList (issuer URL → the
// JWKS of its public keys; file form in TrustList's documentation) and a
// clock. Verify takes QR text, a JWS or a .smart-health-card file body and
// returns a Result whose Verdict is Valid, Invalid or UnknownIssuer
// (Revoked is reserved until revocation lists are read), with the reason,
// and the holder and doses once the signature has verified. It refuses
// any alg but ES256, a missing zip header, broken DEFLATE, unknown keys,
// bad signatures, nbf in the future and exp in the past, and bounds every
// input and the inflated payload (MaxInput, MaxJWS, MaxPayload). The
// errors it returns wrap the sentinels of errors.go.
//
// Not here yet (issue 4): revocation lists (rid, CRLs), key rotation and
// JWKS publication, the PDF certificate, the verify command.
package certs
