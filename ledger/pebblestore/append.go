package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/internal/keyfilter"
)

// appendRequest is one Append on its way through the writer. The appending
// goroutine fills the first group of fields; the writer fills result and
// err, then closes done.
type appendRequest struct {
	ctx        context.Context
	stream     string
	expected   ledger.ExpectedRevision
	streamPart []byte
	events     []encodedEvent

	result ledger.AppendResult
	err    error
	done   chan struct{}
}

// Append appends events to stream atomically and returns once they are
// synced to disk. If all of events are already in stream, in order, it
// writes nothing and returns the original result with Duplicate set.
//
// It returns an error wrapping ledger.ErrInvalidEvent for a malformed
// stream name or event (including a type or actor that is not UTF-8 and an
// occurred_at outside years 0 to 9999) or an empty append;
// ledger.ErrWrongRevision (a *ledger.RevisionError) when the stream does
// not meet expected; ledger.ErrDuplicateEventID when an ID is used twice in
// events, by another stream, or by only part of events; ledger.ErrClosed
// once the store is closed; and ctx's error if ctx ends first, in which
// case the events may be appended all the same (retry with the same IDs to
// find out). If the engine fails to apply the batch, Append returns its
// error and nothing was appended. If the engine fails to sync it, the
// events may or may not be on disk: Append returns the error, and so does
// every later Append until the store is reopened.
func (s *Store) Append(ctx context.Context, stream string, expected ledger.ExpectedRevision, events ...ledger.Proposed) (ledger.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return ledger.AppendResult{}, err
	}
	if err := ledger.ValidateStream(stream); err != nil {
		return ledger.AppendResult{}, fmt.Errorf("append: %w", err)
	}
	r, err := newAppendRequest(ctx, stream, expected, events)
	if err != nil {
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	if !s.enqueue(r) {
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w", stream, ledger.ErrClosed)
	}
	select {
	case <-r.done:
		return r.result, r.err
	case <-ctx.Done():
		return ledger.AppendResult{}, fmt.Errorf("append %s: %w (the events may still be committed)", stream, ctx.Err())
	}
}

// newAppendRequest checks and encodes an append to a valid stream in the
// caller's goroutine, so that the writer has as little left to do as
// possible.
func newAppendRequest(ctx context.Context, stream string, expected ledger.ExpectedRevision, events []ledger.Proposed) (*appendRequest, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: no events", ledger.ErrInvalidEvent)
	}
	size := 0
	for i := range events {
		size += 160 + len(events[i].Type) + len(events[i].Actor) + len(events[i].Data)
	}
	buf := make([]byte, 0, size)
	enc := make([]encodedEvent, len(events))
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return nil, err
		}
		var err error
		if buf, enc[i], err = appendEventParts(buf, events[i]); err != nil {
			return nil, err
		}
	}
	if err := checkUniqueIDs(events); err != nil {
		return nil, err
	}
	return &appendRequest{
		ctx:        ctx,
		stream:     stream,
		expected:   expected,
		streamPart: encodeStreamPart(stream),
		events:     enc,
		done:       make(chan struct{}),
	}, nil
}

// checkUniqueIDs returns an error wrapping ledger.ErrDuplicateEventID if an
// ID appears twice in events.
func checkUniqueIDs(events []ledger.Proposed) error {
	if len(events) <= 16 {
		for i := 1; i < len(events); i++ {
			for j := range i {
				if events[i].ID == events[j].ID {
					return fmt.Errorf("%w: event %s appears twice in one append", ledger.ErrDuplicateEventID, events[i].ID)
				}
			}
		}
		return nil
	}
	seen := make(map[ledger.EventID]struct{}, len(events))
	for _, e := range events {
		if _, ok := seen[e.ID]; ok {
			return fmt.Errorf("%w: event %s appears twice in one append", ledger.ErrDuplicateEventID, e.ID)
		}
		seen[e.ID] = struct{}{}
	}
	return nil
}

// idLoc is where an event ID was written.
type idLoc struct {
	stream string
	rev    ledger.Revision
	pos    ledger.Position
}

