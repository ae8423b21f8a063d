package pebblestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/go-cmp/cmp"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// sameTime compares times as the store's readers see them: the same
// instant, written the same way (offset and zone name included).
var sameTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.String() == b.String() })

// diffEvents returns "" if got holds the same events as want, field for
// field, and otherwise a diff of the first that differs. (cmp.Diff of
// thousands of events takes seconds.)
func diffEvents(want, got []ledger.Event) string {
	for i := range min(len(want), len(got)) {
		w, g := want[i], got[i]
		if w.ID != g.ID || w.Type != g.Type || w.Stream != g.Stream || w.Revision != g.Revision ||
			w.Position != g.Position || w.Actor != g.Actor || w.Schema != g.Schema ||
			!bytes.Equal(w.Data, g.Data) || (w.Data == nil) != (g.Data == nil) ||
			!w.RecordedAt.Equal(g.RecordedAt) || w.RecordedAt.String() != g.RecordedAt.String() ||
			!w.OccurredAt.Equal(g.OccurredAt) || w.OccurredAt.String() != g.OccurredAt.String() {
			return fmt.Sprintf("event %d:\n%s", i, cmp.Diff(w, g, sameTime))
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%d events, want %d", len(got), len(want))
	}
	return ""
}

// endType is the type of the event that tells a test's followers to stop.
const endType = "TestEnded"

// follower is a subscription run by a test until it yields an event of
// endType or an error.
type follower struct {
	after  ledger.Position
	filter ledger.Filter
	events []ledger.Event
	err    error
	done   chan struct{}
}

// follow subscribes to s after position with filter, which must pass
// events of endType.
func follow(ctx context.Context, s *Store, after ledger.Position, filter ledger.Filter) *follower {
	f := &follower{after: after, filter: filter, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for e, err := range s.Subscribe(ctx, after, filter) {
			if err != nil {
				f.err = err
				return
			}
			f.events = append(f.events, e)
			if e.Type == endType {
				return
			}
		}
	}()
	return f
}

// mustReopenReadAll closes s, opens its directory again (with an empty
// tail, so that every read comes from the database) and returns what
// ReadAll yields after each of afters, with filters[i].
func mustReopenReadAll(t *testing.T, s *Store, dir string, afters []ledger.Position, filters []ledger.Filter) [][]ledger.Event {
	t.Helper()
	s2 := mustReopen(t, s, dir)
	if s2.tail.n != 0 {
		t.Fatalf("a reopened store's tail holds %d records, want none", s2.tail.n)
	}
	out := make([][]ledger.Event, len(afters))
	for i, after := range afters {
		out[i] = storetest.MustReadAll(t, s2, after, filters[i], 0)
	}
	return out
}

// TestStore_TailFollowersConcurrent checks that followers of a log that
// fits in the tail, fed from it while many goroutines append (some
// appends failing, some retried), see exactly the events a reopened store
// reads from the database, field for field, each decoded once and shared.
func TestStore_TailFollowersConcurrent(t *testing.T) {
	s, dir := openTailTestStore(t)
	ctx := t.Context()
	voids := ledger.Filter{StreamPrefixes: []string{"patient-1", "end-"}, Types: []string{"DoseVoided", endType}}
	followers := []*follower{
		follow(ctx, s, ledger.Start, ledger.Filter{}),
		follow(ctx, s, ledger.Start, ledger.Filter{}),
		follow(ctx, s, ledger.Start, ledger.Filter{}),
		follow(ctx, s, ledger.Start, voids),
	}
	var lateMu sync.Mutex // guards late
	var late []*follower

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 60 {
				stream := fmt.Sprintf("patient-%d", (g+i)%5)
				typ := "DoseAdministered"
				if i%3 == 0 {
					typ = "DoseVoided"
				}
				events := storetest.NewEvents(typ, 1+i%3)
				res, err := s.Append(ctx, stream, ledger.Any(), events...)
				if err != nil {
					t.Error(err)
					return
				}
				// A retry writes nothing; a stale revision fails in the
				// batch it lands in.
				if dup, err := s.Append(ctx, stream, ledger.NoStream(), events...); err != nil || !dup.Duplicate || dup.Position != res.Position {
					t.Errorf("retry = %+v, %v; want a duplicate at %d", dup, err, res.Position)
				}
				if _, err := s.Append(ctx, stream, ledger.Exact(1<<40), storetest.NewEvent(typ, 0)); !errors.Is(err, ledger.ErrWrongRevision) {
					t.Errorf("append at a stale revision: err = %v, want ErrWrongRevision", err)
				}
				if i == 30 && g < 2 {
					// Followers that start mid-way, from the start and
					// from a little before the newest event.
					from := ledger.Start
					if g == 1 {
						from = res.Position - 5
					}
					lateMu.Lock()
					late = append(late, follow(ctx, s, from, ledger.Filter{}))
					lateMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	storetest.MustAppend(t, s, "end-1", ledger.NoStream(), storetest.NewEvent(endType, 0))
	followers = append(followers, late...)
	for _, f := range followers {
		<-f.done
		if f.err != nil {
			t.Fatalf("follower after %d: %v", f.after, f.err)
		}
	}
	if s.tail.next != storetest.MustLastPosition(t, s)+1 || int(s.tail.next-1) != s.tail.n {
		t.Fatalf("tail holds %d records up to %d; want the whole log, %d records", s.tail.n, s.tail.next-1, storetest.MustLastPosition(t, s))
	}

	// Every event came from the tail: the first two followers share each
	// event's Data.
	a, b := followers[0].events, followers[1].events
	if len(a) != len(b) {
		t.Fatalf("followers saw %d and %d events", len(a), len(b))
	}
	for i := range a {
		if &a[i].Data[0] != &b[i].Data[0] {
			t.Fatalf("event at %d was decoded twice, not shared from the tail", a[i].Position)
		}
	}

	afters := make([]ledger.Position, len(followers))
	filters := make([]ledger.Filter, len(followers))
	for i, f := range followers {
		afters[i], filters[i] = f.after, f.filter
	}
	want := mustReopenReadAll(t, s, dir, afters, filters)
	for i, f := range followers {
		if diff := diffEvents(want[i], f.events); diff != "" {
			t.Errorf("follower %d (after %d) differs from the database (-want +got):\n%s", i, f.after, diff)
		}
	}
	if n := len(want[0]); n < 8*60 {
		t.Errorf("log has %d events, want at least %d", n, 8*60)
	}
}

// TestStore_TailFallback checks reads of a log longer than the tail:
// followers and ReadAll start in the database and carry on in the tail
// while appends go on, without a gap or a repeat where they change over.
func TestStore_TailFallback(t *testing.T) {
	s, dir := openTailTestStore(t)
	ctx := t.Context()
	for i := 0; i < tailRecords+1000; i += 100 {
		storetest.MustAppend(t, s, fmt.Sprintf("patient-%d", i), ledger.NoStream(), storetest.NewEvents("DoseAdministered", 100)...)
	}
	last := storetest.MustLastPosition(t, s)
	first := s.tail.next - ledger.Position(s.tail.n)
	if s.tail.n != tailRecords || s.tail.next != last+1 {
		t.Fatalf("tail holds %d records up to %d, want %d up to %d", s.tail.n, s.tail.next-1, tailRecords, last)
	}

	// ReadAll from around the tail's oldest record, at the chunk's edge
	// too, reads what a reopened store reads.
	afters := []ledger.Position{ledger.Start, first - readChunk - 1, first - readChunk, first - 2, first - 1, first, first + 1, last - 1}
	filters := make([]ledger.Filter, len(afters))
	got := make([][]ledger.Event, len(afters))
	for i, after := range afters {
		got[i] = storetest.MustReadAll(t, s, after, ledger.Filter{}, 0)
	}

	followers := []*follower{
		follow(ctx, s, ledger.Start, ledger.Filter{}),
		follow(ctx, s, first-3, ledger.Filter{}),
		follow(ctx, s, last, ledger.Filter{}),
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := s.Append(ctx, fmt.Sprintf("patient-new-%d", g), ledger.Any(), storetest.NewEvents("DoseAdministered", 1+i%4)...); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	storetest.MustAppend(t, s, "end-1", ledger.NoStream(), storetest.NewEvent(endType, 0))
	for _, f := range followers {
		<-f.done
		if f.err != nil {
			t.Fatalf("follower after %d: %v", f.after, f.err)
		}
		afters = append(afters, f.after)
		filters = append(filters, f.filter)
		got = append(got, f.events)
	}

	want := mustReopenReadAll(t, s, dir, afters, filters)
	for i := range afters {
		if i < len(afters)-len(followers) {
			// ReadAll ran before the later appends.
			want[i] = want[i][:int(last-afters[i])]
		}
		if diff := diffEvents(want[i], got[i]); diff != "" {
			t.Errorf("read %d, after %d, differs from the database (-want +got):\n%s", i, afters[i], diff)
		}
	}
}

// TestStore_TailUncommitted checks that a batch applied but not yet synced
// is served to no reader, and nor is one whose sync fails, though both
// are in the database.
func TestStore_TailUncommitted(t *testing.T) {
	s, dir := openTailTestStore(t)
	errSync := errors.New("fdatasync: input/output error")
	hold := make(chan struct{})
	held := make(chan struct{})
	var holding sync.Once
	var fail bool // written before hold is closed, read after
	// Set before the first Append, which orders it before the syncer's
	// reads.
	s.syncWait = func(b *pebble.Batch) error {
		err := b.SyncWait()
		if b.Count() == 3 { // the held batch: 3 events, a record each
			holding.Do(func() { close(held) })
			<-hold
			if fail {
				return errSync
			}
		}
		return err
	}
	ctx := t.Context()
	committed := storetest.MustAppend(t, s, "patient-1", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 0))
	f := follow(ctx, s, ledger.Start, ledger.Filter{})
	before := storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)

	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "patient-2", ledger.NoStream(), storetest.NewEvents("DoseAdministered", 3)...)
		appended <- err
	}()
	<-held
	// The batch is in the database and its sync done; only its report is
	// held.
	if v, ok, err := get(s.db, nil, appendPosKey(nil, committed.Position+1)); err != nil || !ok || len(v) == 0 {
		t.Fatalf("held batch not in the database: %v, %v", ok, err)
	}
	if got := storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0); len(got) != 1 {
		t.Errorf("ReadAll while a batch syncs: %d events, want 1", len(got))
	}
	if got := storetest.MustReadAll(t, s, committed.Position, ledger.Filter{}, 0); len(got) != 0 {
		t.Errorf("ReadAll after the newest committed event while a batch syncs: %d events, want none", len(got))
	}
	if recs, ok := s.tail.read(ledger.Start, ledger.Position(s.committed.Load()), readChunk); !ok || len(recs) != 1 {
		t.Errorf("tail read while a batch syncs: %d records, %v; want 1", len(recs), ok)
	}
	fail = true
	close(hold)
	if err := <-appended; !errors.Is(err, errSync) {
		t.Fatalf("append whose sync fails: err = %v, want the sync error", err)
	}
	if got := storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0); len(got) != 1 {
		t.Errorf("ReadAll after a failed sync: %d events, want 1", len(got))
	}
	if s.tail.n != 1 {
		t.Errorf("tail holds %d records after a failed sync, want 1", s.tail.n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-f.done
	if !errors.Is(f.err, ledger.ErrClosed) {
		t.Errorf("follower ended with %v, want ErrClosed", f.err)
	}
	if diff := diffEvents(before, f.events); diff != "" {
		t.Errorf("follower saw other than the committed events (-want +got):\n%s", diff)
	}

	// The failed batch was synced all the same: a reopened store has it,
	// from the database, and follows on from it from the tail.
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f = follow(ctx, s, ledger.Start, ledger.Filter{})
	storetest.MustAppend(t, s, "end-1", ledger.NoStream(), storetest.NewEvent(endType, 0))
	<-f.done
	if f.err != nil {
		t.Fatal(f.err)
	}
	want := mustReopenReadAll(t, s, dir, []ledger.Position{ledger.Start}, []ledger.Filter{{}})
	if len(want[0]) != 5 {
		t.Errorf("reopened log has %d events, want 5", len(want[0]))
	}
	if diff := diffEvents(want[0], f.events); diff != "" {
		t.Errorf("follower after reopening (-want +got):\n%s", diff)
	}
}

// TestStore_TailCommitFailure checks that a batch the engine fails to
// apply never reaches the tail, and that the next batch, which takes its
// positions, follows on without a gap.
func TestStore_TailCommitFailure(t *testing.T) {
	s, dir := openTailTestStore(t)
	errFire := errors.New("disk on fire")
	var fail bool // set and cleared between appends, which order it
	s.w.commit = func(b *pebble.Batch) error {
		if fail {
			return errFire
		}
		return b.Commit(pebble.Sync)
	}
	ctx := t.Context()
	f := follow(ctx, s, ledger.Start, ledger.Filter{})
	storetest.MustAppend(t, s, "patient-1", ledger.NoStream(), storetest.NewEvents("DoseAdministered", 2)...)
	fail = true
	lost := storetest.NewEvents("DoseVoided", 2)
	if _, err := s.Append(ctx, "patient-2", ledger.NoStream(), lost...); !errors.Is(err, errFire) {
		t.Fatalf("append whose commit fails: err = %v, want the commit error", err)
	}
	fail = false
	storetest.MustAppend(t, s, "patient-3", ledger.NoStream(), storetest.NewEvents("DoseAdministered", 3)...)
	storetest.MustAppend(t, s, "end-1", ledger.NoStream(), storetest.NewEvent(endType, 0))
	<-f.done
	if f.err != nil {
		t.Fatal(f.err)
	}
	for i, e := range f.events {
		if e.Position != ledger.Position(i+1) || e.ID == lost[0].ID || e.ID == lost[1].ID {
			t.Errorf("event %d: %s at position %d", i, e.ID, e.Position)
		}
	}
	want := mustReopenReadAll(t, s, dir, []ledger.Position{ledger.Start}, []ledger.Filter{{}})
	if diff := diffEvents(want[0], f.events); diff != "" {
		t.Errorf("follower differs from the database (-want +got):\n%s", diff)
	}
}

// tailBatch returns n records at positions from on, each size bytes.
func tailBatch(from ledger.Position, n, size int) []tailRecord {
	buf := []byte(strings.Repeat("r", n*size))
	recs := make([]tailRecord, n)
	for i := range recs {
		recs[i] = tailRecord{pos: from + ledger.Position(i), raw: buf[i*size : (i+1)*size : (i+1)*size]}
	}
	return recs
}

// TestTail_Bounds checks the tail's bounds and that it never holds a gap.
func TestTail_Bounds(t *testing.T) {
	check := func(tl *tail, first, next ledger.Position) {
		t.Helper()
		if got := tl.next - ledger.Position(tl.n); tl.n > 0 && got != first || tl.next != next {
			t.Fatalf("tail holds %d records up to %d, want %d to %d", tl.n, tl.next-1, first, next-1)
		}
		if tl.n > tailRecords || tl.size > tailBytes {
			t.Fatalf("tail holds %d records, %d bytes: over its bounds", tl.n, tl.size)
		}
		size := 0
		for i := range tl.n {
			r := tl.ring[(tl.start+i)%len(tl.ring)]
			if r.pos != first+ledger.Position(i) {
				t.Fatalf("record %d of the tail is at %d, want %d", i, r.pos, first+ledger.Position(i))
			}
			size += len(r.raw)
		}
		if size != tl.size {
			t.Fatalf("tail counts %d bytes, holds %d", tl.size, size)
		}
		if _, ok := tl.read(first-2, next-1, readChunk); ok && first > 1 {
			t.Errorf("tail read from before its oldest record succeeded")
		}
		if _, ok := tl.read(first, next, readChunk); ok {
			t.Errorf("tail read up to a position it does not hold succeeded")
		}
		if tl.n > 0 {
			recs, ok := tl.read(first-1, next-1, readChunk)
			if !ok || len(recs) != min(tl.n, readChunk) || recs[0].pos != first {
				t.Errorf("tail read from its oldest record: %d records, %v", len(recs), ok)
			}
		}
	}
	tl := newTail(11)
	check(tl, 11, 11)
	tl.add(tailBatch(11, 100, 500))
	check(tl, 11, 111)
	tl.add(tailBatch(111, tailRecords, 100)) // the count bound
	check(tl, 111, 111+tailRecords)
	next := ledger.Position(111 + tailRecords)
	tl.add(tailBatch(next, 3000, 2000)) // the bytes bound
	next += 3000
	check(tl, next-tailBytes/2000, next)
	big := tailBatch(next, 10, 3*tailBytes/10) // a batch bigger than the tail
	tl.add(big)
	next += 10
	check(tl, next-3, next)
	if &tl.ring[tl.start].raw[0] == &big[7].raw[0] {
		t.Errorf("the tail keeps the buffer of a batch bigger than itself")
	}
	tl.add(tailBatch(next+5, 4, 10)) // a gap
	next += 9
	check(tl, next-4, next)
	tl.clear()
	check(tl, next, next)
	tl.add(tailBatch(next, 1, 10))
	check(tl, next, next+1)
}

// mustReopen closes s and opens its directory again, for reads that must
// come from the database (a reopened store's tail is empty). The new
// store is closed when the test ends.
func mustReopen(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// openTailTestStore opens a store in a new directory, closed when the test
// ends, and returns it with its directory for reopening.
func openTailTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}
