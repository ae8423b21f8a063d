package pebblestore

import "github.com/doseledger/doseledger/ledger"

// headCache holds the last revision of recently written streams, in two
// generations so that it stays bounded without bookkeeping per entry: new
// and used entries go to young; when young fills up it becomes old and the
// former old is dropped. A stream not found is looked up in the database.
// Only the writer goroutine uses it.
type headCache struct {
	young, old map[string]ledger.Revision
	max        int
}

func newHeadCache(max int) *headCache {
	return &headCache{young: make(map[string]ledger.Revision), max: max}
}

func (c *headCache) get(stream string) (ledger.Revision, bool) {
	if rev, ok := c.young[stream]; ok {
		return rev, true
	}
	rev, ok := c.old[stream]
	if ok {
		c.put(stream, rev)
	}
	return rev, ok
}

func (c *headCache) put(stream string, rev ledger.Revision) {
	c.young[stream] = rev
	if len(c.young) >= c.max {
		c.old = c.young
		c.young = make(map[string]ledger.Revision, c.max/4)
	}
}

// reset forgets every head.
func (c *headCache) reset() {
	c.young = make(map[string]ledger.Revision)
	c.old = nil
}
