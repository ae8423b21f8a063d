package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

// waitFilterReady waits for the store's filter builder to finish.
func waitFilterReady(t *testing.T, s *Store) {
	t.Helper()
	s.builderOnce.Do(s.startBuilder)
	select {
	case <-s.builderDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the key store's filter was not built in 10s")
	}
	if !s.filter.Ready() {
		t.Fatal("the key store's filter builder stopped without marking it ready")
	}
}

// TestStore_FilterKeepsKeys creates keys, some of them flushed to tables
// and some still in the memtable at close, and erases a subject that never
// had a key; once a reopened store's filter is built from disk, CreateKey
// returns every subject's key, not a new one, and the erased subject stays
// erased, in the store that erased it and after reopening.
func TestStore_FilterKeepsKeys(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := MustOpen(t, dir)
	waitFilterReady(t, s)
	keys := map[string][]byte{}
	for i := range 300 {
		subject := fmt.Sprintf("person-%03d", i)
		k, err := s.CreateKey(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		keys[subject] = k
		if i == 150 {
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Erase(ctx, "never-keyed"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateKey(ctx, "never-keyed"); !errors.Is(err, ledger.ErrErased) {
		t.Errorf("CreateKey of a subject erased before it had a key: err = %v, want ErrErased", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = MustOpen(t, dir)
	if _, err := s.Key(ctx, "person-000"); err != nil {
		t.Fatal(err)
	}
	if s.filter.Ready() {
		t.Error("the filter was built before any CreateKey")
	}
	waitFilterReady(t, s)
	for subject, want := range keys {
		got, err := s.CreateKey(ctx, subject)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("after reopening, CreateKey(%s) = %x, %v; want its key %x", subject, got, err, want)
		}
	}
	if _, err := s.CreateKey(ctx, "never-keyed"); !errors.Is(err, ledger.ErrErased) {
		t.Errorf("after reopening, CreateKey of the erased subject: err = %v, want ErrErased", err)
	}
	// A subject the filter has never seen gets a new key, found again.
	k, err := s.CreateKey(ctx, "person-new")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.CreateKey(ctx, "person-new"); err != nil || !bytes.Equal(again, k) {
		t.Errorf("CreateKey twice for a new subject: %x then %x (%v)", k, again, err)
	}
}
