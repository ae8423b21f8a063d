// Package api will serve the HTTP API and web pages for citizens,
// vaccinators, officials, verifiers and auditors. It is not built yet: see
// issue 5. Until then `doseledger serve` opens the ledger and answers
// /healthz and /readyz.
package api
