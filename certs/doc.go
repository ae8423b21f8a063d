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
// renders it as an image, NewQRCode encodes it for PDFs. DecodeQR
// reverses EncodeQR and also reads the deprecated chunked sets
// (shc:/C/N/…) still found in the wild.
//
// # Keys, rotation and publication
//
// A KeyRing holds an issuer's P-256 keys in one file (mode 0600, private
// keys as JWK, written whole on every change) with each key's state:
// active (the one key that signs), retired (no longer signs, still
// verifies: cards never expire, so neither do their keys) and withdrawn
// (compromised: left out of the JWKS, listed as withdrawn in trust
// bundles, and its cards refused until reissued). Rotate makes a new key
// the signer and retires the old one. Neither the ring nor its keys print
// or log a private key. JWKS and MarshalJWKS give the document served at
// <iss>/.well-known/jwks.json (kty EC, crv P-256, x, y, kid, use sig, alg
// ES256 and crlVersion, never a private member); Publish writes it and the
// CRLs as files for a web server or an offline verifier; TrustedIssuer
// gives the same as a trust-list entry.
//
// # Revocation
//
// A card's rid is RevocationID: the first 64 bits of HMAC-SHA-256 of a
// stable id (the person's), keyed by the ring's secret and the kid,
// base64url. Each key has a CRL (kid, method "rid", ctr, rids) served at
// <iss>/.well-known/crl/<kid>.json, its ctr mirrored as crlVersion in the
// JWK. KeyRing.Revoke lists a rid, or "rid.T" to revoke only the cards
// issued before T: a corrected card reissued at T under the same rid stays
// valid while every earlier one is revoked.
//
// # Verifying
//
// A Verifier checks a card offline against a TrustList (issuer URL → the
// JWKS of its public keys, the CRLs last downloaded with when, and its
// withdrawn keys; file form in TrustList's documentation, the version
// without CRLs still read) and a clock. Verify takes QR text, a JWS or a
// .smart-health-card file body and returns a Result whose Verdict is
// Valid, Invalid, Revoked or UnknownIssuer, with the reason, the
// revocation check (checked, outdated, unknown when the key announces a
// CRL the verifier has no copy of, not published, or no rid) with the age
// of the CRL copy, and the holder and doses once the signature has
// verified. It refuses any alg but ES256, a missing zip header, broken
// DEFLATE, unknown or withdrawn keys, bad signatures, nbf in the future,
// exp in the past and rids on the key's CRL, and bounds every input and
// the inflated payload (MaxInput, MaxJWS, MaxPayload). The errors it
// returns wrap the sentinels of errors.go.
//
// The signature is checked with crypto/ecdsa on the key parsed once with
// the trust list, which also holds each key's usual protected headers
// already encoded, so that such a header is recognised without decoding;
// the payload is inflated with klauspost/compress, and the claims, once
// signed, are checked to be JSON (ledger.ValidJSON, encoding/json's
// grammar) and decoded with goccy/go-json, a third of encoding/json's time
// (FuzzDecodeClaims holds the two decoders to the same answers). A whole
// verification runs at 0.81 to 0.84 of the rate of the bare ECDSA
// verification (BenchmarkVerifyRatio, medians; BenchmarkVerifyParts
// breaks down the rest).
//
// # Printed certificates
//
// RenderPDF draws a PDFCertificate as one A4 page with go-pdf/fpdf: the
// holder's name, birth date, gender, masked ID (MaskID) and reference,
// the dose table, the QR code at least 60 mm square, the certificate id
// and issue date, and how to verify it. The same certificate always gives
// the same bytes. Its fonts are the PDF core fonts, Windows-1252 only: a
// field in an Indic script is refused with ErrUnsupportedText, not
// printed as dots. The QR code is drawn as vector rectangles straight
// from its modules, sharp at any size and with no image to encode or
// decode. Encoding it (go-qrcode: Reed-Solomon and eight mask patterns
// scored) is most of a PDF's cost, so a caller that prints one card more
// than once passes the code it encoded (NewQRCode, PDFCertificate.QRCode).
//
// # Issuing from the ledger
//
// Package certs/issuance follows the ledger and keeps each person's
// certificate current: provisional after a first dose, final when the
// primary schedule is complete, reissued and the old card revoked after a
// correction, a voided dose, a merge or a key rotation. The log records
// CertificateIssued (id, kind, kid, payload hash, dose numbers) and
// CertificateRevoked, never a card or a name; cards are rebuilt from the
// ledger and signed when asked for, so erasing a person's key erases
// their certificates too.
//
// The command "doseledger certificate" runs that issuer on the embedded
// ledger, with the key ring in the data directory, and writes a person's
// QR code, PDF or QR text, the files to publish (JWKS and CRLs), and a
// trust bundle; "doseledger verify" is the Verifier for an official: QR
// text, a JWS, a file or a photo of the QR, and a trust-list file. Not
// here: fetching JWKS and CRLs over the network into a trust list.
package certs
