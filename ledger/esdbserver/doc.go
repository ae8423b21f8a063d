// Package esdbserver puts any ledger.Store behind EventStoreDB's own gRPC
// protocol, the server side of the services that
// github.com/EventStore/EventStore-Client-Go/v4 (and every other
// EventStoreDB client) calls: Streams (Append; Read of a stream or of $all,
// forwards or backwards, filtered or not; catch-up subscriptions to a
// stream or to $all with server-side filters, checkpoints and CaughtUp),
// ServerFeatures (read at connect time) and Gossip (a one-node cluster, for
// clients that discover). Its interfaces are the ones generated in the
// client module's protos/ packages.
//
// It lets the EventStoreDB backend (ledger/esdbstore) be tested over the
// real wire where no EventStoreDB server can run, and lets auditors read
// and follow the ledger with any standard EventStoreDB client
// (doseledger serve --esdb-listen).
//
// # Differences from EventStoreDB
//
// Each is stated where it is implemented (Append, Read) and listed in the
// README: a recognised retry is answered without a position; an event ID
// used in another stream, or a partial retry, is refused with
// ALREADY_EXISTS; only ledger events (JSON data, the custom metadata of
// package esdbwire) are accepted, and no '$' streams; no Delete,
// Tombstone, BatchAppend, persistent subscriptions, projections or
// stream metadata ($$ streams); no system events in $all; users are a
// check of name and password (Options.Authenticate, over TLS given to
// Serve), with no ACLs, and Options.ReadOnly refuses every append;
// regular expressions are RE2; positions are the store's (commit =
// prepare); FellBehind is never sent.
package esdbserver
