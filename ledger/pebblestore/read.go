package pebblestore

import (
	"context"
	"fmt"
	"iter"
	"math"
	"runtime"
	"sync"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
)

// readChunk is the number of records a read takes from the database at a
// time. Reads hold no engine resources while they yield, so a slow loop
// body neither pins memtables nor holds up Close.
const readChunk = 256

// rawRecord is a record read from the database, not yet decoded.
type rawRecord struct {
	pos   ledger.Position
	rev   ledger.Revision // for stream reads
	value []byte
}

// ReadStream yields stream's events in opts' order and range. A stream with
// no events, or a name no stream can have, yields nothing; reading forwards
// with opts.FromEnd yields nothing either. The sequence ends with ctx's
// error when ctx is done, with an error wrapping ledger.ErrClosed if the
// store is closed, and with one wrapping ErrCorrupt at a record that does
// not decode.
func (s *Store) ReadStream(ctx context.Context, stream string, opts ledger.ReadOptions) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		if ledger.ValidateStream(stream) != nil {
			return
		}
		backwards := opts.Direction == ledger.Backwards
		if opts.FromEnd && !backwards {
			return
		}
		fromEnd := opts.FromEnd
		next := opts.From
		remaining := max(opts.Max, 0)
		for {
			if err := ctx.Err(); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			n := readChunk
			if remaining > 0 && remaining < n {
				n = remaining
			}
			var recs []rawRecord
			err := s.view(func(log, index *pebble.DB) error {
				var err error
				recs, err = readStreamChunk(log, index, stream, backwards, fromEnd, next, n, ledger.Position(s.committed.Load()))
				return err
			})
			if err != nil {
				yield(ledger.Event{}, fmt.Errorf("read stream %s: %w", stream, err))
				return
			}
			for _, rr := range recs {
				e, err := decodeRecord(rr.value)
				if err == nil && (e.Position != rr.pos || e.Stream != stream || e.Revision != rr.rev) {
					err = fmt.Errorf("%w: stream %s revision %d points to position %d, which holds %s revision %d at %d",
						ErrCorrupt, stream, rr.rev, rr.pos, e.Stream, e.Revision, e.Position)
				}
				if err != nil {
					yield(ledger.Event{}, fmt.Errorf("read stream %s: %w", stream, err))
					return
				}
				if !yield(e, nil) {
					return
				}
			}
			if len(recs) < n {
				return
			}
			if remaining > 0 {
				if remaining -= len(recs); remaining == 0 {
					return
				}
			}
			last := recs[len(recs)-1].rev
			if backwards {
				if last == 0 {
					return
				}
				next, fromEnd = last-1, false
			} else {
				if last == math.MaxUint64 {
					return
				}
				next = last + 1
			}
		}
	}
}

// readStreamChunk reads up to n of stream's committed records, from
// revision next onwards or, backwards, from next (or the end) down.
func readStreamChunk(log, index *pebble.DB, stream string, backwards, fromEnd bool, next ledger.Revision, n int, committed ledger.Position) ([]rawRecord, error) {
	var lower, upper []byte
	switch {
	case !backwards:
		lower = appendStreamKey(nil, stream, next)
		upper = appendStreamEnd(nil, stream)
	case fromEnd || next == math.MaxUint64:
		lower = appendStreamPrefix(nil, stream)
		upper = appendStreamEnd(nil, stream)
	default:
		lower = appendStreamPrefix(nil, stream)
		upper = appendStreamKey(nil, stream, next+1)
	}
	it, err := index.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	keyLen := streamKeyLen(stream)
	var recs []rawRecord
	valid := it.First()
	if backwards {
		valid = it.Last()
	}
	for ; valid && len(recs) < n; valid = step(it, backwards) {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		p, ok := decodeUint64(v)
		if len(k) != keyLen || !ok {
			return nil, fmt.Errorf("%w: stream key %x holds %x", ErrCorrupt, k, v)
		}
		pos := ledger.Position(p)
		if pos > committed {
			// Written by the batch being synced: not visible yet, and
			// nor is anything after it.
			if backwards {
				continue
			}
			break
		}
		recs = append(recs, rawRecord{pos: pos, rev: revFromStreamKey(k)})
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	// The records themselves, read in position order whatever the direction.
	pit, err := log.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixPosition},
		UpperBound: []byte{prefixPosition + 1},
	})
	if err != nil {
		return nil, err
	}
	defer pit.Close()
	var arena []byte
	ends := make([]int, len(recs))
	key := make([]byte, 0, posKeyLen)
	for i := range recs {
		j := i
		if backwards {
			j = len(recs) - 1 - i
		}
		key = appendPosKey(key[:0], recs[j].pos)
		v, ok, err := seekExact(pit, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: stream %s revision %d points to position %d, which has no record", ErrCorrupt, stream, recs[j].rev, recs[j].pos)
		}
		arena = append(arena, v...)
		ends[j] = len(arena)
	}
	for i := range recs {
		start := 0
		if backwards && i+1 < len(recs) {
			start = ends[i+1]
		} else if !backwards && i > 0 {
			start = ends[i-1]
		}
		recs[i].value = arena[start:ends[i]:ends[i]]
	}
	return recs, nil
}

