// Package command carries out the ledger's commands: it reads the streams a
// decision needs, decides with the rules in package ledger, and appends the
// resulting events under optimistic concurrency, re-reading and deciding
// again when another writer got there first.
//
// Each invariant lives in one stream, because an append is atomic in one
// stream only (as in EventStoreDB):
//
//   - at most four people per mobile: member n of an account has the
//     stream beneficiary-<account>-<n>, created once (expected: no stream);
//   - a session's capacity: seats are SeatReserved events in the session's
//     stream, appended at the exact revision the decision read;
//   - one active appointment, dose intervals, consecutive doses, vaccine
//     mixing: AppointmentBooked in the beneficiary's stream, appended at the
//     exact revision the decision read.
//
// A booking touches two streams: it takes the seat first (the contended
// resource), then records the appointment. If the second step finds the
// person booked elsewhere meanwhile, it gives the seat back. Every event id
// of a command is derived from its request id, so a client that retries a
// request after a crash or a lost answer completes it instead of doing it
// twice.
//
// Dose reports from the field are never refused for breaking a rule: they
// are recorded with the anomalies they show. Only malformed input is
// refused, with ledger.ErrInvalidCommand.
//
// A Handler may be used by many goroutines at once.
package command
