// Package compactpace paces the compactions of a Pebble database, so that
// a long one takes a part of a core for longer rather than a whole core at
// once.
//
// The stores whose keys come in no order (the ledger's index, the key
// store) compact in large bursts: each compaction into the base level
// rewrites all of it, so over a day of registrations single compactions
// write hundreds of megabytes and take a core for tens of seconds. On a
// machine already busy with requests, that core is taken from them, and
// requests queue (BENCHMARKS.md, issue 5). Pebble 1.1 has no compaction
// pacing of its own (RocksDB's rate limiter does this job there).
//
// A Pacer wraps the database's file system: a table that a compaction
// writes (Pebble's TableCreated event names it, before its first write)
// rests after each write for Rest times as long as the compaction worked
// since its previous write. Flushes and the write-ahead log are never
// paced, so writes never wait for it. Once level 0 holds UrgentSublevels
// sublevels, the next tables are written at full speed, so that pacing
// never brings on Pebble's own write stall.
package compactpace
