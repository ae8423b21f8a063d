package pebblestore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/pebblestore"
	"github.com/doseledger/doseledger/ledger/storetest"
)

func openStore(dir string) (ledger.Store, error) {
	return pebblestore.Open(dir, pebblestore.Options{})
}

func TestMain(m *testing.M) {
	storetest.CrashChild(openStore)
	os.Exit(m.Run())
}

// MustOpen opens a store in dir and closes it when tb's test ends.
func MustOpen(tb testing.TB, dir string, opts pebblestore.Options) *pebblestore.Store {
	tb.Helper()
	s, err := pebblestore.Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store {
		return MustOpen(t, t.TempDir(), pebblestore.Options{})
	})
}

func TestStore_Crash(t *testing.T) {
	storetest.RunCrash(t, openStore)
}

func TestStore_Reopen(t *testing.T) {
	dir := t.TempDir()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := storetest.NewEvents("DoseAdministered", 3)
	storetest.MustAppend(t, s, "patient-1", ledger.NoStream(), first...)
	storetest.MustAppend(t, s, "patient-2", ledger.NoStream(), storetest.NewEvents("DoseAdministered", 2)...)
	last := storetest.MustAppend(t, s, "patient-1", ledger.Exact(2), storetest.NewEvent("DoseVoided", 0))
	before := storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = MustOpen(t, dir, pebblestore.Options{})
	if pos := storetest.MustLastPosition(t, s); pos != last.Position || pos != 6 {
		t.Errorf("LastPosition after reopen = %d, want %d (and 6)", pos, last.Position)
	}
	for stream, want := range map[string]ledger.Revision{"patient-1": 3, "patient-2": 1} {
		if rev, ok := storetest.MustStreamHead(t, s, stream); !ok || rev != want {
			t.Errorf("StreamHead(%s) after reopen = %d, %v; want %d", stream, rev, ok, want)
		}
	}
	after := storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("log changed across reopen (-before +after):\n%s", diff)
	}
	// The writer's heads come from disk: a stale expected revision fails,
	// the right one lands at the next revision and position.
	if _, err := s.Append(t.Context(), "patient-1", ledger.Exact(2), storetest.NewEvent("DoseVoided", 1)); !errors.Is(err, ledger.ErrWrongRevision) {
		t.Errorf("Append with a stale revision after reopen: err = %v, want ErrWrongRevision", err)
	}
	res := storetest.MustAppend(t, s, "patient-1", ledger.Exact(3), storetest.NewEvent("DoseVoided", 2))
	if res.Revision != 4 || res.Position != 7 {
		t.Errorf("Append after reopen = %+v, want revision 4 at position 7", res)
	}
	// The ID index survives too.
	dup, err := s.Append(t.Context(), "patient-1", ledger.NoStream(), first...)
	if err != nil || !dup.Duplicate || dup.Revision != 2 || dup.Position != 3 {
		t.Errorf("retry after reopen = %+v, %v; want a duplicate at revision 2, position 3", dup, err)
	}
}

