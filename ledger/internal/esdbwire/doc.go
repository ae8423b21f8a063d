// Package esdbwire is the one mapping between a ledger.Event and an
// EventStoreDB event, shared by the backend (ledger/esdbstore) and the
// server side of the protocol (ledger/esdbserver), so that the two cannot
// drift apart.
//
// An event's ID, type and data are EventStoreDB's own: the event ID, the
// "type" system metadata and the data, with content type application/json.
// EventStoreDB has no place for the rest of a ledger event, so occurred_at,
// the actor and the schema version travel in the event's custom (user)
// metadata, a JSON object with its fields in this order, frozen as
// version 1 (testdata/metadata-v1.json):
//
//	{"occurred_at":"2024-03-01T09:30:15.123456789+02:00","actor":"nurse-7","schema":1}
//
// occurred_at is RFC 3339 with nanoseconds and the writer's offset; actor is
// left out when empty. The recorded time is EventStoreDB's "created" system
// metadata: .NET ticks (100 ns) since the Unix epoch, so a recorded time
// read through EventStoreDB is truncated to 100 ns.
//
// A ledger position is the event's commit position in $all. EventStoreDB
// gives every event written over gRPC the same commit and prepare position
// (there are no multi-event transactions), so nothing is lost.
package esdbwire