func step(it *pebble.Iterator, backwards bool) bool {
	if backwards {
		return it.Prev()
	}
	return it.Next()
}

// ReadAll yields the events after position that pass filter, in order, up
// to max events (0 for no limit). The sequence ends with ctx's error when
// ctx is done, with an error wrapping ledger.ErrClosed if the store is
// closed, and with one wrapping ErrCorrupt at a record that does not decode.
// Events read from the tail share their Data with other readers: treat it
// as read-only.
func (s *Store) ReadAll(ctx context.Context, after ledger.Position, filter ledger.Filter, max int) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		n := 0
		var buf chunkBuffers
		for {
			if err := ctx.Err(); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			chunk, err := s.readLogChunk(after, &buf)
			if err != nil {
				yield(ledger.Event{}, fmt.Errorf("read all: %w", err))
				return
			}
			events, decodeErr := chunk.decode()
			for _, e := range events {
				after = e.Position
				if !filter.Match(e.Stream, e.Type) {
					continue
				}
				if !yield(e, nil) {
					return
				}
				if n++; max > 0 && n >= max {
					return
				}
			}
			if decodeErr != nil {
				yield(ledger.Event{}, fmt.Errorf("read all: %w", decodeErr))
				return
			}
			if chunk.len() < readChunk {
				return
			}
		}
	}
}

// Subscribe yields the events after position that pass filter: first
// those stored, then each new one once its batch is committed, until ctx is
// done or the loop stops. The sequence ends with ctx's error when ctx is
// done, with an error wrapping ledger.ErrClosed when the store closes, and
// with one wrapping ErrCorrupt at a record that does not decode. Events
// read from the tail share their Data with other readers: treat it as
// read-only.
func (s *Store) Subscribe(ctx context.Context, after ledger.Position, filter ledger.Filter) iter.Seq2[ledger.Event, error] {
	return func(yield func(ledger.Event, error) bool) {
		var buf chunkBuffers
		for {
			// Take the wake-up channel before reading, so that a commit
			// after the read wakes us.
			wake := s.wakeChan()
			if err := ctx.Err(); err != nil {
				yield(ledger.Event{}, err)
				return
			}
			chunk, err := s.readLogChunk(after, &buf)
			if err != nil {
				yield(ledger.Event{}, fmt.Errorf("subscribe: %w", err))
				return
			}
			events, decodeErr := chunk.decode()
			for _, e := range events {
				after = e.Position
				if filter.Match(e.Stream, e.Type) && !yield(e, nil) {
					return
				}
			}
			if decodeErr != nil {
				yield(ledger.Event{}, fmt.Errorf("subscribe: %w", decodeErr))
				return
			}
			if chunk.len() == readChunk {
				continue
			}
			select {
			case <-wake:
			case <-ctx.Done():
				yield(ledger.Event{}, ctx.Err())
				return
			case <-s.closing:
				yield(ledger.Event{}, fmt.Errorf("subscribe: %w", ledger.ErrClosed))
				return
			}
		}
	}
}

