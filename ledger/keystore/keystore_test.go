package keystore

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/doseledger/doseledger/ledger"
)

func MustOpen(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore_CreateKey_StableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := s.CreateKey(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s.CreateKey(ctx, "A"); !bytes.Equal(again, k1) {
		t.Fatal("CreateKey made a second key for the same subject")
	}
	if _, err := s.Key(ctx, "B"); !errors.Is(err, ledger.ErrNoKey) {
		t.Fatalf("Key(unknown) err = %v, want ErrNoKey", err)
	}
	s.Close()
	s = MustOpen(t, dir)
	got, err := s.Key(ctx, "A")
	if err != nil || !bytes.Equal(got, k1) {
		t.Fatalf("after reopen Key = %x, %v; want %x", got, err, k1)
	}
}

// TestStore_Erase_ScrubsFiles checks that after Erase the key is not only
// unreadable through the API but absent from every file of the store.
func TestStore_Erase_ScrubsFiles(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := MustOpen(t, dir)
	subjects := []string{"AAAAAAAAAAAAAAAA-1", "AAAAAAAAAAAAAAAA-2", "BBBBBBBBBBBBBBBB-1"}
	var keys [][]byte
	for i, sub := range subjects {
		k, err := s.CreateKey(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		if i == 0 {
			// Push the first keys into a table and start a new WAL, as a
			// long-running store would have done.
			if err := s.db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, erase := range []int{0, 2} {
		if err := s.Erase(ctx, subjects[erase]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Key(ctx, subjects[erase]); !errors.Is(err, ledger.ErrErased) {
			t.Fatalf("Key(erased) err = %v, want ErrErased", err)
		}
		if _, err := s.CreateKey(ctx, subjects[erase]); !errors.Is(err, ledger.ErrErased) {
			t.Fatalf("CreateKey(erased) err = %v, want ErrErased", err)
		}
		if got := filesContaining(t, dir, keys[erase]); len(got) > 0 {
			t.Errorf("erased key of %s still in %v", subjects[erase], got)
		}
	}
	// A background compaction may move the kept key to a new file while
	// the scan runs, which then misses it: look again a few times.
	seen := false
	for try := 0; try < 50 && !seen; try++ {
		if seen = len(filesContaining(t, dir, keys[1])) > 0; !seen {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !seen {
		t.Error("a key that was not erased is in no file: the scan cannot see keys")
	}
	if got, err := s.Key(ctx, subjects[1]); err != nil || !bytes.Equal(got, keys[1]) {
		t.Errorf("Key(kept) = %x, %v", got, err)
	}
}

func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted under our feet: gone is what we want
		}
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			found = append(found, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
