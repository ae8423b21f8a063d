package pebblestore

import (
	"sync"

	"github.com/doseledger/doseledger/ledger"
)

// Bounds of the tail, the newest committed records kept in memory. A live
// follower reads what the last commit or two added; a batch holds up to
// DefaultMaxBatch (2048) events, so 4096 records cover a follower that is
// a whole batch behind, and at the API's rate (about 40,000 events/s on
// two cores) about a tenth of a second of log. The bytes bound keeps large
// events from making it big: it counts the stored records (a registration
// or a dose is 0.5 to 1 KB, so 4096 of them take 2 to 4 MiB); a record
// once decoded takes about as much again for its event, and the oldest
// batch's buffer may outlive its evicted records, so the tail holds at
// most about three times tailBytes.
const (
	tailRecords = 4096
	tailBytes   = 4 << 20
)

// tail is the newest committed records, in position order without a gap,
// so that a caught-up reader takes them from memory rather than from a new
// Pebble iterator, and each is decoded once however many readers follow
// the log. The syncer adds each batch once it is durable, before it
// publishes it; it holds nothing at Open, and a batch that does not follow
// on from what it holds (none should) replaces its contents. Records
// older than the tail, and any read it cannot serve whole, come from the
// database.
type tail struct {
	mu    sync.RWMutex    // guards the fields below
	ring  []*tailRecord   // the records, the oldest at ring[start]; len tailRecords
	start int             // index in ring of the oldest record
	n     int             // number of records held
	size  int             // their stored size in bytes
	next  ledger.Position // the position the next record added must have
}

// tailRecord is one committed record as the writer stored it, decoded on
// first use. raw and, once decoded, the event are shared by every reader
// and never modified: an event's Data is the one slice for all of them,
// so consumers must treat it as read-only. None in this repository writes
// to it: the read models, duplicate finder and certificate issuer decode
// it with ledger.Decode (which neither keeps nor changes it), the ESDB server and the
// export hand it to encoders, and the events command prints it.
type tailRecord struct {
	pos ledger.Position
	raw []byte

	once  sync.Once
	event ledger.Event
	err   error
}

// decoded returns the record's event, decoding it on the first call, as
// decodeLogRecord would from the same bytes read from the database.
func (r *tailRecord) decoded() (ledger.Event, error) {
	r.once.Do(func() { r.event, r.err = decodeLogRecord(rawRecord{pos: r.pos, value: r.raw}) })
	return r.event, r.err
}

// newTail returns an empty tail whose first record will be at next.
func newTail(next ledger.Position) *tail {
	return &tail{ring: make([]*tailRecord, tailRecords), next: next}
}

// add appends recs, a durable batch's records in position order with no
// gap. Only the syncer calls it, before it publishes the batch.
func (t *tail) add(recs []tailRecord) {
	if len(recs) == 0 {
		return
	}
	// A batch bigger than the tail keeps only its newest records, copied
	// so that its buffer can go.
	size, keep := 0, len(recs)
	for keep > 0 && len(recs)-keep < tailRecords && size+len(recs[keep-1].raw) <= tailBytes {
		keep--
		size += len(recs[keep].raw)
	}
	if keep > 0 {
		recs = shrinkRecords(recs[keep:])
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if len(recs) == 0 || recs[0].pos != t.next {
		// A gap: keep only what follows it.
		t.clearLocked()
	}
	for i := range recs {
		r := &recs[i]
		for t.n > 0 && (t.n == len(t.ring) || t.size+len(r.raw) > tailBytes) {
			t.evictLocked()
		}
		t.ring[(t.start+t.n)%len(t.ring)] = r
		t.n++
		t.size += len(r.raw)
	}
	if len(recs) > 0 {
		t.next = recs[len(recs)-1].pos + 1
	}
}

// shrinkRecords returns copies of recs whose raw records share one buffer
// of their own.
func shrinkRecords(recs []tailRecord) []tailRecord {
	n := 0
	for i := range recs {
		n += len(recs[i].raw)
	}
	buf := make([]byte, 0, n)
	out := make([]tailRecord, len(recs))
	for i := range recs {
		start := len(buf)
		buf = append(buf, recs[i].raw...)
		out[i] = tailRecord{pos: recs[i].pos, raw: buf[start:len(buf):len(buf)]}
	}
	return out
}

// evictLocked drops the oldest record. t.mu must be held for writing.
func (t *tail) evictLocked() {
	t.size -= len(t.ring[t.start].raw)
	t.ring[t.start] = nil
	t.start = (t.start + 1) % len(t.ring)
	t.n--
}

// clearLocked drops every record. t.mu must be held for writing.
func (t *tail) clearLocked() {
	clear(t.ring)
	t.start, t.n, t.size = 0, 0, 0
}

// clear drops every record; the tail serves nothing more until records
// that follow on from the last one added come.
func (t *tail) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearLocked()
}

// read returns the records after position up to committed, at most max of
// them, and true, if the tail holds them all; otherwise nil and false.
// after must be below committed.
func (t *tail) read(after, committed ledger.Position, max int) ([]*tailRecord, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	first := t.next - ledger.Position(t.n)
	if t.n == 0 || after+1 < first || committed >= t.next {
		return nil, false
	}
	end := min(committed, after+ledger.Position(max))
	recs := make([]*tailRecord, int(end-after))
	at := t.start + int(after+1-first)
	for i := range recs {
		recs[i] = t.ring[(at+i)%len(t.ring)]
	}
	return recs, true
}