// writer is the state of the writer goroutine, which alone touches it.
// "Applied" batches are in the database but may still be syncing.
type writer struct {
	s            *Store
	lastPos      ledger.Position   // newest applied position
	lastRecorded time.Time         // recorded_at of the newest applied batch
	heads        *headCache        // stream heads as applied batches leave them
	filter       *keyfilter.Filter // every applied event ID and stream, and some more

	// Scratch for the batch being built.
	pending      map[ledger.EventID]idLoc   // IDs the batch writes
	pendingHeads map[string]ledger.Revision // heads as the batch leaves them
	newStreams   []string                   // streams the batch starts
	recordedAt   []byte                     // the batch's recorded_at, encoded
	it           *pebble.Iterator           // opened for the batch on the first head lookup that needs it
	key, val     []byte
	index        []indexEntry // the batch's stream and ID keys
	indexKeys    []byte
	tailBuf      []byte // the batch's records, gathered for the tail; reused, copied out to fit
	tailEnds     []int  // where each record ends in tailBuf

	// stopped, once set, fails every later append: the writer stopped
	// the store (see stop), which the syncer has not yet made the store's
	// failure.
	stopped error

	// commit and commitIndex, if set, replace the apply of the batch to
	// the log and to the index; tests use them to make commits fail.
	commit, commitIndex func(*pebble.Batch) error
}

