// Package keyfilter is a growable Bloom filter of the keys an embedded
// store holds, so that a lookup of a key that is certainly new, as nearly
// every appended event ID and every new person's key is, never reaches
// the database. A Pebble point lookup of an absent key costs about 10µs
// (memtable skiplist, then each level's filter and index blocks); the
// filter answers in well under 1µs and sends only its false positives
// (about 1%) on to the database.
//
// It is split in segments so that it grows without rebuilding: Add adds to
// the newest one and starts a segment twice as large when it is full. A
// key may be present if any segment says so. When its store opens, a
// builder goroutine adds every key already on disk into the first segment
// (Filter.First), sized for them, and then calls MarkReady; until then
// the filter answers "maybe" to everything.
//
// The builder owns the first segment until it marks the filter ready;
// Add writes to the later ones, and MayContain reads them all only once
// ready is set, which orders the builder's writes before those reads. So
// no bit needs an atomic operation. Add and MayContain are for one
// goroutine at a time: a store's single writer, or callers holding a lock.
package keyfilter
