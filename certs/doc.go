// Package certs will issue and verify signed QR certificates compatible
// with SMART Health Cards, render them as PDF, and publish keys and
// revocation lists. It is not built yet: see issue 4. The ledger already
// reserves its events, CertificateIssued and CertificateRevoked.
package certs
