// Package esdbstore is the ledger.Store kept in EventStoreDB (KurrentDB),
// the replicated, clustered event database doseledger runs on when one
// machine is not enough. It speaks EventStoreDB's gRPC protocol through
// github.com/EventStore/EventStore-Client-Go/v4 and owns all the mapping
// between the two: nothing above it sees the client's types or errors.
//
// # Mapping
//
// A ledger stream is an EventStoreDB stream of the same name; revisions
// are EventStoreDB's stream revisions; a ledger position is the event's
// commit position in $all. Expected revisions map one to one (Any,
// NoStream, StreamExists, Exact). An event's ID, type and JSON data are
// EventStoreDB's own; occurred_at, actor and schema travel in its custom
// metadata and recorded_at is the server's "created" time (see package
// ledger/internal/esdbwire). EventStoreDB's system events (stream or type
// starting with '$') never reach the ledger. With Options.StreamPrefix,
// several ledgers share one database: each prefixes its stream names and
// sees only its own streams in $all.
//
// Reads of $all start at a position inclusively in EventStoreDB, so
// ReadAll reads from the position it is given and passes over the event
// there; subscriptions start after it, as ledger.Subscribe does. Reads go
// in pages of Options.PageSize. Subscribe filters on the server (by stream
// prefix, else by type, else only system events out) and takes the
// server's checkpoints; ReadAll filters on arrival, as the client has no
// filtered read.
//
// # Failures
//
// Transient failures (unavailable, not leader, connection lost, Aborted)
// are retried with doubling waits (Options.Retries, MinBackoff,
// MaxBackoff); appends keep their event IDs and expected revision, so a
// write that landed before a leader failed is recognised on retry rather
// than written twice. A client that gives up on discovery is replaced.
// Errors come out as the ledger's: wrong expected version as a
// *ledger.RevisionError with the stream's actual revision, the
// esdbserver's ALREADY_EXISTS as ledger.ErrDuplicateEventID, a closed
// store as ledger.ErrClosed.
//
// The v4.2.0 client waits for its connection without a context, stops for
// good when discovery gives up, and panics calls that race its Close. So
// the store keeps it rediscovering (unless the connection string sets
// maxDiscoverAttempts), abandons a call when its ctx is done, replaces a
// client that stopped, and closes the client only once the calls in
// flight have returned.
//
// # Idempotency
//
// EventStoreDB keys event IDs per stream, and under Any only against
// recent writes (best-effort). Against it, a retry is recognised when it
// repeats the first attempt's expected revision (what this package's own
// retries do) and, with Options.RetryScan, among a stream's newest events
// whatever the expected revision; an ID reused in another stream is not
// detected. The ledger's commands keep their own duplicate detection
// (by request and dose keys) in force, so they do not rely on either.
// Served by ledger/esdbserver over an embedded store, every case of
// ledger.Appender's contract holds.
package esdbstore