// TestStore_PositionsConsecutive checks what this store promises beyond
// ledger.Store: positions start at 1 and have no gaps.
func TestStore_PositionsConsecutive(t *testing.T) {
	s := MustOpen(t, t.TempDir(), pebblestore.Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := s.Append(t.Context(), fmt.Sprintf("patient-%d", (g+i)%5), ledger.Any(), storetest.NewEvents("DoseAdministered", 1+i%2)...); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i, e := range storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0) {
		if e.Position != ledger.Position(i+1) {
			t.Fatalf("event %d at position %d, want %d", i, e.Position, i+1)
		}
	}
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestStore_RecordedAtMonotonic(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{now: base}
	s, err := pebblestore.Open(dir, pebblestore.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	steps := []time.Duration{0, time.Second, -time.Hour, 2 * time.Second, time.Second, 3 * time.Second}
	want := []time.Time{base, base.Add(time.Second), base.Add(time.Second), base.Add(2 * time.Second), base.Add(2 * time.Second), base.Add(3 * time.Second)}
	for _, d := range steps {
		c.Set(base.Add(d))
		storetest.MustAppend(t, s, "patient-1", ledger.Any(), storetest.NewEvent("DoseAdministered", 0))
	}
	check := func(s ledger.Store, want []time.Time) {
		t.Helper()
		evs := storetest.MustReadAll(t, s, ledger.Start, ledger.Filter{}, 0)
		if len(evs) != len(want) {
			t.Fatalf("got %d events, want %d", len(evs), len(want))
		}
		for i, e := range evs {
			if !e.RecordedAt.Equal(want[i]) || e.RecordedAt.Location() != time.UTC {
				t.Errorf("event %d recorded at %v, want %v in UTC", i, e.RecordedAt, want[i])
			}
		}
	}
	check(s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart with a clock further back, recorded_at still holds.
	c.Set(base.Add(-24 * time.Hour))
	s = MustOpen(t, dir, pebblestore.Options{Now: c.Now})
	storetest.MustAppend(t, s, "patient-1", ledger.Any(), storetest.NewEvent("DoseAdministered", 0))
	check(s, append(want, base.Add(3*time.Second)))
}

func TestStore_CloseWhileAppending(t *testing.T) {
	dir := t.TempDir()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	subDone := make(chan error, 1)
	go func() {
		var last error
		for _, err := range s.Subscribe(context.Background(), ledger.Start, ledger.Filter{}) {
			last = err
		}
		subDone <- last
	}()

	type ack struct {
		id     ledger.EventID
		stream string
		rev    ledger.Revision
	}
	var mu sync.Mutex // guards acks and closedErrs
	var acks []ack
	closedErrs := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 16 {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				stream := fmt.Sprintf("patient-%d", g)
				e := storetest.NewEvent("DoseAdministered", i)
				res, err := s.Append(context.Background(), stream, ledger.Any(), e)
				mu.Lock()
				switch {
				case err == nil:
					acks = append(acks, ack{e.ID, stream, res.Revision})
				case errors.Is(err, ledger.ErrClosed):
					closedErrs++
				default:
					t.Errorf("Append during Close: %v", err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	close(start)
	time.Sleep(30 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if closedErrs != 16 {
		t.Errorf("%d appenders stopped with ErrClosed, want 16", closedErrs)
	}
	if len(acks) == 0 {
		t.Fatal("no append succeeded before Close")
	}
	select {
	case err := <-subDone:
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("subscription ended with %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscription did not end when the store closed")
	}

	// Every method of a closed store says so.
	ctx := t.Context()
	if _, err := s.Append(ctx, "patient-1", ledger.Any(), storetest.NewEvent("DoseAdministered", 0)); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Append after Close: err = %v, want ErrClosed", err)
	}
	if _, _, err := s.StreamHead(ctx, "patient-1"); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("StreamHead after Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.LastPosition(ctx); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("LastPosition after Close: err = %v, want ErrClosed", err)
	}
	if _, _, err := s.FindEvent(ctx, ledger.NewEventID()); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("FindEvent after Close: err = %v, want ErrClosed", err)
	}
	for _, err := range s.ReadStream(ctx, "patient-1", ledger.ReadOptions{}) {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("ReadStream after Close: err = %v, want ErrClosed", err)
		}
	}
	for _, err := range s.ReadAll(ctx, ledger.Start, ledger.Filter{}, 0) {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("ReadAll after Close: err = %v, want ErrClosed", err)
		}
	}
	for _, err := range s.Subscribe(ctx, ledger.Start, ledger.Filter{}) {
		if !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("Subscribe after Close: err = %v, want ErrClosed", err)
		}
	}

	// Whatever was acknowledged is there after reopening.
	s2 := MustOpen(t, dir, pebblestore.Options{})
	byID := map[ledger.EventID]ledger.Event{}
	for _, e := range storetest.MustReadAll(t, s2, ledger.Start, ledger.Filter{}, 0) {
		byID[e.ID] = e
	}
	for _, a := range acks {
		if e, ok := byID[a.id]; !ok || e.Stream != a.stream || e.Revision != a.rev {
			t.Errorf("acknowledged event %s (%s@%d) is stored as %+v", a.id, a.stream, a.rev, e)
		}
	}
}

func TestOpen_Locked(t *testing.T) {
	dir := t.TempDir()
	MustOpen(t, dir, pebblestore.Options{})
	if s, err := pebblestore.Open(dir, pebblestore.Options{}); err == nil {
		s.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}

func TestStore_AppendCanceled(t *testing.T) {
	s := MustOpen(t, t.TempDir(), pebblestore.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Append(ctx, "patient-1", ledger.Any(), storetest.NewEvent("DoseAdministered", 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: err = %v, want context.Canceled", err)
	}
	if pos := storetest.MustLastPosition(t, s); pos != ledger.Start {
		t.Errorf("LastPosition = %d, want nothing written", pos)
	}
	if _, err := s.Append(t.Context(), "patient-1", ledger.Any()); !errors.Is(err, ledger.ErrInvalidEvent) {
		t.Errorf("Append of no events: err = %v, want ErrInvalidEvent", err)
	}
}
