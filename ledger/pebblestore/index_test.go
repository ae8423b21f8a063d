package pebblestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/doseledger/doseledger/ledger"
	"github.com/doseledger/doseledger/ledger/storetest"
)

// indexTestStreams is how many streams fillIndexTestStore appends to.
const indexTestStreams = 7

// fillIndexTestStore appends 3 events to each of indexTestStreams streams,
// in rounds, so that streams interleave along the log, then closes the
// store. It returns the events appended, by stream.
func fillIndexTestStore(t *testing.T, dir string) map[string][]ledger.Proposed {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	byStream := map[string][]ledger.Proposed{}
	for round := range 3 {
		for i := range indexTestStreams {
			stream := fmt.Sprintf("patient-%d", i)
			e := storetest.NewEvent("DoseAdministered", round)
			storetest.MustAppend(t, s, stream, ledger.Any(), e)
			byStream[stream] = append(byStream[stream], e)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return byStream
}

// checkIndexed checks that a store opened on dir indexes exactly the
// events of byStream: each stream reads back whole, in order, from its
// index; appending its events again is a duplicate, or taken by another
// stream; and the next append to it gets the next revision. That append
// is added to byStream.
func checkIndexed(t *testing.T, dir string, byStream map[string][]ledger.Proposed) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Once the filter is built from the index, the duplicate checks
	// below rely on it.
	s.startFilterBuild()
	waitFilterReady(t, s)
	for stream, events := range byStream {
		got := storetest.MustReadStream(t, s, stream, ledger.ReadOptions{})
		if len(got) != len(events) {
			t.Fatalf("%s reads back %d events, want %d", stream, len(got), len(events))
		}
		for i, e := range got {
			if e.ID != events[i].ID || e.Revision != ledger.Revision(i) {
				t.Errorf("%s revision %d: %s at revision %d, want %s", stream, i, e.ID, e.Revision, events[i].ID)
			}
		}
		if head, ok := storetest.MustStreamHead(t, s, stream); !ok || head != ledger.Revision(len(events)-1) {
			t.Errorf("%s head %d, %v; want %d", stream, head, ok, len(events)-1)
		}
		last := events[len(events)-1]
		if r := storetest.MustAppend(t, s, stream, ledger.Any(), last); !r.Duplicate {
			t.Errorf("%s: its last event appended again is not a duplicate: %+v", stream, r)
		}
		if _, err := s.Append(t.Context(), "other-"+stream, ledger.Any(), events[0]); !errors.Is(err, ledger.ErrDuplicateEventID) {
			t.Errorf("%s: its first event appended to another stream: err = %v, want ErrDuplicateEventID", stream, err)
		}
		next := storetest.NewEvent("DoseAdministered", 9)
		r := storetest.MustAppend(t, s, stream, ledger.Exact(ledger.Revision(len(events)-1)), next)
		if r.Revision != ledger.Revision(len(events)) {
			t.Errorf("%s: the next append is at revision %d, want %d", stream, r.Revision, len(events))
		}
		byStream[stream] = append(events, next)
	}
}

// truncateIndex makes the index in dir as it was at position at: later
// entries gone, as a crash may leave it, or a migration stopped midway.
func truncateIndex(t *testing.T, dir string, at ledger.Position) {
	t.Helper()
	idx := openRaw(t, filepath.Join(dir, indexDir))
	defer idx.Close()
	b := idx.NewBatch()
	eachIndexEntry(t, idx, func(k, v []byte) {
		if p, _ := decodeUint64(v); ledger.Position(p) > at {
			b.Delete(bytes.Clone(k), nil)
		}
	})
	putIndexed(b, at)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

// eachIndexEntry calls fn with every stream and event ID entry of idx.
func eachIndexEntry(t *testing.T, idx *pebble.DB, fn func(k, v []byte)) {
	t.Helper()
	for _, prefix := range []byte{prefixStream, prefixID} {
		it, err := idx.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		if err != nil {
			t.Fatal(err)
		}
		for valid := it.First(); valid; valid = it.Next() {
			fn(it.Key(), it.Value())
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// smallReindexBatches makes the index catch up a few events a batch, for
// the rest of the test.
func smallReindexBatches(t *testing.T) {
	n := reindexBatch
	reindexBatch = 4
	t.Cleanup(func() { reindexBatch = n })
}

// openRaw opens one of the store's databases with Pebble alone.
func openRaw(t *testing.T, dir string) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{log: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// countPrefix counts db's keys that start with prefix.
func countPrefix(t *testing.T, db *pebble.DB, prefix byte) int {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	return n
}

// TestStore_IndexCatchesUp loses the index's newest entries, as a crash
// may (the index is written unsynced), and the whole index, as a new
// store of an old log would: Open indexes the log again.
func TestStore_IndexCatchesUp(t *testing.T) {
	smallReindexBatches(t)
	dir := t.TempDir()
	byStream := fillIndexTestStore(t, dir)
	const events = 3 * indexTestStreams

	idx := openRaw(t, filepath.Join(dir, indexDir))
	if got, err := indexedThrough(idx); err != nil || got != events {
		t.Fatalf("index holds entries through %d (%v), want %d", got, err, events)
	}
	if n := countPrefix(t, idx, prefixID); n != events {
		t.Fatalf("index holds %d event IDs, want %d", n, events)
	}
	idx.Close()
	truncateIndex(t, dir, 10)
	checkIndexed(t, dir, byStream)

	// No index at all.
	if err := os.RemoveAll(filepath.Join(dir, indexDir)); err != nil {
		t.Fatal(err)
	}
	checkIndexed(t, dir, byStream)
}

// TestStore_IndexAheadIsTrimmed gives the index entries of a batch the
// log does not hold, as a power failure may leave it (the index's write
// reached the disk, the log's batch did not): Open removes them, and the
// stream and the event ID are free again.
func TestStore_IndexAheadIsTrimmed(t *testing.T) {
	dir := t.TempDir()
	byStream := fillIndexTestStore(t, dir)
	const events = 3 * indexTestStreams

	lost := storetest.NewEvent("DoseAdministered", 0)
	idx := openRaw(t, filepath.Join(dir, indexDir))
	b := idx.NewBatch()
	var pos [8]byte
	binary.BigEndian.PutUint64(pos[:], events+1)
	b.Set(appendStreamKey(nil, "patient-lost", 0), pos[:], nil)
	b.Set(appendIDKey(nil, lost.ID), pos[:], nil)
	binary.BigEndian.PutUint64(pos[:], events+2) // patient-0's next revision
	b.Set(appendStreamKey(nil, "patient-0", 3), pos[:], nil)
	putIndexed(b, events+2)
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	idx.Close()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := storetest.MustStreamHead(t, s, "patient-lost"); ok {
		t.Error("a stream indexed but not in the log exists after Open")
	}
	r := storetest.MustAppend(t, s, "patient-lost", ledger.NoStream(), lost)
	if r.Duplicate || r.Revision != 0 || r.Position != events+1 {
		t.Errorf("the lost event appended again: %+v, want a new event at revision 0, position %d", r, events+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	byStream["patient-lost"] = []ledger.Proposed{lost}
	checkIndexed(t, dir, byStream)
}

// TestStore_FirstLayoutMigrates opens a store of the first layout, which
// kept its index in the log's database, whose migration stopped midway:
// Open indexes the rest of the log and drops the old entries. (A store
// of the first layout with no index at all is TestStore_IndexCatchesUp's
// second case.)
func TestStore_FirstLayoutMigrates(t *testing.T) {
	smallReindexBatches(t)
	dir := t.TempDir()
	byStream := fillIndexTestStore(t, dir)
	const events = 3 * indexTestStreams

	// The first layout: every key in one database.
	idx := openRaw(t, filepath.Join(dir, indexDir))
	log := openRaw(t, dir)
	b := log.NewBatch()
	eachIndexEntry(t, idx, func(k, v []byte) { b.Set(bytes.Clone(k), bytes.Clone(v), nil) })
	if b.Count() != 2*events {
		t.Fatalf("the log takes %d index entries, want %d", b.Count(), 2*events)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	idx.Close()
	log.Close()
	// A migration stopped midway: the index holds the first 10 events'
	// entries, the log still all the old ones.
	truncateIndex(t, dir, 10)

	checkIndexed(t, dir, byStream)
	log = openRaw(t, dir)
	defer log.Close()
	for _, prefix := range []byte{prefixStream, prefixID} {
		if n := countPrefix(t, log, prefix); n != 0 {
			t.Errorf("the log still holds %d index keys %q after the migration", n, prefix)
		}
	}
	if n := countPrefix(t, log, prefixPosition); n != events+indexTestStreams {
		t.Errorf("the log holds %d records, want %d", n, events+indexTestStreams)
	}
}

// TestStore_IndexCommitFailure fails the index's write of a batch whose
// records the log took: the append fails, the store takes no more, and
// once reopened it has the records indexed.
func TestStore_IndexCommitFailure(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, second := storetest.NewEvent("DoseAdministered", 0), storetest.NewEvent("DoseAdministered", 1)
	storetest.MustAppend(t, s, "patient-1", ledger.NoStream(), first)
	errIndex := errors.New("write index: no space left on device")
	// Set before the next Append, which orders it before the writer's read.
	s.w.commitIndex = func(*pebble.Batch) error { return errIndex }
	if _, err := s.Append(t.Context(), "patient-1", ledger.Exact(0), second); !errors.Is(err, errIndex) {
		t.Errorf("append whose index write fails: err = %v, want the index's error", err)
	}
	if _, err := s.Append(t.Context(), "patient-2", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 2)); !errors.Is(err, errIndex) {
		t.Errorf("append after a failed index write: err = %v, want the index's error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkIndexed(t, dir, map[string][]ledger.Proposed{"patient-1": {first, second}})
}

// TestStore_IndexFailureSparesEarlierBatches fails the index's write of a
// batch while the batch before it is still syncing: that batch is on disk
// and indexed, and its append succeeds; only the failed batch and those
// after it fail.
func TestStore_IndexFailureSparesEarlierBatches(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	var holdOnce sync.Once
	// Set before the first Append, which orders it before the syncer's
	// reads.
	s.syncWait = func(b *pebble.Batch) error {
		err := b.SyncWait()
		holdOnce.Do(func() {
			close(held)
			<-release
		})
		return err
	}
	ctx := t.Context()
	first, second := storetest.NewEvent("DoseAdministered", 0), storetest.NewEvent("DoseAdministered", 1)
	firstDone := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "patient-1", ledger.NoStream(), first)
		firstDone <- err
	}()
	<-held // the first batch is applied, and its answer held
	errIndex := errors.New("write index: no space left on device")
	indexFailed := make(chan struct{})
	// The writer read commitIndex for the first batch before the syncer
	// held it; the next Append orders this write before the next read.
	s.w.commitIndex = func(*pebble.Batch) error {
		close(indexFailed)
		return errIndex
	}
	secondDone := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "patient-2", ledger.NoStream(), second)
		secondDone <- err
	}()
	<-indexFailed
	close(release)
	if err := <-firstDone; err != nil {
		t.Errorf("the append synced before the index failure: err = %v, want none", err)
	}
	if err := <-secondDone; !errors.Is(err, errIndex) {
		t.Errorf("the append whose index write failed: err = %v, want the index's error", err)
	}
	if _, err := s.Append(ctx, "patient-3", ledger.NoStream(), storetest.NewEvent("DoseAdministered", 2)); !errors.Is(err, errIndex) {
		t.Errorf("an append after the index failure: err = %v, want the index's error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkIndexed(t, dir, map[string][]ledger.Proposed{"patient-1": {first}, "patient-2": {second}})
}