// logChunk is up to readChunk committed records of the log, in order,
// read from the database or taken from the tail.
type logChunk struct {
	recs []rawRecord
	tail []*tailRecord
}

// len returns the number of records in c.
func (c logChunk) len() int { return len(c.recs) + len(c.tail) }

// decode returns c's events in order. At a record that does not decode it
// returns the events before it and the error.
func (c logChunk) decode() ([]ledger.Event, error) {
	if c.tail != nil {
		return decodeChunk(len(c.tail), func(i int) (ledger.Event, error) { return c.tail[i].decoded() })
	}
	return decodeChunk(len(c.recs), func(i int) (ledger.Event, error) { return decodeLogRecord(c.recs[i]) })
}

// chunkBuffers are a log reader's buffers for the records it reads from
// the database, reused from one chunk to the next: a chunk is decoded
// before the next is read, and its events keep nothing of these buffers
// (the record decoder works on its own copy; TestStore_ReadAllReusesNothing).
// Growing a new arena for every chunk, copying and clearing it at each
// doubling, was about an eighth of a 10-million-event replay's CPU, and
// reusing them took the replay from 111,000 to 165,000 events/s
// (BENCHMARKS.md, issue 3). A reader served from the tail drops them.
type chunkBuffers struct {
	recs  []rawRecord
	arena []byte // the records' values, one after another
	ends  []int  // where each record's value ends in arena
}

