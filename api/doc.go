// Package api serves the ledger's HTTP API: JSON over HTTP on the
// routes of net/http's ServeMux, described by an OpenAPI 3 document at
// /openapi.json (openapi.json in this directory, embedded in the binary).
//
// # What exists
//
// New returns the handler `doseledger serve` mounts at "/". Under
// /api/v1 it serves:
//
//   - beneficiaries: register, read one (the read model's person and
//     their eligibility), and their history (events, personal fields
//     sealed);
//   - sessions: search by pincode, district, state and date with the free
//     seats of each dose, publish, cancel, and a session's due list as
//     JSON or CSV;
//   - bookings: book (an appointment with a 4-digit code), cancel,
//     reschedule;
//   - doses: record one, upload a batch captured offline or on paper
//     (idempotent by the event id the device chose; the answer says of
//     each item whether it was new, already recorded, flagged with
//     anomalies, or refused and why), and void;
//   - officials' reports: coverage, eligibility lists, anomalies and
//     their review;
//   - auditors: the global event log from a position as NDJSON, streamed,
//     and coverage as the ledger stood at a moment (projections.Build
//     with a Cutoff).
//
// Every answer is JSON (but the due list as CSV and the event feed as
// NDJSON), and every error has one shape,
// {"error":{"code":"...","message":"..."}}, with the status errorFor
// gives it: 400 for malformed input (bad JSON, unknown fields, a field the
// ledger refuses), 404 for what does not exist, 409 for a rule the ledger
// holds (a full session, an active appointment, a conflicting write), 413
// for a body over the limit, 415 for a body that is not JSON. Internal
// errors are logged and shown only as "internal error". A command writes
// to one stream atomically, so a refused request has written nothing;
// a booking that fails after taking its seat gives the seat back.
//
// Writes are read-your-writes: after a command appends, the answer waits
// (at most Config.WriteWait) until the read models have applied the
// ledger up to the last position after the append, so a GET that follows
// sees what was written. Every request is logged with log/slog: method,
// path, status, bytes and duration.
//
// # Who may do what
//
// Callers sign in with a mobile number and a one-time password (package
// auth) and send the token they get as "Authorization: Bearer <token>".
// Each route names the roles that may call it (routes, in api.go, is the
// one table; openapi.json says the same per operation); admins may call
// everything, and sign-in, session search and the OpenAPI document are
// public. A citizen reads, registers and books only for the people of
// their own account, whose ids begin with the account their mobile number
// signs in to. Every write is recorded with the caller as its actor
// ("citizen:<account>", "vaccinator:<staff id>"). Staff reading a
// person's record or history is logged to Config.AccessLog: who, whose,
// what. No token, or a bad one, is 401; a role that may not, or a person
// not of the caller's account, 403; too many OTPs or sign-in attempts,
// 429 with Retry-After.
//
// # Verifiers
//
// With Config.Keys (the certificate issuer's key ring) the API serves,
// to anyone, what verifiers download (wellknown.go): the issuer's JWKS
// at /.well-known/jwks.json, each published key's revocation list at
// /.well-known/crl/<kid>.json, and at /api/v1/trust-bundle a trust list
// in the file form certs.ReadTrustList reads, for offline verifiers: the
// verifier page (package web) and `doseledger verify --trust`.
//
// # Disputes and certificates
//
// A citizen disputes a dose ("I was not vaccinated") or a detail (with
// the right value); officials list and decide disputes, and an upheld one
// voids the dose or corrects the detail in the same append. Certificates
// download as JSON (with the QR text and the JWS), PDF, QR PNG and a
// .smart-health-card file, from Config.Certificates.
package api
