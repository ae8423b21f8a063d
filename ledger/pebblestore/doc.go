// Package pebblestore is the embedded, durable ledger.Store, kept in two
// Pebble databases in one directory: the log, which is the ledger, and
// its index, which is derived from the log.
//
// # Writes
//
// One writer goroutine owns every write. Append validates and encodes its
// events in the caller's goroutine, then queues the request for the
// writer. The writer takes the waiting requests (up to Options.MaxBatch
// events in all), checks each in order against the stream heads as the
// earlier requests of the same batch leave them, gives the accepted events
// consecutive global positions (the first event ever is at position 1) and
// stream revisions (the first event of a stream is revision 0), and writes
// their records in one Pebble batch to the log, which it applies with
// pebble.Sync, and their index entries in another to the index, applied
// without a sync (see Keys). A second goroutine, the syncer, waits for
// each batch's sync of the log's WAL in order and only then answers its
// requests; meanwhile the writer builds and applies the next batch, and
// Pebble syncs the two batches' log records together when it can. Appends
// thus share one fsync per batch ("group commit"), and an Append that
// returned without error is on disk.
//
// Options.BeforeWrite, if set, runs on the writer before each batch is
// applied, after its requests were taken from the queue: doseledger makes
// the key store's unsynced keys durable there, so that no event is on
// disk before the key its personal data is sealed with, and one key-store
// sync serves a whole batch. If it fails, the batch's requests fail,
// nothing of them is written, and the store takes no more appends.
//
// A batch the engine fails to apply to the log fails every request in it
// and leaves the writer as it was. A batch whose sync fails leaves the WAL
// in an unknown state: it, and every append after it, fail until the store
// is reopened and recovers from the WAL. A batch whose index entries fail
// to apply is in the log all the same: it, and every append after it,
// fail (the batches before it are answered as usual) until the store is
// reopened and indexes it.
//
// To check event IDs without a database lookup each (about 10µs), the
// writer keeps a Bloom filter of every ID and stream name, built in the
// background from a scan of the index's 'i' and 's' keys (about 0.3µs a
// key), begun at the first append (a store opened only to be read never
// needs it) and kept up to date by the writer; only the filter's positives, and
// every lookup until the build is done, go to the database. It takes 1.5
// bytes a key, sized at Open for two keys per stored event, with 3 MiB at
// least, and grows by segments as events are appended.
//
// The writer stamps every event of a batch with the same recorded_at, the
// store clock's time or, if the clock went back, the previous batch's, so
// that recorded_at never decreases along positions, across restarts too.
//
// # Reads
//
// Pebble makes a batch visible as soon as it is applied, before its sync,
// so readers see only events whose batch is durable: the store keeps the
// position of the newest durable event and reads nothing beyond it. Reads
// take 256 records at a time from a bounded iterator and close it before
// yielding, so a slow reader neither pins engine resources nor holds up
// Close. Subscribe reads like ReadAll, then waits on a channel the syncer
// closes (and replaces) after each durable batch.
//
// Followers that keep up read from the tail instead: the newest 4096
// committed records (4 MiB at most), kept in memory. The writer keeps a
// copy of each record it writes to a batch; the syncer adds the batch's
// records to the tail once the batch is durable, before it publishes it,
// and never adds a batch whose apply or sync failed. A read of the log
// (ReadAll or Subscribe) that the tail holds whole, from after its
// position up to the newest durable event, takes its records from there;
// anything older, including everything written before the store was
// opened, comes from the database. A record in the tail is decoded by the
// first reader that needs it, from the very bytes the database holds, and
// its event is shared by every reader after, Data included: readers must
// not modify an event's Data. (Decoding in the writer instead put about
// 5µs an event on the writer goroutine, which every append waits for.) Three followers of 16 writers' appends cost 20 to 35µs of
// CPU an event when each read made an iterator and each follower decoded
// every record, and 6 to 10µs from the tail, most of it the one decoding
// (BenchmarkSubscribe_LiveFollowers, BENCHMARKS.md).
//
// # Engine
//
// Pebble runs with a 32 MiB block cache (the log's and the index's), 64
// MiB memtables for the log and 16 MiB for the index, table-level
// Bloom filters (10 bits a key) on every level for point lookups, one
// compaction at a time (the target machines have two cores) and its
// newest format. Its messages go to Options.Logger: information at debug
// level, background errors, slow disks and write stalls above it.
//
// # Keys
//
// Keys are told apart by their first byte. Integers are 8 bytes, big
// endian, so that keys sort by number. The log, in the store's directory:
//
//	'p' position          → record (JSON, below)
//
// The index, in its subdirectory "index":
//
//	's' stream 0x00 rev   → position
//	'i' event id (16)     → position
//	'm'                   → the position the index holds every entry up to
//
// The log's keys come in order, so its tables do not overlap and Pebble
// need not rewrite them: over 1,000,000 registrations at 10,000 a second
// the log compacted not once, where the first layout, with the index's
// random keys between the records, compacted about a gigabyte
// (BENCHMARKS.md, issue 5). The index's keys come in no order, and its
// compactions rewrite it.
//
// The index is written after the log, unsynced, and Open brings it level
// with the log before the store takes appends. After a crash it may lack
// the newest batches, which Open indexes again from the log. It may also
// hold a batch whose records never reached the log's disk (the two
// databases write their WALs independently, so this can follow a killed
// process as well as a power failure): Open then removes those entries,
// with a scan of the whole index (about 0.3µs a key). A store of the
// first layout is indexed whole on its first Open, and the index entries
// in its log are then dropped: the migration is one way, and an older
// build would find no index in the log.
//
// A stream name never holds a 0x00 byte (ledger.ValidateStream), so the 0x00
// after it ends it unambiguously and a stream's keys are one contiguous
// range. The newest position is the last 'p' key, read at Open; a stream's
// head is its last 's' key, cached in memory by the writer (two generations
// of headCacheSize streams each).
//
// A batch's index entries are sorted: Pebble inserts a batch into its
// memtable in order, and keys that follow each other are cheaper to
// insert.
//
// # Records
//
// A record is a JSON object with its fields always in this order, the
// frozen version 1 of the format (testdata/record-v1.json):
//
//	{"position":7,"stream":"patient-42","revision":0,
//	 "id":"0190f4c2-…","type":"DoseAdministered",
//	 "recorded_at":"2024-05-01T10:00:00.123456789Z",
//	 "occurred_at":"2024-04-30T09:30:00+02:00",
//	 "actor":"nurse-7","schema":1,"data":{…}}
//
// recorded_at is RFC 3339 with nanoseconds in UTC; occurred_at is RFC 3339
// with nanoseconds and the offset the writer gave (UTC if that offset is not
// a whole number of minutes). Strings are escaped as encoding/json does, but
// without HTML escaping. data is the event's JSON object as given, less the
// white space around it.
//
// # Idempotency
//
// Every event ID is indexed. An append whose IDs are all in its stream
// already, at consecutive revisions and in the same order, writes nothing
// and returns the original result with Duplicate set. Any other use of a
// known ID is ErrDuplicateEventID.
package pebblestore
