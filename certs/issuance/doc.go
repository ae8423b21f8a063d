// Package issuance issues vaccination certificates from the ledger: an
// Issuer follows the global log and, whenever a person's doses or details
// change, records their current certificate as a CertificateIssued event
// and revokes the one before it.
//
// # What is recorded, and what is not
//
// A certificate is a SMART Health Card (package certs) whose payload is
// built only from ledger facts — the person's sealed name and birth date,
// their doses that count (their own and those of records merged into
// theirs), each dose's lot and site name — plus its issue time (nbf) and
// the revocation id of the signing key. CertificateIssued records the
// certificate id, kind (provisional after a first dose, final once the
// primary schedule of the policy in force is complete), kid, the dose
// numbers and "sha256:" + the hex SHA-256 of the payload; its occurred_at
// is the card's nbf. The signed card itself (the JWS) and any personal
// data are never written to the log. Certificate rebuilds the payload,
// checks its hash against the event, and signs it afresh: an ECDSA
// signature differs each time, the card is equally valid and has the same
// rid. Erasing a person's key (crypto-shredding) therefore erases their
// certificates too: the payload can no longer be rebuilt, and the hash in
// the log is of a payload that includes a rid keyed by the issuer's
// secret, so it cannot be checked against guessed names.
//
// # Streams and idempotence
//
// Certificate events go to the stream ledger.CertificateStream(person),
// so issuing never contends with bookings for the beneficiary stream's
// revision. Their event ids derive (UUID v5) from the id of the event
// that triggered them and the person, and the certificate id is the id
// of its CertificateIssued event: an issuer restarted from the first event
// finds its earlier work and writes nothing twice, and a certificate whose
// content did not change (a corrected mobile number) is not reissued.
//
// # Checkpoint
//
// With a Checkpoint (FileCheckpoint: one small file, replaced atomically)
// an issuer does not reread the log when it restarts: it saves the
// position up to which it has acted on every event, every few seconds and
// when CatchUp or Run ends, and resumes after it. An event it failed to
// act on holds the checkpoint before it, so a restart tries it again;
// what a restart rereads is recognised as above and written once. A
// checkpoint past the end of the log (another ledger's) is refused.
// Revocations before the checkpoint are not replayed into the key ring:
// after restoring the ring from an older copy, delete the checkpoint so
// that the issuer rereads the log and lists them again.
//
// # Revocation
//
// A reissue (a correction of the name or birth date, a voided dose, a
// merge, or a key rotation) appends CertificateRevoked for the previous
// certificate and CertificateIssued for the new one in one atomic append,
// then lists the old card on its key's revocation list with
// KeyRing.Revoke(kid, rid, nbf of the new card): every card of that
// person under that key issued before the new one is revoked, the new one
// stays valid. The issuer also replays every CertificateRevoked it reads
// into the key ring, so a crash between the append and the ring's write
// is repaired on the next start. An nbf is always at least a second after
// the person's previous certificate event, so that a card and the one
// replacing it never share a second.
package issuance
