// Package synth generates a realistic vaccination history fast, written
// straight as ledger events, for benchmarks and property tests of
// projections that need millions of events. The seeder (cmd/internal/seed)
// plays a country through the command handler, rule by rule, and is far
// too slow for that; synth plans the whole history up front, so that
// every event comes out already consistent, and encodes it directly.
//
// A history has the shape the command handler gives a ledger: the
// initial COVISHIELD and COVAXIN policies (28 days) and the change of
// COVISHIELD to 84 days effective 2021-05-13 (recorded that day; bookings
// made before it keep the old rule, as Co-WIN honoured them); sites in
// several states and districts publishing a session every day, three days
// ahead, sized to the bookings they will take; people registering in
// family accounts (sealed personal data, keyed hashes), 60 and over first,
// then 45, then 18; bookings (a seat in the session's stream, then the
// appointment in the person's, with its 4-digit code), some cancelled or
// missed and booked again; doses on the booked day in the booked slot,
// mostly captured online, some on offline devices, about 2% on paper
// registers uploaded up to six days later; second doses after the
// interval, some in another state; and about 1% of doses flagged exactly
// as RecordDose would flag them (walk-ins unbooked, second doses too
// early, doses given at another site, a dose captured twice, a dose voided
// and recorded again). A person who completes both doses has about 7
// events.
//
// The same Config gives byte-identical events, IDs included. Personal data
// is sealed as ledger.Seal seals it, but under one key per run (SealKey)
// and a nonce derived from the person, since ledger.Seal's random nonces
// would make every run differ; keyed hashes use a fixed public secret
// (Hasher). Payloads are encoded by hand, byte for byte as
// ledger.NewProposed encodes them, which the tests check event by event.
//
// Generate yields the history as batches, one append each, in causal
// order. Load appends them to a store with many concurrent appenders, so
// that a group-committing store shares its syncs: streams are spread over
// the appenders by hash, and Load waits for the appends in flight between
// the phases of a day that depend on each other, so the global log stays
// causal too.
package synth
