// Package ledger is the domain of doseledger: the events of a national
// vaccination ledger, the rules commands are decided by, and the contract
// of the event store they are kept in.
//
// # Events
//
// Every registration, booking and dose is an immutable event. Nothing is
// edited: a correction is a new event (DetailsCorrected, DoseVoided). An
// event carries an ID chosen by its writer (a UUID, so a retried write is
// recognised), a type name from the Type constants (stored as a string,
// never derived from a Go type), its stream and revision in that stream,
// its position in the global log, recorded_at (the store's clock),
// occurred_at (when it happened in the field: a dose on a paper register
// may be uploaded days later), the actor who recorded it, and a payload
// with a schema version.
//
// # Streams
//
// A stream is "<category>-<id>": beneficiary-<id> for a person (their
// registration, appointments, doses, corrections, merges, certificates),
// session-<site>-<yyyymmdd> for a session (publication, seats,
// cancellation), and one stream, policy, for vaccine policies. All streams
// together form one global order, the log that projections and auditors
// read. Revisions count from 0 in each stream without gaps; positions grow
// along the log but need not be consecutive.
//
// # Stored encoding
//
// A payload is JSON, with a schema version per event. Version 1 is the
// layout of the structs in events.go; its golden files are in
// testdata/events/v1 and must keep decoding: a change of layout adds a
// version and a decoder for the old one, never edits the old files.
//
// # Privacy
//
// Name, birth date, mobile number and photo-ID number are sealed
// (AES-256-GCM) under a key of the person's own, kept outside the log
// (see Keys); lookups use keyed hashes (see Hasher). Erasing the person's
// key erases them from every copy of the log, while counts still replay.
//
// # Rules
//
// Beneficiary, Session and Policies fold a stream's events into the state
// commands decide on; their methods (Eligibility, CheckBookable,
// AssessDose) are the rules, free of I/O. Package command applies them
// against a Store.
package ledger