// enqueue hands r to the writer. It reports false if the writer has
// stopped.
func (s *Store) enqueue(r *appendRequest) bool {
	s.queueMu.Lock()
	if s.stopped {
		s.queueMu.Unlock()
		return false
	}
	s.queue = append(s.queue, r)
	first := len(s.queue) == 1
	s.queueMu.Unlock()
	if first {
		// The writer may be waiting; a wake-up already pending will do.
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// takeQueue removes and returns the oldest waiting appends, as many as
// make up max events (at least one append), and their number of events.
func (s *Store) takeQueue(max int) ([]*appendRequest, int) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	n, i := 0, 0
	for i < len(s.queue) && (i == 0 || n+len(s.queue[i].events) <= max) {
		n += len(s.queue[i].events)
		i++
	}
	if i == len(s.queue) {
		reqs := s.queue
		s.queue = nil
		return reqs, n
	}
	reqs := slices.Clone(s.queue[:i])
	s.queue = slices.Delete(s.queue, 0, i)
	return reqs, n
}

// stopQueue makes later appends fail with ledger.ErrClosed and returns
// those still waiting.
func (s *Store) stopQueue() []*appendRequest {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	s.stopped = true
	reqs := s.queue
	s.queue = nil
	return reqs
}

// run is the writer goroutine: it takes the waiting appends in batches and
// applies them until the store closes, handing each applied batch to the
// syncer goroutine, which waits for it to be durable and answers its
// requests. The writer thus builds and applies batch N+1 while batch N is
// being synced; Pebble syncs the WAL for both at once if it can. When the
// store closes, appends still waiting fail with ledger.ErrClosed.
func (w *writer) run() {
	s := w.s
	syncq := make(chan *inflight, syncQueueLen)
	syncerDone := make(chan struct{})
	go s.syncLoop(syncq, syncerDone)
	defer func() {
		for _, r := range s.stopQueue() {
			r.err = fmt.Errorf("append %s: %w", r.stream, ledger.ErrClosed)
			close(r.done)
		}
		close(syncq)
		<-syncerDone
		close(s.writerDone)
	}()
	for {
		select {
		case <-s.closing:
			return
		case <-s.wake:
		}
		for {
			reqs, n := s.takeQueue(s.maxBatch)
			if len(reqs) == 0 {
				break
			}
			syncq <- w.applyBatch(reqs, n)
			select {
			case <-s.closing:
				return
			default:
			}
		}
	}
}

// syncQueueLen bounds the applied batches waiting for the syncer beyond
// the one it is syncing.
const syncQueueLen = 1

// inflight is a batch the writer has applied, on its way to durability.
type inflight struct {
	b *pebble.Batch // nil if the batch wrote nothing
	// fail, if set, stops the store with this batch: the syncer makes it
	// the store's failure once the batches before it, which are good,
	// have been answered.
	fail error
	reqs []*appendRequest
	last ledger.Position // the newest position once b is durable
	tail []tailRecord    // b's records, for the tail once b is durable
}

// applyBatch checks reqs in order, writes those that pass in one batch and
// applies it to the database without waiting for the sync. It returns the
// batch for the syncer, which answers the requests once the batch (and
// every batch before it) is durable.
func (w *writer) applyBatch(reqs []*appendRequest, nevents int) *inflight {
	s := w.s
	f := &inflight{reqs: reqs, last: w.lastPos}
	s.startFilterBuild()
	if w.stopped != nil {
		w.failAll(reqs, w.stopped)
		return f
	}
	if err := s.failure(); err != nil {
		w.failAll(reqs, err)
		return f
	}
	clear(w.pending)
	clear(w.pendingHeads)
	w.newStreams = w.newStreams[:0]

	recorded := s.now().UTC()
	if recorded.Before(w.lastRecorded) {
		recorded = w.lastRecorded
	}
	w.recordedAt = appendRecordTime(w.recordedAt[:0], recorded)

	b := s.db.NewBatchWithSize(nevents * 512)
	pos := w.lastPos
	w.index, w.indexKeys = w.index[:0], w.indexKeys[:0]
	w.tailBuf, w.tailEnds = w.tailBuf[:0], w.tailEnds[:0]
	for _, r := range reqs {
		r.err = w.plan(b, r, &pos)
	}
	ib := s.idx.NewBatchWithSize(len(w.indexKeys) + 16*len(w.index) + 32)
	w.writeIndex(ib)
	putIndexed(ib, pos)
	if w.it != nil {
		err := w.it.Close()
		w.it = nil
		if err != nil {
			b.Close()
			ib.Close()
			w.failAll(reqs, fmt.Errorf("read store: %w", err))
			return f
		}
	}
	if pos == w.lastPos {
		b.Close()
		ib.Close()
		return f // nothing to write: every request failed or was a duplicate
	}
	var err error
	if s.before != nil {
		if err := s.before(); err != nil {
			// As after a failed sync: what it was to make durable may not
			// be, and a sync retried after a failure can report success
			// falsely.
			b.Close()
			ib.Close()
			s.log.Error("pebblestore: BeforeWrite failed; the store takes no more appends", "err", err)
			w.stop(f, fmt.Errorf("before write: %w", err))
			return f
		}
	}
	if w.commit != nil {
		err = w.commit(b)
	} else {
		err = s.db.ApplyNoSyncWait(b, pebble.Sync)
	}
	if err != nil {
		b.Close()
		ib.Close()
		s.log.Error("pebblestore commit failed", "err", err, "events", pos-w.lastPos)
		w.failAll(reqs, fmt.Errorf("commit: %w", err))
		w.checkUnapplied(err)
		return f
	}
	// The index follows the log, unsynced: Open indexes again from the
	// log whatever a crash took from it. It is applied before the syncer
	// sees the batch, so that readers find a committed event in both.
	if w.commitIndex != nil {
		err = w.commitIndex(ib)
	} else {
		err = s.idx.Apply(ib, pebble.NoSync)
	}
	ib.Close()
	if err != nil {
		// The log's batch is applied and syncing: its requests fail all
		// the same, as after a failed sync, and reopening the store
		// indexes it.
		s.log.Error("pebblestore index commit failed; the store takes no more appends", "err", err)
		w.stop(f, fmt.Errorf("index: %w", err))
	}
	f.tail = w.tailRecords(pos)
	w.lastPos = pos
	w.lastRecorded = recorded
	for stream, rev := range w.pendingHeads {
		w.heads.put(stream, rev)
	}
	for id := range w.pending {
		w.key = appendIDKey(w.key[:0], id)
		w.filter.Add(w.key)
	}
	for _, stream := range w.newStreams {
		w.key = appendStreamFilterKey(w.key[:0], stream)
		w.filter.Add(w.key)
	}
	f.b, f.last = b, pos
	return f
}

// tailRecords returns the records of the batch just applied, which ends at
// last, for the tail: the very bytes written to the database. It returns
// nil if they are not all there (they always are), and the tail then
// starts again after the batch.
func (w *writer) tailRecords(last ledger.Position) []tailRecord {
	n := int(last - w.lastPos)
	if len(w.tailEnds) != n {
		return nil
	}
	// The tail keeps the records, so each batch's go to a buffer of their
	// own, of their size: a buffer sized for the batch's requests, of
	// which most may fail (a booking race), kept a megabyte for a few
	// records.
	buf := bytes.Clone(w.tailBuf)
	recs := make([]tailRecord, n)
	start := 0
	for i, end := range w.tailEnds {
		recs[i] = tailRecord{pos: w.lastPos + ledger.Position(i+1), raw: buf[start:end:end]}
		start = end
	}
	return recs
}

// syncLoop is the syncer goroutine: it waits for each applied batch to be
// durable, in order, then publishes its events to readers and answers its
// requests. If a sync fails, the WAL is in an unknown state: that batch
// and every later one fail, and the store takes no more appends.
func (s *Store) syncLoop(syncq <-chan *inflight, done chan<- struct{}) {
	defer close(done)
	for f := range syncq {
		if f.b != nil {
			wait := (*pebble.Batch).SyncWait
			if s.syncWait != nil {
				wait = s.syncWait
			}
			err := wait(f.b)
			f.b.Close()
			if err != nil {
				s.log.Error("pebblestore sync failed; the store takes no more appends", "err", err)
				s.setFailure(fmt.Errorf("sync: %w", err))
			}
		}
		if f.fail != nil {
			s.setFailure(f.fail)
		}
		if err := s.failure(); err != nil {
			for _, r := range f.reqs {
				r.result, r.err = ledger.AppendResult{}, fmt.Errorf("append %s: %w", r.stream, err)
			}
		} else if f.b != nil {
			// The tail first, so that a reader woken by the publish
			// finds the batch there.
			s.tail.add(f.tail)
			s.publish(f.last)
		}
		for _, r := range f.reqs {
			close(r.done)
		}
	}
}

// stop makes f the last batch the store takes: its requests, and those of
// every later batch, fail with err.
func (w *writer) stop(f *inflight, err error) {
	f.fail = err
	w.stopped = fmt.Errorf("store failed, reopen it: %w", err)
	w.failAll(f.reqs, w.stopped)
}

// failAll fails every request with err, wrapped with its stream.
func (w *writer) failAll(reqs []*appendRequest, err error) {
	for _, r := range reqs {
		r.result = ledger.AppendResult{}
		r.err = fmt.Errorf("append %s: %w", r.stream, err)
	}
}

// checkUnapplied makes sure a batch whose apply failed left no trace, as
// it normally does: then the writer's state is still right and it carries
// on. If the batch is visible all the same, writing on would overwrite its
// keys, so the store takes no more appends.
func (w *writer) checkUnapplied(cause error) {
	last, _, err := loadTail(w.s.db)
	if err == nil && last == w.lastPos {
		return
	}
	if err == nil {
		err = fmt.Errorf("failed batch is visible up to position %d", last)
	}
	w.s.log.Error("pebblestore state unknown after failed commit; the store takes no more appends", "err", err)
	w.s.setFailure(fmt.Errorf("commit: %w", cause))
}

// plan checks r against the store and the earlier requests of the batch
// and, if it passes, writes its events to b after *pos, advancing *pos and
// setting r.result. It returns r's error otherwise.
func (w *writer) plan(b *pebble.Batch, r *appendRequest, pos *ledger.Position) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if dup, err := w.checkIDs(r); err != nil || dup {
		return err
	}
	head, exists, err := w.head(r.stream)
	if err != nil {
		return fmt.Errorf("append %s: %w", r.stream, err)
	}
	if err := r.expected.Check(r.stream, head, exists); err != nil {
		return err
	}
	rev := ledger.Revision(0)
	if exists {
		rev = head + 1
	} else {
		w.newStreams = append(w.newStreams, r.stream)
	}
	p := *pos
	for i := range r.events {
		e := &r.events[i]
		p++
		op := b.SetDeferred(posKeyLen, recordLen(p, r.streamPart, rev, e, w.recordedAt))
		putPosKey(op.Key, p)
		appendRecord(op.Value[:0], p, r.streamPart, rev, e, w.recordedAt)
		w.tailBuf = append(w.tailBuf, op.Value...)
		w.tailEnds = append(w.tailEnds, len(w.tailBuf))
		op.Finish()

		w.addIndex(appendStreamKey(w.indexKeys, r.stream, rev), p)
		w.addIndex(appendIDKey(w.indexKeys, e.id), p)
		w.pending[e.id] = idLoc{stream: r.stream, rev: rev, pos: p}
		rev++
	}
	*pos = p
	w.pendingHeads[r.stream] = rev - 1
	r.result = ledger.AppendResult{Revision: rev - 1, Position: p}
	return nil
}

