package pebblestore

import "github.com/doseledger/doseledger/ledger"

// headCache holds the last revision of recently written streams, in two
// generations so that it stays bounded without bookkeeping per entry: new
// and used entries go to young; when young fills up it becomes old and the
// former old is dropped. A stream not found is looked up in the database.
// Only the writer goroutine uses it.
//
// Names of up to shortStream bytes (a person's or a session's stream) are
// kept in arrays, not strings: the maps of them hold no pointers, so the
// collector never scans them, and a stream costs the heap no string object
// here. With a million heads that is a million fewer objects to mark in
// every collection of a server (BENCHMARKS.md, issue 5). Longer names are
// kept as strings.
type headCache struct {
	young, old heads
	max        int
}

// shortStream is the longest stream name kept in an array.
const shortStream = 40

type heads struct {
	short map[shortName]ledger.Revision
	long  map[string]ledger.Revision
}

// shortName is a stream name of up to shortStream bytes, zero-padded,
// and its length in the last byte, so that no two names share one.
type shortName [shortStream + 1]byte

func shortNameOf(stream string) (k shortName) {
	copy(k[:], stream)
	k[shortStream] = byte(len(stream))
	return k
}

func newHeads(size int) heads {
	return heads{short: make(map[shortName]ledger.Revision, size), long: make(map[string]ledger.Revision)}
}

func (h heads) len() int { return len(h.short) + len(h.long) }

func (h heads) get(stream string) (ledger.Revision, bool) {
	if h.short == nil {
		return 0, false
	}
	if len(stream) <= shortStream {
		rev, ok := h.short[shortNameOf(stream)]
		return rev, ok
	}
	rev, ok := h.long[stream]
	return rev, ok
}

func (h heads) put(stream string, rev ledger.Revision) {
	if len(stream) <= shortStream {
		h.short[shortNameOf(stream)] = rev
		return
	}
	h.long[stream] = rev
}

func newHeadCache(max int) *headCache {
	return &headCache{young: newHeads(0), max: max}
}

func (c *headCache) get(stream string) (ledger.Revision, bool) {
	if rev, ok := c.young.get(stream); ok {
		return rev, true
	}
	rev, ok := c.old.get(stream)
	if ok {
		c.put(stream, rev)
	}
	return rev, ok
}

func (c *headCache) put(stream string, rev ledger.Revision) {
	c.young.put(stream, rev)
	if c.young.len() >= c.max {
		c.old = c.young
		c.young = newHeads(c.max / 4)
	}
}

// reset forgets every head.
func (c *headCache) reset() {
	c.young = newHeads(0)
	c.old = heads{}
}
