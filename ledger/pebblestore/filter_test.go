package pebblestore

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

func TestKeyFilter(t *testing.T) {
	f := newKeyFilter(1000)
	key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte{'i'}, uint64(i)) }
	// Before the builder is done, everything may be there.
	if !f.mayContain(key(1)) {
		t.Fatal("an unready filter answered no")
	}
	f.segs[1] = newBloomSegment(1000) // small, so that the writer's part grows
	const n = 40000
	for i := range n / 2 {
		f.segs[0].add(f.hash(key(i))) // as the builder does
	}
	f.ready.Store(true)
	for i := n / 2; i < n; i++ {
		f.add(key(i))
	}
	if len(f.segs) < 3 {
		t.Errorf("filter has %d segments after %d keys, want it to have grown", len(f.segs), n)
	}
	for i := range n {
		if !f.mayContain(key(i)) {
			t.Fatalf("key %d was added but the filter says no", i)
		}
	}
	fp := 0
	const probes = 200000
	for i := n; i < n+probes; i++ {
		if f.mayContain(key(i)) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Errorf("false positive rate %.3f, want at most 0.03", rate)
	}
}

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
	deadline := time.Now().Add(10 * time.Second)
	for !s.w.filter.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("filter not built after 10s")
		}
		time.Sleep(time.Millisecond)
	}
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