// indexEntry is a stream or ID key the batch writes, pointing to pos; its
// key is w.indexKeys[start:end].
type indexEntry struct {
	start, end int
	pos        ledger.Position
}

// addIndex notes that the key ending w.indexKeys, as extended to keys,
// points to pos.
func (w *writer) addIndex(keys []byte, pos ledger.Position) {
	start := len(w.indexKeys)
	w.indexKeys = keys
	w.index = append(w.index, indexEntry{start: start, end: len(keys), pos: pos})
}

// writeIndex writes the batch's stream and ID keys to b, sorted: Pebble
// inserts a batch's keys into its memtable in batch order, remembering
// where the previous key went, so keys that follow each other in sort
// order are far cheaper to insert than keys that jump about.
func (w *writer) writeIndex(b *pebble.Batch) {
	keys := w.indexKeys
	slices.SortFunc(w.index, func(x, y indexEntry) int {
		return bytes.Compare(keys[x.start:x.end], keys[y.start:y.end])
	})
	for _, e := range w.index {
		op := b.SetDeferred(e.end-e.start, 8)
		copy(op.Key, keys[e.start:e.end])
		binary.BigEndian.PutUint64(op.Value, uint64(e.pos))
		op.Finish()
	}
}

// checkIDs looks r's event IDs up. If none is known it returns false and
// nil. If all are r's stream's at consecutive revisions, in order, it sets
// r.result to the original result and returns true. Otherwise it returns
// an error wrapping ledger.ErrDuplicateEventID.
func (w *writer) checkIDs(r *appendRequest) (bool, error) {
	known := 0
	consecutive := true // every event known, at first.rev+i
	var first, last idLoc
	var elsewhere error
	for i := range r.events {
		id := r.events[i].id
		loc, ok, err := w.lookupID(id)
		if err != nil {
			return false, fmt.Errorf("append %s: %w", r.stream, err)
		}
		if !ok {
			consecutive = false
			continue
		}
		known++
		if loc.stream != r.stream && elsewhere == nil {
			elsewhere = fmt.Errorf("append %s: event %s is already in stream %s at revision %d: %w",
				r.stream, id, loc.stream, loc.rev, ledger.ErrDuplicateEventID)
		}
		if i == 0 {
			first = loc
		} else if loc.rev != first.rev+ledger.Revision(i) {
			consecutive = false
		}
		last = loc
	}
	switch {
	case known == 0:
		return false, nil
	case elsewhere != nil:
		return false, elsewhere
	case known < len(r.events):
		return false, fmt.Errorf("append %s: %d of its %d events were appended before, the rest not: %w",
			r.stream, known, len(r.events), ledger.ErrDuplicateEventID)
	case !consecutive:
		return false, fmt.Errorf("append %s: its events were appended before, but not at consecutive revisions in this order: %w",
			r.stream, ledger.ErrDuplicateEventID)
	}
	r.result = ledger.AppendResult{Revision: last.rev, Position: last.pos, Duplicate: true}
	return true, nil
}

