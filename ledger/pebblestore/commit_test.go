package pebblestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"github.com/doseledger/doseledger/ledger"
)

func testEvent(typ string) ledger.Proposed {
	return ledger.Proposed{ID: uuid.New(), Type: typ, OccurredAt: time.Now(), Schema: 1, Data: []byte(`{}`)}
}

// TestStore_CommitFailure checks that a failed commit fails every request
// of its batch and leaves the writer's state as it was.
func TestStore_CommitFailure(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errFire := errors.New("disk on fire")
	var fail atomic.Bool
	var hold atomic.Pointer[chan struct{}]
	entered := make(chan struct{}, 1)
	// Set before the first Append: the request channel orders it before
	// the writer's reads.
	s.w.commit = func(b *pebble.Batch) error {
		failing := fail.Load()
		if h := hold.Load(); h != nil {
			entered <- struct{}{}
			<-*h
		}
		if failing {
			return errFire
		}
		return b.Commit(pebble.Sync)
	}
	ctx := t.Context()
	first, err := s.Append(ctx, "patient-1", ledger.NoStream(), testEvent("DoseAdministered"))
	if err != nil {
		t.Fatal(err)
	}

	// Hold a commit so that the next requests queue up behind it.
	h := make(chan struct{})
	hold.Store(&h)
	var wg sync.WaitGroup
	var a ledger.AppendResult
	var aErr error
	wg.Go(func() { a, aErr = s.Append(ctx, "patient-a", ledger.NoStream(), testEvent("DoseAdministered")) })
	<-entered
	hold.Store(nil)
	failed := []struct {
		stream   string
		expected ledger.ExpectedRevision
		event    ledger.Proposed
	}{
		{"patient-1", ledger.Exact(0), testEvent("DoseVoided")},
		{"patient-new", ledger.NoStream(), testEvent("DoseAdministered")},
		{"patient-new", ledger.Any(), testEvent("DoseAdministered")},
	}
	errs := make([]error, len(failed))
	for i, f := range failed {
		wg.Go(func() { _, errs[i] = s.Append(ctx, f.stream, f.expected, f.event) })
	}
	time.Sleep(50 * time.Millisecond)
	fail.Store(true)
	close(h)
	wg.Wait()
	if aErr != nil || a.Position != first.Position+1 {
		t.Fatalf("held append = %+v, %v; want position %d", a, aErr, first.Position+1)
	}
	for i, err := range errs {
		if !errors.Is(err, errFire) {
			t.Errorf("append %d in the failed batch: err = %v, want the commit error", i, err)
		}
	}

	fail.Store(false)
	if pos, err := s.LastPosition(ctx); err != nil || pos != a.Position {
		t.Errorf("LastPosition = %d, %v; want %d", pos, err, a.Position)
	}
	if _, ok, err := s.StreamHead(ctx, "patient-new"); err != nil || ok {
		t.Errorf("StreamHead(patient-new) = %v, %v; want no stream", ok, err)
	}
	// The writer's heads and positions are as before the failed batch.
	res, err := s.Append(ctx, "patient-new", ledger.NoStream(), failed[1].event)
	if err != nil || res.Revision != 0 || res.Position != a.Position+1 || res.Duplicate {
		t.Errorf("retry on patient-new = %+v, %v; want revision 0 at %d", res, err, a.Position+1)
	}
	res, err = s.Append(ctx, "patient-1", ledger.Exact(0), failed[0].event)
	if err != nil || res.Revision != 1 || res.Position != a.Position+2 || res.Duplicate {
		t.Errorf("retry on patient-1 = %+v, %v; want revision 1 at %d", res, err, a.Position+2)
	}
	var n ledger.Position
	for e, err := range s.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; e.Position != n {
			t.Errorf("event at position %d, want %d", e.Position, n)
		}
	}
	if n != 4 {
		t.Errorf("log has %d events, want 4", n)
	}
}

