package pebblestore

import (
	"errors"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// TestStore_FilterAfterReopen checks duplicates and stream heads once the
// filter has been rebuilt from disk.
func TestStore_FilterAfterReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var evs []ledger.Proposed
	for i := range 50 {
		e := testEvent("DoseAdministered")
		if _, err := s.Append(ctx, "patient-1", ledger.Any(), e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
		if i == 0 {
			if _, err := s.Append(ctx, "patient-2", ledger.NoStream(), testEvent("DoseAdministered")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.w.filter.Ready() {
		t.Error("the filter was built before any append")
	}
	// The first append starts the builder.
	if _, err := s.Append(ctx, "patient-4", ledger.NoStream(), testEvent("DoseAdministered")); err != nil {
		t.Fatal(err)
	}
	waitFilterReady(t, s)
	for i, e := range evs {
		res, err := s.Append(ctx, "patient-1", ledger.NoStream(), e)
		if err != nil || !res.Duplicate || res.Revision != ledger.Revision(i) {
			t.Fatalf("retry of event %d = %+v, %v; want a duplicate at revision %d", i, res, err, i)
		}
	}
	if _, err := s.Append(ctx, "patient-3", ledger.Any(), evs[7]); !errors.Is(err, ledger.ErrDuplicateEventID) {
		t.Errorf("old ID in another stream: err = %v, want ErrDuplicateEventID", err)
	}
	for stream, want := range map[string]ledger.Revision{"patient-1": 49, "patient-2": 0} {
		if _, err := s.Append(ctx, stream, ledger.NoStream(), testEvent("DoseAdministered")); !errors.Is(err, ledger.ErrWrongRevision) {
			t.Errorf("NoStream on existing %s: err = %v, want ErrWrongRevision", stream, err)
		}
		if res, err := s.Append(ctx, stream, ledger.Exact(want), testEvent("DoseAdministered")); err != nil || res.Revision != want+1 {
			t.Errorf("append to %s at %d = %+v, %v", stream, want, res, err)
		}
	}
}

// waitFilterReady waits for the store's filter to be built.
func waitFilterReady(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.w.filter.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("filter not built after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