// lookupID returns where id was written, by this batch or before it.
func (w *writer) lookupID(id ledger.EventID) (idLoc, bool, error) {
	if loc, ok := w.pending[id]; ok {
		return loc, true, nil
	}
	w.key = appendIDKey(w.key[:0], id)
	if !w.filter.MayContain(w.key) {
		return idLoc{}, false, nil
	}
	v, ok, err := get(w.s.idx, w.val[:0], w.key)
	if err != nil || !ok {
		return idLoc{}, false, err
	}
	w.val = v
	p, ok := decodeUint64(v)
	if !ok {
		return idLoc{}, false, fmt.Errorf("%w: index entry of event %s is %x", ErrCorrupt, id, v)
	}
	pos := ledger.Position(p)
	w.key = appendPosKey(w.key[:0], pos)
	v, ok, err = get(w.s.db, w.val[:0], w.key)
	if err != nil {
		return idLoc{}, false, err
	}
	if !ok {
		return idLoc{}, false, fmt.Errorf("%w: event %s is indexed at position %d, which has no record", ErrCorrupt, id, pos)
	}
	w.val = v
	e, err := decodeRecord(v)
	if err != nil {
		return idLoc{}, false, err
	}
	if e.ID != id || e.Position != pos {
		return idLoc{}, false, fmt.Errorf("%w: event %s is indexed at position %d, which holds %s at %d", ErrCorrupt, id, pos, e.ID, e.Position)
	}
	return idLoc{stream: e.Stream, rev: e.Revision, pos: pos}, true, nil
}