// TestStore_SyncFailure checks that a failed sync fails its batch and every
// later append, while reads go on, and that a reopened store works.
func TestStore_SyncFailure(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	errSync := errors.New("fdatasync: input/output error")
	var fail atomic.Bool
	// Set before the first Append, which orders it before the syncer's
	// reads.
	s.syncWait = func(b *pebble.Batch) error {
		err := b.SyncWait()
		if fail.Load() {
			return errSync
		}
		return err
	}
	ctx := t.Context()
	durable := testEvent("DoseAdministered")
	first, err := s.Append(ctx, "patient-1", ledger.NoStream(), durable)
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	failed := testEvent("DoseVoided")
	if _, err := s.Append(ctx, "patient-1", ledger.Exact(0), failed); !errors.Is(err, errSync) {
		t.Fatalf("append whose sync fails: err = %v, want the sync error", err)
	}
	fail.Store(false)
	if _, err := s.Append(ctx, "patient-2", ledger.Any(), testEvent("DoseAdministered")); !errors.Is(err, errSync) {
		t.Errorf("append after a failed sync: err = %v, want the sync error", err)
	}
	// Reads see only what was durable before the failure.
	if pos, err := s.LastPosition(ctx); err != nil || pos != first.Position {
		t.Errorf("LastPosition = %d, %v; want %d", pos, err, first.Position)
	}
	n := 0
	for _, err := range s.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("ReadAll returned %d events, want 1", n)
	}
	// The failed batch's ID is in the index, but not yet in the log.
	if e, found, err := s.FindEvent(ctx, failed.ID); err != nil || found {
		t.Errorf("FindEvent of the event whose sync failed = %+v, %v, %v; want nothing", e, found, err)
	}
	if e, found, err := s.FindEvent(ctx, durable.ID); err != nil || !found || e.Position != first.Position {
		t.Errorf("FindEvent of the durable event = %+v, %v, %v; want it at %d", e, found, err, first.Position)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The failed batch was really synced (only its report failed), so a
	// reopened store has it, and takes appends again.
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rev, ok, err := s.StreamHead(ctx, "patient-1"); err != nil || !ok || rev != 1 {
		t.Errorf("StreamHead after reopen = %d, %v, %v; want 1", rev, ok, err)
	}
	if e, found, err := s.FindEvent(ctx, failed.ID); err != nil || !found || e.Stream != "patient-1" || e.Revision != 1 {
		t.Errorf("FindEvent after reopen = %+v, %v, %v; want patient-1's revision 1", e, found, err)
	}
	if res, err := s.Append(ctx, "patient-1", ledger.Exact(1), testEvent("DoseVoided")); err != nil || res.Position != 3 {
		t.Errorf("append after reopen = %+v, %v; want position 3", res, err)
	}
}

// TestStore_BeforeWrite checks that Options.BeforeWrite runs before each
// group commit is written, with nothing of the batch in the database yet,
// and that when it fails the batch's appends fail, nothing of them is
// written, and the store takes no more appends.
func TestStore_BeforeWrite(t *testing.T) {
	errHook := errors.New("keys not durable")
	var fail atomic.Bool
	var calls atomic.Int64
	var s *Store
	var err error
	s, err = Open(t.TempDir(), Options{BeforeWrite: func() error {
		calls.Add(1)
		// The writer calls this with the batch built but not applied.
		if last, _, err := loadTail(s.db); err != nil || last != s.w.lastPos {
			t.Errorf("before write: the database holds up to %d (%v), the writer has written up to %d", last, err, s.w.lastPos)
		}
		if fail.Load() {
			return errHook
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, err := s.Append(ctx, "patient-1", ledger.NoStream(), testEvent("DoseAdministered")); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("BeforeWrite was not called")
	}
	fail.Store(true)
	if _, err := s.Append(ctx, "patient-2", ledger.NoStream(), testEvent("DoseAdministered")); !errors.Is(err, errHook) {
		t.Fatalf("append while BeforeWrite fails: %v, want %v", err, errHook)
	}
	if last, err := s.LastPosition(ctx); err != nil || last != 1 {
		t.Fatalf("last position %d (%v) after a failed BeforeWrite, want 1", last, err)
	}
	fail.Store(false)
	if _, err := s.Append(ctx, "patient-3", ledger.NoStream(), testEvent("DoseAdministered")); !errors.Is(err, errHook) {
		t.Fatalf("append after BeforeWrite failed once: %v, want the store failed with %v", err, errHook)
	}
}

// TestStore_BeforeWriteCoversItsBatch checks that BeforeWrite runs after
// the writer has taken its batch's appends from the queue: every append in
// a batch was queued before the hook ran, so what the hook makes durable
// (the keys registered before each append) covers the whole batch. The
// hook lingers so that appends queued meanwhile would join the batch if
// the hook ran first.
func TestStore_BeforeWriteCoversItsBatch(t *testing.T) {
	var queued atomic.Int64 // appends about to be queued, counted before they are
	var (
		mu      sync.Mutex
		covered int64             // queued when the last hook ran
		batches []ledger.Position // first position of each batch
		cover   []int64           // covered, for each batch
	)
	var s *Store
	var err error
	s, err = Open(t.TempDir(), Options{BeforeWrite: func() error {
		mu.Lock()
		covered = queued.Load()
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Set before the first Append: the request channel orders it before
	// the writer's reads.
	s.w.commit = func(b *pebble.Batch) error {
		mu.Lock()
		batches = append(batches, s.w.lastPos+1)
		cover = append(cover, covered)
		mu.Unlock()
		return b.Commit(pebble.Sync)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 40 {
				e := testEvent("DoseAdministered")
				e.Data = fmt.Appendf(nil, `{"n":%d}`, queued.Add(1))
				if _, err := s.Append(ctx, fmt.Sprintf("patient-%d-%d", g, i), ledger.NoStream(), e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(batches) < 2 {
		t.Fatalf("%d batches; the test needs several", len(batches))
	}
	for e, err := range s.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
		if err != nil {
			t.Fatal(err)
		}
		var d struct{ N int64 }
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		i := sort.Search(len(batches), func(i int) bool { return batches[i] > e.Position }) - 1
		if d.N > cover[i] {
			t.Fatalf("append %d, at position %d, is in the batch from %d, whose BeforeWrite ran when %d appends had been counted", d.N, e.Position, batches[i], cover[i])
		}
	}
}
