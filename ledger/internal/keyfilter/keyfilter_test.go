package keyfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
)

func TestKeyFilter(t *testing.T) {
	f := New(1000)
	key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte{'i'}, uint64(i)) }
	// Before the builder is done, everything may be there.
	if !f.MayContain(key(1)) {
		t.Fatal("an unready filter answered no")
	}
	f.segs[1] = newSegment(1000) // small, so that the writer's part grows
	const n = 40000
	for i := range n / 2 {
		f.First().Add(f.Hash(key(i))) // as the builder does
	}
	f.MarkReady()
	for i := n / 2; i < n; i++ {
		f.Add(key(i))
	}
	if len(f.segs) < 3 {
		t.Errorf("filter has %d segments after %d keys, want it to have grown", len(f.segs), n)
	}
	for i := range n {
		if !f.MayContain(key(i)) {
			t.Fatalf("key %d was added but the filter says no", i)
		}
	}
	fp := 0
	const probes = 200000
	for i := n; i < n+probes; i++ {
		if f.MayContain(key(i)) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Errorf("false positive rate %.3f, want at most 0.03", rate)
	}
}

// TestSegment_AddAll builds a filter from a database's keys, as a store's
// builder does, skipping the keys the key function drops, and stops when
// told to.
func TestSegment_AddAll(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 10000
	b := db.NewBatch()
	for i := range n {
		b.Set(fmt.Appendf(nil, "k/%05d", i), nil, nil)
	}
	b.Set([]byte("other"), nil, nil) // out of the scan's bounds
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	evenOnly := func(k []byte) []byte {
		if (k[len(k)-1]-'0')%2 != 0 {
			return nil
		}
		return k
	}
	build := func(f *Filter, stop <-chan struct{}) (int, error) {
		return f.First().AddAll(f, db, []byte("k/"), []byte("k0"), evenOnly, stop)
	}
	// A new iterator every 1,000 keys: the scan resumes where it left off.
	defer func(n int) { reopenEvery = n }(reopenEvery)
	reopenEvery = 1000

	f := New(0)
	if added, err := build(f, nil); err != nil || added != n/2 {
		t.Fatalf("AddAll added %d keys (%v), want %d", added, err, n/2)
	}
	f.MarkReady()
	for i := 0; i < n; i += 2 {
		if k := fmt.Appendf(nil, "k/%05d", i); !f.MayContain(k) {
			t.Fatalf("%s was added but the filter says no", k)
		}
	}
	missed := 0
	for i := 1; i < n; i += 2 {
		if !f.MayContain(fmt.Appendf(nil, "k/%05d", i)) {
			missed++
		}
	}
	if missed < n/2*97/100 {
		t.Errorf("the filter says no to only %d of the %d keys skipped", missed, n/2)
	}

	stop := make(chan struct{})
	close(stop)
	if _, err := build(New(0), stop); !errors.Is(err, ErrStopped) {
		t.Errorf("AddAll with stop closed: err = %v, want ErrStopped", err)
	}
}