// head returns the revision of stream's last event and true, or false if
// the stream has no events, as the batch leaves it so far.
func (w *writer) head(stream string) (ledger.Revision, bool, error) {
	if rev, ok := w.pendingHeads[stream]; ok {
		return rev, true, nil
	}
	if rev, ok := w.heads.get(stream); ok {
		return rev, true, nil
	}
	// Revisions start at 0 without gaps, so a stream exists if it has
	// revision 0. A point lookup lets the bloom filters skip every table
	// for a new stream.
	w.key = appendStreamFilterKey(w.key[:0], stream)
	if !w.filter.MayContain(w.key) {
		return 0, false, nil
	}
	w.key = appendStreamKey(w.key[:0], stream, 0)
	v, ok, err := get(w.s.idx, w.val[:0], w.key)
	if err != nil || !ok {
		return 0, false, err
	}
	w.val = v
	// The last revision is the last key of the stream's range, found with
	// one iterator per batch.
	if w.it == nil {
		if w.it, err = w.s.idx.NewIter(nil); err != nil {
			return 0, false, err
		}
	}
	it := w.it
	w.key = appendStreamEnd(w.key[:0], stream)
	if !it.SeekLT(w.key) {
		if err := it.Error(); err != nil {
			return 0, false, err
		}
		return 0, false, fmt.Errorf("%w: stream %s has revision 0 but no last revision", ErrCorrupt, stream)
	}
	k := it.Key()
	prefix := appendStreamPrefix(w.key[:0], stream)
	if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0, false, fmt.Errorf("%w: stream %s has revision 0 but no last revision", ErrCorrupt, stream)
	}
	rev := revFromStreamKey(k)
	w.heads.put(stream, rev)
	return rev, true, nil
}

// seekExact positions it at key and returns its value, valid until the
// iterator moves, and whether key is there.
func seekExact(it *pebble.Iterator, key []byte) ([]byte, bool, error) {
	if !it.SeekGE(key) {
		return nil, false, it.Error()
	}
	if !bytes.Equal(it.Key(), key) {
		return nil, false, nil
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// get appends the value of key to dst and reports whether key is there. A
// point lookup consults the bloom filters, so a key that is absent, like
// nearly every new event ID, costs little more than a memtable probe.
func get(db *pebble.DB, dst, key []byte) ([]byte, bool, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, err
	}
	dst = append(dst, v...)
	closer.Close()
	return dst, true, nil
}
