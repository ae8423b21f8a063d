// Package enginelog reports what an embedded Pebble database does in the
// background to the server's structured log: each memtable flush and each
// compaction that rewrote tables (moves of whole tables are left out),
// with the levels, bytes and time it took; write stalls; slow disk
// operations; and background errors.
//
// A server whose requests slow down for some seconds shows why beside
// them in the same log, by time: a flush or compaction that took long,
// or a stall. Pebble keeps such lines in a LOG file of its own; here they
// go where the operator already looks.
package enginelog