// readLogChunk reads up to readChunk committed records after position:
// from the tail if it holds them all, as it does for a reader that is
// keeping up, and otherwise from the database, into buf.
func (s *Store) readLogChunk(after ledger.Position, buf *chunkBuffers) (logChunk, error) {
	var c logChunk
	err := s.view(func(log, _ *pebble.DB) error {
		committed := ledger.Position(s.committed.Load())
		if after >= committed {
			return nil
		}
		if recs, ok := s.tail.read(after, committed, readChunk); ok {
			c.tail = recs
			*buf = chunkBuffers{} // a follower that has caught up needs them no more
			return nil
		}
		it, err := log.NewIter(&pebble.IterOptions{
			LowerBound: appendPosKey(nil, after+1),
			UpperBound: appendPosKey(nil, committed+1),
		})
		if err != nil {
			return err
		}
		defer it.Close()
		recs, arena, ends := buf.recs[:0], buf.arena[:0], buf.ends[:0]
		for valid := it.First(); valid && len(recs) < readChunk; valid = it.Next() {
			pos, ok := posFromPosKey(it.Key())
			if !ok {
				return fmt.Errorf("%w: bad record key %x", ErrCorrupt, it.Key())
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			arena = append(arena, v...)
			ends = append(ends, len(arena))
			recs = append(recs, rawRecord{pos: pos})
		}
		if err := it.Error(); err != nil {
			return err
		}
		start := 0
		for i := range recs {
			recs[i].value = arena[start:ends[i]:ends[i]]
			start = ends[i]
		}
		c.recs = recs
		clear(recs[len(recs):cap(recs)]) // a shorter chunk leaves older values behind
		buf.recs, buf.arena, buf.ends = recs, arena, ends
		return nil
	})
	return c, err
}

// decodeChunk returns the n events that decode returns for 0 to n-1, in
// order; at the first error it returns the events before it and the
// error. A full chunk is split across the cores: decoding records is most
// of the cost of reading the log, and a replay reads all of it.
func decodeChunk(n int, decode func(i int) (ledger.Event, error)) ([]ledger.Event, error) {
	events := make([]ledger.Event, n)
	errs := make([]error, n)
	run := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if events[i], errs[i] = decode(i); errs[i] != nil {
				return
			}
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || n < readChunk/2 {
		run(0, n)
	} else {
		var wg sync.WaitGroup
		step := (n + workers - 1) / workers
		for lo := 0; lo < n; lo += step {
			wg.Go(func() { run(lo, min(lo+step, n)) })
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			return events[:i], err
		}
	}
	return events, nil
}

// decodeLogRecord decodes a record read from the log and checks it is the
// one its key says.
func decodeLogRecord(rr rawRecord) (ledger.Event, error) {
	e, err := decodeRecord(rr.value)
	if err != nil {
		return ledger.Event{}, err
	}
	if e.Position != rr.pos {
		return ledger.Event{}, fmt.Errorf("%w: record under key %d says position %d", ErrCorrupt, rr.pos, e.Position)
	}
	return e, nil
}

// StreamHead returns the revision of stream's last committed event and
// true, or false if it has none. It returns ctx's error if ctx is done, and
// an error wrapping ledger.ErrClosed if the store is closed.
func (s *Store) StreamHead(ctx context.Context, stream string) (ledger.Revision, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if ledger.ValidateStream(stream) != nil {
		return 0, false, nil
	}
	var rev ledger.Revision
	var found bool
	err := s.view(func(_, index *pebble.DB) error {
		committed := ledger.Position(s.committed.Load())
		it, err := index.NewIter(&pebble.IterOptions{
			LowerBound: appendStreamPrefix(nil, stream),
			UpperBound: appendStreamEnd(nil, stream),
		})
		if err != nil {
			return err
		}
		defer it.Close()
		for valid := it.Last(); valid; valid = it.Prev() {
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			p, ok := decodeUint64(v)
			if !ok || len(it.Key()) != streamKeyLen(stream) {
				return fmt.Errorf("%w: stream key %x holds %x", ErrCorrupt, it.Key(), v)
			}
			if ledger.Position(p) > committed {
				continue
			}
			rev, found = revFromStreamKey(it.Key()), true
			return nil
		}
		return it.Error()
	})
	if err != nil {
		return 0, false, fmt.Errorf("stream head %s: %w", stream, err)
	}
	return rev, found, nil
}

// FindEvent returns the committed event with id, from whichever stream
// holds it, and true; or false if there is none. It returns ctx's error if
// ctx is done, and an error wrapping ledger.ErrClosed if the store is
// closed.
func (s *Store) FindEvent(ctx context.Context, id ledger.EventID) (ledger.Event, bool, error) {
	if err := ctx.Err(); err != nil {
		return ledger.Event{}, false, err
	}
	var e ledger.Event
	var found bool
	err := s.view(func(log, index *pebble.DB) error {
		committed := ledger.Position(s.committed.Load())
		v, ok, err := get(index, nil, appendIDKey(nil, id))
		if err != nil || !ok {
			return err
		}
		p, ok := decodeUint64(v)
		if !ok {
			return fmt.Errorf("%w: index entry of event %s is %x", ErrCorrupt, id, v)
		}
		pos := ledger.Position(p)
		if pos > committed {
			return nil // applied, not yet durable: not in the log yet
		}
		rec, ok, err := get(log, nil, appendPosKey(nil, pos))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: event %s is indexed at position %d, which has no record", ErrCorrupt, id, pos)
		}
		if e, err = decodeLogRecord(rawRecord{pos: pos, value: rec}); err != nil {
			return err
		}
		if e.ID != id {
			return fmt.Errorf("%w: event %s is indexed at position %d, which holds %s", ErrCorrupt, id, pos, e.ID)
		}
		found = true
		return nil
	})
	if err != nil {
		return ledger.Event{}, false, fmt.Errorf("find event %s: %w", id, err)
	}
	return e, found, nil
}

// LastPosition returns the position of the newest committed event, or
// ledger.Start if there is none. It returns ctx's error if ctx is done, and
// an error wrapping ledger.ErrClosed if the store is closed.
func (s *Store) LastPosition(ctx context.Context) (ledger.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var pos ledger.Position
	err := s.view(func(_, _ *pebble.DB) error {
		pos = ledger.Position(s.committed.Load())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("last position: %w", err)
	}
	return pos, nil
}
